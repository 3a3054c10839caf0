"""Dashboards, reports and period closing pages (/chi-so/)."""

from django.urls import path

from xaso.indicators import views

app_name = "indicators"

urlpatterns = [
    path("chi-so/", views.dashboard, name="dashboard"),
    path("chi-so/bao-cao.xlsx", views.report_xlsx, name="report_xlsx"),
    path("chi-so/bao-cao.pdf", views.report_pdf, name="report_pdf"),
    path("chi-so/chot-ky/", views.period_close, name="period_close"),
]
