from django.urls import path

from xaso.core import views

app_name = "core"

urlpatterns = [
    path("jobs/<str:public_id>/", views.job_status, name="job"),
    path("jobs/<str:public_id>/download", views.job_download, name="job_download"),
]
