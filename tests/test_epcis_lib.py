"""EPCIS 2.0 lot documents, validation and capture (xaso/lib/epcis.py): no database.

GS1's published schema and the standard's examples are read from ../shared/conformance/epcis/
when that folder exists; they are test material and are never copied into the repository. Our
own schema (xaso/lib/epcis_schema.json) must accept every official example, and both schemas
must refuse the same broken documents.
"""

import json
import re
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from xaso.lib.epcis import (
    MAX_REASONS,
    DiaryStep,
    LotFacts,
    bundled_schema,
    captured_events,
    lot_document,
    unit_code,
    validate_document,
)
from xaso.lib.gs1 import is_valid_gtin

REPO_ROOT = Path(__file__).resolve().parents[1]
CONFORMANCE = REPO_ROOT.parent / "shared" / "conformance" / "epcis"
OFFICIAL_SCHEMA = CONFORMANCE / "EPCIS-JSON-Schema.json"
EXAMPLES = CONFORMANCE / "examples"
MISSING_REASON = f"GS1 EPCIS conformance material not present at {CONFORMANCE}"

VIETNAM = ZoneInfo("Asia/Ho_Chi_Minh")
BASE_URI = "https://xa.example.vn"
GTIN_LOT = "https://id.gs1.org/01/08931234567897/10/NA2026A"
OWN_LOT = "https://xa.example.vn/l/NA2026B"
AREA = "https://xa.example.vn/vung-trong/VN-QN-0001"
PRODUCER = "https://xa.example.vn/co-so/htx-quang-tan"
EXAMPLE_CONTEXT = "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"

# Letters only Vietnamese uses: a reason written in Vietnamese has at least one of them.
VIETNAMESE_LETTERS = re.compile("[ăâđêôơưạảấầẩẫậắằẳẵặẹẻẽếềểễệỉịọỏốồổỗộớờởỡợụủứừửữựỳỵỷỹ]")
ENGLISH_JSONSCHEMA_PHRASES = ("is a required property", "is not of type", "is not valid under")


def at(month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=VIETNAM)


def custard_apple_diary() -> list[DiaryStep]:
    """A season of custard apples (na dai): the diary of one growing area, oldest first."""
    return [
        DiaryStep(
            kind="fertilising",
            occurred_at=at(2, 2, 6, 30),
            description="Bón phân hữu cơ vi sinh quanh gốc",
            details={"fertiliser": "Phân hữu cơ vi sinh Sông Gianh", "dose": "2 kg/gốc"},
        ),
        DiaryStep(
            kind="spraying",
            occurred_at=at(2, 20, 16, 0),
            description="Phun trừ rệp sáp",
            details={
                "pesticide": "Movento 150OD",
                "active_ingredient": "Spirotetramat",
                "dose": "10 ml/16 lít nước",
                "pre_harvest_interval_days": 7,
            },
        ),
        DiaryStep(
            kind="irrigating",
            occurred_at=at(2, 25, 17, 0),
            description="Tưới nhỏ giọt",
            details={"water_litres": Decimal("1500")},
        ),
        DiaryStep(
            kind="observation",
            occurred_at=at(3, 1, 7, 0),
            description="Quả chín đều, vỏ mở mắt",
            details={},
        ),
        DiaryStep(
            kind="harvest",
            occurred_at=at(3, 2, 10, 30),
            description="Thu hoạch lô NA2026",
            details={"pickers": 6},
        ),
        DiaryStep(
            kind="packing",
            occurred_at=at(3, 2, 15, 0),
            description="Đóng thùng carton 10 kg",
            details={"package": "thùng carton 10 kg"},
        ),
        DiaryStep(
            kind="inspection",
            occurred_at=at(3, 3, 8, 0),
            description="Kiểm tra nhanh dư lượng thuốc bảo vệ thực vật",
            details={"passed": True, "inspector": "Trạm trồng trọt xã"},
        ),
    ]


def custard_apple_lot(*, lot_uri: str = GTIN_LOT, **changes) -> LotFacts:
    facts = {
        "lot_uri": lot_uri,
        "product_name": "Na dai Quảng Tân",
        "quantity": Decimal("1250.5"),
        "unit": "kg",
        "harvest_start": date(2026, 3, 1),
        "harvest_end": date(2026, 3, 2),
        "area_uri": AREA,
        "producer_uri": PRODUCER,
        "steps": custard_apple_diary(),
        "created_at": at(3, 3, 9, 15),
        "base_uri": BASE_URI,
    }
    return LotFacts(**{**facts, **changes})


