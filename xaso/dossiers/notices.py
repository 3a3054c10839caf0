"""Telling the applicant that her dossier moved, through the notify outbox (SMS and e-mail).

Runs after the transition commits. A failure to queue is logged, never raised: the dossier's
step is already signed and saved.
"""

import logging

from django.conf import settings
from django.utils.translation import gettext as _

from xaso.dossiers.models import Dossier
from xaso.notify import actions as notify

logger = logging.getLogger(__name__)

# Which transitions the applicant hears of, and what she is told.
MESSAGES = {
    "receive": _("Hồ sơ %(code)s đã được tiếp nhận. Hẹn trả kết quả ngày %(due)s."),
    "request_supplement": _("Hồ sơ %(code)s cần bổ sung giấy tờ: %(note)s"),
    "refuse": _("Hồ sơ %(code)s không được tiếp nhận: %(note)s"),
    "extend": _("Hồ sơ %(code)s được gia hạn đến ngày %(due)s. Xin lỗi ông/bà vì sự chậm trễ."),
    "issue_result": _("Hồ sơ %(code)s đã có kết quả."),
    "return": _("Hồ sơ %(code)s đã trả kết quả. Mời ông/bà đánh giá mức độ hài lòng."),
    "stop": _("Hồ sơ %(code)s đã dừng xử lý: %(note)s"),
}


def lookup_url(dossier: Dossier) -> str:
    return f"{settings.XASO_PUBLIC_URL}/tra-cuu-ho-so/?ma={dossier.code}"


def status_changed(dossier_id: int, action: str) -> int:
    """Queue one message per contact the applicant left; returns how many were queued."""
    template = MESSAGES.get(action)
    if template is None:
        return 0
    try:
        return _send(
            Dossier.objects.select_related("procedure").get(pk=dossier_id), action, template
        )
    except Exception:
        logger.exception("notice for dossier %s (%s) could not be queued", dossier_id, action)
        return 0


def _send(dossier: Dossier, action: str, template: str) -> int:
    from xaso.dossiers.actions import applicant_contact  # actions imports this module

    due = dossier.current_due
    seq, last_note = dossier.steps.order_by("-seq").values_list("seq", "note").first()
    body = template % {
        "code": dossier.code,
        "due": f"{due:%d/%m/%Y}" if due else "",
        "note": last_note[:200],
    }
    contact = applicant_contact(dossier)
    sent = 0
    for kind, address in (("sms", contact["phone"]), ("email", contact["email"])):
        if not address:
            continue
        notify.message_send_to_address(
            kind=kind,
            address=address,
            subject=_("Hồ sơ %(code)s") % {"code": dossier.code},
            body=body,
            key=f"dossier:{dossier.code}:step{seq}:{kind}",  # a retry never sends twice
            url=lookup_url(dossier),
        )
        sent += 1
    return sent
