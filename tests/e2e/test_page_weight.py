"""Every shell page weighs under 100 KB before images, and nothing comes from another host.

Measured in the browser with the Performance API, in a fresh context (a first visit: nothing
cached), as the bytes transferred for the document and every stylesheet, script and font.
Run with -s to see the figures.
"""

from dataclasses import dataclass
from urllib.parse import urlparse

import pytest

pytestmark = pytest.mark.browser

LIMIT_BYTES = 100_000
LOCAL_HOSTS = {"127.0.0.1", "localhost"}
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".gif", ".webp", ".avif", ".svg", ".ico")

MEASURE = """() => [
    ...performance.getEntriesByType('navigation'),
    ...performance.getEntriesByType('resource'),
].map(e => ({url: e.name, kind: e.initiatorType, transfer: e.transferSize,
            encoded: e.encodedBodySize}))"""


@dataclass(frozen=True)
class ShellPage:
    label: str
    persona: str | None  # None: anonymous
    path: str
    first_link_of: str = ""  # measure the first row's link of this list instead of `path`


SHELL_PAGES = [
    ShellPage("login", None, "/login/"),
    ShellPage("dashboard", "lanhdao", "/"),
    ShellPage("households list", "lanhdao", "/households/"),
    ShellPage("residents list", "lanhdao", "/residents/"),
    ShellPage("organisations list", "lanhdao", "/organisations/"),
    ShellPage("household detail", "lanhdao", "", first_link_of="/households/"),
    ShellPage("resident detail", "lanhdao", "", first_link_of="/residents/"),
    ShellPage("audit log", "admin", "/admin/audit/"),
    ShellPage("places admin", "admin", "/places/"),
    ShellPage("places admin, a province", "admin", "/places/22/"),
    ShellPage("roles admin", "admin", "/admin/roles/"),
]


@pytest.mark.parametrize("shell", SHELL_PAGES, ids=[s.label for s in SHELL_PAGES])
def test_a_shell_page_weighs_under_100_kb_and_loads_nothing_from_elsewhere(
    shell, browser_page, page_as
):
    path = shell.path
    if shell.first_link_of:
        lister = page_as(shell.persona)
        lister.goto(shell.first_link_of)
        path = lister.locator("#results tbody a").first.get_attribute("href")
    page = page_as(shell.persona) if shell.persona else browser_page  # a new, empty cache
    requested = []
    page.on("request", lambda request: requested.append(request.url))

    response = page.goto(path)

    assert response.status == 200
    entries = [e for e in page.evaluate(MEASURE) if not _is_image(e)]
    kinds = [e["kind"] for e in entries]
    assert "navigation" in kinds and "link" in kinds and "script" in kinds, kinds
    assert all(e["transfer"] > 0 for e in entries), "served from a cache: nothing measured"
    total = sum(e["transfer"] for e in entries)
    print(f"\npage weight  {shell.label:<26} {total / 1000:6.1f} KB  " + _breakdown(entries))
    assert total < LIMIT_BYTES

    elsewhere = [url for url in requested if urlparse(url).hostname not in LOCAL_HOSTS]
    assert not elsewhere, f"requests to other hosts: {elsewhere}"


def _is_image(entry: dict) -> bool:
    return entry["kind"] in {"img", "image"} or urlparse(entry["url"]).path.endswith(IMAGE_SUFFIXES)


def _breakdown(entries: list[dict]) -> str:
    parts = {}
    for entry in entries:
        name = {"navigation": "document", "link": "css", "script": "js"}.get(entry["kind"])
        parts[name or entry["kind"]] = parts.get(name or entry["kind"], 0) + entry["transfer"]
    return "(" + ", ".join(f"{name} {size / 1000:.1f}" for name, size in parts.items()) + ")"