def events_of(document: dict) -> list[dict]:
    return document["epcisBody"]["eventList"]


def event_with_step(document: dict, biz_step: str) -> dict:
    return next(event for event in events_of(document) if event["bizStep"] == biz_step)


def official_schema() -> dict:
    if not OFFICIAL_SCHEMA.exists():
        pytest.skip(MISSING_REASON)
    return json.loads(OFFICIAL_SCHEMA.read_text(encoding="utf-8"))


def example_params() -> list:
    if not EXAMPLES.exists():
        return [pytest.param(None, id="examples-missing", marks=pytest.mark.skip(MISSING_REASON))]
    return [pytest.param(path, id=path.stem) for path in sorted(EXAMPLES.glob("*.jsonld"))]


def read_example(name: str) -> dict:
    path = EXAMPLES / name
    if not path.exists():
        pytest.skip(MISSING_REASON)
    return json.loads(path.read_text(encoding="utf-8"))


LOTS = [
    pytest.param(GTIN_LOT, id="lot-with-gtin"),
    pytest.param(OWN_LOT, id="lot-on-the-communes-domain"),
]


# --- Building a lot document ------------------------------------------------------------------


def test_the_gtin_in_the_example_lot_has_a_correct_check_digit():
    assert is_valid_gtin("08931234567897")


@pytest.mark.parametrize("lot_uri", LOTS)
def test_a_lot_document_is_valid_under_our_bundled_schema(lot_uri):
    document = lot_document(custard_apple_lot(lot_uri=lot_uri))
    assert validate_document(document, bundled_schema()) == []


@pytest.mark.parametrize("lot_uri", LOTS)
def test_a_lot_document_is_valid_under_the_official_gs1_schema(lot_uri):
    document = lot_document(custard_apple_lot(lot_uri=lot_uri))
    assert validate_document(document, official_schema()) == []


def test_a_lot_document_survives_json_serialisation_unchanged():
    document = lot_document(custard_apple_lot())
    assert json.loads(json.dumps(document, ensure_ascii=False)) == document


def test_the_document_declares_cbvmda_and_our_prefix_beside_the_epcis_context():
    document = lot_document(custard_apple_lot())
    gs1_context, own_terms = document["@context"]
    assert gs1_context == EXAMPLE_CONTEXT
    assert own_terms == {"cbvmda": "urn:epcglobal:cbv:mda:", "xaso": f"{BASE_URI}/voc/"}
    assert document["type"] == "EPCISDocument"
    assert document["creationDate"] == "2026-03-03T09:15:00+07:00"


def test_the_harvest_commissions_the_lot_with_its_harvest_dates_in_ilmd():
    harvest = event_with_step(lot_document(custard_apple_lot()), "commissioning")
    assert harvest["type"] == "ObjectEvent"
    assert harvest["action"] == "ADD"
    assert harvest["eventTime"] == "2026-03-02T10:30:00+07:00"
    assert harvest["ilmd"]["cbvmda:harvestStartDate"] == "2026-03-01"
    assert harvest["ilmd"]["cbvmda:harvestEndDate"] == "2026-03-02"
    assert harvest["ilmd"]["xaso:productName"] == "Na dai Quảng Tân"
    assert harvest["ilmd"]["xaso:producer"] == PRODUCER
    assert harvest["quantityList"] == [{"epcClass": GTIN_LOT, "quantity": 1250.5, "uom": "KGM"}]


def test_spraying_uses_our_own_step_uri_and_carries_the_pre_harvest_interval():
    spraying = event_with_step(
        lot_document(custard_apple_lot()), f"{BASE_URI}/voc/bizstep/spraying"
    )
    assert spraying["action"] == "OBSERVE"
    assert spraying["readPoint"] == {"id": AREA}
    assert spraying["bizLocation"] == {"id": AREA}
    assert spraying["quantityList"] == [{"epcClass": GTIN_LOT}]  # no amount before harvest
    assert spraying["xaso:pesticide"] == "Movento 150OD"
    assert spraying["xaso:activeIngredient"] == "Spirotetramat"
    assert spraying["xaso:preHarvestIntervalDays"] == 7
    assert spraying["xaso:description"] == "Phun trừ rệp sáp"
    assert "ilmd" not in spraying


