"""Scan pages under load: do /s/{code} and /01/{gtin}/10/{batch} keep up with 64 clients?

    make bench                                  # all benchmarks (installs wrk when missing)
    .venv/bin/python bench/scan_throughput.py   # this one; PostgreSQL at DATABASE_URL's server

Targets (issue 4): with 64 concurrent clients on a 2-CPU machine and PostgreSQL, each scan
page serves ≥ 60 % of the requests per second of a bare Django view on the same server,
its p99 latency is < 100 ms, and every request answered left exactly one scan row.

The script builds its own throwaway database `xaso_bench_scan` on the server of DATABASE_URL
(default postgres://postgres@127.0.0.1:5432), loads the demo commune with `xaso demo
--no-serve`, and issues a stamp run of 5,000 codes through the real job
(actions.stamp_run_start, then the job run in this process) activated on a demo lot; the plain
codes are read back from the run's CSV export, the only place they exist. It starts gunicorn
as `xaso serve` does (same worker class and counts, no task worker) with bench.bench_settings,
which adds /bench/bare, a view that returns "ok" through the same middleware: the baseline.
The cache and rate limiter use Redis (REDIS_URL, default database 15) as in production.

wrk drives 64 connections on 2 threads, rotating over the stamp codes (bench/wrk_rotate.lua).
Cases alternate round by round: baseline, stamp page, lot page. Scans are counted in the
database before and after each case and compared with what was answered: 2xx responses wrk
read, and the 2xx lines of gunicorn's access log (which also has the requests still in flight
when wrk stopped: they are answered by the server, but wrk no longer reads them).
"""

import argparse
import csv
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
LUA_SCRIPT = Path(__file__).resolve().parent / "wrk_rotate.lua"

DATABASE = "xaso_bench_scan"
DEFAULT_SERVER = "postgres://postgres@127.0.0.1:5432"
DEFAULT_REDIS = "redis://127.0.0.1:6379/15"
STAMPS = 5_000
CONNECTIONS = 64
WRK_THREADS = 2
DURATION_S = 15
WARMUP_S = 3
ROUNDS = 2

THROUGHPUT_TARGET = 0.60  # of the baseline's requests per second
P99_TARGET_MS = 100

BASELINE = "baseline: bare view"
# For reading the figures, not a target: the bare view through the scan pages' shorter
# middleware chain (config/wsgi.py), i.e. what that chain alone is worth.
BARE_SCAN_CHAIN = "bare view, scan chain"
STAMP_PAGE = "/s/{code}"
LOT_PAGE = "/01/{gtin}/10/{batch}"


# --- A database and a data directory of its own -------------------------------------------------
def server_url() -> str:
    url = urlsplit(os.environ.get("DATABASE_URL") or DEFAULT_SERVER)
    return url._replace(path="").geturl()


@contextmanager
def postgres_database(server: str, name: str) -> Iterator[str]:
    """Drop and create database `name` on `server`; yield its URL; drop it at the end."""
    import psycopg
    from psycopg import sql

    maintenance = f"{server}/postgres"
    identifier = sql.Identifier(name)
    with psycopg.connect(maintenance, autocommit=True) as admin:
        admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(identifier))
        admin.execute(sql.SQL("CREATE DATABASE {}").format(identifier))
    try:
        yield f"{server}/{name}"
    finally:
        from django.conf import settings
        from django.db import connections

        if settings.configured:
            connections.close_all()
        with psycopg.connect(maintenance, autocommit=True) as admin:
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(identifier))


def bench_environment(data_dir: str, database_url: str) -> dict[str, str]:
    """What both this process and the server see: one database, one key, Redis."""
    env = dict(os.environ)
    env.update(
        DATABASE_URL=database_url,
        XASO_DATA_DIR=data_dir,
        XASO_SECRET_KEY="bench-secret-key-not-for-production",
        XASO_FIELD_KEY="bench-field-key-not-for-production",  # stamp hashes are keyed by it
        XASO_DEBUG="0",
        XASO_ALLOWED_HOSTS="127.0.0.1,localhost",
        REDIS_URL=os.environ.get("BENCH_REDIS_URL", DEFAULT_REDIS),
        # Only unknown codes count against this limit and the benchmark sends none; set high so
        # that a mistake shows as 404s, not as 429s that hide it.
        XASO_STAMP_MISSES_PER_MINUTE="1000000",
        # The 5,000-code run needs no label PDF; it would only lengthen the setup.
        XASO_STAMP_PDF_MAX="0",
    )
    env.pop("DJANGO_SETTINGS_MODULE", None)
    return env


