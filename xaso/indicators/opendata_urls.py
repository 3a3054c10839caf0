"""Open data: /opendata/ with a DCAT catalogue, CSV and JSON."""

urlpatterns: list = []
