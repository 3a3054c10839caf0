from django.urls import path

from xaso.dossiers import admin_views, citizen_views, views

app_name = "dossiers"

# Officer pages under mot-cua/; the citizens' pages at /nop-ho-so/ and /tra-cuu-ho-so/.
# The receipt verification page (/bien-lai/<code>/) is in public_urls.py.
urlpatterns = [
    path("mot-cua/", views.queue, name="queue"),
    path("mot-cua/tiep-nhan/", views.intake, name="intake"),
    path("mot-cua/ho-so/<str:code>/", views.dossier_detail, name="dossier"),
    path("mot-cua/ho-so/<str:code>/buoc/<str:action>/", views.dossier_step, name="step"),
    path("mot-cua/ho-so/<str:code>/phieu-hen/", views.appointment_slip, name="slip"),
    path("mot-cua/ho-so/<str:code>/mau/<str:form>/", views.paper, name="paper"),
    path(
        "mot-cua/ho-so/<str:code>/tai-lieu/<int:document_id>/",
        views.document_download,
        name="document",
    ),
    path("mot-cua/ho-so/<str:code>/hien/<str:field>/", views.applicant_reveal, name="reveal"),
    path("mot-cua/ho-so/<str:code>/thu-phi/", views.payment_request, name="payment_request"),
    path("mot-cua/ho-so/<str:code>/bien-lai/", views.receipt_issue, name="receipt_issue"),
    path(
        "mot-cua/thanh-toan/<str:public_id>/xac-nhan/",
        views.payment_confirm,
        name="payment_confirm",
    ),
    path("mot-cua/thanh-toan/<str:public_id>/qr.svg", views.payment_qr, name="payment_qr"),
    path("mot-cua/bien-lai/<str:public_id>/huy/", views.receipt_cancel, name="receipt_cancel"),
    path(
        "mot-cua/bien-lai/<str:public_id>/thay-the/",
        views.receipt_replace,
        name="receipt_replace",
    ),
    path("mot-cua/bien-lai/<str:public_id>/pdf/", views.receipt_download, name="receipt_pdf"),
    path("mot-cua/thong-ke/", admin_views.statistics, name="statistics"),
    path("mot-cua/thong-ke/xuat.xlsx", admin_views.statistics_export, name="statistics_export"),
    path("mot-cua/so-theo-doi/", admin_views.register_export, name="register"),
    path("mot-cua/thu-tuc/", admin_views.procedures, name="procedures"),
    path("mot-cua/thu-tuc/them/", admin_views.procedure_edit, name="procedure_new"),
    path("mot-cua/thu-tuc/nhap/", admin_views.procedures_import, name="procedures_import"),
    path(
        "mot-cua/thu-tuc/xuat.<str:kind>", admin_views.procedures_export, name="procedures_export"
    ),
    path("mot-cua/thu-tuc/<str:code>/sua/", admin_views.procedure_edit, name="procedure_edit"),
    path("mot-cua/lich/", admin_views.calendar, name="calendar"),
    path("mot-cua/lich/xoa/", admin_views.calendar_delete, name="calendar_delete"),
    path("mot-cua/chu-ky-so/", admin_views.signing_keys, name="signing_keys"),
    # Citizens, no login.
    path("nop-ho-so/", citizen_views.submit_start, name="submit"),
    path("nop-ho-so/<str:code>/", citizen_views.submit_form, name="submit_form"),
    path("tra-cuu-ho-so/", citizen_views.lookup, name="lookup"),
    path("tra-cuu-ho-so/danh-gia/", citizen_views.rate, name="rate"),
    path("tra-cuu-ho-so/bo-sung/", citizen_views.supplement, name="supplement"),
    path("tra-cuu-ho-so/ket-qua/", citizen_views.result, name="result"),
]
