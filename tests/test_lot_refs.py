"""Lot links looked up once per process and forgotten the moment the lot changes (lot_refs.py).

On PostgreSQL a web process keeps the lot each lot link names, and a thread LISTENing on
`xaso_lot_changed` forgets it when a trigger notifies a change: a recall shows on the next scan.
"""

import time
from dataclasses import dataclass

import pytest
from django.db import connection

from tests.traceability_data import GTIN
from xaso.traceability import actions, lot_refs

LOT_PATH = f"/01/0{GTIN}/10/NA2026A"


@dataclass(frozen=True)
class Ref:
    id: int


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
    assert kept_lot_refs._listener is None and kept_lot_refs._refs == {}


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
