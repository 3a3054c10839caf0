"""A stamp run of 1,000,000 codes: done in ≤ 60 s with < 400 MB peak memory on PostgreSQL?

    make bench                              # all benchmarks
    .venv/bin/python bench/stamp_run.py     # PostgreSQL (DATABASE_URL's server), then SQLite

Each backend gets its own throwaway database: `xaso_bench_stamps` on the PostgreSQL server of
DATABASE_URL (default postgres://postgres@127.0.0.1:5432), dropped at the end, and a SQLite
file in a temporary directory. A producer and a product are made through the actions, then
the run goes the way a user's order goes: actions.stamp_run_start creates the run and its job,
and the job the worker would run (traceability.tasks.stamp_run_job) is called directly. It
makes the codes and their HMACs, writes the CSV export, and inserts every stamp in one
transaction (COPY on PostgreSQL). Runs above XASO_STAMP_PDF_MAX (100,000 by default) get no
label PDF: the printer works from the CSV. With --pdf, a 100,000-code run with its PDF is
measured too.

Each run happens in a child process, so its peak resident set size (ru_maxrss from wait4) is
the memory one job costs, Django included. Baseline, timed in the same run just before and
just after: making the same number of codes and their HMACs in memory only (the first half of
the job's own loop), so "× baseline" is what the CSV, the link of each code and the database
cost on top.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
DATABASE = "xaso_bench_stamps"
DEFAULT_SERVER = "postgres://postgres@127.0.0.1:5432"
CODES = 1_000_000
PDF_CODES = 100_000
GTIN = "8931234567897"

SECONDS_TARGET = 60
PEAK_MB_TARGET = 400


# --- Parent: databases, children, report ---------------------------------------------------------
@contextmanager
def postgres_database() -> Iterator[str]:
    """Drop and create `xaso_bench_stamps` on DATABASE_URL's server; yield its URL; drop it."""
    import psycopg
    from psycopg import sql

    server = urlsplit(os.environ.get("DATABASE_URL") or DEFAULT_SERVER)._replace(path="").geturl()
    name = sql.Identifier(DATABASE)
    with psycopg.connect(f"{server}/postgres", autocommit=True) as admin:
        admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(name))
        admin.execute(sql.SQL("CREATE DATABASE {}").format(name))
    try:
        yield f"{server}/{DATABASE}"
    finally:
        with psycopg.connect(f"{server}/postgres", autocommit=True) as admin:
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(name))


@contextmanager
def backend_environment(backend: str) -> Iterator[dict[str, str]]:
    with tempfile.TemporaryDirectory(prefix="xaso-bench-stamps-") as data_dir:
        env = dict(os.environ)
        env.pop("DATABASE_URL", None)
        env.pop("REDIS_URL", None)
        env.update(
            XASO_DATA_DIR=data_dir,  # the SQLite file and the exports, nothing in var/
            XASO_SECRET_KEY="bench-secret-key-not-for-production",
            XASO_FIELD_KEY="bench-field-key-not-for-production",
            XASO_DEBUG="0",
            DJANGO_SETTINGS_MODULE="xaso.config.settings",
        )
        if backend == "SQLite":
            yield env
            return
        with postgres_database() as url:
            yield {**env, "DATABASE_URL": url}


@dataclass
class Child:
    result: dict
    seconds: float  # wall time of the whole child, start-up included
    peak_mb: float


def child(env: dict[str, str], *args: str) -> Child:
    """Run this script as a child with `args`; its JSON answer and its peak RSS."""
    started = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, __file__, "--child", *args], env=env, cwd=ROOT, stdout=subprocess.PIPE
    )
    output = process.stdout.read()
    _pid, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise SystemExit(f"child {args} failed with exit code {process.returncode}")
    answer = json.loads(output.decode().strip().splitlines()[-1])
    return Child(answer, time.perf_counter() - started, usage.ru_maxrss / 1024)  # kB on Linux


@dataclass
class Measured:
    backend: str
    codes: int
    run: Child
    baseline_seconds: float

    @property
    def seconds(self) -> float:
        return self.run.result["seconds"]

    @property
    def ratio(self) -> float:
        return self.seconds / self.baseline_seconds

    @property
    def within_targets(self) -> bool:
        return self.seconds <= SECONDS_TARGET and self.run.peak_mb < PEAK_MB_TARGET


def measure(env: dict[str, str], backend: str, codes: int) -> Measured:
    before = child(env, "baseline", str(codes))
    run = child(env, "generate", str(codes))
    after = child(env, "baseline", str(codes))
    baseline = (before.result["seconds"] + after.result["seconds"]) / 2
    return Measured(backend, codes, run, baseline)


HEADER = (
    f"{'backend':<10} {'codes':>9} {'PDF':>4} {'job s':>7} {'codes/s':>8} {'× base':>6} "
    f"{'peak MB':>7} {'before MB':>9} {'stamps':>9} {'CSV MB':>6} {'PDF MB':>6}"
)


