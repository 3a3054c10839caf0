from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SafetyConfig(AppConfig):
    name = "xaso.safety"
    label = "safety"
    verbose_name = _("An ninh trật tự")
