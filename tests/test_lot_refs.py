"""Lot links and stamp runs looked up once per process and forgotten the moment they change
(lot_refs.py).

On PostgreSQL a web process keeps the lot each lot link names, and a thread LISTENing on
`xaso_lot_changed` forgets it when a trigger notifies a change: a recall shows on the next scan.
"""

import time
from dataclasses import dataclass

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from tests.traceability_data import GTIN, printed_codes
from tests.worker import run_queued_tasks
from xaso.traceability import actions, lot_refs
from xaso.traceability.models import Product
from xaso.traceability.scan_journal import journal

LOT_PATH = f"/01/0{GTIN}/10/NA2026A"


@dataclass(frozen=True)
class Ref:
    id: int

    @property
    def lot_ids(self) -> tuple[int]:
        return (self.id,)


@pytest.fixture
def kept_lot_refs(settings):
    """A fresh LotRefs for this test, with keeping on, stopped afterwards."""
    settings.XASO_LOT_REF_CACHE = True
    lot_refs._lot_refs.forget()
    yield lot_refs.lot_refs()
    lot_refs.lot_refs().stop()
    lot_refs._lot_refs.forget()


def until(condition, seconds: float = 10) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return condition()


def test_nothing_is_kept_while_the_thread_is_not_listening():
    refs = lot_refs.LotRefs()  # never started: its thread would need PostgreSQL
    reads = []
    refs._start_listener_once = lambda: None
    for _ in range(2):
        assert refs.get(("code", "A"), lambda: reads.append(1) or Ref(1)) == Ref(1)
    assert len(reads) == 2


def test_a_change_heard_while_reading_is_not_kept():
    """The read may have happened before the change it was told about: keeping it would keep
    the old lot for good."""
    refs = lot_refs.LotRefs()
    refs._listening.set()

    def read_during_a_recall():
        refs.forget("7")  # the notification arrives while the read is under way
        return Ref(7)

    assert refs.get(("code", "A"), read_during_a_recall) == Ref(7)
    assert refs._refs == {}
    assert refs.get(("code", "A"), lambda: Ref(7)) == Ref(7)
    assert refs._refs == {("code", "A"): Ref(7)}


def test_forgetting_a_lot_forgets_each_of_its_links_and_star_forgets_all():
    refs = lot_refs.LotRefs()
    refs._listening.set()
    refs.get(("code", "A"), lambda: Ref(1))
    refs.get(("gtin", "0893", "A"), lambda: Ref(1))
    refs.get(("code", "B"), lambda: Ref(2))
    refs.forget("1")
    assert refs._refs == {("code", "B"): Ref(2)}
    refs.forget(lot_refs.EVERY_LOT)
    assert refs._refs == {}


def test_on_sqlite_every_scan_reads_the_lot(kept_lot_refs, client, trace):
    if connection.vendor != "sqlite":
        pytest.skip("SQLite only; PostgreSQL keeps lots (the next test)")
    for _ in range(2):
        assert client.get(LOT_PATH).status_code == 200
    assert not kept_lot_refs._listener.started and kept_lot_refs._refs == {}


@pytest.mark.skipif(
    connection.vendor == "sqlite", reason="LISTEN/NOTIFY is PostgreSQL's; SQLite reads each time"
)
def test_a_recall_shows_on_the_next_scan_of_a_kept_lot(
    world_rebuilt_afterwards, transactional_db, kept_lot_refs, client, trace
):
    client.get(LOT_PATH)  # starts the thread; read from the database
    assert until(kept_lot_refs.listening)
    assert "thu hồi" not in client.get(LOT_PATH).content.decode()
    assert [ref.id for ref in kept_lot_refs._refs.values()] == [trace.lot_a.id]

    actions.lot_recall(lot=trace.lot_a, reason="Dư lượng thuốc", by=trace.lot_a.created_by)
    assert until(lambda: kept_lot_refs._refs == {})  # notified at commit, forgotten
    page = client.get(LOT_PATH).content.decode()
    assert "Dư lượng thuốc" in page


# --- Stamp runs: a scan reads the stamp's row, the run's facts are kept -----------------------
@dataclass(frozen=True)
class Run:
    lot_ids: tuple[int, ...]


def test_forgetting_a_run_or_one_of_its_lots_forgets_the_run():
    refs = lot_refs.LotRefs()
    refs._listening.set()
    refs.get(("run", 1), lambda: Run(lot_ids=(7,)))
    refs.get(("run", 2), lambda: Run(lot_ids=(8, 9)))
    refs.get(("run", 3), lambda: Run(lot_ids=()))
    refs.forget("run:3")
    refs.forget("9")  # lot 9 recalled: run 2 has stamps bound to it
    assert list(refs._refs) == [("run", 1)]


def _stamp_status(client, code: str) -> dict:
    return client.get(f"/s/{code}", headers={"Accept": "application/json"}).json()


@pytest.mark.skipif(
    connection.vendor == "sqlite", reason="LISTEN/NOTIFY is PostgreSQL's; SQLite reads each time"
)
def test_a_kept_run_shows_a_rename_activation_recall_and_void_on_the_next_scan(
    world_rebuilt_afterwards, transactional_db, kept_lot_refs, client, trace, world
):
    run = _issued_run(trace, world, count=3)
    first, second, third = printed_codes(run)
    by = trace.lot_a.created_by
    kept = ("run", run.id)
    client.get(LOT_PATH)  # starts the thread
    assert until(kept_lot_refs.listening)
    assert _stamp_status(client, first)["status"] == "not_activated"
    assert kept in kept_lot_refs._refs
    with CaptureQueriesContext(connection) as queries:
        assert _stamp_status(client, second)["status"] == "not_activated"
    assert not [query for query in queries if "stamprun" in query["sql"]]  # not read again

    changes = [
        (
            lambda: Product.objects.filter(pk=trace.product_a.pk).update(name="Na dai Đông Triều"),
            first,
            lambda body: body["product"] == "Na dai Đông Triều",
        ),
        (
            lambda: actions.stamp_run_activate(run=run, lot=trace.lot_a, by=by),
            third,
            lambda body: (body["status"], body["lot"]["batch"]) == ("valid", "NA2026A"),
        ),
        (
            lambda: actions.lot_recall(lot=trace.lot_a, reason="Dư lượng thuốc", by=by),
            second,
            lambda body: body["status"] == "recalled",
        ),
        (
            lambda: actions.stamp_run_void(run=run, reason="In lỗi", by=by),
            first,
            lambda body: body["status"] == "void",
        ),
    ]
    for change, code, shows in changes:
        assert kept in kept_lot_refs._refs
        change()
        assert until(lambda: kept not in kept_lot_refs._refs)  # notified at commit, forgotten
        assert shows(_stamp_status(client, code))
    journal().flush()


def _issued_run(trace, world, count: int):
    run = actions.stamp_run_start(product=trace.product_a, count=count, by=world.users["htx"])
    with transaction.atomic():  # the worker claims the job with SELECT … FOR UPDATE
        run_queued_tasks()
    run.refresh_from_db()
    return run
