"""The audit log: every action writes one row through `record`."""

from typing import Any

from django.db import models

from xaso.core import request_context
from xaso.core.models import AuditEntry


def record(
    *,
    actor,
    verb: str,
    target: models.Model | None = None,
    changes: dict[str, Any] | None = None,
    place_path: str = "",
) -> AuditEntry:
    """Write one audit row. `verb` reads as `entity.past_tense`, e.g. "household.updated"."""
    context = request_context.current()
    target_type = target_id = target_label = ""
    if target is not None:
        target_type = target._meta.label_lower
        target_id = str(getattr(target, "public_id", None) or target.pk)
        target_label = str(target)[:255]
    return AuditEntry.objects.create(
        actor=actor if getattr(actor, "pk", None) else None,
        actor_username=getattr(actor, "username", "") or "",
        verb=verb,
        target_type=target_type,
        target_id=target_id,
        target_label=target_label,
        place_path=place_path,
        changes=changes or {},
        ip_address=context.ip_address,
        user_agent=context.user_agent[:255],
        request_id=context.request_id,
    )


def field_changes(instance: models.Model, new_values: dict[str, Any]) -> dict[str, list]:
    """Return {field: [old, new]} for the values that differ, as text for the log."""
    changed = {}
    for field, new in new_values.items():
        old = getattr(instance, field)
        if old != new:
            changed[field] = [_as_text(old), _as_text(new)]
    return changed


def _as_text(value: Any) -> Any:
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)
