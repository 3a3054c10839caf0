from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SurveyConfig(AppConfig):
    name = "xaso.survey"
    label = "survey"
    verbose_name = _("Tổ công nghệ số cộng đồng")
