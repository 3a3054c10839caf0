"""The notify settings, with the bounds each must keep (settings.py reads them from the
environment; tests override them with the `settings` fixture, so they are read when used).
See docs/operations.md ("Notifications")."""

from django.conf import settings

DISPATCH_MODES = {"thread", "inline", "worker"}


def dispatch_mode() -> str:
    """thread (default): after commit, a pool in this process sends at once;
    inline: after commit, in the committing thread (the test suite's default);
    worker: only the task worker and the sweep send."""
    mode = settings.XASO_NOTIFY_DISPATCH.strip().lower()
    return mode if mode in DISPATCH_MODES else "thread"


def threads() -> int:
    return max(1, settings.XASO_NOTIFY_THREADS)


def timeout() -> float:
    return max(0.5, settings.XASO_NOTIFY_TIMEOUT)


def max_attempts() -> int:
    return max(1, settings.XASO_NOTIFY_MAX_ATTEMPTS)


def allow_private_urls() -> bool:
    """User-entered URLs (webhook, ntfy, push endpoint) may point at private addresses."""
    return settings.XASO_NOTIFY_ALLOW_PRIVATE_URLS


def public_url() -> str:
    return settings.XASO_PUBLIC_URL.rstrip("/")
