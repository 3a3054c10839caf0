from django.urls import path

from xaso.places import views

app_name = "places"

urlpatterns = [
    path("", views.home, name="home"),
    path("households/", views.household_list, name="households"),
    path("households/new/", views.household_edit, name="household_new"),
    path("households/export/", views.household_export, name="household_export"),
    path("households/<str:public_id>/", views.household_detail, name="household"),
    path("households/<str:public_id>/edit/", views.household_edit, name="household_edit"),
    path("residents/", views.resident_list, name="residents"),
    path("residents/new/", views.resident_edit, name="resident_new"),
    path("residents/<str:public_id>/", views.resident_detail, name="resident"),
    path("residents/<str:public_id>/edit/", views.resident_edit, name="resident_edit"),
    path(
        "residents/<str:public_id>/reveal/<str:field>/",
        views.resident_reveal,
        name="resident_reveal",
    ),
    path("residents/<str:public_id>/consents/", views.consent_record, name="consent_record"),
    path("residents/<str:public_id>/export/", views.resident_export, name="resident_export"),
    path("residents/<str:public_id>/erase/", views.resident_erase, name="resident_erase"),
    path("organisations/", views.organisation_list, name="organisations"),
    path("organisations/new/", views.organisation_edit, name="organisation_new"),
    path("organisations/<str:public_id>/edit/", views.organisation_edit, name="organisation_edit"),
    path("places/", views.place_admin, name="place_admin_root"),
    path("places/merge/", views.place_merge, name="place_merge"),
    path("places/load/", views.places_load, name="places_load"),
    path("places/<str:code>/", views.place_admin, name="place_admin"),
]
