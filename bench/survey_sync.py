"""One phone syncs 500 queued household visits: does it take < 10 s (issue 7)?

    env -u DATABASE_URL .venv/bin/python bench/survey_sync.py   # SQLite
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/xaso .venv/bin/python bench/survey_sync.py

Throwaway database as in household_search.py (a temporary SQLite file, or a database created
on the server of DATABASE_URL and dropped at the end). Data: a commune with one village of 500
households (1–4 residents each) and its digital team member. The server is gunicorn started as
`xaso serve` starts it (2 workers × 4 threads; scan_throughput.gunicorn) with bench settings,
which add /bench/bare, a view that returns "ok" through the same middleware.

The client is the phone, over real HTTP on one keep-alive connection: it logs in through the
login form (session cookie + CSRF token, as the page's fetch sends them), downloads the
village's household list (its offline cache), then sends 500 visits, each with a fresh
idempotency key, the household version it saw and a full checklist for every resident, to
POST /api/v1/survey/visits/batch in chunks of 50, as static/survey/visits.js does. Cases, each
timed per round and alternating with the baseline:

- sync: 500 new visits, 10 batches; every result must be 201;
- replay: the same 500 again (a phone that lost the answers): every result must be 200 and
  no visit is added;
- one by one: 500 new visits to POST /api/v1/survey/visits, one request each (what the
  batch saves);
- baseline: 500 GETs of /bench/bare with the same cookies, one per visit: the round trip and
  the middleware, with no work.

After each case the visits are counted in the database. Nothing is asserted; the figures and
the ratio to the baseline are printed.
"""

import argparse
import datetime
import http.client
import json
import os
import random
import statistics
import sys
import time
import uuid
from collections.abc import Callable
from http.cookies import SimpleCookie
from urllib.parse import urlencode, urlsplit

import django
from django.core.management import call_command

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from household_search import fast_public_id, person_name, throwaway_database
from scan_throughput import gunicorn

HOUSEHOLDS = 500
VISITS = 500
CHUNK = 50  # what visits.js sends per request
ROUNDS = 3
TARGET_S = 10.0
SEED = 20251130
PASSWORD = "bench-password-not-for-production"
ITEMS = [
    "smartphone",
    "vneid_level2",
    "bank_or_wallet",
    "cashless_utilities",
    "vssid",
    "online_service",
]


# --- Data -----------------------------------------------------------------------------------------
def build(rng: random.Random) -> str:
    """A province, a commune, one village of 500 households and its team member; the village's
    code."""
    from xaso.accounts.models import Membership, User
    from xaso.accounts.roles import Role
    from xaso.lib.text import search_key
    from xaso.places.models import Household, Place, Resident

    province = Place.objects.create(code="22", name="Tỉnh Quảng Ninh", kind="province", path="/22/")
    commune = Place.objects.create(
        code="06913", name="Xã Quảng Tân", kind="commune", parent=province, path="/22/06913/"
    )
    village = Place.objects.create(
        code="06913-01",
        name="Thôn Đồng Tâm",
        kind="village",
        division_type="thôn",
        parent=commune,
        path="/22/06913/06913-01/",
    )
    member = User.objects.create_user("tocns", password=PASSWORD, full_name="Tổ CNS")
    Membership.objects.create(user=member, place=village, role=Role.DIGITAL_TEAM)
    households = Household.objects.bulk_create(
        Household(
            public_id=fast_public_id(),
            village=village,
            code=f"HK{n:05d}",
            head_name=(name := person_name(rng)),
            address=f"Số {n}, {village.name}",
            search_key=search_key(name, village.name, f"HK{n:05d}"),
        )
        for n in range(1, HOUSEHOLDS + 1)
    )
    Resident.objects.bulk_create(
        Resident(
            public_id=fast_public_id(),
            household=household,
            full_name=(name := household.head_name if k == 0 else person_name(rng)),
            gender=rng.choice(["male", "female"]),
            birth_date=datetime.date(rng.randint(1940, 2015), rng.randint(1, 12), 1),
            search_key=search_key(name),
        )
        for household in households
        for k in range(rng.randint(1, 4))
    )
    return village.code


