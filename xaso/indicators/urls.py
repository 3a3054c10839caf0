"""Dashboards, reports and period closing pages (/chi-so/)."""

urlpatterns: list = []