def test_each_diary_step_becomes_one_event_in_diary_order_with_the_right_business_step():
    document = lot_document(custard_apple_lot())
    assert [event["bizStep"] for event in events_of(document)] == [
        f"{BASE_URI}/voc/bizstep/fertilising",
        f"{BASE_URI}/voc/bizstep/spraying",
        f"{BASE_URI}/voc/bizstep/irrigating",
        f"{BASE_URI}/voc/bizstep/observation",
        "commissioning",
        "packing",
        "inspecting",
    ]
    assert event_with_step(document, "inspecting")["disposition"] == "conformant"


def test_a_failed_inspection_marks_the_lot_non_conformant():
    steps = custard_apple_diary()
    steps[-1] = DiaryStep("inspection", at(3, 3, 8), "Phát hiện dư lượng", {"passed": False})
    inspection = event_with_step(lot_document(custard_apple_lot(steps=steps)), "inspecting")
    assert inspection["disposition"] == "non_conformant"


def test_vietnam_times_carry_the_plus_seven_offset():
    for event in events_of(lot_document(custard_apple_lot())):
        assert event["eventTimeZoneOffset"] == "+07:00"
        assert event["eventTime"].endswith("+07:00")


def test_event_ids_are_stable_across_rebuilds_and_distinct_between_events():
    first = [event["eventID"] for event in events_of(lot_document(custard_apple_lot()))]
    again = [event["eventID"] for event in events_of(lot_document(custard_apple_lot()))]
    assert first == again
    assert len(set(first)) == len(first)
    assert all(re.fullmatch(r"urn:uuid:[0-9a-f-]{36}", event_id) for event_id in first)


def test_changing_what_a_step_says_changes_its_event_id():
    steps = custard_apple_diary()
    original = events_of(lot_document(custard_apple_lot(steps=steps)))[1]["eventID"]
    steps[1] = DiaryStep(steps[1].kind, steps[1].occurred_at, "Phun trừ rệp sáp", {"dose": "20 ml"})
    assert events_of(lot_document(custard_apple_lot(steps=steps)))[1]["eventID"] != original


def test_the_lot_is_commissioned_once_on_the_last_harvest_day():
    steps = custard_apple_diary()
    steps.insert(4, DiaryStep("harvest", at(3, 1, 10), "Hái đợt đầu", {}))
    events = events_of(lot_document(custard_apple_lot(steps=steps)))
    commissioning = [event for event in events if event["bizStep"] == "commissioning"]
    assert [event["eventTime"] for event in commissioning] == ["2026-03-02T10:30:00+07:00"]
    assert events[4]["bizStep"] == f"{BASE_URI}/voc/bizstep/harvesting"
    assert events[4]["action"] == "OBSERVE"


@pytest.mark.parametrize(
    ("unit", "code", "factor"),
    [
        ("kg", "KGM", 1),
        ("tấn", "TNE", 1),
        ("ta\u0302\u0301n", "TNE", 1),  # "tấn" typed with combining marks (NFD)
        ("quả", "H87", 1),
        ("hộp", "XBX", 1),
        ("thùng", "XCT", 1),
        ("yến", "KGM", 10),
        ("tạ", "KGM", 100),
        ("KGM", "KGM", 1),
    ],
)
def test_units_map_to_un_cefact_codes(unit, code, factor):
    assert unit_code(unit) == (code, Decimal(factor))


def test_an_unknown_unit_is_refused_rather_than_dropped():
    with pytest.raises(ValueError, match="rổ"):
        lot_document(custard_apple_lot(unit="rổ"))


def test_the_lot_amount_is_stated_from_the_harvest_on():
    document = lot_document(custard_apple_lot(quantity=12.5, unit="tạ"))
    amounts = [event["quantityList"][0].get("quantity") for event in events_of(document)]
    assert amounts == [None, None, None, None, 1250, 1250, 1250]


