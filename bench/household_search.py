"""Household search over 100,000 households: does search-as-you-type answer in < 100 ms?

    make bench                                   # SQLite, then PostgreSQL (DATABASE_URL)
    .venv/bin/python bench/household_search.py   # the backend DATABASE_URL names, else SQLite

The script builds its own throwaway database (a temporary SQLite file, or a PostgreSQL
database created on the server of DATABASE_URL and dropped at the end), fills it with 100,000
households and measures what one search request costs: the scoped selector, its first page of
25 with the prefetch of residents, and the count. Machines are noisy, so every case is also
given as a ratio to a baseline (one full scan of the households table) timed in the same
process, alternating run by run.

The indexes that make it fast are the app's own migrations (places 0002 and, on PostgreSQL,
0003); this script measures them as they ship.
"""

import argparse
import os
import random
import secrets
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from urllib.parse import urlsplit

import django
from django.core.management import call_command
from django.db import connection, connections

BUDGET_MS = 100
PAGE_SIZE = 25  # what the households page shows; the API with ?limit=25
WARMUP_RUNS = 5
TIMED_RUNS = 50
SEED = 20250701

HOUSEHOLDS = 100_000
HOME_COMMUNE = "06913"  # Xã Quảng Tân, the commune of the commune leader
HOME_HOUSEHOLDS = 15_000
HOME_VILLAGES = 10
OTHER_COMMUNES = 17  # the other 85,000 households, so that scoping has something to exclude
OTHER_VILLAGES = 5
RARE_HEAD_NAME = "Hứa Thị Ngoạn"  # Hứa is not among the generated surnames

# The demo commune's eight village names and two more, so the commune has ten villages.
EXTRA_VILLAGE_NAMES = ["Thôn Yên Hưng", "Thôn Cẩm La"]


def village_names() -> list[str]:
    from xaso.demo import names

    return [*names.VILLAGES, *EXTRA_VILLAGE_NAMES]


# --- A database of its own -----------------------------------------------------------------------
@contextmanager
def throwaway_database() -> Iterator[str]:
    """Point the settings at a database made for this run; yield the backend's name."""
    with tempfile.TemporaryDirectory(prefix="xaso-bench-") as data_dir:
        os.environ["XASO_DATA_DIR"] = data_dir  # SQLite file, and nothing written to var/
        os.mkdir(os.path.join(data_dir, "static"))  # else WhiteNoise warns on the first request
        os.environ["XASO_SECRET_KEY"] = "bench-secret-key-not-for-production"
        os.environ["XASO_FIELD_KEY"] = "bench-field-key-not-for-production"
        os.environ["XASO_ALLOWED_HOSTS"] = "testserver,localhost"
        os.environ["XASO_DEBUG"] = "0"  # DEBUG would record every query and slow each case
        if not os.environ.get("DATABASE_URL"):
            yield "SQLite"
            return
        with postgres_database(os.environ["DATABASE_URL"]) as bench_url:
            os.environ["DATABASE_URL"] = bench_url
            yield "PostgreSQL"


@contextmanager
def postgres_database(url: str) -> Iterator[str]:
    """Create a database on the server of `url`, yield its URL, drop it whatever happens."""
    import psycopg
    from psycopg import sql

    server = urlsplit(url)
    name = sql.Identifier(f"xaso_bench_{os.getpid()}")  # two runs at once never share one
    maintenance_url = server._replace(path="/postgres").geturl()
    with psycopg.connect(maintenance_url, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(name))
    try:
        yield server._replace(path=f"/xaso_bench_{os.getpid()}").geturl()
    finally:
        connections.close_all()
        with psycopg.connect(maintenance_url, autocommit=True) as admin:
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(name))


# --- Data ----------------------------------------------------------------------------------------
@dataclass
class World:
    leader: object  # commune leader of Quảng Tân: sees 15,000 households
    admin: object  # superuser: sees all 100,000
    home_village: str  # code of a village of Quảng Tân


def build_world(rng: random.Random) -> World:
    from xaso.accounts.models import Membership, User
    from xaso.accounts.roles import Role
    from xaso.places.actions import village_create
    from xaso.places.loader import official_places_load
    from xaso.places.models import Place

    official_places_load()
    admin = User.objects.create_superuser("bench-admin", password=None)
    leader = User.objects.create_user("bench-leader", password=None, full_name="Lãnh đạo xã")
    home = Place.objects.get(code=HOME_COMMUNE)
    Membership.objects.create(user=leader, place=home, role=Role.COMMUNE_LEADER)

    others = Place.objects.filter(kind=Place.Kind.COMMUNE).exclude(pk=home.pk).order_by("code")
    home_villages = [
        village_create(commune=home, name=name, by=admin)
        for name in village_names()[:HOME_VILLAGES]
    ]
    other_villages = [
        village_create(commune=commune, name=name, by=admin)
        for commune in rng.sample(list(others), OTHER_COMMUNES)
        for name in rng.sample(village_names(), OTHER_VILLAGES)
    ]
    households = insert_households(rng, home_villages, HOME_HOUSEHOLDS)
    households += insert_households(rng, other_villages, HOUSEHOLDS - HOME_HOUSEHOLDS)
    insert_residents(rng, households)
    return World(leader=leader, admin=admin, home_village=home_villages[0].code)