def visit_count() -> int:
    from xaso.survey.models import Visit

    return Visit.objects.count()


# --- The phone ------------------------------------------------------------------------------------
class Phone:
    """One keep-alive HTTP connection with the browser's cookies."""

    def __init__(self, url: str):
        parts = urlsplit(url)
        self.connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=120)
        self.cookies: dict[str, str] = {}
        self.origin = url

    def request(self, method: str, path: str, body: bytes | None = None, headers=None):
        headers = {
            "Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items()),
            "Origin": self.origin,
            "Referer": f"{self.origin}/khao-sat/",
            **(headers or {}),
        }
        if method == "POST":
            headers["X-CSRFToken"] = self.cookies.get("csrftoken", "")
        self.connection.request(method, path, body=body, headers=headers)
        response = self.connection.getresponse()
        content = response.read()
        for header in response.headers.get_all("Set-Cookie") or []:
            for name, morsel in SimpleCookie(header).items():
                self.cookies[name] = morsel.value
        return response.status, content

    def log_in(self, username: str) -> None:
        self.request("GET", "/login/")
        form = urlencode(
            {
                "username": username,
                "password": PASSWORD,
                "csrfmiddlewaretoken": self.cookies["csrftoken"],
            }
        ).encode()
        status, _ = self.request(
            "POST",
            "/login/",
            form,
            {"Content-Type": "application/x-www-form-urlencoded"},
        )
        if status != 302 or "sessionid" not in self.cookies:
            raise SystemExit(f"login failed: {status}")

    def post_json(self, path: str, payload, headers=None) -> tuple[int, dict]:
        body = json.dumps(payload).encode()
        status, content = self.request(
            "POST", path, body, {"Content-Type": "application/json", **(headers or {})}
        )
        return status, json.loads(content)


def households(phone: Phone, village: str) -> list[dict]:
    status, content = phone.request("GET", f"/api/v1/survey/households?village={village}")
    if status != 200:
        raise SystemExit(f"household list: {status} {content[:200]!r}")
    return json.loads(content)


def queued_visits(rng: random.Random, cached: list[dict], day: datetime.date) -> list[dict]:
    """One visit per household as the page queues it: a full checklist for every resident."""
    visits = []
    for household in cached[:VISITS]:
        residents = {}
        for resident in household["residents"]:
            answers = {item: rng.random() < 0.6 for item in ITEMS}
            answers["helped"] = [item for item in ITEMS if rng.random() < 0.1]
            residents[resident["id"]] = answers
        visits.append(
            {
                "idempotency_key": str(uuid.uuid4()),
                "household": household["id"],
                "visited_on": day.isoformat(),
                "notes": "Đã hướng dẫn cài VNeID" if rng.random() < 0.3 else "",
                "base_version": household["version"],
                "answers": {
                    "household": {"fibre_broadband": rng.random() < 0.5},
                    "residents": residents,
                },
            }
        )
    return visits


# --- Cases ----------------------------------------------------------------------------------------
def sync(phone: Phone, visits: list[dict], expected: int) -> None:
    for start in range(0, len(visits), CHUNK):
        status, body = phone.post_json(
            "/api/v1/survey/visits/batch", {"visits": visits[start : start + CHUNK]}
        )
        statuses = (
            {result["status"] for result in body.get("results", [])} if status == 200 else set()
        )
        if status != 200 or statuses != {expected}:
            raise SystemExit(f"batch answered {status}, results {statuses}: {str(body)[:300]}")


def one_by_one(phone: Phone, visits: list[dict]) -> None:
    for visit in visits:
        payload = {k: v for k, v in visit.items() if k != "idempotency_key"}
        status, body = phone.post_json(
            "/api/v1/survey/visits", payload, {"Idempotency-Key": visit["idempotency_key"]}
        )
        if status != 201:
            raise SystemExit(f"visit answered {status}: {str(body)[:300]}")