def test_a_lot_counted_in_cartons_keeps_its_count():
    document = lot_document(custard_apple_lot(lot_uri=OWN_LOT, quantity=40, unit="thùng"))
    quantity = event_with_step(document, "commissioning")["quantityList"][0]
    assert quantity == {"epcClass": OWN_LOT, "quantity": 40, "uom": "XCT"}


def test_a_diary_without_a_harvest_cannot_describe_a_lot():
    steps = [step for step in custard_apple_diary() if step.kind != "harvest"]
    with pytest.raises(ValueError, match="harvest"):
        lot_document(custard_apple_lot(steps=steps))


def test_a_time_without_a_zone_is_refused():
    steps = custard_apple_diary()
    steps[0] = DiaryStep("fertilising", datetime(2026, 2, 2, 6, 30), "Bón phân", {})
    with pytest.raises(ValueError, match="time zone"):
        lot_document(custard_apple_lot(steps=steps))


def test_an_unknown_step_kind_is_refused():
    steps = [DiaryStep("pruning", at(2, 1, 7), "Tỉa cành", {}), *custard_apple_diary()]
    with pytest.raises(ValueError, match="pruning"):
        lot_document(custard_apple_lot(steps=steps))


# --- The schemas agree on the official examples ---------------------------------------------


def test_the_bundled_schema_is_a_valid_draft_7_schema():
    from jsonschema import Draft7Validator

    Draft7Validator.check_schema(bundled_schema())


@pytest.mark.parametrize("path", example_params())
def test_every_official_example_is_valid_under_our_bundled_schema(path):
    document = json.loads(path.read_text(encoding="utf-8"))
    assert validate_document(document, bundled_schema()) == []


@pytest.mark.parametrize("path", example_params())
def test_every_official_example_is_valid_under_the_official_schema_with_our_format_checks(path):
    document = json.loads(path.read_text(encoding="utf-8"))
    assert validate_document(document, official_schema()) == []


# --- Broken documents -------------------------------------------------------------------------


def first_event(document: dict) -> dict:
    return events_of(document)[0]


def without(name: str):
    return lambda event: event.pop(name)


def setting(name: str, value: object):
    return lambda event: event.update({name: value})


# (case id, how to break the first event or the document, a path one reason must name)
EVENT_BREAKS = [
    ("missing-eventTime", without("eventTime"), "eventList[0].eventTime"),
    ("offset-without-padding", setting("eventTimeZoneOffset", "+7:00"), "eventTimeZoneOffset"),
    ("offset-beyond-fourteen-hours", setting("eventTimeZoneOffset", "+15:00"), "ZoneOffset"),
    ("eventTime-without-zone", setting("eventTime", "2026-02-02T06:30:00"), "[0].eventTime"),
    ("action-HARVEST", setting("action", "HARVEST"), "eventList[0].action"),
    ("event-type-unknown-word", setting("type", "HarvestEvent"), "eventList[0].type"),
    ("bizStep-not-in-cbv", setting("bizStep", "harvesting"), "eventList[0].bizStep"),
    ("readPoint-without-id", setting("readPoint", {}), "eventList[0].readPoint"),
    ("ilmd-on-an-observation", setting("ilmd", {"cbvmda:lotNumber": "NA"}), "eventList[0]"),
    ("field-without-prefix", setting("pesticide", "Movento"), "eventList[0]"),
    ("eventID-with-spaces", setting("eventID", "su kien 1"), "eventList[0].eventID"),
]


def break_quantity(event: dict) -> None:
    event["quantityList"][0]["quantity"] = "1250.5"


def break_uom(event: dict) -> None:
    event["quantityList"][0]["uom"] = "kg"


EVENT_BREAKS += [
    ("quantity-as-a-string", break_quantity, "quantityList[0].quantity"),
    ("uom-not-a-code", break_uom, "quantityList[0].uom"),
]

DOCUMENT_BREAKS = [
    ("eventList-not-a-list", lambda doc: doc["epcisBody"].update(eventList={}), "eventList"),
    ("wrong-document-type", lambda doc: doc.update(type="EPCISDoc"), "type"),
    ("missing-context", lambda doc: doc.pop("@context"), "@context"),
    ("missing-body", lambda doc: doc.pop("epcisBody"), "epcisBody"),
    ("creationDate-not-a-date", lambda doc: doc.update(creationDate="hôm nay"), "creationDate"),
]


