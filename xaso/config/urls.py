from django.urls import include, path

from xaso.config.api import api
from xaso.core import views as core_views

urlpatterns = [
    path("healthz", core_views.healthz, name="healthz"),
    path("api/v1/", api.urls),
    path("", include("xaso.accounts.urls")),
    path("", include("xaso.places.urls")),
    path("", include("xaso.core.urls")),
]

handler400 = "xaso.core.views.error_400"
handler403 = "xaso.core.views.error_403"
handler404 = "xaso.core.views.error_404"
handler500 = "xaso.core.views.error_500"
