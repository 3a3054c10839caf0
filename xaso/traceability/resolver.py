"""The parts of the GS1 Digital Link resolver that are not views: content negotiation
(HTML page, JSON, linkset), the links of a lot, linksets and `Link` headers, CORS, errors.

The views are in public_views.py; syntax rules are in lib/gs1.py.
"""

import json
from urllib.parse import quote

from django.http import HttpResponse, JsonResponse

GS1_VOCABULARY = "https://gs1.org/voc/"
LINKSET_TYPE = "application/linkset+json"
_CORS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Methods": "GET, HEAD, OPTIONS",
    "Access-Control-Allow-Headers": "Accept, Accept-Language",
    "Access-Control-Expose-Headers": "Link, Location, Content-Type",
}


def wants(request) -> str:
    """'linkset', 'json' or 'html', from `?linkType=linkset` and the Accept header."""
    accept = request.META.get("HTTP_ACCEPT", "")  # not request.headers: built for every header
    link_type = request.GET.get("linkType") if request.META.get("QUERY_STRING") else None
    if link_type in ("linkset", "all") or LINKSET_TYPE in accept:
        return "linkset"
    if ("application/json" in accept or "application/ld+json" in accept) and (
        "text/html" not in accept
    ):
        return "json"
    return "html"


def with_cors(response: HttpResponse) -> HttpResponse:
    for header, value in _CORS.items():
        response[header] = value
    response["Vary"] = "Accept"
    return response


def problem(request, status: int, message: str, **extra) -> HttpResponse:
    """An error as JSON for programs and as a short Vietnamese page for people."""
    body = {"detail": message, **extra}
    if wants(request) == "html":
        html = (
            '<!doctype html><html lang="vi"><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>Lỗi {status}</title><h1>Không mở được mã này</h1><p>{_escape(message)}</p>"
        )
        return with_cors(HttpResponse(html, status=status))
    return with_cors(JsonResponse(body, status=status, json_dumps_params={"ensure_ascii": False}))


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def raw_request_uri(request) -> str:
    """The URI as the client sent it: %2F inside a value must not become a path separator.

    gunicorn passes the undecoded target as RAW_URI (uWSGI as REQUEST_URI); elsewhere the
    decoded path is quoted again, which is right for every value without an escaped slash.
    """
    target = request.META.get("RAW_URI") or request.META.get("REQUEST_URI")
    if not target:
        target = quote(request.path, safe="/:@!$&'()*+,;=-._~")
        if request.META.get("QUERY_STRING"):
            target += "?" + request.META["QUERY_STRING"]
    return f"{request.scheme}://{request.get_host()}{target}"


# --- Links of a lot ---------------------------------------------------------------------------
def lot_links(lot_page: dict) -> dict[str, dict]:
    """Link type → link, from the lot's cached page (public.lot_page). gs1:pip, the product
    information page, is the default."""
    lot, page = lot_page["facts"], lot_page["url"]
    return {
        "gs1:pip": {
            "href": page,
            "title": f"{lot['product']['name']} — lô {lot['batch']}",
            "type": "text/html",
            "hreflang": ["vi"],
        },
        "gs1:traceability": {
            "href": f"{page}/epcis",
            "title": "Sự kiện EPCIS 2.0 của lô hàng",
            "type": "application/ld+json",
        },
        "gs1:certificationInfo": {
            "href": f"{page}#chung-nhan",
            "title": "Chứng nhận của vùng trồng và cơ sở",
            "type": "text/html",
            "hreflang": ["vi"],
        },
    }


def linkset(anchor: str, links: dict[str, dict]) -> dict:
    """RFC 9264 linkset, with GS1 link types written as full URIs."""
    entry = {"anchor": anchor}
    for link_type, link in links.items():
        entry[GS1_VOCABULARY + link_type.removeprefix("gs1:")] = [link]
    entry[GS1_VOCABULARY + "defaultLink"] = [links["gs1:pip"]]
    return {"linkset": [entry]}


def link_header(anchor_links: dict[str, dict]) -> str:
    """The `Link` header of a lot's links, without the linkset (see with_linkset)."""
    return ", ".join(
        f'<{link["href"]}>; rel="{link_type}"' for link_type, link in anchor_links.items()
    )


def with_linkset(header: str, linkset_url: str) -> str:
    return f'{header}, <{linkset_url}>; rel="linkset"; type="{LINKSET_TYPE}"'


def linkset_response(anchor: str, links: dict[str, dict]) -> HttpResponse:
    response = HttpResponse(
        json.dumps(linkset(anchor, links), ensure_ascii=False), content_type=LINKSET_TYPE
    )
    return with_cors(response)