def broken_documents() -> list:
    params = []
    for case_id, break_event, path in EVENT_BREAKS:
        document = lot_document(custard_apple_lot())
        break_event(first_event(document))
        params.append(pytest.param(document, path, id=case_id))
    for case_id, break_document, path in DOCUMENT_BREAKS:
        document = lot_document(custard_apple_lot())
        break_document(document)
        params.append(pytest.param(document, path, id=case_id))
    for case_id, not_an_object in [("a-list", []), ("a-string", "EPCISDocument"), ("null", None)]:
        params.append(pytest.param(not_an_object, "(tài liệu)", id=f"not-an-object-{case_id}"))
    return params


def assert_vietnamese_reasons_naming(reasons: list[str], path: str) -> None:
    assert reasons, "the broken document was accepted"
    assert any(path in reason.split(": ", 1)[0] for reason in reasons), reasons
    for reason in reasons:
        assert VIETNAMESE_LETTERS.search(reason), reason
        assert not any(phrase in reason for phrase in ENGLISH_JSONSCHEMA_PHRASES), reason


@pytest.mark.parametrize(("document", "path"), broken_documents())
def test_our_schema_refuses_a_broken_document_with_vietnamese_reasons_naming_the_path(
    document, path
):
    reasons = validate_document(document, bundled_schema())
    assert_vietnamese_reasons_naming(reasons, path)


@pytest.mark.parametrize(("document", "path"), broken_documents())
def test_the_official_schema_refuses_the_same_broken_document(document, path):
    assert validate_document(document, official_schema()) != []


def test_a_missing_field_is_named_in_the_path_and_explained():
    document = lot_document(custard_apple_lot())
    first_event(document).pop("eventTime")
    assert validate_document(document, bundled_schema()) == [
        "epcisBody.eventList[0].eventTime: thiếu trường bắt buộc này."
    ]


def test_a_bad_offset_is_explained_with_the_vietnam_example():
    document = lot_document(custard_apple_lot())
    first_event(document)["eventTimeZoneOffset"] = "+7:00"
    [reason] = validate_document(document, bundled_schema())
    assert reason.startswith("epcisBody.eventList[0].eventTimeZoneOffset: ")
    assert "±hh:mm" in reason and "+07:00" in reason


def test_reasons_stop_at_the_limit_and_say_how_many_more_there_are():
    document = lot_document(custard_apple_lot())
    for event in events_of(document):
        event["action"] = "HARVEST"
        event["eventTimeZoneOffset"] = "7"
        event["eventTime"] = "hôm qua"
    reasons = validate_document(document, bundled_schema())
    assert len(reasons) == MAX_REASONS + 1
    assert reasons[-1] == f"… và {3 * len(events_of(document)) - MAX_REASONS} lỗi khác."


# --- Where our schema and GS1's disagree, on purpose ----------------------------------------


def aggregation_added_without_a_parent() -> dict:
    document = lot_document(custard_apple_lot())
    document["epcisBody"]["eventList"] = [
        {
            "type": "AggregationEvent",
            "eventTime": "2026-03-02T15:00:00+07:00",
            "eventTimeZoneOffset": "+07:00",
            "action": "ADD",
            "childEPCs": ["https://id.gs1.org/01/08931234567897/21/0001"],
        }
    ]
    return document


def test_our_schema_refuses_an_aggregation_added_without_a_parent_as_the_standard_says():
    reasons = validate_document(aggregation_added_without_a_parent(), bundled_schema())
    assert reasons == ["epcisBody.eventList[0].parentID: thiếu trường bắt buộc này."]


def test_the_official_schema_lets_an_aggregation_without_a_parent_through():
    # EPCIS 2.0 requires parentID unless the action is OBSERVE; GS1's schema does not check it.
    assert validate_document(aggregation_added_without_a_parent(), official_schema()) == []


def test_our_schema_takes_documents_only_while_the_official_one_also_takes_a_bare_event():
    event = {"@context": [EXAMPLE_CONTEXT], **first_event(lot_document(custard_apple_lot()))}
    assert validate_document(event, bundled_schema()) != []
    assert validate_document(event, official_schema()) == []


