"""16 concurrent clients issuing 2,000 receipts in one series on PostgreSQL: no gap, no
duplicate, and the throughput.

    make bench
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/xaso .venv/bin/python bench/receipts.py

The script drops and creates a throwaway database `xaso_bench_receipts` on the server of
DATABASE_URL (default postgres://postgres@127.0.0.1:5432) and drops it at the end. Each case
issues 2,000 receipts from 16 threads, each with its own connection, through
`receipts.receipt_issue` (series row locked, next number, insert, audit row, PDF job queued
after commit). Baselines in the same process, alternating round by round:

- "no lock": the same inserts (receipt, audit row, PDF job) from 16 threads with numbers from
  a counter in the process, without the series row, i.e. what numbering costs;
- "1 client": `receipt_issue` from a single thread, i.e. what the concurrency buys.

After each case the series is checked: count, distinct numbers, 1..N. Nothing is asserted.
The PDF (layout + PAdES signature) is timed separately: it is rendered after the commit.
"""

import argparse
import itertools
import os
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit

import django
from django.core.management import call_command
from django.db import connections

DB_NAME = "xaso_bench_receipts"
CLIENTS = 16
RECEIPTS = 2_000
ROUNDS = 2
PDF_RUNS = 20
FEE = "Lệ phí đăng ký khai sinh"


@contextmanager
def throwaway_database() -> Iterator[None]:
    import psycopg
    from psycopg import sql

    url = os.environ.get("DATABASE_URL") or "postgres://postgres@127.0.0.1:5432/postgres"
    server = urlsplit(url)
    admin_url = server._replace(path="/postgres").geturl()
    name = sql.Identifier(DB_NAME)
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(name))
        admin.execute(sql.SQL("CREATE DATABASE {}").format(name))
    with tempfile.TemporaryDirectory(prefix="xaso-bench-") as data_dir:
        os.environ["XASO_DATA_DIR"] = data_dir
        os.environ["XASO_SECRET_KEY"] = "bench-secret-key-not-for-production"
        os.environ["XASO_FIELD_KEY"] = "bench-field-key-not-for-production"
        os.environ["XASO_DEBUG"] = "0"
        os.environ["DATABASE_URL"] = server._replace(path=f"/{DB_NAME}").geturl()
        try:
            yield
        finally:
            connections.close_all()
            with psycopg.connect(admin_url, autocommit=True) as admin:
                admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(name))


def build():
    """A commune, its one-stop officer, a procedure and one counter dossier."""
    from xaso.accounts.models import Membership, User
    from xaso.accounts.roles import Role
    from xaso.dossiers import actions
    from xaso.places.models import Place

    province = Place.objects.create(code="22", name="Tỉnh Quảng Ninh", kind="province", path="/22/")
    commune = Place.objects.create(
        code="06913", name="Xã Quảng Tân", kind="commune", parent=province, path="/22/06913/"
    )
    officer = User.objects.create_user("motcua", password=None, full_name="Cán bộ một cửa")
    Membership.objects.create(user=officer, place=commune, role=Role.ONE_STOP_OFFICER)
    admin = User.objects.create_superuser("admin", password=None)
    procedure = actions.procedure_save(
        values={"code": "1.001193", "name": "Đăng ký khai sinh", "processing_days": 3},
        by=admin,
    )
    dossier, _secret = actions.dossier_submit(
        procedure=procedure,
        commune=commune,
        applicant={"name": "Nguyễn Thị Mai", "phone": "0912345678"},
        uploads=[],
        channel="counter",
        by=officer,
    )
    return officer, dossier


# --- The cases ----------------------------------------------------------------------------------
def run_clients(clients: int, total: int, issue_one: Callable[[], None]) -> float:
    """`total` calls of `issue_one` spread over `clients` threads; seconds of wall time."""
    start = threading.Barrier(clients + 1)
    errors: list[BaseException] = []
    share = [total // clients + (1 if i < total % clients else 0) for i in range(clients)]

    def client(count: int) -> None:
        try:
            start.wait()
            for _ in range(count):
                issue_one()
        except BaseException as error:  # reported after the run
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=client, args=(count,)) for count in share]
    for thread in threads:
        thread.start()
    start.wait()
    began = time.perf_counter()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - began
    if errors:
        raise RuntimeError(f"{len(errors)} clients failed: {errors[0]!r}")
    return elapsed


def use_series(label: str) -> None:
    from django.conf import settings

    settings.XASO_RECEIPT_SERIES = f"{label}-{{yy}}E"


def locked_issue(officer, dossier) -> Callable[[], None]:
    from xaso.dossiers import receipts

    def issue_one() -> None:
        receipts.receipt_issue(
            dossier=dossier, fee_name=FEE, amount=8000, method="cash", by=officer
        )

    return issue_one


