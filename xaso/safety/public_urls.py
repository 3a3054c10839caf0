"""Anonymous addresses of the safety app: the citizen report form and Open311 GeoReport v2."""

from django.urls import path, re_path

from xaso.safety import open311, public_views

app_name = "safety_public"

urlpatterns = [
    path("phan-anh/", public_views.report_form, name="report"),
    path("phan-anh/<str:code>/", public_views.report_status, name="report_status"),
    re_path(r"^open311/v2/discovery\.(?P<fmt>\w+)$", open311.discovery, name="open311_discovery"),
    re_path(r"^open311/v2/services\.(?P<fmt>\w+)$", open311.services, name="open311_services"),
    re_path(
        r"^open311/v2/services/(?P<code>[\w-]+)\.(?P<fmt>\w+)$",
        open311.service_definition,
        name="open311_service",
    ),
    re_path(r"^open311/v2/requests\.(?P<fmt>\w+)$", open311.requests_, name="open311_requests"),
    re_path(
        r"^open311/v2/requests/(?P<request_id>[\w-]+)\.(?P<fmt>\w+)$",
        open311.request_detail,
        name="open311_request",
    ),
]
