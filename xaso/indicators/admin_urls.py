"""Indicator and criteria-set administration and assessment pages.

/chi-tieu/ the indicator definitions and the page to enter values and facts; /tieu-chi/ the
criteria sets (a new set is posted to the list), their criteria and each set's assessment.
The dashboards, reports and period closing are in urls.py (/chi-so/).
"""

from django.urls import path

from xaso.indicators import admin_views

app_name = "indicator_admin"

urlpatterns = [
    path("chi-tieu/", admin_views.indicator_list, name="indicators"),
    path("chi-tieu/them/", admin_views.indicator_edit, name="indicator_new"),
    path("chi-tieu/nhap-so-lieu/", admin_views.entries, name="entries"),
    path("chi-tieu/<str:code>/sua/", admin_views.indicator_edit, name="indicator_edit"),
    path("tieu-chi/", admin_views.criteria_list, name="criteria"),
    path("tieu-chi/<str:code>/", admin_views.assessment, name="assessment"),
    path("tieu-chi/<str:code>/sua/", admin_views.criteria_set_edit, name="criteria_set_edit"),
    path(
        "tieu-chi/<str:code>/tieu-chi/<str:criterion_code>/",
        admin_views.criterion_edit,
        name="criterion_edit",
    ),
]
