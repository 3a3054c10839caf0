from django.urls import path

from xaso.safety import views

app_name = "safety"

# Officer pages, all under an-ninh/. The citizens' pages are in public_urls.py.
urlpatterns = [
    path("an-ninh/", views.centre, name="centre"),
    path("an-ninh/truc-tiep/", views.centre_live, name="centre_live"),
    path("an-ninh/su-co/moi/", views.incident_new, name="incident_new"),
    path("an-ninh/su-co/<str:public_id>/", views.incident_detail, name="incident"),
    path(
        "an-ninh/su-co/<str:public_id>/buoc/<str:action>/",
        views.incident_step,
        name="incident_step",
    ),
    path("an-ninh/su-co/<str:public_id>/ghi-chu/", views.incident_note, name="incident_note"),
    path("an-ninh/su-co/<str:public_id>/bang-chung/", views.incident_hold, name="incident_hold"),
    path("an-ninh/su-co/<str:public_id>/anh/<int:step_id>/", views.step_photo, name="step_photo"),
    path("an-ninh/anh/<int:event_id>/", views.snapshot, name="snapshot"),
    path("an-ninh/xac-nhan/<str:token>/", views.ack, name="ack"),
    path("an-ninh/camera/", views.camera_list, name="cameras"),
    path("an-ninh/camera/them/", views.camera_edit, name="camera_new"),
    path("an-ninh/camera/ho-gia-dinh/", views.household_options, name="household_options"),
    path("an-ninh/camera/<str:public_id>/", views.camera_detail, name="camera"),
    path("an-ninh/camera/<str:public_id>/sua/", views.camera_edit, name="camera_edit"),
    path(
        "an-ninh/camera/<str:public_id>/ma-ket-noi/",
        views.camera_token_rotate,
        name="camera_rotate",
    ),
    path("an-ninh/camera/<str:camera_id>/quy-tac/them/", views.rule_edit, name="rule_new"),
    path("an-ninh/quy-tac/<str:public_id>/sua/", views.rule_edit, name="rule_edit"),
    path("an-ninh/lich-truc/", views.duty, name="duty"),
    path("an-ninh/thong-ke/", views.statistics, name="statistics"),
    path("an-ninh/thong-ke/xuat.<str:kind>", views.export, name="export"),
    path("an-ninh/phan-anh/", views.report_list, name="reports"),
    path("an-ninh/phan-anh/<str:public_id>/anh/", views.report_photo, name="report_photo"),
    path("an-ninh/phan-anh/<str:public_id>/gan/", views.report_link, name="report_link"),
    path("an-ninh/phan-anh/<str:public_id>/mo-vu-viec/", views.report_open, name="report_open"),
    path("an-ninh/phan-anh/<str:public_id>/dong/", views.report_close, name="report_close"),
]
