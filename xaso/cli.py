"""The `xaso` command.

xaso demo [--no-serve] [--reset]   load the demo commune (idempotent), print logins, serve
xaso serve [--port N] [--web-only] gunicorn, plus a task worker and the clock unless --web-only
xaso worker                        the task worker (django-tasks database backend)
xaso clock                         periodic jobs: camera heartbeats, escalations, retention
xaso mqtt [--url URL] [--prefix P] camera events from Frigate over MQTT (XASO_MQTT_URL); `serve`
                                   starts it too when XASO_MQTT_URL is set (not with --web-only)
xaso token create USERNAME         print a new API token for USERNAME
xaso token list USERNAME           list USERNAME's tokens (prefixes only)
xaso token revoke PREFIX           revoke the token with that prefix
xaso camera-watch [--camera ID ...] [--fps 5] [--width 320] [--method mog2|diff] [--once]
                                   motion detection on the cameras' streams (camera_watch)
xaso <anything else>               a Django management command (migrate, places_load, …)
"""

import argparse
import os
import signal
import subprocess
import sys
import time


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "xaso.config.settings")
    command = argv[0] if argv else "help"
    handlers = {
        "demo": _demo,
        "serve": _serve,
        "worker": _worker,
        "token": _token,
        "camera-watch": _camera_watch,
    }
    if command in handlers:
        return handlers[command](argv[1:]) or 0
    if command in {"help", "-h", "--help"}:
        print(__doc__)
        return 0
    from django.core.management import execute_from_command_line

    execute_from_command_line(["xaso", *argv])
    return 0


def _setup_django() -> None:
    import django

    django.setup()


def _demo(args: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="xaso demo")
    parser.add_argument("--no-serve", action="store_true", help="load the data, do not serve")
    parser.add_argument("--reset", action="store_true", help="delete the demo commune's data first")
    parser.add_argument("--port", type=int, default=int(os.environ.get("XASO_PORT", "8000")))
    options = parser.parse_args(args)
    _setup_django()
    from django.core.management import call_command

    from xaso.demo.loader import DEMO_PASSWORD, demo_load
    from xaso.demo.traceability import demo_stamp_codes

    call_command("migrate", interactive=False, verbosity=0)
    summary = demo_load(reset=options.reset)
    print(
        f"Đã nạp xã mẫu {summary.commune_name}: {summary.villages} thôn, "
        f"{summary.households} hộ, {summary.residents} nhân khẩu, "
        f"{summary.organisations} tổ chức."
    )
    trace = summary.traceability
    print(
        f"Truy xuất nguồn gốc: {trace['producers']} cơ sở, {trace['areas']} vùng trồng, "
        f"{trace['lots']} lô hàng, {trace['stamp_runs']} đợt tem."
    )
    safety = summary.safety
    print(
        f"An ninh trật tự: {safety['cameras']} camera, {safety['rules']} quy tắc, "
        f"{safety['incidents']} vụ việc."
    )
    dossiers = summary.dossiers
    print(f"Một cửa: {dossiers['procedures']} thủ tục, {dossiers['dossiers']} hồ sơ.")
    survey = summary.survey
    print(f"Tổ công nghệ số: {survey['visits']} lượt thăm, {survey['households']} hộ đã thăm.")
    indicators = summary.indicators
    print(
        f"Chỉ tiêu: {indicators['indicators']} chỉ tiêu, {indicators['criteria_sets']} bộ tiêu chí."
    )
    for code in demo_stamp_codes(limit=1):
        print(f"Thử quét một tem mẫu: http://localhost:{options.port}/s/{code}")
    print(f"Tài khoản mẫu (mật khẩu chung: {DEMO_PASSWORD}):")
    for username, role_label in summary.logins:
        print(f"  {username:<12} {role_label}")
    print("CẢNH BÁO: mật khẩu này chỉ dùng để trình diễn; đừng dùng dữ liệu mẫu cho hệ thống thật.")
    if options.no_serve:
        return 0
    return _serve(["--port", str(options.port)])


