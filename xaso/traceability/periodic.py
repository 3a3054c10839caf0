"""The traceability module's periodic work, run by `xaso clock` (see core/clock.py)."""

from xaso.core.clock import Periodic
from xaso.traceability import scan_journal

PERIODIC = [
    # Segments of web processes that died; a live process applies its own.
    Periodic("scans.recover", 30, scan_journal.recover_left_segments),
    Periodic("scans.batches_prune", 86400, scan_journal.batches_prune),
]