def xaso(env: dict[str, str], *args: str) -> None:
    subprocess.run(
        [str(VENV_BIN / "xaso"), *args], env=env, cwd=ROOT, check=True, stdout=subprocess.DEVNULL
    )


# --- Data ----------------------------------------------------------------------------------------
@dataclass
class Targets:
    stamp_paths: list[str]
    lot_path: str
    lot_label: str


def build_data(env: dict[str, str]) -> Targets:
    """The demo commune, then a 5,000-code run activated on the demo lot that has a GTIN."""
    xaso(env, "migrate", "--no-input")
    xaso(env, "demo", "--no-serve")
    xaso(env, "collectstatic", "--no-input")  # as `xaso serve` does: pages need the manifest
    os.environ.update(env)
    os.environ["DJANGO_SETTINGS_MODULE"] = "xaso.config.settings"
    import django

    django.setup()
    from django.conf import settings

    from xaso.accounts.models import User
    from xaso.traceability import actions, public
    from xaso.traceability.models import Lot, Scan, StampRun
    from xaso.traceability.tasks import stamp_run_job

    admin = User.objects.get(username="admin")
    # The demo's stamped lot: the product with a GTIN, so it has a GS1 Digital Link.
    lot = Lot.objects.filter(product__gtin__gt="", activations__isnull=False).first()
    run = actions.stamp_run_start(product=lot.product, count=STAMPS, by=admin)
    stamp_run_job.call(job_id=run.job_id)  # what the worker would run, here and now
    run.refresh_from_db()
    assert run.status == StampRun.Status.ISSUED, run.status
    actions.stamp_run_activate(run=run, lot=lot, by=admin)

    with (Path(settings.MEDIA_ROOT) / run.csv_file).open(newline="", encoding="utf-8") as handle:
        codes = [row["code"] for row in csv.DictReader(handle)]
    assert len(codes) == STAMPS, len(codes)
    lot_path = urlsplit(public.lot_link(lot)).path
    assert lot_path.startswith("/01/"), lot_path
    Scan.objects.all().delete()  # the demo's own scans, if any: count only ours
    return Targets(
        stamp_paths=[f"/s/{code}" for code in codes],
        lot_path=lot_path,
        lot_label=f"{lot.product.name}, lô {lot.batch}",
    )


def scan_count() -> int:
    from xaso.traceability.models import Scan

    return Scan.objects.count()


def settled_scan_count(server: "Server", timeout_s: float = 60) -> int:
    """The scan count once the server has finished what was in flight when wrk stopped: neither
    the count nor the access log changed for a second (on a busy machine a request in flight
    can take seconds, so half a second of quiet was not enough)."""
    deadline = time.monotonic() + timeout_s
    previous = (scan_count(), server.access_log_size())
    while time.monotonic() < deadline:
        time.sleep(1)
        current = (scan_count(), server.access_log_size())
        if current == previous:
            return current[0]
        previous = current
    return previous[0]


# --- The server ----------------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class Server:
    process: subprocess.Popen
    url: str
    access_log: Path
    workers: int

    def access_log_size(self) -> int:
        return self.access_log.stat().st_size

    def answered_since(self, offset: int, paths: set[str]) -> tuple[int, int]:
        """(2xx, other) lines of the access log after `offset` for requests of `paths`."""
        ok = other = 0
        with self.access_log.open("rb") as handle:
            handle.seek(offset)
            for line in handle.read().decode("utf-8", "replace").splitlines():
                match = ACCESS_LINE.search(line)
                if match and match["path"] in paths:
                    if match["status"].startswith("2"):
                        ok += 1
                    else:
                        other += 1
        return ok, other


