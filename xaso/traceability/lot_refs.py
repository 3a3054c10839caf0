"""Which lot a lot link names, and what a stamp scan needs about its run: kept in the process
and forgotten the moment they change.

A lot's link (/01/{gtin}/10/{batch}, /l/{code}) is printed on every package of the lot, so it
is the most repeated request of the site. Looking the lot up costs a database round trip on
every scan, for an answer that changes only when the lot does (a recall, an edit). Likewise
every stamp of a run shares the run's status, product and activations (with their lots): a
scan then reads only the stamp's own row.

On PostgreSQL each process keeps what it has looked up. A thread of the process LISTENs on
`xaso_lot_changed`, where triggers notify every change when it commits (migrations 0003 and
0004): a lot's id, `run:{id}` for a run or its activations, `*` for a product. It forgets what
depends on the change: the next scan reads it again, so a recall or an activation shows at
once. While the thread is not listening (starting, or its connection lost) nothing is kept
and every scan reads the database. SQLite (one server, in-process reads) always reads.
"""

import logging
import threading
import time
from collections.abc import Callable

import psycopg
from django.conf import settings
from django.db import connection

from xaso.core.per_process import BackgroundThread, PerProcess

logger = logging.getLogger(__name__)

CHANNEL = "xaso_lot_changed"
EVERY_LOT = "*"  # payload of a change that may touch anything kept (a product's GTIN or name)
RUN_PREFIX = "run:"  # payload of a change to a stamp run or its activations: "run:12"
RECONNECT_SECONDS = 2
LIVENESS_CHECK_SECONDS = 30
WAKE_SECONDS = 1  # how soon the thread notices it is asked to stop


class LotRefs:
    """Lot links → lot references (`public.LotRef`), and run ids → what scans need of the run
    (`public.RunFacts`), for the process that made it. Each kept value names the lots it
    depends on in `lot_ids`."""

    def __init__(self):
        self._refs: dict[tuple, object] = {}
        self._lock = threading.Lock()
        self._generation = 0  # moves on every change heard: a read older than it is not kept
        self._listening = threading.Event()
        self._stopping = threading.Event()
        self._listener = BackgroundThread(self._listen_forever, name="lot-changes")

    def get(self, key: tuple, load: Callable[[], object | None]):
        """The reference under `key`, from memory or from `load()` (a database read)."""
        if not self._listening.is_set():
            self._start_listener_once()
            return load()
        ref = self._refs.get(key)
        if ref is not None:
            return ref
        generation = self._generation
        ref = load()
        with self._lock:
            # A change heard while we read may be the change we read around: do not keep it.
            if ref is not None and generation == self._generation and self._listening.is_set():
                self._refs[key] = ref
        return ref

    def forget(self, payload: str) -> None:
        with self._lock:
            self._generation += 1
            if payload == EVERY_LOT:
                self._refs.clear()
            elif payload.startswith(RUN_PREFIX):
                self._refs.pop(("run", int(payload.removeprefix(RUN_PREFIX))), None)
            else:
                lot_id = int(payload)
                for key in [key for key, ref in self._refs.items() if lot_id in ref.lot_ids]:
                    del self._refs[key]

    def listening(self) -> bool:
        return self._listening.is_set()

    def keeping(self) -> bool:
        """Whether values are kept now; starts the listening thread the first time."""
        if self._listening.is_set():
            return True
        self._start_listener_once()
        return False

    def stop(self) -> None:
        """Stop listening and keep nothing more (tests; the thread dies with its process)."""
        self._stopping.set()
        self._listener.join()

    # -- the listening thread
    def _start_listener_once(self) -> None:
        if connection.vendor == "postgresql":
            self._listener.start_once()

    def _listen_forever(self) -> None:
        parameters = {**connection.get_connection_params(), "autocommit": True}
        while not self._stopping.is_set():
            try:
                with psycopg.connect(**parameters) as listening:
                    self._listen(listening)
            except Exception:
                logger.warning("lot changes: not listening; scans read lots", exc_info=True)
            finally:
                self._listening.clear()
                self.forget(EVERY_LOT)
            self._stopping.wait(RECONNECT_SECONDS)

    def _listen(self, listening: psycopg.Connection) -> None:
        listening.execute(f"LISTEN {CHANNEL}")
        self.forget(EVERY_LOT)  # kept before listening: a change may have been missed
        self._listening.set()
        checked = time.monotonic()
        while not self._stopping.is_set():
            for notification in listening.notifies(timeout=WAKE_SECONDS):
                self.forget(notification.payload)
            if time.monotonic() - checked > LIVENESS_CHECK_SECONDS:
                listening.execute("SELECT 1")  # a silent, dead connection raises here
                checked = time.monotonic()


_lot_refs = PerProcess(LotRefs)


def lot_refs() -> LotRefs | None:
    """This process's lot references; None when they are not kept (XASO_LOT_REF_CACHE off)."""
    return _lot_refs.get() if settings.XASO_LOT_REF_CACHE else None
