from django.urls import path

from xaso.survey import views

app_name = "survey"

# The visit app and its service worker share the /khao-sat/ prefix: the worker's scope is the
# folder it is served from, so it controls these pages and no other.
urlpatterns = [
    path("khao-sat/", views.visit_app, name="visits"),
    path("khao-sat/sw.js", views.service_worker, name="service_worker"),
    path("khao-sat/tien-do/", views.progress, name="progress"),
    path(
        "khao-sat/luot-tham/<str:public_id>/xung-dot/",
        views.conflict_resolve,
        name="conflict_resolve",
    ),
]
