"""VAPID keys for web push: XASO_VAPID_PRIVATE_KEY, or one generated into DATA_DIR/secrets.

The key is made on first use (not at import) and kept, like the generated secrets of
settings.py (decision 0007): browsers subscribe with its public half, so a new key silently
orphans every existing push subscription.
"""

import base64
import os
import threading
from functools import lru_cache

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from django.conf import settings
from py_vapid import Vapid

from xaso.notify import conf

_lock = threading.Lock()


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _private_key() -> str:
    configured = settings.XASO_VAPID_PRIVATE_KEY.strip()
    if configured:
        return configured
    secret_file = settings.DATA_DIR / "secrets" / "xaso_vapid_private_key"
    with _lock:
        if not secret_file.exists():
            secret_file.parent.mkdir(parents=True, exist_ok=True)
            key = ec.generate_private_key(ec.SECP256R1())
            raw = key.private_numbers().private_value.to_bytes(32, "big")
            try:  # O_EXCL: another process that got there first wins
                descriptor = os.open(secret_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:
                pass
            else:
                with os.fdopen(descriptor, "w") as handle:
                    handle.write(b64url(raw))
    return secret_file.read_text().strip()


@lru_cache(maxsize=2)
def _vapid(private_key: str) -> Vapid:
    return Vapid.from_raw(private_key.encode())


def vapid() -> Vapid:
    return _vapid(_private_key())


def vapid_public_key() -> str:
    """The application server key a browser subscribes with (base64url, uncompressed point)."""
    point = vapid().public_key.public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    return b64url(point)


def vapid_subject() -> str:
    configured = settings.XASO_VAPID_SUBJECT.strip()
    if configured:
        return configured
    public = conf.public_url()
    return public if public.startswith("https://") else "mailto:admin@localhost"
