"""EPCIS 2.0: each lot exports a document the official schema accepts; capture accepts valid
documents once and refuses invalid ones with reasons."""

import json
from pathlib import Path

import pytest

from xaso.lib import epcis as epcis_lib
from xaso.traceability.models import CapturedEpcisEvent

CONFORMANCE = Path(__file__).resolve().parents[2] / "shared" / "conformance" / "epcis"


def _official_schema() -> dict:
    path = CONFORMANCE / "EPCIS-JSON-Schema.json"
    if not path.exists():
        pytest.skip(f"GS1 EPCIS schema not present at {path}")
    return json.loads(path.read_text())


def test_a_lot_exports_a_document_valid_against_the_official_schema(api_as, trace):
    response = api_as("htx").get(f"/traceability/lots/{trace.lot_a.public_id}/epcis")
    assert response.status_code == 200
    document = response.json()
    assert epcis_lib.validate_document(document, _official_schema()) == []
    events = document["epcisBody"]["eventList"]
    harvest = next(e for e in events if e.get("bizStep") == "commissioning")
    assert harvest["ilmd"]["cbvmda:harvestStartDate"] == trace.lot_a.harvest_start.isoformat()
    assert any(e["bizStep"].endswith("/voc/bizstep/spraying") for e in events)


def test_the_public_export_matches_the_lot(client, trace):
    document = json.loads(client.get(f"/l/{trace.lot_b.code}/epcis").content)
    assert epcis_lib.validate_document(document, epcis_lib.bundled_schema()) == []


def _examples() -> list[Path]:
    return sorted(CONFORMANCE.glob("examples/*.jsonld"))


def test_capture_accepts_the_standards_examples_once(api_as, trace):
    examples = _examples()
    if not examples:
        pytest.skip(f"EPCIS examples not present under {CONFORMANCE}")
    api = api_as("htx")
    for path in examples:
        first = api.post("/traceability/epcis/capture", raw=path.read_text())
        assert first.status_code == 201, (path.name, first.json())
    total = CapturedEpcisEvent.objects.count()
    again = api.post("/traceability/epcis/capture", raw=examples[0].read_text())
    assert again.json()["new"] == 0
    assert CapturedEpcisEvent.objects.count() == total


def test_capture_refuses_an_invalid_document_with_reasons_and_stores_nothing(api_as, trace):
    broken = {
        "@context": ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"],
        "type": "EPCISDocument",
        "schemaVersion": "2.0",
        "creationDate": "2026-11-20T08:00:00+07:00",
        "epcisBody": {"eventList": [{"type": "ObjectEvent", "action": "HARVEST"}]},
    }
    response = api_as("htx").post("/traceability/epcis/capture", broken)
    assert response.status_code == 400
    reasons = " ".join(response.json()["errors"])
    assert "eventTime" in reasons
    assert not CapturedEpcisEvent.objects.exists()
    not_json = api_as("htx").post("/traceability/epcis/capture", raw="{oops")
    assert not_json.status_code == 400


def test_capture_is_for_producers_and_officers_only(api_as, trace):
    response = api_as("motcua").post("/traceability/epcis/capture", {})
    assert response.status_code == 403
