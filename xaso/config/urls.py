from django.urls import include, path

from xaso.config.api import api
from xaso.core import views as core_views
from xaso.traceability import urls as traceability_urls

urlpatterns = [
    path("healthz", core_views.healthz, name="healthz"),
    path("api/v1/", api.urls),
    path("", include("xaso.accounts.urls")),
    path("", include("xaso.places.urls")),
    path("", include("xaso.traceability.urls")),
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
    # Last: the GS1 resolver answers any path that begins with a numeric application identifier.
    path("", include((traceability_urls.resolver_urlpatterns, "gs1"))),
]

handler400 = "xaso.core.views.error_400"
handler403 = "xaso.core.views.error_403"
handler404 = "xaso.core.views.error_404"
handler500 = "xaso.core.views.error_500"
