"""Open data: /opendata/ with a DCAT catalogue, CSV and JSON (anonymous; see opendata.py)."""

from django.urls import path

from xaso.indicators import opendata

app_name = "opendata"

urlpatterns = [
    path("opendata/", opendata.index, name="index"),
    # Before the datasets: an indicator coded "catalog" must not hide the catalogue.
    path("opendata/catalog.json", opendata.catalog, name="catalog"),
    path("opendata/<str:dataset>.csv", opendata.dataset_csv, name="csv"),
    path("opendata/<str:dataset>.json", opendata.dataset_json, name="json"),
]
