"""Anonymous addresses of the one-stop shop: the receipt verification page (its QR code)."""

from django.urls import path

from xaso.dossiers import public_views

app_name = "dossiers_public"

urlpatterns = [
    path("bien-lai/<str:public_id>/", public_views.receipt_verify, name="receipt"),
]