# --- Reading captured documents ---------------------------------------------------------------


def test_captured_events_of_a_lot_document_give_its_steps_times_and_lot():
    facts = custard_apple_lot()
    captured = captured_events(lot_document(facts))
    assert [event.event_time for event in captured] == [step.occurred_at for step in facts.steps]
    assert {event.event_type for event in captured} == {"ObjectEvent"}
    assert {event.epcs for event in captured} == {(GTIN_LOT,)}
    assert captured[4].biz_step == "commissioning"
    assert captured[4].event_id.startswith("urn:uuid:")


def test_captured_events_read_a_query_document_too():
    events = events_of(lot_document(custard_apple_lot()))
    document = {
        "@context": [EXAMPLE_CONTEXT],
        "type": "EPCISQueryDocument",
        "schemaVersion": "2.0",
        "creationDate": "2026-03-03T09:15:00+07:00",
        "epcisBody": {
            "queryResults": {"queryName": "SimpleEventQuery", "resultsBody": {"eventList": events}}
        },
    }
    assert validate_document(document, bundled_schema()) == []
    assert [event.biz_step for event in captured_events(document)][4:] == [
        "commissioning",
        "packing",
        "inspecting",
    ]


def test_a_long_cbv_step_uri_is_read_as_its_bare_word():
    document = lot_document(custard_apple_lot())
    first_event(document)["bizStep"] = "https://ref.gs1.org/cbv/BizStep-receiving"
    assert validate_document(document, bundled_schema()) == []
    assert captured_events(document)[0].biz_step == "receiving"


def test_captured_events_of_example_9_6_1_are_two_observations_in_mountain_time():
    first, second = captured_events(read_example("Example_9.6.1-ObjectEvent.jsonld"))
    assert (first.event_type, first.biz_step) == ("ObjectEvent", "shipping")
    assert first.event_time.isoformat() == "2005-04-03T20:33:31.116000-06:00"
    assert first.epcs == (
        "urn:epc:id:sgtin:0614141.107346.2017",
        "urn:epc:id:sgtin:0614141.107346.2018",
    )
    assert (second.biz_step, second.epcs) == (
        "receiving",
        ("urn:epc:id:sgtin:0614141.107346.2018",),
    )
    assert second.event_time.isoformat() == "2005-04-04T20:33:31.116000-06:00"


def test_captured_events_of_example_9_6_2_name_the_class_in_its_quantity_list():
    [event] = captured_events(read_example("Example_9.6.2-ObjectEvent.jsonld"))
    assert event.event_type == "ObjectEvent"
    assert event.event_time.isoformat() == "2013-06-08T14:58:56.591000+00:00"
    assert event.epcs == ("urn:epc:class:lgtin:4012345.012345.998877",)


def test_captured_events_of_example_9_6_3_put_the_parent_before_its_children():
    [event] = captured_events(read_example("Example_9.6.3-AggregationEvent.jsonld"))
    assert event.event_type == "AggregationEvent"
    assert event.event_time.isoformat() == "2013-06-08T14:58:56.591000+00:00"
    assert event.epcs[0] == "urn:epc:id:sscc:0614141.1234567890"
    assert "urn:epc:class:lgtin:4012345.012345.998877" in event.epcs
    assert len(event.epcs) == 5


def test_captured_events_of_example_9_6_4_list_inputs_before_outputs():
    [event] = captured_events(read_example("Example_9.6.4-TransformationEvent.jsonld"))
    assert (event.event_type, event.biz_step) == ("TransformationEvent", "commissioning")
    assert event.event_time.isoformat() == "2013-10-31T14:58:56.591000+00:00"
    assert event.epcs[0] == "urn:epc:id:sgtin:4012345.011122.25"
    assert event.epcs[-1] == "urn:epc:id:sgtin:4012345.077889.28"
    assert len(event.epcs) == 9


def test_captured_events_keep_a_uuid_event_id():
    [event] = captured_events(read_example("object_event_all_possible_fields.jsonld"))
    assert event.event_id == "urn:uuid:374d95fc-9457-4a51-bd6a-0bba133845a8"
    assert event.event_time.isoformat() == "2005-04-05T02:33:31.116000+00:00"
