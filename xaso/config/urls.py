from django.urls import include, path

from xaso.config.api import api
from xaso.core import views as core_views
from xaso.traceability import urls as traceability_urls

# The scan pages come first: they are the most requested pages of the site, and Django tries
# the patterns in order (the resolver was last, behind some 160 patterns). The resolver answers
# any path that begins with a digit; no other page does (tests/test_gs1_resolver.py).
urlpatterns = [
    path("", include((traceability_urls.resolver_urlpatterns, "gs1"))),
    path("", include("xaso.traceability.urls")),
    path("healthz", core_views.healthz, name="healthz"),
    path("api/v1/", api.urls),
    path("", include("xaso.accounts.urls")),
    path("", include("xaso.places.urls")),
    path("", include("xaso.notify.urls")),
    path("", include("xaso.safety.public_urls")),
    path("", include("xaso.safety.urls")),
    path("", include("xaso.dossiers.public_urls")),
    path("", include("xaso.dossiers.urls")),
    path("", include("xaso.survey.urls")),
    path("", include("xaso.indicators.urls")),
    path("", include("xaso.indicators.admin_urls")),
    path("", include("xaso.indicators.opendata_urls")),
    path("", include("xaso.core.urls")),
]

handler400 = "xaso.core.views.error_400"
handler403 = "xaso.core.views.error_403"
handler404 = "xaso.core.views.error_404"
handler500 = "xaso.core.views.error_500"