def stamp_replica_state(server: Server, targets: Targets, data_dir: Path) -> str:
    """Scans stamps until the replica is kept (decision 0024): the scans start its writer in
    a worker once the worker listens for lot changes. The stamp cases then measure the page
    as it runs in production. Says how many stamps the replica holds."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        with urllib.request.urlopen(f"{server.url}{targets.stamp_paths[0]}", timeout=10):
            pass
        time.sleep(0.5)
        stamps = kept_stamps(data_dir / "stamp-replica")
        if stamps is not None:
            return f"Stamp replica kept: {stamps:,} stamps (the demo's and the run's)."
    return "Stamp replica NOT kept after 60 s: the stamp page reads the database."


def kept_stamps(folder: Path) -> int | None:
    """How many stamps the replica holds, or None while it is not kept (or not made yet)."""
    from xaso.traceability.stamp_replica import StampReplica  # Django is set up by build_data

    if not (folder / "data.mdb").exists():
        return None
    replica = StampReplica(folder)  # opened to look: its writer thread is never started
    try:
        return replica.kept()
    finally:
        replica.stop()


ACCESS_LINE = re.compile(r'"GET (?P<path>\S+) HTTP/[\d.]+" (?P<status>\d{3}) ')


@contextmanager
def gunicorn(env: dict[str, str], data_dir: str) -> Iterator[Server]:
    """gunicorn started as `xaso serve` starts it (xaso/cli.py), with the bench settings."""
    port = free_port()
    workers = env.get("XASO_WEB_WORKERS", "2")
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "xaso.config.wsgi:application",
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        workers,
        "--threads",
        "4",
        "--access-logfile",
        "-",
        "--graceful-timeout",
        "10",
        # Only these differ from `xaso serve`: the settings with /bench/bare, and the path
        # from which `bench` imports.
        "--env",
        "DJANGO_SETTINGS_MODULE=bench.bench_settings",
        "--pythonpath",
        str(ROOT),
    ]
    access_log = Path(data_dir) / "access.log"
    error_log = Path(data_dir) / "gunicorn.log"
    with access_log.open("wb") as out, error_log.open("wb") as err:
        process = subprocess.Popen(command, env=env, cwd=ROOT, stdout=out, stderr=err)
    server = Server(process, f"http://127.0.0.1:{port}", access_log, int(workers))
    try:
        wait_until_up(server, error_log)
        wait_until_every_worker_answered(server)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        errors = [
            line
            for line in error_log.read_text(errors="replace").splitlines()
            if "Traceback" in line or "ERROR" in line
        ]
        if errors:
            print(f"\ngunicorn logged {len(errors)} error line(s), the first: {errors[0]}")


def wait_until_up(server: Server, error_log: Path, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise SystemExit(f"gunicorn exited:\n{error_log.read_text(errors='replace')}")
        try:
            with urllib.request.urlopen(f"{server.url}/bench/bare", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise SystemExit(f"gunicorn did not answer in {timeout_s} s")


def wait_until_every_worker_answered(server: Server, timeout_s: float = 120) -> None:
    """Each gunicorn worker imports the app's URLs on its first request, which takes seconds on
    a busy machine: done inside a timed case it would slow whichever case came first."""
    seen: set[str] = set()
    deadline = time.monotonic() + timeout_s
    while len(seen) < server.workers and time.monotonic() < deadline:
        with ThreadPoolExecutor(max_workers=8) as pool:
            seen.update(pool.map(_worker_pid, [server.url] * 16))
    if len(seen) < server.workers:
        raise SystemExit(f"only {len(seen)} of {server.workers} gunicorn workers answered")


def _worker_pid(url: str) -> str:
    with urllib.request.urlopen(f"{url}/bench/pid", timeout=60) as response:
        return response.read().decode()


# --- wrk -----------------------------------------------------------------------------------------
@dataclass
class WrkResult:
    duration_s: float
    requests: int  # responses wrk read, whatever their status
    sent: int  # calls of the script's request()
    ok: int  # 2xx among the responses read
    last_bad_status: int
    p50_ms: float
    p99_ms: float
    max_ms: float
    socket_errors: int
    timeouts: int

    @property
    def rate(self) -> float:
        return self.requests / self.duration_s

    @property
    def in_flight(self) -> int:
        """Requests written but not answered when wrk stopped (the server still answers them).

        Less one: before the run wrk calls the script's request() once to check it.
        """
        return self.sent - 1 - self.requests


def wrk(url: str, paths_file: Path, duration_s: int, connections: int) -> WrkResult:
    command = [
        "wrk",
        f"-t{WRK_THREADS}",
        f"-c{connections}",
        f"-d{duration_s}s",
        "--timeout",
        "10s",
        "--latency",
        "-s",
        str(LUA_SCRIPT),
        url,
        "--",
        str(paths_file),
        str(WRK_THREADS),
    ]
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    line = next(line for line in output.splitlines() if line.startswith("XASO-BENCH "))
    values = {key: int(value) for key, value in (pair.split("=") for pair in line.split()[1:])}
    return WrkResult(
        duration_s=values["duration_us"] / 1e6,
        requests=values["requests"],
        sent=values["sent"],
        ok=values["ok"],
        last_bad_status=values["last_bad_status"],
        p50_ms=values["p50_us"] / 1000,
        p99_ms=values["p99_us"] / 1000,
        max_ms=values["max_us"] / 1000,
        socket_errors=values["connect_errors"] + values["read_errors"] + values["write_errors"],
        timeouts=values["timeouts"],
    )


# --- Cases ---------------------------------------------------------------------------------------
@dataclass
class CaseResult:
    label: str
    round: int
    wrk: WrkResult
    server_ok: int  # 2xx lines in gunicorn's access log during the case
    server_other: int
    scans: int  # traceability_scan rows added during the case
    baseline_rate: float = 0.0

    @property
    def ratio(self) -> float:
        return self.wrk.rate / self.baseline_rate if self.baseline_rate else 1.0

    @property
    def records_scans(self) -> bool:
        return self.label in (STAMP_PAGE, LOT_PAGE)

    @property
    def scans_match_server(self) -> bool:
        return self.scans == self.server_ok

    @property
    def scans_match_wrk(self) -> bool:
        return self.scans == self.wrk.ok

    @property
    def scans_match_wrk_and_in_flight(self) -> bool:
        return self.scans == self.wrk.ok + self.wrk.in_flight

    @property
    def meets_targets(self) -> bool:
        return (
            self.ratio >= THROUGHPUT_TARGET
            and self.wrk.p99_ms < P99_TARGET_MS
            and self.scans_match_server
            and self.wrk.ok == self.wrk.requests
        )


def run_case(server: Server, label: str, round_: int, paths_file: Path, options) -> CaseResult:
    paths = set(paths_file.read_text().split())
    wrk(server.url, paths_file, options.warmup, options.connections)
    before = settled_scan_count(server)
    log_offset = server.access_log_size()
    result = wrk(server.url, paths_file, options.duration, options.connections)
    after = settled_scan_count(server)
    time.sleep(0.5)  # the access log line is written after the response
    server_ok, server_other = server.answered_since(log_offset, paths)
    return CaseResult(label, round_, result, server_ok, server_other, after - before)


def measure(server: Server, targets: Targets, work_dir: Path, options) -> list[CaseResult]:
    cases = [
        (BASELINE, ["/bench/bare"]),
        (BARE_SCAN_CHAIN, ["/0/bench-bare"]),
        (STAMP_PAGE, targets.stamp_paths),
        (LOT_PAGE, [targets.lot_path]),
    ]
    files = {}
    for number, (label, paths) in enumerate(cases):
        files[label] = work_dir / f"paths-{number}.txt"
        files[label].write_text("\n".join(paths) + "\n")
    results = []
    for round_ in range(1, options.rounds + 1):
        baseline_rate = 0.0
        for label, _paths in cases:
            result = run_case(server, label, round_, files[label], options)
            if label == BASELINE:
                baseline_rate = result.wrk.rate
            result.baseline_rate = baseline_rate
            results.append(result)
            print_row(result)
    return results


# --- Report --------------------------------------------------------------------------------------
HEADER = (
    f"{'round':>5} {'case':<22} {'req/s':>7} {'× base':>6} {'p50 ms':>7} {'p99 ms':>7} "
    f"{'max ms':>7} {'2xx read':>8} {'in flight':>9} {'2xx log':>7} {'scans':>6}  "
    f"{'=log':>5} {'=read':>5} {'=read+fl.':>11}"
)


def yes(condition: bool) -> str:
    return "yes" if condition else "no"


def print_row(r: CaseResult) -> None:
    if r.records_scans:
        verdict = (
            f"{yes(r.scans_match_server):>5} {yes(r.scans_match_wrk):>5} "
            f"{yes(r.scans_match_wrk_and_in_flight):>11}"
        )
    else:
        verdict = f"{'-':>5} {'-':>5} {'-':>11}"
    bad = r.wrk.requests - r.wrk.ok
    extra = f"  ({bad} non-2xx, last {r.wrk.last_bad_status})" if bad else ""
    if r.wrk.socket_errors or r.wrk.timeouts:
        extra += f"  ({r.wrk.socket_errors} socket errors, {r.wrk.timeouts} timeouts)"
    print(
        f"{r.round:>5} {r.label:<22} {r.wrk.rate:>7.0f} {r.ratio:>6.2f} {r.wrk.p50_ms:>7.1f} "
        f"{r.wrk.p99_ms:>7.1f} {r.wrk.max_ms:>7.0f} {r.wrk.ok:>8} {r.wrk.in_flight:>9} "
        f"{r.server_ok:>7} {r.scans:>6}  {verdict}{extra}",
        flush=True,
    )


def print_verdict(results: list[CaseResult]) -> None:
    print()
    for label in (STAMP_PAGE, LOT_PAGE):
        rows = [r for r in results if r.label == label]
        worst_ratio = min(r.ratio for r in rows)
        worst_p99 = max(r.wrk.p99_ms for r in rows)
        counted = all(r.scans_match_server for r in rows)
        print(
            f"{label}: throughput ≥ {THROUGHPUT_TARGET:.0%} of baseline? "
            f"{'yes' if worst_ratio >= THROUGHPUT_TARGET else 'NO'} (worst {worst_ratio:.0%}); "
            f"p99 < {P99_TARGET_MS} ms? {'yes' if worst_p99 < P99_TARGET_MS else 'NO'} "
            f"(worst {worst_p99:.0f} ms); one scan per 2xx answered? "
            f"{'yes' if counted else 'NO'}"
        )
    print(
        "scans: rows added to traceability_scan during the case. =log: equal to the 2xx lines of "
        "gunicorn's access log; =read: equal to the 2xx responses wrk read; =read+fl.: equal to "
        "those plus the requests in flight when wrk stopped (answered by the server, unread)."
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=DURATION_S, help="seconds per case")
    parser.add_argument("--warmup", type=int, default=WARMUP_S, help="seconds before each case")
    parser.add_argument("--rounds", type=int, default=ROUNDS)
    parser.add_argument("--connections", type=int, default=CONNECTIONS)
    options = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is missing: `make wrk` installs Debian's")
    started = time.perf_counter()
    with (
        tempfile.TemporaryDirectory(prefix="xaso-bench-scan-") as data_dir,
        postgres_database(server_url(), DATABASE) as database_url,
    ):
        env = bench_environment(data_dir, database_url)
        targets = build_data(env)
        print(
            f"Scan page benchmark on PostgreSQL ({DATABASE}), cache in Redis ({env['REDIS_URL']})"
        )
        print(
            f"Data built in {time.perf_counter() - started:.0f} s: the demo commune and a run of "
            f"{len(targets.stamp_paths):,} stamps on {targets.lot_label} ({targets.lot_path})."
        )
        with gunicorn(env, data_dir) as server:
            print(stamp_replica_state(server, targets, Path(data_dir)))
            print(
                f"gunicorn as `xaso serve`: {server.workers} workers × 4 threads (gthread); "
                f"wrk: {WRK_THREADS} threads, {options.connections} connections, "
                f"{options.warmup} s warm-up + {options.duration} s per case, "
                f"{options.rounds} rounds."
            )
            print(f"Load average before: {os.getloadavg()[0]:.1f} ({os.cpu_count()} CPUs)\n")
            print(HEADER)
            print("-" * len(HEADER))
            results = measure(server, targets, Path(data_dir), options)
            print(f"\nLoad average after: {os.getloadavg()[0]:.1f}")
        print_verdict(results)
    print(f"Benchmark ran in {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
