from django.apps import AppConfig


class DemoConfig(AppConfig):
    name = "xaso.demo"
    label = "demo"
    verbose_name = "Xã mẫu"
