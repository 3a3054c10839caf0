"""Deadlines of dossiers and steps on the working-day calendar, with the year's overrides."""

import datetime

from django.utils import timezone

from xaso.dossiers.models import CalendarOverride, Dossier, Procedure
from xaso.lib.calendar import MINUTES_PER_WORKING_DAY, Override, WorkingCalendar


def working_calendar() -> WorkingCalendar:
    """The calendar with every administrator override (a few dozen rows at most)."""
    overrides = [
        Override(row.day, row.working, row.note)
        for row in CalendarOverride.objects.only("day", "working", "note")
    ]
    return WorkingCalendar(overrides=overrides)


def due_for(moment: datetime.datetime, working_days: int, calendar=None):
    """(received on, due) for a dossier received at `moment` (any time zone)."""
    calendar = calendar or working_calendar()
    local = timezone.localtime(moment).replace(tzinfo=None)
    return calendar.due(local, working_days)


def step_minutes_allowed(procedure: Procedure, action: str) -> int | None:
    """Office minutes the procedure gives the step that `action` completes, if it names one."""
    for step in procedure.steps or []:
        if step.get("action") == action:
            share = float(step.get("share") or 0)
            return round(procedure.processing_days * MINUTES_PER_WORKING_DAY * share / 100)
    return None


def minutes_used(start: datetime.datetime, end: datetime.datetime, calendar=None) -> int:
    calendar = calendar or working_calendar()
    return calendar.working_minutes(
        timezone.localtime(start).replace(tzinfo=None), timezone.localtime(end).replace(tzinfo=None)
    )


def step_timeliness(allowed: int, used: int) -> str:
    """Late past the minutes allowed; on time within the last working day of them; else early."""
    if used > allowed:
        return Dossier.Timeliness.LATE
    if used > allowed - MINUTES_PER_WORKING_DAY:
        return Dossier.Timeliness.ON_TIME
    return Dossier.Timeliness.EARLY


def dossier_timeliness(dossier: Dossier, finished: datetime.datetime) -> str:
    """Early before the due day, on time on it, late after it."""
    due = dossier.current_due
    if due is None:
        return ""
    finished_on = timezone.localdate(finished)
    if finished_on < due:
        return Dossier.Timeliness.EARLY
    if finished_on == due:
        return Dossier.Timeliness.ON_TIME
    return Dossier.Timeliness.LATE
