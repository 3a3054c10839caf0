"""The one-stop shop over JSON: /api/v1/dossiers/… (officers) and /api/v1/public/dossiers/…
(citizens, no login, rate-limited). Thin: parse, select, act. Receipts are in receipts_api.py.
"""

import base64
import binascii
import datetime

from django.utils.translation import gettext as _
from ninja import Router, Schema, Status
from ninja.errors import HttpError
from ninja.pagination import paginate

from xaso.accounts.models import User
from xaso.accounts.permissions import scope_paths, user_has_anywhere
from xaso.accounts.roles import Capability
from xaso.core import ratelimit
from xaso.core.errors import DomainError, InvalidInput
from xaso.core.middleware import client_ip
from xaso.core.pagination import Pagination
from xaso.dossiers import actions, chain, deadlines, selectors
from xaso.places.models import Place

router = Router(tags=["dossiers"])
public_router = Router(tags=["dossiers (public)"], auth=None)
PUBLIC_SUBMISSIONS_PER_HOUR = 20
PUBLIC_LOOKUPS_PER_MINUTE = 20


# --- Calendar -----------------------------------------------------------------------------------
class DueOut(Schema):
    received_on: datetime.date
    due: datetime.date


@router.get("/dossiers/calendar/due", response=DueOut, auth=None)
def calendar_due(request, start: datetime.datetime, working_days: int):
    """Convention: after 15:00, or on a non-working day, the dossier counts from the next
    working day; `due` is the n-th working day after that day."""
    if not 0 <= working_days <= 365:
        raise InvalidInput(_("Số ngày làm việc từ 0 đến 365."), field="working_days")
    if start.tzinfo is None:
        raise InvalidInput(_("Thời điểm phải kèm múi giờ, vd. +07:00."), field="start")
    received_on, due = deadlines.due_for(start, working_days)
    return {"received_on": received_on, "due": due}


# --- Procedures ---------------------------------------------------------------------------------
class ProcedureOut(Schema):
    id: str
    code: str
    name: str
    field: str
    processing_days: int
    fee_name: str
    fee_amount: int
    documents: list
    result_type: str
    online_level: str
    steps: list
    is_active: bool

    @staticmethod
    def resolve_id(procedure) -> str:
        return procedure.public_id


class ProcedureIn(Schema):
    code: str
    name: str
    field: str = ""
    processing_days: int
    fee_name: str = ""
    fee_amount: int = 0
    documents: list = []
    result_type: str = ""
    online_level: str = "full"
    steps: list = []
    is_active: bool = True


@router.get("/dossiers/procedures", response=list[ProcedureOut], auth=None)
@paginate(Pagination)
def procedure_list(request):
    return selectors.procedures_active()


@router.post("/dossiers/procedures", response={201: ProcedureOut})
def procedure_create(request, payload: ProcedureIn):
    if not user_has_anywhere(request.auth, Capability.MANAGE_PROCEDURES):
        raise HttpError(403, "")
    return Status(201, actions.procedure_save(values=payload.dict(), by=request.auth))


# --- Dossiers -----------------------------------------------------------------------------------
class ApplicantIn(Schema):
    name: str
    phone: str = ""
    email: str = ""
    id_number: str | None = None
    address: str = ""


class DocumentIn(Schema):
    name: str  # the required document it answers
    filename: str
    content_base64: str


class DossierIn(Schema):
    procedure: str  # national procedure code
    applicant: ApplicantIn
    channel: str = "counter"
    commune: str = ""  # commune code; default: the officer's commune
    documents: list[DocumentIn] = []


class PublicDossierIn(Schema):
    procedure: str
    commune: str
    applicant: ApplicantIn
    documents: list[DocumentIn] = []


class StepOut(Schema):
    seq: int
    action: str
    from_status: str
    to_status: str
    actor_name: str
    at: datetime.datetime
    note: str
    timeliness: str


class DossierOut(Schema):
    code: str
    procedure: str
    procedure_name: str
    commune: str
    channel: str
    status: str
    applicant_name: str
    submitted_at: datetime.datetime
    received_on: datetime.date | None
    due: datetime.date | None
    extended_due: datetime.date | None
    assignee: str | None
    timeliness: str

    @staticmethod
    def resolve_procedure(dossier) -> str:
        return dossier.procedure.code

    @staticmethod
    def resolve_procedure_name(dossier) -> str:
        return dossier.procedure.name

    @staticmethod
    def resolve_commune(dossier) -> str:
        return dossier.commune.code

    @staticmethod
    def resolve_assignee(dossier) -> str | None:
        return dossier.assignee.username if dossier.assignee_id else None


class DossierCreatedOut(DossierOut):
    secret: str  # the lookup secret, shown once


class DossierDetailOut(DossierOut):
    steps: list[StepOut]
    chain_intact: bool

    @staticmethod
    def resolve_steps(dossier) -> list:
        return list(dossier.steps.order_by("seq"))

    @staticmethod
    def resolve_chain_intact(dossier) -> bool:
        return chain.chain_verify(dossier).intact


class TransitionIn(Schema):
    action: str
    note: str = ""
    assignee: str = ""  # username
    new_due: datetime.date | None = None
    returned_via: str = ""
    result: DocumentIn | None = None


def _uploads(documents: list[DocumentIn]) -> list[tuple[str, bytes, str]]:
    uploads = []
    for document in documents:
        try:
            data = base64.b64decode(document.content_base64, validate=True)
        except (binascii.Error, ValueError) as error:
            raise InvalidInput(
                _("Tệp %(name)s không phải base64 hợp lệ.") % {"name": document.filename},
                field="documents",
            ) from error
        uploads.append((document.name, data, document.filename[:200]))
    return uploads


