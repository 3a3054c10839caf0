from django.apps import AppConfig


class PlacesConfig(AppConfig):
    name = "xaso.places"
    label = "places"
    verbose_name = "Địa bàn và dân cư"