def _serve(args: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="xaso serve")
    parser.add_argument("--port", type=int, default=int(os.environ.get("XASO_PORT", "8000")))
    parser.add_argument("--host", default=os.environ.get("XASO_BIND", "127.0.0.1"))
    parser.add_argument("--web-only", action="store_true", help="do not start a task worker")
    parser.add_argument("--workers", type=int, default=int(os.environ.get("XASO_WEB_WORKERS", "2")))
    options = parser.parse_args(args)
    _setup_django()
    from django.conf import settings
    from django.core.management import call_command

    call_command("collectstatic", interactive=False, verbosity=0)
    if settings.GENERATED_SECRETS:
        print(
            f"CẢNH BÁO: {', '.join(settings.GENERATED_SECRETS)} chưa được đặt trong biến môi "
            f"trường; đang dùng khoá tự sinh trong {settings.DATA_DIR / 'secrets'}. Hệ thống "
            "thật phải đặt các biến này (xem docs/operations.md).",
            flush=True,
        )
    gunicorn = [
        sys.executable,
        "-m",
        "gunicorn",
        "xaso.config.wsgi:application",
        "--bind",
        f"{options.host}:{options.port}",
        "--workers",
        str(options.workers),
        "--threads",
        "4",
        "--access-logfile",
        "-",
        "--graceful-timeout",
        "10",
    ]
    commands = [gunicorn]
    if not options.web_only:
        commands.append([sys.executable, "-m", "xaso.cli", "worker"])
        commands.append([sys.executable, "-m", "xaso.cli", "clock"])
        if settings.XASO_MQTT_URL:
            commands.append([sys.executable, "-m", "xaso.cli", "mqtt"])
    print(f"XãSố đang chạy tại http://{options.host}:{options.port}  (Ctrl+C để dừng)", flush=True)
    return _supervise(commands)


def _supervise(commands: list[list[str]]) -> int:
    """Run the processes together; when one exits or we are told to stop, stop them all."""
    processes = [subprocess.Popen(command) for command in commands]
    stopping = False

    def stop(signum, frame):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    exit_code = 0
    while not stopping:
        finished = [p for p in processes if p.poll() is not None]
        if finished:
            exit_code = finished[0].returncode or 0
            break
        time.sleep(0.5)
    for process in processes:
        if process.poll() is None:
            process.terminate()
    for process in processes:
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
    return exit_code


def _worker(args: list[str]) -> int:
    from django.core.management import execute_from_command_line

    execute_from_command_line(
        ["xaso", "db_worker", "--queue-name", "*", "--no-reload", "--interval", "0.5", *args]
    )
    return 0


def _camera_watch(args: list[str]) -> int:
    from django.core.management import execute_from_command_line

    execute_from_command_line(["xaso", "camera_watch", *args])
    return 0


def _token(args: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="xaso token")
    parser.add_argument("action", choices=["create", "list", "revoke"])
    parser.add_argument("subject", help="USERNAME for create and list, PREFIX for revoke")
    parser.add_argument("--name", default="", help="a label for a new token")
    options = parser.parse_args(args)
    _setup_django()
    from xaso.accounts import tokens
    from xaso.accounts.models import User

    if options.action == "revoke":
        if not tokens.token_revoke(prefix=options.subject):
            print(f"Không có khoá đang hiệu lực với tiền tố '{options.subject}'.", file=sys.stderr)
            return 1
        print(f"Đã thu hồi khoá {options.subject}.")
        return 0
    user = User.objects.filter(username=options.subject, is_active=True).first()
    if user is None:
        print(f"Không tìm thấy người dùng '{options.subject}'.", file=sys.stderr)
        return 1
    if options.action == "list":
        for token in user.api_tokens.order_by("created_at"):
            state = "đã thu hồi" if token.revoked_at else "hiệu lực"
            used = f"{token.last_used_at:%d/%m/%Y %H:%M}" if token.last_used_at else "chưa dùng"
            print(f"{token.prefix}  {state:<11} {used:<17} {token.name}")
        return 0
    _token_row, plain = tokens.token_create(user=user, name=options.name)
    print(plain)
    return 0


if __name__ == "__main__":
    sys.exit(main())
