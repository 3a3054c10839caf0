"""Helpers for tests that run the real `xaso` command in a subprocess."""

import contextlib
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from urllib.parse import urlparse, urlunparse

XASO = [sys.executable, "-m", "xaso.cli"]


def base_env(data_dir: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("XASO_")}
    env.pop("DATABASE_URL", None)
    env.pop("DJANGO_SETTINGS_MODULE", None)
    env.update(
        XASO_DATA_DIR=data_dir,
        XASO_SECRET_KEY="subprocess-secret",
        XASO_FIELD_KEY="subprocess-field-key",
        XASO_ALLOWED_HOSTS="127.0.0.1,localhost",
    )
    return env


@contextlib.contextmanager
def fresh_database_env() -> Iterator[dict[str, str]]:
    """Environment for a subprocess with its own empty database.

    SQLite in a temporary data directory; or, when the suite runs on PostgreSQL
    (DATABASE_URL set), a new database on the same server, dropped afterwards.
    """
    import psycopg

    with tempfile.TemporaryDirectory(prefix="xaso-proc-") as data_dir:
        env = base_env(data_dir)
        suite_url = os.environ.get("DATABASE_URL")
        if not suite_url:
            yield env
            return
        name = f"xaso_proc_{uuid.uuid4().hex[:12]}"
        admin_url = urlunparse(urlparse(suite_url)._replace(path="/postgres"))
        with psycopg.connect(admin_url, autocommit=True) as connection:
            connection.execute(f'CREATE DATABASE "{name}"')
        env["DATABASE_URL"] = urlunparse(urlparse(suite_url)._replace(path=f"/{name}"))
        try:
            yield env
        finally:
            with psycopg.connect(admin_url, autocommit=True) as connection:
                connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def run(args: list[str], env: dict[str, str], timeout: int = 120) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*XASO, *args], env=env, capture_output=True, text=True, timeout=timeout, check=False
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def serving(env: dict[str, str], *extra: str) -> Iterator[str]:
    """Run `xaso serve --web-only` and yield its base URL once /healthz answers at all."""
    port = free_port()
    process = subprocess.Popen(
        [*XASO, "serve", "--web-only", "--port", str(port), *extra],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base_url = f"http://127.0.0.1:{port}"
    try:
        wait_until_answering(f"{base_url}/healthz", process)
        yield base_url
    finally:
        process.terminate()
        process.wait(timeout=20)


def wait_until_answering(url: str, process: subprocess.Popen, deadline_seconds: int = 60) -> None:
    deadline = time.monotonic() + deadline_seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}")
        try:
            urllib.request.urlopen(url, timeout=2)
            return
        except urllib.error.HTTPError:
            return  # it answered, even if with an error status
        except OSError:
            time.sleep(0.2)  # polling for the port to open, not synchronising work
    raise TimeoutError(f"{url} did not answer within {deadline_seconds} s")


def get(url: str, headers: dict | None = None) -> tuple[int, str]:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def submit_login(base_url: str, username: str, password: str) -> tuple[int, str]:
    """Open the login page, then submit it with its CSRF token, as a browser would."""
    import http.cookiejar
    import re
    from urllib.parse import urlencode

    opener = urllib.request.build_opener(
        urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
    )
    with opener.open(f"{base_url}/login/", timeout=10) as response:
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', response.read().decode())
    form = urlencode(
        {"csrfmiddlewaretoken": token.group(1), "username": username, "password": password}
    ).encode()
    request = urllib.request.Request(
        f"{base_url}/login/", data=form, headers={"Referer": f"{base_url}/login/"}
    )
    try:
        with opener.open(request, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()
