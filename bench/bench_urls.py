"""The app's URLs plus /bench/bare: a view that does nothing, served by the same stack; the
same view at /0/bench-bare, a path that config/wsgi.py sends through the scan pages' shorter
middleware chain; and /bench/pid, which names the worker process that answered (the benchmark
waits until every worker has loaded the app before it times anything)."""

import os

from django.http import HttpResponse
from django.urls import path

from xaso.config.urls import handler400, handler403, handler404, handler500, urlpatterns

__all__ = ["handler400", "handler403", "handler404", "handler500", "urlpatterns"]


def bare(request):
    return HttpResponse("ok")


def pid(request):
    return HttpResponse(str(os.getpid()))


# First, so no pattern of the app (the GS1 resolver takes numeric paths) shadows it.
urlpatterns = [
    path("bench/bare", bare),
    path("0/bench-bare", bare),
    path("bench/pid", pid),
    *urlpatterns,
]
