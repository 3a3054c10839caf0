"""The notify settings, read when used (so tests can override them).

Each name is a Django setting if settings.py defines it, else the environment variable of the
same name, else the default. See docs/operations.md ("Notifications").
"""

import os

from django.conf import settings

_TRUE = {"1", "true", "yes", "on"}
ZALO_ZNS_DEFAULT_URL = "https://business.openapi.zalo.me/message/template"


def value(name: str, default: str = "") -> str:
    configured = getattr(settings, name, None)
    if configured is not None:
        return str(configured)
    return os.environ.get(name, default)


def flag(name: str, default: bool = False) -> bool:
    raw = value(name, "")
    return raw.strip().lower() in _TRUE if raw else default


def number(name: str, default: float) -> float:
    try:
        return float(value(name, str(default)))
    except ValueError:
        return default


def dispatch_mode() -> str:
    """thread (default): after commit, a pool in this process sends at once;
    inline: after commit, in the committing thread (the test suite's default);
    worker: only the task worker and the sweep send."""
    mode = value("XASO_NOTIFY_DISPATCH", "").strip().lower()
    if mode in {"thread", "inline", "worker"}:
        return mode
    return "inline" if flag("XASO_TESTING") else "thread"


def threads() -> int:
    return max(1, int(number("XASO_NOTIFY_THREADS", 4)))


def timeout() -> float:
    return max(0.5, number("XASO_NOTIFY_TIMEOUT", 5))


def max_attempts() -> int:
    return max(1, int(number("XASO_NOTIFY_MAX_ATTEMPTS", 5)))


def allow_private_urls() -> bool:
    """User-entered URLs (webhook, ntfy, push endpoint) may point at private addresses."""
    return flag("XASO_NOTIFY_ALLOW_PRIVATE_URLS")


def public_url() -> str:
    return str(getattr(settings, "XASO_PUBLIC_URL", "http://localhost:8000")).rstrip("/")