def _commune_for_intake(user, code: str) -> Place:
    if code:
        commune = Place.objects.filter(code=code, kind=Place.Kind.COMMUNE).first()
    else:
        paths = scope_paths(user, Capability.RECEIVE_DOSSIERS) or []
        communes = Place.objects.filter(path__in=paths, kind=Place.Kind.COMMUNE)
        commune = communes.first() if len(paths) == 1 else None
    if commune is None:
        raise InvalidInput(_("Vui lòng chọn xã tiếp nhận hồ sơ."), field="commune")
    return commune


def _procedure(code: str):
    procedure = selectors.procedures_active().filter(code=code).first()
    if procedure is None:
        raise InvalidInput(_("Không tìm thấy thủ tục với mã này."), field="procedure")
    return procedure


@router.post("/dossiers", response={201: DossierCreatedOut})
def dossier_create(request, payload: DossierIn):
    dossier, secret = actions.dossier_submit(
        procedure=_procedure(payload.procedure),
        commune=_commune_for_intake(request.auth, payload.commune),
        applicant=payload.applicant.dict(),
        uploads=_uploads(payload.documents),
        channel=payload.channel,
        by=request.auth,
    )
    dossier.secret = secret
    return Status(201, dossier)


@router.get("/dossiers", response=list[DossierOut])
@paginate(Pagination)
def dossier_list(request, q: str = "", status: str = "", queue: bool = False):
    if queue:
        return selectors.work_queue_for_user(user=request.auth)
    return selectors.dossiers_for_user(user=request.auth, q=q, status=status)


@router.get("/dossiers/{code}", response=DossierDetailOut)
def dossier_get(request, code: str):
    return selectors.dossier_get_for_user(user=request.auth, code=code)


@router.post("/dossiers/{code}/transitions", response=DossierDetailOut)
def dossier_transition(request, code: str, payload: TransitionIn):
    dossier = selectors.dossier_get_for_user(user=request.auth, code=code)
    assignee = None
    if payload.assignee:
        assignee = User.objects.filter(username=payload.assignee, is_active=True).first()
        if assignee is None:
            raise InvalidInput(_("Không tìm thấy cán bộ được phân công."), field="assignee")
    result = None
    if payload.result is not None:
        ((_name, data, filename),) = _uploads([payload.result])
        result = (data, filename)
    actions.dossier_transition(
        dossier=dossier,
        action=payload.action,
        by=request.auth,
        note=payload.note,
        assignee=assignee,
        new_due=payload.new_due,
        returned_via=payload.returned_via,
        result=result,
    )
    return selectors.dossier_get_for_user(user=request.auth, code=code)


# --- Public -------------------------------------------------------------------------------------
class PublicDossierOut(Schema):
    code: str
    procedure_name: str
    status: str
    status_label: str
    submitted_at: datetime.datetime
    received_on: datetime.date | None
    due: datetime.date | None
    returned_at: datetime.datetime | None
    steps: list[dict]

    @staticmethod
    def resolve_procedure_name(dossier) -> str:
        return dossier.procedure.name

    @staticmethod
    def resolve_status_label(dossier) -> str:
        return dossier.get_status_display()

    @staticmethod
    def resolve_due(dossier):
        return dossier.current_due

    @staticmethod
    def resolve_steps(dossier) -> list[dict]:
        # What happened and when; no officer names, no notes (they may hold personal data).
        return [
            {
                "action": step.action,
                "label": str(actions.ACTION_LABELS.get(step.action, "")),
                "at": step.at.isoformat(),
            }
            for step in dossier.steps.order_by("seq")
        ]


class PublicCreatedOut(PublicDossierOut):
    secret: str


def _limit(request, scope: str, limit: int, window: int = 60) -> None:
    if not ratelimit.allow(
        scope=scope, key=client_ip(request) or "unknown", limit=limit, window_seconds=window
    ):
        raise HttpError(429, _("Bạn đã thử quá nhiều lần. Vui lòng đợi một lát."))


@public_router.post("/public/dossiers", response={201: PublicCreatedOut})
def public_dossier_submit(request, payload: PublicDossierIn):
    _limit(request, "dossier-submit", PUBLIC_SUBMISSIONS_PER_HOUR, window=3600)
    procedure = _procedure(payload.procedure)
    if procedure.online_level == procedure.OnlineLevel.NONE:
        raise DomainError(_("Thủ tục này chưa nhận hồ sơ trực tuyến."))
    commune = Place.objects.filter(code=payload.commune, kind=Place.Kind.COMMUNE).first()
    if commune is None:
        raise InvalidInput(_("Không tìm thấy xã với mã này."), field="commune")
    dossier, secret = actions.dossier_submit(
        procedure=procedure,
        commune=commune,
        applicant=payload.applicant.dict(),
        uploads=_uploads(payload.documents),
        channel="online",
    )
    dossier.secret = secret
    return Status(201, dossier)


@public_router.get("/public/dossiers/{code}", response=PublicDossierOut)
def public_dossier_lookup(request, code: str, secret: str = ""):
    _limit(request, "dossier-lookup", PUBLIC_LOOKUPS_PER_MINUTE)
    dossier = selectors.dossier_public(code=code, secret=secret)
    if dossier is None:
        raise HttpError(404, _("Không tìm thấy hồ sơ với mã và mã tra cứu này."))
    return dossier
