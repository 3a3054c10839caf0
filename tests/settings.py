"""Test environment, set before the one real settings file is read.

This is not a second settings file: it only sets environment variables (a throwaway data
directory, fixed test keys) and then imports xaso.config.settings unchanged.
"""

import os
import tempfile

os.environ.setdefault("XASO_DATA_DIR", tempfile.mkdtemp(prefix="xaso-test-"))
os.environ.setdefault("XASO_TESTING", "1")
os.environ.setdefault("XASO_SECRET_KEY", "test-secret-key-not-for-production")
os.environ.setdefault("XASO_FIELD_KEY", "test-field-key-not-for-production")
os.environ.setdefault("XASO_ALLOWED_HOSTS", "testserver,127.0.0.1,localhost")
# No thread applies the scan journal: a test's scans stay in its own rolled-back transaction,
# and a test that reads them applies the journal itself (scan_journal.journal().flush()).
os.environ.setdefault("XASO_SCAN_FLUSH_SECONDS", "0")
# Lots are read on every scan: a test's lots live in a transaction that is rolled back, and
# notifications are sent only at commit (tests/test_lot_refs.py turns the cache on).
os.environ.setdefault("XASO_LOT_REF_CACHE", "0")
# Likewise stamps are read from the database, and flushes notify no counters
# (tests/test_stamp_replica.py turns the replica on).
os.environ.setdefault("XASO_STAMP_REPLICA", "0")

from xaso.config.settings import *  # noqa: F403