def insert_households(rng: random.Random, villages: list, total: int) -> list:
    """`total` households spread evenly over `villages`, keyed exactly as household_create does."""
    from xaso.lib.text import search_key
    from xaso.places.models import Household

    rows = []
    for index in range(total):
        village = villages[index % len(villages)]
        # One rare name per call: one in Quảng Tân, one elsewhere.
        head_name = RARE_HEAD_NAME if index == total // 2 else person_name(rng)
        code = f"HK{index // len(villages) + 1:05d}"  # unique within the village
        address = f"Số {rng.randint(1, 400)}, {village.name}"
        rows.append(
            Household(
                public_id=fast_public_id(),
                village=village,
                code=code,
                head_name=head_name,
                address=address,
                search_key=search_key(head_name, address, code),
            )
        )
    return Household.objects.bulk_create(rows, batch_size=2000)


def insert_residents(rng: random.Random, households: list) -> None:
    """The head plus up to three others: the list prefetches them for the member count."""
    from xaso.lib.text import search_key
    from xaso.places.models import Resident

    rows = []
    for household in households:
        names = [household.head_name] + [person_name(rng) for _ in range(rng.randint(0, 3))]
        for position, full_name in enumerate(names):
            rows.append(
                Resident(
                    public_id=fast_public_id(),
                    household=household,
                    full_name=full_name,
                    gender=rng.choice(["male", "female"]),
                    relation_to_head="Chủ hộ" if position == 0 else "Con",
                    search_key=search_key(full_name),
                )
            )
    Resident.objects.bulk_create(rows, batch_size=2000)


def fast_public_id() -> str:
    # Random and 16 characters long like new_public_id, in one call: new_public_id's choice of
    # one character at a time took a third of the build time.
    return secrets.token_hex(8)


def person_name(rng: random.Random) -> str:
    from xaso.demo import names

    surnames, weights = zip(*names.SURNAMES, strict=True)
    surname = rng.choices(surnames, weights)[0]
    if rng.random() < 0.6:
        return f"{surname} {rng.choice(names.MALE_MIDDLE)} {rng.choice(names.MALE_GIVEN)}"
    return f"{surname} {rng.choice(names.FEMALE_MIDDLE)} {rng.choice(names.FEMALE_GIVEN)}"


def refresh_planner_statistics() -> None:
    # On a live PostgreSQL autovacuum has analysed and vacuumed a table this size long before
    # anyone searches it; right after a bulk load it has not. SQLite: the app never runs
    # ANALYZE, so neither do we.
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")


# --- Timing --------------------------------------------------------------------------------------
@dataclass
class Result:
    label: str
    user: str
    matches: int | None
    queries: int
    median_ms: float
    p95_ms: float
    baseline_median_ms: float

    @property
    def ratio(self) -> float:
        return self.median_ms / self.baseline_median_ms

    @property
    def within_budget(self) -> bool:
        return self.median_ms < BUDGET_MS


def timed_ms(work: Callable[[], object]) -> float:
    start = time.perf_counter()
    work()
    return (time.perf_counter() - start) * 1000


def measure(work: Callable[[], object]) -> tuple[float, float, float]:
    """Median and p95 of `work`, and the median of the baseline run alternately with it.

    Alternating means both see the same moments of a noisy machine.
    """
    for _ in range(WARMUP_RUNS):
        work()
        full_scan()
    work_ms, baseline_ms = [], []
    for _ in range(TIMED_RUNS):
        work_ms.append(timed_ms(work))
        baseline_ms.append(timed_ms(full_scan))
    p95 = statistics.quantiles(work_ms, n=20)[-1]
    return statistics.median(work_ms), p95, statistics.median(baseline_ms)


def measure_case(label: str, user: str, work: Callable[[], object]) -> Result:
    outcome, queries = run_counting_queries(work)
    matches = outcome if isinstance(outcome, int) else None
    median_ms, p95_ms, baseline_ms = measure(work)
    return Result(label, user, matches, queries, median_ms, p95_ms, baseline_ms)


def run_counting_queries(work: Callable[[], object]) -> tuple[object, int]:
    # Not CaptureQueriesContext: a request through the test client empties its log.
    executed = []

    def count(execute, sql, params, many, context):
        executed.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(count):
        outcome = work()
    return outcome, len(executed)


