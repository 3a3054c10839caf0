"""The notify module's periodic work, run by `xaso clock` (see core/clock.py)."""

from xaso.core.clock import Periodic
from xaso.notify.dispatch import deliveries_sweep

PERIODIC = [Periodic("notify.sweep", 15, deliveries_sweep)]
