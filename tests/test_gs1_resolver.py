"""The GS1 Digital Link resolver at the site root, over HTTP.

Every default-flag parse vector of the conformance file is sent to the resolver as the path of
a request: invalid syntax → 400 with the reason; valid but unknown → 404. A known lot answers
with its page, JSON or linkset, and `?linkType=` redirects.
"""

import json
from urllib.parse import urlsplit

import pytest
from django.utils.timezone import now

from tests.test_gs1 import DEFAULT_PARSE_FLAGS, PARSE_VECTORS, vector_params
from tests.traceability_data import GTIN
from xaso.lib.gs1 import DigitalLinkError, parse_digital_link
from xaso.traceability.models import Lot
from xaso.traceability.scan_journal import journal

LOT_PATH = f"/01/0{GTIN}/10/NA2026A"


def _path_of(uri: str) -> tuple[str, str]:
    """The request target of a vector URI: the raw path and query, as a browser sends them."""
    parts = urlsplit(uri)
    return parts.path, parts.query


def _about_the_path(param) -> bool:
    """Vectors a request to this server can carry: the key at the root of the path, and not
    invalid because of the scheme or domain (those name another host, not one of our paths)."""
    vector = param.values[0]
    if vector is None:  # the "vectors missing" placeholder, which skips with its reason
        return True
    path = urlsplit(vector["uri"]).path
    if not path[1:2].isdigit():
        return False
    try:
        parse_digital_link(vector["uri"])
    except DigitalLinkError as error:
        return error.code not in ("bad_domain", "bad_scheme")
    return True


PATH_VECTORS = [p for p in vector_params(PARSE_VECTORS, DEFAULT_PARSE_FLAGS) if _about_the_path(p)]


def test_most_conformance_vectors_can_be_sent_to_the_resolver():
    if PATH_VECTORS[0].values[0] is None:
        pytest.skip("GS1 conformance vectors not present")
    assert len(PATH_VECTORS) >= 75  # 82 of the 100 start at the root; a few name bad hosts


@pytest.mark.parametrize("vector", PATH_VECTORS)
def test_each_conformance_vector_is_a_400_when_invalid_and_a_404_when_valid(vector, client, db):
    path, query = _path_of(vector["uri"])
    target = path + (f"?{query}" if query else "")
    # gunicorn hands Django the undecoded target as RAW_URI; the test client does not, so the
    # test passes it the same way (escaped slashes inside values depend on it).
    response = client.get(target, RAW_URI=target, headers={"Accept": "application/json"})
    expected = 404 if vector["valid"] else 400
    assert response.status_code == expected, response.content
    if not vector["valid"]:
        assert response.json()["detail"]


# --- A known lot ------------------------------------------------------------------------------
def test_a_known_lot_answers_with_its_page_by_default(client, trace):
    response = client.get(LOT_PATH)
    assert response.status_code == 200
    assert response["Access-Control-Allow-Origin"] == "*"
    assert 'rel="gs1:pip"' in response["Link"]
    assert "Na dai Quảng Tân" in response.content.decode()


def test_a_known_lot_answers_json_when_asked(client, trace):
    body = client.get(LOT_PATH, headers={"Accept": "application/json"}).json()
    assert (body["batch"], body["gtin"], body["code"]) == ("NA2026A", f"0{GTIN}", trace.lot_a.code)
    assert body["product"]["ocop_stars"] == 4
    assert body["area"]["code"] == "VN-QN-A-001"


@pytest.mark.parametrize(
    "query, headers",
    [("?linkType=linkset", {}), ("", {"Accept": "application/linkset+json"})],
)
def test_a_known_lot_answers_its_linkset(client, trace, query, headers):
    response = client.get(LOT_PATH + query, headers=headers)
    assert response["Content-Type"] == "application/linkset+json"
    entry = json.loads(response.content)["linkset"][0]
    assert entry["anchor"].endswith(LOT_PATH)
    assert entry["https://gs1.org/voc/pip"][0]["href"].endswith(f"/l/{trace.lot_a.code}")


def test_a_link_type_redirects_with_a_link_header(client, trace):
    response = client.get(LOT_PATH + "?linkType=gs1:traceability")
    assert response.status_code == 307
    assert response["Location"].endswith(f"/l/{trace.lot_a.code}/epcis")
    assert 'rel="linkset"' in response["Link"]
    assert client.get(LOT_PATH + "?linkType=gs1:nothing").status_code == 404


def test_head_options_and_the_resolver_description(client, trace):
    assert client.head(LOT_PATH).status_code == 200
    options = client.options(LOT_PATH)
    assert options.status_code == 204
    assert "GET" in options["Allow"]
    description = client.get("/.well-known/gs1resolver").json()
    assert "01" in description["supportedPrimaryKeys"]


def test_bad_gtins_and_oversized_uris_are_400s_with_the_reason(client, trace):
    wrong_digit = client.get(
        "/01/08931234567896/10/NA2026A", headers={"Accept": "application/json"}
    )
    assert wrong_digit.status_code == 400
    assert "kiểm tra" in wrong_digit.json()["detail"]
    oversized = client.get("/01/08931234567897/10/" + "A" * 2100)
    assert oversized.status_code == 400


def test_a_lot_without_gtin_answers_at_its_trace_code_in_either_case(client, trace):
    lower = client.get(f"/l/{trace.lot_b.code.lower()}", headers={"Accept": "application/json"})
    upper = client.get(f"/L/{trace.lot_b.code}", headers={"Accept": "application/json"})
    assert lower.json()["product"]["name"] == upper.json()["product"]["name"] == "Vải Bên Kia"
    assert client.get("/l/NOSUCHLOT").status_code == 404


def test_every_lot_page_view_is_recorded_as_a_scan(client, trace):
    from xaso.traceability.models import Scan

    client.get(LOT_PATH)
    client.get(f"/l/{trace.lot_a.code}")
    client.get(LOT_PATH + "?linkType=linkset")  # a link lookup, not a page view
    journal().flush()
    assert Scan.objects.filter(lot=trace.lot_a, result="lot").count() == 2


def test_no_other_page_begins_with_a_digit():
    """The resolver is tried first (config/urls.py): a page whose path began with a digit
    would be shadowed by it."""
    from django.urls import get_resolver

    def routes(patterns, prefix=""):
        for pattern in patterns:
            route = prefix + str(pattern.pattern).lstrip("^")
            if hasattr(pattern, "url_patterns"):
                yield from routes(pattern.url_patterns, route)
            else:
                yield route, pattern

    digit_routes = [
        route
        for route, pattern in routes(get_resolver().url_patterns)
        if route[:1].isdigit() or route.startswith("[0-9]") or route.startswith("(?P<path>")
    ]
    assert digit_routes == ["(?P<path>[0-9]+(/.*)?)$"]


def test_a_lot_marked_recalled_without_a_date_still_shows_its_banner(client, trace):
    Lot.objects.filter(pk=trace.lot_a.pk).update(
        status=Lot.Status.RECALLED, recall_reason="Theo thông báo của tỉnh", updated_at=now()
    )
    page = client.get(LOT_PATH)
    assert page.status_code == 200 and "LÔ HÀNG ĐÃ BỊ THU HỒI" in page.content.decode()
    facts = client.get(LOT_PATH, headers={"Accept": "application/json"}).json()
    assert facts["recall"] == {"at": None, "reason": "Theo thông báo của tỉnh"}
    journal().flush()
