"""The demo commune's one-stop shop: twelve common commune procedures and a few dossiers.

Procedure codes follow the national procedure catalogue as published on the National Public
Service Portal when this was written; times and fees are typical values. A real commune
imports its own catalogue (CSV/JSON) and checks each entry against its province's decision.
Loaded once: procedures are saved by code; dossiers only if the commune has none.
"""

import io

from reportlab.pdfgen import canvas

from xaso.accounts.models import User
from xaso.dossiers import actions
from xaso.dossiers.models import Dossier, DossierDocument, Procedure
from xaso.places.models import Place

CIVIL = [
    {"action": "receive", "role": "one_stop_officer", "share": 10},
    {"action": "appraise", "role": "specialist", "share": 50},
    {"action": "approve", "role": "commune_leader", "share": 30},
    {"action": "return", "role": "one_stop_officer", "share": 10},
]


def _documents(*names: str, optional: tuple[str, ...] = ()) -> list[dict]:
    return [{"name": name, "required": True} for name in names] + [
        {"name": name, "required": False} for name in optional
    ]


# code, name, field, working days, fee name, fee, documents, result
PROCEDURES = [
    (
        "1.001193",
        "Đăng ký khai sinh",
        "Hộ tịch",
        1,
        "Lệ phí đăng ký khai sinh",
        0,
        _documents("Tờ khai đăng ký khai sinh", "Giấy chứng sinh", optional=("Văn bản uỷ quyền",)),
        "Giấy khai sinh",
    ),
    (
        "1.000656",
        "Đăng ký khai tử",
        "Hộ tịch",
        1,
        "Lệ phí đăng ký khai tử",
        0,
        _documents("Tờ khai đăng ký khai tử", "Giấy báo tử hoặc giấy tờ thay thế"),
        "Trích lục khai tử",
    ),
    (
        "1.000894",
        "Đăng ký kết hôn",
        "Hộ tịch",
        1,
        "Lệ phí đăng ký kết hôn",
        0,
        _documents("Tờ khai đăng ký kết hôn"),
        "Giấy chứng nhận kết hôn",
    ),
    (
        "1.004873",
        "Cấp Giấy xác nhận tình trạng hôn nhân",
        "Hộ tịch",
        3,
        "Lệ phí xác nhận tình trạng hôn nhân",
        15000,
        _documents("Tờ khai cấp Giấy xác nhận tình trạng hôn nhân"),
        "Giấy xác nhận tình trạng hôn nhân",
    ),
    (
        "1.004884",
        "Đăng ký lại khai sinh",
        "Hộ tịch",
        5,
        "Lệ phí đăng ký lại khai sinh",
        5000,
        _documents("Tờ khai đăng ký lại khai sinh", "Bản sao giấy tờ liên quan"),
        "Giấy khai sinh",
    ),
    (
        "1.004859",
        "Đăng ký nhận cha, mẹ, con",
        "Hộ tịch",
        3,
        "Lệ phí đăng ký nhận cha, mẹ, con",
        15000,
        _documents("Tờ khai đăng ký nhận cha, mẹ, con", "Chứng cứ chứng minh quan hệ"),
        "Trích lục đăng ký nhận cha, mẹ, con",
    ),
    (
        "2.000815",
        "Chứng thực bản sao từ bản chính",
        "Chứng thực",
        1,
        "Phí chứng thực bản sao",
        2000,
        _documents("Bản chính giấy tờ, văn bản"),
        "Bản sao được chứng thực",
    ),
    (
        "2.000884",
        "Chứng thực chữ ký trong giấy tờ, văn bản",
        "Chứng thực",
        1,
        "Phí chứng thực chữ ký",
        10000,
        _documents("Giấy tờ, văn bản cần chứng thực chữ ký"),
        "Giấy tờ được chứng thực chữ ký",
    ),
    (
        "1.003583",
        "Xác nhận thông tin cư trú (hộ khẩu, tạm trú)",
        "Cư trú",
        3,
        "",
        0,
        _documents("Tờ khai thay đổi thông tin cư trú (CT01)"),
        "Văn bản xác nhận thông tin cư trú",
    ),
    (
        "1.001776",
        "Xác nhận hộ gia đình làm nông nghiệp có mức sống trung bình",
        "Lao động",
        5,
        "",
        0,
        _documents("Giấy đề nghị xác nhận"),
        "Giấy xác nhận",
    ),
    (
        "1.010831",
        "Cấp giấy phép xây dựng nhà ở riêng lẻ",
        "Xây dựng",
        15,
        "Lệ phí cấp giấy phép xây dựng",
        75000,
        _documents(
            "Đơn đề nghị cấp giấy phép xây dựng",
            "Bản sao giấy tờ về quyền sử dụng đất",
            "Bản vẽ thiết kế xây dựng",
        ),
        "Giấy phép xây dựng",
    ),
    (
        "1.003960",
        "Đăng ký hoạt động tín ngưỡng, lễ hội",
        "Tôn giáo",
        15,
        "",
        0,
        _documents("Văn bản đăng ký", "Chương trình hoạt động"),
        "Văn bản chấp thuận",
    ),
]


