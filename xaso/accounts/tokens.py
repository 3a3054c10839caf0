"""API bearer tokens: `xaso_<prefix>_<secret>`; the database holds the prefix and a SHA-256."""

import hashlib
import hmac
import secrets

from django.db import transaction
from django.utils import timezone

from xaso.accounts.models import ApiToken
from xaso.core import audit


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@transaction.atomic
def token_create(*, user, name: str = "", by=None) -> tuple[ApiToken, str]:
    """Create a token for `user`; return it with the plain token, which is never stored."""
    prefix = secrets.token_hex(6)
    plain = f"xaso_{prefix}_{secrets.token_urlsafe(32)}"
    token = ApiToken.objects.create(user=user, name=name, prefix=prefix, token_hash=_digest(plain))
    audit.record(actor=by or user, verb="api_token.created", target=token)
    return token, plain


def token_authenticate(plain: str):
    """Return the active user the token belongs to, or None."""
    parts = plain.split("_", 2)
    if len(parts) != 3 or parts[0] != "xaso":
        return None
    token = (
        ApiToken.objects.select_related("user")
        .filter(prefix=parts[1], revoked_at__isnull=True)
        .first()
    )
    if token is None or not hmac.compare_digest(token.token_hash, _digest(plain)):
        return None
    if not token.user.is_active:
        return None
    now = timezone.now()
    # Record use at most once a minute, so each API call does not cost a write.
    if token.last_used_at is None or (now - token.last_used_at).total_seconds() > 60:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token.user


@transaction.atomic
def token_revoke(*, prefix: str, by=None) -> bool:
    """Revoke the active token with `prefix`; False when there is none."""
    token = ApiToken.objects.filter(prefix=prefix, revoked_at__isnull=True).first()
    if token is None:
        return False
    token.revoked_at = timezone.now()
    token.save(update_fields=["revoked_at"])
    audit.record(actor=by, verb="api_token.revoked", target=token)
    return True
