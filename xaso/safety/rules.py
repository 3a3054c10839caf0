"""Does an event meet a rule? Each condition is checked and kept, so an incident can say why.

Pure reading: no writes. `actions.event_ingest` calls `evaluate` for each active rule of the
event's camera and opens or joins an incident with the first rule that matches.
"""

import datetime
from dataclasses import dataclass

from django.utils import timezone

from xaso.safety.models import CameraEvent, Rule


@dataclass(frozen=True)
class Check:
    name: str
    expected: str
    actual: str
    ok: bool

    def as_dict(self) -> dict:
        return {"name": self.name, "expected": self.expected, "actual": self.actual, "ok": self.ok}


@dataclass(frozen=True)
class Verdict:
    rule: Rule
    checks: list[Check]

    @property
    def matched(self) -> bool:
        return all(check.ok for check in self.checks)

    def explanation(self, event: CameraEvent) -> dict:
        """What the incident page shows: the rule, each condition, and the evidence."""
        return {
            "rule": self.rule.public_id,
            "rule_name": str(self.rule),
            "checks": [check.as_dict() for check in self.checks],
            "event": {
                "source": event.source,
                "source_id": event.source_id,
                "label": event.label,
                "score": event.score,
                "zones": event.zones,
                "started_at": event.started_at.isoformat(),
            },
        }


def evaluate(
    rule: Rule, event: CameraEvent, *, now: datetime.datetime | None = None, not_yet=()
) -> Verdict:
    """`not_yet`: ids of events stored in the same batch after this one, left out of a
    crowding count (actions.events_ingest)."""
    now = now or timezone.now()
    checks = [_label(rule, event), _score(rule, event), _zone(rule, event)]
    if rule.min_duration_seconds:
        checks.append(_duration(rule, event, now))
    if rule.hour_from is not None and rule.hour_to is not None:
        checks.append(_hours(rule, event))
    if rule.min_count > 1:
        checks.append(_count(rule, event, not_yet))
    return Verdict(rule=rule, checks=checks)


def _label(rule: Rule, event: CameraEvent) -> Check:
    expected = rule.label or "*"
    return Check("label", expected, event.label, not rule.label or rule.label == event.label)


def _score(rule: Rule, event: CameraEvent) -> Check:
    # An event without a score (a line-crossing alarm, say) passes only a rule that asks none.
    ok = rule.min_score <= 0 or (event.score is not None and event.score >= rule.min_score)
    actual = "" if event.score is None else f"{event.score:.2f}"
    return Check("min_score", f"{rule.min_score:.2f}", actual, ok)


def _zone(rule: Rule, event: CameraEvent) -> Check:
    zones = list(event.zones or [])
    return Check("zone", rule.zone or "*", ", ".join(zones), not rule.zone or rule.zone in zones)


def _duration(rule: Rule, event: CameraEvent, now: datetime.datetime) -> Check:
    # An event still running counts the time seen so far.
    seconds = ((event.ended_at or now) - event.started_at).total_seconds()
    ok = seconds >= rule.min_duration_seconds
    return Check("min_duration_seconds", str(rule.min_duration_seconds), f"{seconds:.0f}", ok)


def _hours(rule: Rule, event: CameraEvent) -> Check:
    hour = timezone.localtime(event.started_at).hour
    start, end = rule.hour_from, rule.hour_to
    # 22 → 5 wraps past midnight; start == end means the whole day.
    if start == end:
        ok = True
    elif start < end:
        ok = start <= hour < end
    else:
        ok = hour >= start or hour < end
    return Check("hours", f"{start:02d}h–{end:02d}h", f"{hour:02d}h", ok)


def _count(rule: Rule, event: CameraEvent, not_yet=()) -> Check:
    """Crowding: enough events of this camera (label, score) inside the rule's window."""
    since = event.started_at - datetime.timedelta(minutes=rule.window_minutes)
    recent = CameraEvent.objects.filter(
        camera_id=event.camera_id, started_at__gte=since, started_at__lte=event.started_at
    ).exclude(pk__in=list(not_yet))
    if rule.label:
        recent = recent.filter(label=rule.label)
    if rule.min_score > 0:
        recent = recent.filter(score__gte=rule.min_score)
    count = recent.count()
    return Check("min_count", str(rule.min_count), str(count), count >= rule.min_count)
