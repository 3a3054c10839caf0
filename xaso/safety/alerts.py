"""Who hears of an incident, and the message they get, through the notify outbox.

Level 0 (a new incident): the police officers on duty for the place (every police officer of
the commune when no shift covers the moment), and the commune leaders as well when it is
critical. Level 1 (unacknowledged past the severity's delay): the commune leaders. Level 2
(unacknowledged past twice the delay): the province contacts (province viewers and
administrators of the province). Each message carries a one-click "Xác nhận" link signed for
its recipient, so acknowledging from the notification needs no login.
"""

import logging

from django.conf import settings
from django.core import signing
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from xaso.accounts.models import Membership, User
from xaso.accounts.roles import Role
from xaso.notify import actions as notify
from xaso.safety.models import DutyShift, Incident

logger = logging.getLogger(__name__)

ACK_SALT = "xaso.safety.incident-ack"
ACK_MAX_AGE_SECONDS = 7 * 24 * 3600


def escalation_minutes(severity: str) -> int:
    """Minutes from XASO_ESCALATION_MINUTES ("critical:5,high:10,…"); 0 = never."""
    for item in settings.XASO_ESCALATION_MINUTES.split(","):
        name, _sep, minutes = item.partition(":")
        if name.strip() == severity:
            try:
                return max(0, int(minutes))
            except ValueError:
                logger.warning("XASO_ESCALATION_MINUTES: not a number for %s", severity)
                return 0
    return 0


def _ancestor_paths(path: str) -> list[str]:
    """ "/22/06913/06913-01/" → ["/22/", "/22/06913/", "/22/06913/06913-01/"]."""
    parts = [part for part in path.split("/") if part]
    return ["/" + "/".join(parts[: index + 1]) + "/" for index in range(len(parts))]


def _members(incident: Incident, roles: set[str]):
    """Active users holding one of `roles` at the incident's place or above it."""
    paths = _ancestor_paths(incident.place.path)
    user_ids = Membership.objects.filter(role__in=roles, place__path__in=paths).values("user_id")
    return User.objects.filter(pk__in=user_ids, is_active=True)


def _on_duty(incident: Incident):
    """Police officers whose shift covers now at the place; None when no shift is set."""
    now = timezone.now()
    shifts = DutyShift.objects.filter(
        place__path__in=_ancestor_paths(incident.place.path), starts_at__lte=now, ends_at__gt=now
    )
    if not shifts.exists():
        return None
    return User.objects.filter(pk__in=shifts.values("user_id"), is_active=True)


def recipients(incident: Incident, level: int) -> list[User]:
    if level == 0:
        officers = _on_duty(incident)
        if officers is None:
            officers = _members(incident, {Role.POLICE_OFFICER})
        chosen = list(officers)
        if incident.severity == Incident.Severity.CRITICAL:
            chosen += list(_members(incident, {Role.COMMUNE_LEADER}))
    elif level == 1:
        chosen = list(_members(incident, {Role.COMMUNE_LEADER}))
    else:
        province_path = _ancestor_paths(incident.place.path)[0]
        chosen = list(
            User.objects.filter(
                Q(
                    memberships__role__in={Role.PROVINCE_VIEWER, Role.ADMINISTRATOR},
                    memberships__place__path=province_path,
                ),
                is_active=True,
            ).distinct()
        )
    unique = {user.pk: user for user in chosen}
    return list(unique.values())


def ack_token(incident: Incident, user: User) -> str:
    return signing.dumps({"i": incident.public_id, "u": user.pk}, salt=ACK_SALT)


def ack_token_read(token: str) -> tuple[str, int] | None:
    """(incident public id, user pk) from a valid, unexpired token; None otherwise."""
    try:
        data = signing.loads(token, salt=ACK_SALT, max_age=ACK_MAX_AGE_SECONDS)
        return str(data["i"]), int(data["u"])
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        return None


def _incident_url(incident: Incident) -> str:
    return f"{settings.XASO_PUBLIC_URL}/an-ninh/su-co/{incident.public_id}/"


def _ack_url(incident: Incident, user: User) -> str:
    return f"{settings.XASO_PUBLIC_URL}/an-ninh/xac-nhan/{ack_token(incident, user)}/"


def _text(incident: Incident, level: int) -> tuple[str, str]:
    prefix = {0: "", 1: _("[Chưa tiếp nhận] "), 2: _("[Chuyển tỉnh] ")}.get(level, "")
    subject = f"{prefix}{incident.get_severity_display()}: {incident.title}"
    opened = timezone.localtime(incident.opened_at)
    lines = [
        f"{incident.get_category_display()} · {incident.place.name}",
        _("Lúc %(time)s") % {"time": f"{opened:%H:%M %d/%m/%Y}"},
    ]
    if incident.camera_id:
        lines.append(_("Camera: %(name)s") % {"name": incident.camera.name})
    return subject[:200], "\n".join(lines)


def _messages(incident: Incident, level: int, users: list[User]) -> list[dict]:
    """One message per recipient: each carries its own acknowledge link."""
    subject, body = _text(incident, level)
    return [
        {
            "recipients": [user],
            "subject": subject,
            "body": body,
            "key": f"incident:{incident.public_id}:level{level}:user{user.pk}",
            "url": _incident_url(incident),
            "actions": [{"label": _("Xác nhận"), "url": _ack_url(incident, user)}],
            "severity": "urgent" if incident.severity in {"high", "critical"} else "normal",
            "place_path": incident.place.path,
        }
        for user in users
    ]


def _send(incident: Incident, level: int) -> int:
    items = _messages(incident, level, recipients(incident, level))
    notify.messages_send(items)
    return len(items)


def incident_opened(incident: Incident) -> int:
    """Called after the incident's transaction commits; never raises into the caller."""
    try:
        return _send(incident, 0)
    except Exception:  # an alert failure must not lose the event that caused it
        logger.exception("alert for incident %s could not be queued", incident.public_id)
        return 0


def incidents_opened(incidents: list[Incident]) -> int:
    """The alerts of several new incidents at once (the MQTT listener's alert thread): the
    recipients of a place and severity looked up once, every message written by one
    `messages_send`, one commit. If that fails, each incident is tried on its own, so one
    bad alert never holds up the others. Never raises."""
    try:
        chosen: dict[tuple, list[User]] = {}
        items = []
        for incident in incidents:
            key = (incident.place_id, incident.severity)
            if key not in chosen:
                chosen[key] = recipients(incident, 0)
            items += _messages(incident, 0, chosen[key])
        notify.messages_send(items)
        return len(items)
    except Exception:
        logger.exception("alerts of %d incidents: sent one by one", len(incidents))
        return sum(incident_opened(incident) for incident in incidents)


def incident_escalated(incident: Incident) -> int:
    try:
        return _send(incident, incident.escalation_level)
    except Exception:
        logger.exception("escalation of incident %s could not be queued", incident.public_id)
        return 0
