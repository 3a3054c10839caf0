"""Random public identifiers: what goes in URLs, QR codes and print, never a database key."""

import secrets

# Crockford base32 without I, L, O, U: unambiguous when read aloud or typed from paper.
CROCKFORD_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"


def new_public_id(length: int = 16) -> str:
    """Return `length` random Crockford base32 characters (5 bits each; 16 chars = 80 bits)."""
    return "".join(secrets.choice(CROCKFORD_ALPHABET) for _ in range(length))
