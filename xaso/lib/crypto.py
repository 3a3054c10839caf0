"""Field encryption and keyed hashes for personal identifiers (CCCD, phone numbers).

One secret (XASO_FIELD_KEY) is stretched with HKDF into two independent keys: one encrypts
(Fernet: AES-128-CBC + HMAC-SHA256, random IV), one computes the lookup hash (HMAC-SHA256), so
that the hash can find an exact value without ever decrypting a column.
"""

import base64
import hashlib
import hmac
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF


class DecryptionError(Exception):
    """The stored value cannot be read with the configured key."""


def _derive(secret: str, purpose: bytes) -> bytes:
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=b"xaso-field-key", info=purpose)
    return hkdf.derive(secret.encode())


@lru_cache(maxsize=4)
def _fernet(secret: str) -> Fernet:
    return Fernet(base64.urlsafe_b64encode(_derive(secret, b"encrypt")))


@lru_cache(maxsize=4)
def _hash_key(secret: str) -> bytes:
    return _derive(secret, b"lookup-hash")


def encrypt(plain: str, *, secret: str) -> str:
    return _fernet(secret).encrypt(plain.encode()).decode()


def decrypt(token: str, *, secret: str) -> str:
    try:
        return _fernet(secret).decrypt(token.encode()).decode()
    except InvalidToken as error:
        raise DecryptionError("cannot decrypt with the configured XASO_FIELD_KEY") from error


def lookup_hash(plain: str, *, secret: str) -> str:
    return hmac.new(_hash_key(secret), plain.encode(), hashlib.sha256).hexdigest()
