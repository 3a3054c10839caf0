from django.db.models import Q
from django.http import Http404

from xaso.core.models import AuditEntry, Job


def job_get_for_user(*, user, public_id: str) -> Job:
    """A job is visible to the user who started it (and to superusers)."""
    jobs = Job.objects.all() if user.is_superuser else Job.objects.filter(started_by=user)
    try:
        return jobs.get(public_id=public_id)
    except Job.DoesNotExist as missing:
        raise Http404 from missing


def audit_list(
    *, place_paths=None, actor: str = "", verb: str = "", target: str = "", since=None, until=None
):
    """The audit log, newest first, filtered; `place_paths` None means every place.

    Callers decide which paths the viewer may read (accounts.selectors.audit_for_user).
    """
    entries = AuditEntry.objects.select_related(None)
    if place_paths is not None:
        condition = Q(pk__in=[])
        for path in place_paths:
            condition |= Q(place_path__startswith=path)
        entries = entries.filter(condition)
    if actor:
        entries = entries.filter(actor_username__iexact=actor)
    if verb:
        entries = entries.filter(verb__startswith=verb)
    if target:
        entries = entries.filter(target_id=target)
    if since:
        entries = entries.filter(created_at__date__gte=since)
    if until:
        entries = entries.filter(created_at__date__lte=until)
    return entries