def bare(phone: Phone) -> None:
    for _ in range(VISITS):
        status, _ = phone.request("GET", "/bench/bare")
        if status != 200:
            raise SystemExit(f"/bench/bare answered {status}")


def timed(work: Callable[[], object]) -> float:
    start = time.perf_counter()
    work()
    return time.perf_counter() - start


def main() -> int:
    argparse.ArgumentParser(description=__doc__.splitlines()[0]).parse_args()
    started = time.perf_counter()
    rng = random.Random(SEED)
    with throwaway_database() as backend:
        os.environ["XASO_ALLOWED_HOSTS"] = "127.0.0.1,localhost"
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "xaso.config.settings")
        django.setup()
        call_command("migrate", interactive=False, verbosity=0)
        call_command("collectstatic", interactive=False, verbosity=0)  # as `xaso serve` does
        village = build(rng)
        print(f"Survey sync benchmark on {backend}: {HOUSEHOLDS} households, {VISITS} visits")
        print(f"Load average before: {os.getloadavg()[0]:.1f} ({os.cpu_count()} CPUs)")
        env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
        with gunicorn(env, os.environ["XASO_DATA_DIR"]) as server:
            phone = Phone(server.url)
            phone.log_in("tocns")
            times: dict[str, list[float]] = {
                "download": [],
                "baseline": [],
                "sync": [],
                "replay": [],
                "one": [],
            }
            day = datetime.date.today() - datetime.timedelta(days=1)
            for round_number in range(1, ROUNDS + 1):
                cached: list[dict] = []
                times["download"].append(
                    timed(lambda cached=cached: cached.extend(households(phone, village)))
                )
                visits = queued_visits(rng, cached, day)
                before = visit_count()
                times["baseline"].append(timed(lambda: bare(phone)))
                times["sync"].append(timed(lambda visits=visits: sync(phone, visits, 201)))
                added = visit_count() - before
                times["replay"].append(timed(lambda visits=visits: sync(phone, visits, 200)))
                replayed = visit_count() - before - added
                fresh = [{**visit, "idempotency_key": str(uuid.uuid4())} for visit in visits]
                times["one"].append(timed(lambda fresh=fresh: one_by_one(phone, fresh)))
                print(
                    f"  round {round_number}: sync stored {added}, replay stored {replayed}, "
                    f"one by one stored {visit_count() - before - added - replayed}"
                )
        report(times)
        print(f"Load average after: {os.getloadavg()[0]:.1f}")
    print(f"Benchmark ran in {time.perf_counter() - started:.0f} s")
    return 0


def report(times: dict[str, list[float]]) -> None:
    base = statistics.median(times["baseline"])
    rows = [
        ("household list download (500 households)", "download"),
        (f"baseline: {VISITS} GETs of /bench/bare", "baseline"),
        (f"sync: {VISITS} visits in batches of {CHUNK}", "sync"),
        (f"replay: the same {VISITS} again", "replay"),
        (f"one by one: {VISITS} POSTs /survey/visits", "one"),
    ]
    print(f"\n{'case':<46} {'median s':>9} {'min s':>7} {'× base':>7}")
    for label, key in rows:
        values = times[key]
        median = statistics.median(values)
        print(f"{label:<46} {median:>9.2f} {min(values):>7.2f} {median / base:>7.2f}")
    sync_s = statistics.median(times["sync"])
    verdict = "meets" if sync_s < TARGET_S else "MISSES"
    print(
        f"\nSync of {VISITS} visits: {sync_s:.2f} s ({sync_s / VISITS * 1000:.1f} ms per visit), "
        f"{verdict} the < {TARGET_S:.0f} s target."
    )


if __name__ == "__main__":
    sys.exit(main())