def unlocked_issue(officer, dossier, series) -> Callable[[], None]:
    """The same rows as receipt_issue, numbered by a counter in the process: no series lock."""
    from django.db import transaction
    from django.utils import timezone

    from xaso.dossiers import receipts
    from xaso.dossiers.models import Receipt

    counter = itertools.count(1)
    lock = threading.Lock()

    @transaction.atomic
    def issue_one() -> None:
        with lock:
            number = next(counter)
        receipt = Receipt.objects.create(
            series=series,
            number=number,
            dossier=dossier,
            payer_name=dossier.applicant_name,
            fee_name=FEE,
            amount=8000,
            method="cash",
            collector=officer,
            collector_name=str(officer),
            issued_at=timezone.now(),
        )
        receipt_id = receipt.pk
        transaction.on_commit(
            lambda: receipts.receipt_pdf_job.enqueue(receipt_id=receipt_id), robust=True
        )
        receipts._audit_issued(receipt, officer, dossier.commune)

    return issue_one


def check(series_label: str) -> str:
    from django.db.models import Count, Max, Min

    from xaso.dossiers.models import Receipt

    stats = Receipt.objects.filter(series__series__startswith=f"{series_label}-").aggregate(
        rows=Count("id"),
        distinct=Count("number", distinct=True),
        low=Min("number"),
        high=Max("number"),
    )
    gapless = stats["low"] == 1 and stats["high"] == stats["rows"] == stats["distinct"]
    return (
        f"{stats['rows']:,} rows, {stats['distinct']:,} distinct, "
        f"{stats['low']}..{stats['high']}: {'no gap, no duplicate' if gapless else 'GAP/DUPLICATE'}"
    )


def measure_pdf(dossier, officer) -> tuple[float, float]:
    """Median ms of the layout alone and of layout + PAdES signature, for one receipt."""
    from xaso.dossiers import receipts
    from xaso.dossiers.models import Receipt
    from xaso.dossiers.receipt_pdf import receipt_pdf_layout

    receipt = Receipt.objects.select_related("series__commune", "dossier").first()
    receipts.receipt_pdf_render(receipt)  # the demo key and fonts, once
    layout, signed = [], []
    for _ in range(PDF_RUNS):
        began = time.perf_counter()
        receipt_pdf_layout(receipt)
        layout.append((time.perf_counter() - began) * 1000)
        began = time.perf_counter()
        receipts.receipt_pdf_render(receipt)
        signed.append((time.perf_counter() - began) * 1000)
    return statistics.median(layout), statistics.median(signed)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pdf-only", action="store_true", help="time only the PDF")
    options = parser.parse_args()
    started = time.perf_counter()
    with throwaway_database():
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "xaso.config.settings")
        django.setup()
        call_command("migrate", interactive=False, verbosity=0)
        from xaso.dossiers.models import ReceiptSeries
        from xaso.dossiers.receipts import _series_for_update

        officer, dossier = build()
        print(f"Receipt numbering benchmark on PostgreSQL ({DB_NAME}), {os.cpu_count()} CPUs")
        print(f"{CLIENTS} clients, {RECEIPTS:,} receipts per case, {ROUNDS} rounds, alternating")
        print(f"Load average before: {os.getloadavg()[0]:.1f}")
        header = (
            f"{'round':<6} {'case':<34} {'seconds':>8} {'receipts/s':>10} {'× no lock':>9}  check"
        )
        print(header)
        print("-" * (len(header) + 40))
        for round_number in range(1, 0 if options.pdf_only else ROUNDS + 1):
            from django.db import transaction

            label = f"U{round_number}"
            use_series(label)
            with transaction.atomic():
                unlocked_series = _series_for_update(dossier.commune)
            base = run_clients(CLIENTS, RECEIPTS, unlocked_issue(officer, dossier, unlocked_series))
            rows = [(f"{CLIENTS} clients, no series lock", base, check(label))]
            label = f"L{round_number}"
            use_series(label)
            took = run_clients(CLIENTS, RECEIPTS, locked_issue(officer, dossier))
            rows.append((f"{CLIENTS} clients, receipt_issue", took, check(label)))
            label = f"S{round_number}"
            use_series(label)
            single = run_clients(1, RECEIPTS, locked_issue(officer, dossier))
            rows.append(("1 client, receipt_issue", single, check(label)))
            for case, seconds, verdict in rows:
                print(
                    f"{round_number:<6} {case:<34} {seconds:>8.2f} {RECEIPTS / seconds:>10.0f} "
                    f"{base / seconds:>9.2f}  {verdict}"
                )
        print(f"Load average after: {os.getloadavg()[0]:.1f}")
        print(f"Series in the database: {ReceiptSeries.objects.count()}")
        if options.pdf_only:
            use_series("P")
            locked_issue(officer, dossier)()
        layout_ms, signed_ms = measure_pdf(dossier, officer)
        print(
            f"PDF of one receipt (median of {PDF_RUNS}): layout {layout_ms:.1f} ms, "
            f"layout + PAdES signature {signed_ms:.1f} ms (× {signed_ms / layout_ms:.1f} layout)"
        )
    print(f"Benchmark ran in {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
