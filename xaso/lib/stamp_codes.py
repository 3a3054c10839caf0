"""Anti-counterfeit stamp codes: 20 Crockford base32 characters (100 random bits).

Only a keyed hash of a code is stored, so a copy of the database cannot print genuine stamps.
Codes are read back from QR scans and from people typing them off a label, so reading forgives
case, spaces, dashes and the letters Crockford base32 leaves out (O→0, I/L→1).
"""

import base64
import hashlib
import hmac
import secrets
from collections.abc import Iterator

CODE_LENGTH = 20  # characters of 5 bits: 100 random bits
CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_CROCKFORD_SET = frozenset(CROCKFORD)
_RFC4648 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
# base64.b32encode speaks RFC 4648; translating its output is much faster than a Python loop.
_TO_CROCKFORD = bytes.maketrans(_RFC4648.encode(), CROCKFORD.encode())
_READ_ALIASES = str.maketrans({"O": "0", "I": "1", "L": "1", "-": None, " ": None})
_CODES_PER_DRAW = 2  # 25 random bytes encode to exactly 40 characters: two codes, no padding


def new_codes(count: int) -> Iterator[str]:
    """Yield `count` fresh random codes, drawing randomness in blocks for speed."""
    remaining = count
    while remaining > 0:
        pairs = min(remaining, 20_000) // _CODES_PER_DRAW + 1
        text = base64.b32encode(secrets.token_bytes(25 * pairs)).translate(_TO_CROCKFORD)
        for start in range(0, min(remaining, 2 * pairs) * CODE_LENGTH, CODE_LENGTH):
            yield text[start : start + CODE_LENGTH].decode()
        remaining -= min(remaining, 2 * pairs)


def normalize_code(text: str) -> str | None:
    """The canonical code for what a person or a scanner sent; None if it cannot be one."""
    code = (text or "").upper().translate(_READ_ALIASES)
    if len(code) != CODE_LENGTH or not _CROCKFORD_SET.issuperset(code):
        return None
    return code


def code_hash(code: str, *, key: bytes) -> str:
    """HMAC-SHA256 of the canonical code, truncated to 128 bits (32 hex characters)."""
    # hmac.new, not hmac.digest: the latter lets go of the GIL around a 20-byte hash, and
    # taking it back costs more than the hash when the page's threads are busy.
    return hmac.new(key, code.encode(), hashlib.sha256).digest()[:16].hex()


def readable(code: str) -> str:
    """Groups of four for printing under the QR code: 'ABCD-EFGH-…'."""
    return "-".join(code[start : start + 4] for start in range(0, len(code), 4))


def derive_key(secret: str) -> bytes:
    """A key for stamp hashes, separate from the keys for personal data."""
    return hashlib.sha256(b"xaso-stamp-codes:" + secret.encode()).digest()
