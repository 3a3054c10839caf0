"""The app's URLs plus /bench/bare: a view that does nothing, served by the same stack."""

from django.http import HttpResponse
from django.urls import path

from xaso.config.urls import handler400, handler403, handler404, handler500, urlpatterns

__all__ = ["handler400", "handler403", "handler404", "handler500", "urlpatterns"]


def bare(request):
    return HttpResponse("ok")


# First, so no pattern of the app (the GS1 resolver takes numeric paths) shadows it.
urlpatterns = [path("bench/bare", bare), *urlpatterns]
