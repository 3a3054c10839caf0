"""Indicator and criteria-set administration and assessment pages."""

urlpatterns: list = []