# --- What a search request does ------------------------------------------------------------------
def full_scan() -> int:
    """Baseline: one pass over every household, the least a substring search without an index
    can cost. On `address`, which no candidate index covers, so it stays a full scan.

    (A pk-ordered page + count was tried first: on SQLite it takes 0.6 ms, too short to feel
    the machine's noise the way a 50 ms case does.)
    """
    from xaso.places.models import Household

    return Household.objects.filter(address__contains="zzz").count()


def search_page_and_count(user, *, village: str = "", q: str = "") -> int:
    """What the households API and page do: scope, filter, first page (+ prefetch), count."""
    from xaso.accounts.permissions import forget_cached_memberships
    from xaso.places import selectors

    forget_cached_memberships(user)  # a request loads the user's memberships once
    households = selectors.households_for_user(user=user, village=village, q=q)
    list(households[:PAGE_SIZE])
    return households.count()


def measure_search(world: World) -> list[Result]:
    cases = [
        ("empty query", {}),
        ("prefix 'ngu'", {"q": "ngu"}),
        ("name 'nguyen van'", {"q": "nguyen van"}),
        ("rare 'hua thi ngoan'", {"q": "hua thi ngoan"}),
        ("village filter", {"village": world.home_village}),
        ("village + 'ngu'", {"village": world.home_village, "q": "ngu"}),
    ]
    results = [measure_case("baseline: full scan, no match", "-", full_scan)]
    for user_label, user in (("leader", world.leader), ("superuser", world.admin)):
        for label, filters in cases:
            work = lambda user=user, filters=filters: search_page_and_count(user, **filters)  # noqa: E731
            results.append(measure_case(label, user_label, work))
    return results


def measure_http(world: World) -> list[Result]:
    """Through Django's whole stack: session, middleware, then JSON or the htmx fragment."""
    from django.test import Client

    client = Client()
    client.force_login(world.leader)
    htmx = {"HX-Request": "true", "HX-Target": "results"}
    requests = [
        ("API ?q=nguyen van&limit=25", "/api/v1/households?q=nguyen%20van&limit=25", {}),
        ("API ?q=nguyen van (default page)", "/api/v1/households?q=nguyen%20van", {}),
        ("page, htmx #results ?q=nguyen van", "/households/?q=nguyen+van", htmx),
    ]
    results = []
    for label, url, headers in requests:

        def get(url=url, headers=headers) -> int | None:
            response = client.get(url, headers=headers)
            assert response.status_code == 200, (url, response.status_code)
            return response.json()["count"] if "/api/" in url else None

        results.append(measure_case(label, "leader", get))
    return results


# --- Report --------------------------------------------------------------------------------------
def print_table(title: str, results: list[Result]) -> None:
    print(f"\n{title}")
    header = (
        f"{'case':<34} {'user':<9} {'matches':>7} {'queries':>7} "
        f"{'median ms':>9} {'p95 ms':>8} {'× baseline':>10}  < {BUDGET_MS} ms"
    )
    print(header)
    print("-" * len(header))
    for r in results:
        matches = "-" if r.matches is None else str(r.matches)
        print(
            f"{r.label:<34} {r.user:<9} {matches:>7} {r.queries:>7} {r.median_ms:>9.1f} "
            f"{r.p95_ms:>8.1f} {r.ratio:>10.1f}  {'yes' if r.within_budget else 'NO'}"
        )


def print_verdict(title: str, results: list[Result]) -> None:
    slow = [f"{r.label} ({r.user})" for r in results if r.user != "-" and not r.within_budget]
    verdict = "yes" if not slow else "NO, over budget: " + "; ".join(slow)
    print(f"{title}: every case's median < {BUDGET_MS} ms? {verdict}")


def run(backend: str, started: float) -> None:
    print(f"Household search benchmark on {backend} ({connection.settings_dict['NAME']})")
    world = build_world(random.Random(SEED))
    refresh_planner_statistics()
    print(f"Data built in {time.perf_counter() - started:.0f} s: {HOUSEHOLDS:,} households.")
    print(f"{WARMUP_RUNS} warm-up + {TIMED_RUNS} timed runs per case, baseline alternating.")
    print(f"Load average before: {os.getloadavg()[0]:.1f} ({os.cpu_count()} CPUs)")
    searches = measure_search(world)
    print_table("Selector: households_for_user → first 25 + count()", searches)
    over_http = measure_http(world)
    print_table("Through HTTP, Django test client, commune leader", over_http)
    print(f"Load average after: {os.getloadavg()[0]:.1f}\n")
    print_verdict(backend, searches + over_http)


def main() -> int:
    argparse.ArgumentParser(description=__doc__.splitlines()[0]).parse_args()
    started = time.perf_counter()
    with throwaway_database() as backend:
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "xaso.config.settings")
        django.setup()
        call_command("migrate", interactive=False, verbosity=0)
        run(backend, started)
    print(f"Benchmark ran in {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
