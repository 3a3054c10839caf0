"""Indicators, their values and criteria assessments over JSON (/api/v1/indicators, /criteria)."""

from ninja import Router

router = Router(tags=["indicators"])