def print_row(m: Measured) -> None:
    r = m.run.result
    pdf_mb = f"{r['pdf_bytes'] / 1e6:>6.1f}" if r["pdf_bytes"] else f"{'-':>6}"
    print(
        f"{m.backend:<10} {m.codes:>9,} {'yes' if r['pdf_bytes'] else 'no':>4} "
        f"{m.seconds:>7.1f} {m.codes / m.seconds:>8,.0f} {m.ratio:>6.1f} {m.run.peak_mb:>7.0f} "
        f"{r['rss_before_mb']:>9.0f} {r['stamps']:>9,} {r['csv_bytes'] / 1e6:>6.1f} {pdf_mb}",
        flush=True,
    )
    problems = [
        f"{r['stamps']:,} stamps for {m.codes:,} codes" if r["stamps"] != m.codes else "",
        f"run {r['status']}, job {r['job_status']} {r['job_error']}"
        if (r["status"], r["job_status"]) != ("issued", "done")
        else "",
        "a code of the CSV does not find its stamp" if not r["first_code_found"] else "",
    ]
    for problem in filter(None, problems):
        print(f"  PROBLEM: {problem}")
    if r["pdf_omitted"]:
        print(f"  no PDF, as the manifest says: «{r['pdf_omitted']}»")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--codes", type=int, default=CODES)
    parser.add_argument(
        "--pdf", action="store_true", help=f"also a {PDF_CODES:,}-code run with its PDF"
    )
    parser.add_argument("--backend", choices=["PostgreSQL", "SQLite"], action="append")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.child:
        return child_main(*options.child)
    started = time.perf_counter()
    print(f"Stamp run benchmark: {options.codes:,} codes, each run in a child process")
    print(f"Load average before: {os.getloadavg()[0]:.1f} ({os.cpu_count()} CPUs)\n")
    print(HEADER)
    print("-" * len(HEADER))
    results = []
    for backend in options.backend or ["PostgreSQL", "SQLite"]:
        with backend_environment(backend) as env:
            child(env, "prepare")
            results.append(measure(env, backend, options.codes))
            print_row(results[-1])
            if options.pdf:
                print_row(measure(env, backend, PDF_CODES))
    print(f"\nLoad average after: {os.getloadavg()[0]:.1f}")
    print(
        "job s: the job alone (codes, CSV, link, HMAC, insert, commit); × base: job s over the "
        "same number of codes and HMACs made in memory only, timed before and after; peak MB: "
        "the child's maximum RSS (ru_maxrss); before MB: its RSS once Django was set up."
    )
    for m in results:
        print(
            f"{m.backend}: {m.codes:,} codes in ≤ {SECONDS_TARGET} s with < {PEAK_MB_TARGET} MB? "
            f"{'yes' if m.within_targets else 'NO'} ({m.seconds:.1f} s, {m.run.peak_mb:.0f} MB)"
        )
    print(f"Benchmark ran in {time.perf_counter() - started:.0f} s")
    return 0


# --- Children ------------------------------------------------------------------------------------
def child_main(command: str, *args: str) -> int:
    if command == "baseline":
        answer = codes_in_memory(int(args[0]))
    else:
        import django

        django.setup()
        answer = prepare() if command == "prepare" else generate(int(args[0]))
    print(json.dumps(answer))
    return 0


def codes_in_memory(count: int) -> dict:
    """The baseline: what the job's loop does before the CSV and the database."""
    from xaso.lib import stamp_codes

    key = stamp_codes.derive_key("bench-field-key-not-for-production")
    started = time.perf_counter()
    hashes = bytearray()
    for code in stamp_codes.new_codes(count):
        hashes += bytes.fromhex(stamp_codes.code_hash(code, key=key))
    return {"seconds": time.perf_counter() - started, "bytes": len(hashes)}


def prepare() -> dict:
    from django.core.management import call_command

    from xaso.accounts.models import User
    from xaso.places import actions as places_actions
    from xaso.places.loader import official_places_load
    from xaso.places.models import Place
    from xaso.traceability import actions

    call_command("migrate", interactive=False, verbosity=0)
    official_places_load()
    admin = User.objects.create_superuser("bench-admin", password=None)
    organisation = places_actions.organisation_create(
        place=Place.objects.get(code="06913"),
        name="HTX Nông nghiệp Quảng Tân",
        kind="cooperative",
        by=admin,
    )
    producer = actions.producer_register(
        organisation=organisation,
        kind="cooperative",
        public_name="HTX Quảng Tân",
        public_address="Xã Quảng Tân, Quảng Ninh",
        by=admin,
    )
    actions.product_create(producer=producer, name="Na dai Quảng Tân", gtin=GTIN, by=admin)
    return {}


def generate(count: int) -> dict:
    import resource

    from django.conf import settings

    from xaso.accounts.models import User
    from xaso.core.models import Job
    from xaso.traceability import actions
    from xaso.traceability.models import Product, Stamp
    from xaso.traceability.stamps import stamp_find
    from xaso.traceability.tasks import stamp_run_job

    admin = User.objects.get(username="bench-admin")
    product = Product.objects.get(gtin=GTIN.zfill(14))
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    run = actions.stamp_run_start(product=product, count=count, by=admin)
    started = time.perf_counter()
    stamp_run_job.call(job_id=run.job_id)  # what the worker runs for this job
    seconds = time.perf_counter() - started
    run.refresh_from_db()
    job = Job.objects.get(pk=run.job_id)
    media = Path(settings.MEDIA_ROOT)
    csv_path = media / run.csv_file if run.csv_file else None
    first_code = ""
    if csv_path:
        with csv_path.open(encoding="utf-8") as handle:
            handle.readline()
            first_code = handle.readline().split(",")[1]
    return {
        "seconds": seconds,
        "rss_before_mb": rss_before,
        "status": run.status,
        "job_status": job.status,
        "job_error": job.error,
        "stamps": Stamp.objects.filter(run=run).count(),
        "csv_bytes": csv_path.stat().st_size if csv_path else 0,
        "pdf_bytes": (media / run.pdf_file).stat().st_size if run.pdf_file else 0,
        "pdf_omitted": run.manifest.get("pdf_omitted"),
        "first_code_found": bool(first_code) and stamp_find(first_code) is not None,
    }


if __name__ == "__main__":
    sys.exit(main())
