"""The safety module's periodic work, run by `xaso clock` (see core/clock.py)."""

from xaso.core.clock import Periodic
from xaso.safety import actions

PERIODIC = [
    Periodic("cameras.check_heartbeats", 30, actions.cameras_check_heartbeats),
    Periodic("incidents.escalate", 30, actions.incidents_escalate),
    Periodic("snapshots.purge", 3600, actions.snapshots_purge),
]
