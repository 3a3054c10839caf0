from django.urls import path

from xaso.notify import views

app_name = "notify"

urlpatterns = [
    # The service worker sits at the root so that its scope is the whole site.
    path("sw.js", views.service_worker, name="service_worker"),
    path("manifest.webmanifest", views.manifest, name="manifest"),
    path("thong-bao/kenh/", views.channel_list, name="channels"),
    path("thong-bao/kenh/<str:public_id>/thu/", views.channel_test, name="channel_test"),
    path("thong-bao/kenh/<str:public_id>/xoa/", views.channel_delete, name="channel_delete"),
]