def dossiers_demo_load(*, commune: Place, admin: User) -> dict[str, int]:
    for code, name, field, days, fee_name, fee, documents, result in PROCEDURES:
        if not Procedure.objects.filter(code=code).exists():
            actions.procedure_save(
                values={
                    "code": code,
                    "name": name,
                    "field": field,
                    "processing_days": days,
                    "fee_name": fee_name,
                    "fee_amount": fee,
                    "documents": documents,
                    "result_type": result,
                    "online_level": "full" if field == "Hộ tịch" else "partial",
                    "steps": CIVIL,
                },
                by=admin,
            )
    if not Dossier.objects.filter(commune=commune).exists():
        _dossiers(commune)
    return {
        "procedures": Procedure.objects.filter(is_active=True).count(),
        "dossiers": Dossier.objects.filter(commune=commune).count(),
    }


def dossiers_demo_delete(commune: Place) -> None:
    for dossier in Dossier.objects.filter(commune=commune):
        for document in DossierDocument.objects.filter(dossier=dossier):
            document.file.delete(save=False)
    Dossier.objects.filter(commune=commune).delete()


def _pdf(title: str) -> bytes:
    buffer = io.BytesIO()
    page = canvas.Canvas(buffer)
    page.drawString(72, 760, title)
    page.save()
    return buffer.getvalue()


def _uploads(procedure: Procedure) -> list[tuple[str, bytes, str]]:
    return [
        (doc["name"], _pdf(doc["name"].encode("ascii", "ignore").decode()), f"giay-to-{i}.pdf")
        for i, doc in enumerate(procedure.documents)
        if doc["required"]
    ]


def _dossiers(commune: Place) -> None:
    """Five dossiers: one online waiting to be received, one at each later stage."""
    officer = User.objects.get(username="motcua")
    leader = User.objects.get(username="lanhdao")
    specialist = User.objects.get(username="tuphap")
    people = [
        ("Nguyễn Thị Mai", "0912000101"),
        ("Trần Văn Hùng", "0912000102"),
        ("Lê Thị Lan", "0912000103"),
        ("Phạm Văn Đức", "0912000104"),
        ("Vũ Thị Hương", "0912000105"),
    ]
    codes = ["1.001193", "1.004873", "2.000815", "1.000656", "1.001193"]
    created = []
    for (name, phone), code in zip(people, codes, strict=True):
        procedure = Procedure.objects.get(code=code)
        dossier, _secret = actions.dossier_submit(
            procedure=procedure,
            commune=commune,
            applicant={"name": name, "phone": phone, "address": f"{commune.name}"},
            uploads=_uploads(procedure),
            channel="online" if len(created) in (0, 4) else "counter",
            by=None if len(created) in (0, 4) else officer,
        )
        created.append(dossier)
    _, assigned, appraised, returned, _online = created
    for dossier in (assigned, appraised, returned):
        actions.dossier_transition(
            dossier=dossier, action="assign", by=officer, assignee=specialist
        )
    actions.dossier_transition(dossier=appraised, action="appraise", by=specialist)
    actions.dossier_transition(dossier=returned, action="appraise", by=specialist)
    actions.dossier_transition(dossier=returned, action="approve", by=leader)
    actions.dossier_transition(dossier=returned, action="issue_result", by=specialist)
    actions.dossier_transition(
        dossier=returned, action="return", by=officer, returned_via="counter"
    )
