"""Indicators over a province of 1,000,000 households: any value in < 300 ms p95, the province
dashboard in < 1 s, counted from the records when asked (no precomputation)?

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/xaso .venv/bin/python bench/indicators_scale.py
    … bench/indicators_scale.py --households 100000          # a quicker look
    … bench/indicators_scale.py --keep                       # leave the database for EXPLAIN
    … bench/indicators_scale.py --database xaso_bench_123    # measure a kept one again

PostgreSQL only. A database `xaso_bench_<pid>` is created on the server of DATABASE_URL and
dropped at the end (unless --keep). The synthetic province (Bắc Ninh, 99 communes, 10 villages
each) is written with set-based SQL (INSERT … SELECT generate_series): households, about 3.5
residents each, twelve months of visits by the community digital team and the status rows
they leave (ResidentStatus, HouseholdStatus), as survey.actions would have; a few dossiers and
cameras through the ORM. The indicators are the catalogue's (indicators/catalogue.py).

The status tallies (survey.StatusTally) are then rebuilt from the status rows (timed), and
every case is measured twice on the same draws: "[tallies]", the status sources summed from
the tallies as the site does, and "[rows]", the status rows counted (the comparison).

Cases, each timed alternately with its baseline (machines are noisy: read the ratios):
- one indicator for one place and one period (`compute.values_for_place` with one indicator):
  random villages, communes and the province; random months, quarters and the year over the
  twelve months. Baseline: a plain COUNT(*) of the same place's resident status rows.
- the province dashboard: every catalogue indicator for the province plus its communes'
  ranking (`values_for_children`). Baseline: one plain COUNT(*) over the province's rows of
  each table the indicators read.
- one open-data file (`opendata.dataset_rows`, 12 months × province, communes, villages),
  cold, against the same baseline as the dashboard.
"""

import argparse
import datetime
import os
import random
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from urllib.parse import urlsplit

import django
from django.core.management import call_command
from django.db import connection, connections

PROVINCE = "24"  # Bắc Ninh: 99 communes after 1 July 2025
VILLAGES_PER_COMMUNE = 10
SEED = 20250701
PLACE_BUDGET_MS = 300  # p95
TALLIES, ROWS = "tallies", "rows"  # how the status sources are counted
DASHBOARD_BUDGET_MS = 1000
# Each checklist item: share of residents who have it when first visited, and a multiplier
# that spreads the pseudo-random draws of the items apart.
RESIDENT_ITEMS = {
    "smartphone": (85, 11),
    "vneid_level2": (60, 13),
    "bank_or_wallet": (65, 17),
    "cashless_utilities": (40, 19),
    "vssid": (35, 23),
    "online_service": (30, 29),
}


# --- A database of its own -----------------------------------------------------------------------
@contextmanager
def bench_database(url: str, *, reuse: str, keep: bool) -> Iterator[bool]:
    """Point DATABASE_URL at a database for this run; yield whether it must be built."""
    import tempfile

    import psycopg
    from psycopg import sql

    server = urlsplit(url)
    name = reuse or f"xaso_bench_{os.getpid()}"
    maintenance_url = server._replace(path="/postgres").geturl()
    with tempfile.TemporaryDirectory(prefix="xaso-bench-") as data_dir:
        os.environ["XASO_DATA_DIR"] = data_dir
        os.environ["XASO_SECRET_KEY"] = "bench-secret-key-not-for-production"
        os.environ["XASO_FIELD_KEY"] = "bench-field-key-not-for-production"
        os.environ["XASO_DEBUG"] = "0"  # DEBUG would record every query
        os.environ["DATABASE_URL"] = server._replace(path=f"/{name}").geturl()
        if not reuse:
            with psycopg.connect(maintenance_url, autocommit=True) as admin:
                admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        try:
            yield not reuse
        finally:
            connections.close_all()
            if keep or reuse:
                print(f"Database kept: {name} (--database {name} to measure it again)")
            else:
                with psycopg.connect(maintenance_url, autocommit=True) as admin:
                    admin.execute(
                        sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                            sql.Identifier(name)
                        )
                    )


def execute(statement: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute(statement)
        return cursor.rowcount


def scalar(statement: str, params=None):
    with connection.cursor() as cursor:
        cursor.execute(statement, params)
        return cursor.fetchone()[0]


# --- Data ---------------------------------------------------------------------------------------
@dataclass
class Span:
    first: datetime.date  # first day of the oldest of the twelve monthly periods
    today: datetime.date

    @property
    def days(self) -> int:
        return (self.today - self.first).days + 1


def build(households: int, span: Span) -> None:
    from xaso.accounts.models import User
    from xaso.indicators.catalogue import catalogue_load
    from xaso.places.loader import official_places_load
    from xaso.places.models import Place

    started = time.perf_counter()
    official_places_load()
    admin = User.objects.create_superuser("bench-admin", password=None)
    member = User.objects.create_user("bench-tocns", password=None, full_name="Tổ CNS")
    province = Place.objects.get(code=PROVINCE)
    communes = list(province.children.filter(kind=Place.Kind.COMMUNE).order_by("code"))
    Place.objects.bulk_create(
        Place(
            code=f"{commune.code}-{number:02d}",
            name=f"Thôn {number}",
            kind=Place.Kind.VILLAGE,
            division_type="thôn",
            parent=commune,
            path=f"{commune.path}{commune.code}-{number:02d}/",
        )
        for commune in communes
        for number in range(1, VILLAGES_PER_COMMUNE + 1)
    )
    catalogue_load(province=province, by=admin)
    step("places and catalogue", started)
    insert_people(households, span)
    step(f"{households:,} households and their residents", started)
    insert_survey(span, member.pk)
    step("visits and status rows", started)
    insert_dossiers_and_cameras(communes, span)
    step("dossiers and cameras", started)
    execute("VACUUM ANALYZE")
    step("VACUUM ANALYZE", started)


def build_tallies() -> None:
    """The status tallies from the status rows (survey.actions keeps them as visits arrive;
    the rows here were written by SQL), timed, then analysed."""
    from xaso.survey.tallies import tallies_rebuild

    started = time.perf_counter()
    written = tallies_rebuild()
    seconds = time.perf_counter() - started
    execute("VACUUM ANALYZE survey_statustally")
    print(f"Status tallies rebuilt from the status rows: {written:,} rows in {seconds:.1f} s")


def counting(how: str) -> str:
    """Count the status sources from their tallies or from their rows; the case label."""
    from xaso.indicators import compute

    compute.COUNT_FROM_TALLIES = how == TALLIES
    return f"[{how}]"


def step(label: str, started: float) -> None:
    print(f"  {time.perf_counter() - started:7.0f} s  {label}", flush=True)


def insert_people(households: int, span: Span) -> None:
    """Households spread evenly over the villages, 1–6 residents each (3.5 on average).

    Most households existed before the twelve months; one in fifty was founded during them.
    """
    before = span.first - datetime.timedelta(days=1)
    execute(
        """CREATE TEMP TABLE bench_village AS
        SELECT id, row_number() OVER (ORDER BY id) - 1 AS n
        FROM places_place WHERE kind = 'village'"""
    )
    villages = scalar("SELECT count(*) FROM bench_village")
    execute(
        f"""INSERT INTO places_household (public_id, code, head_name, address, notes,
            search_key, created_at, updated_at, village_id)
        SELECT 'h' || g, '', 'Hộ ' || g, '', '', '',
            CASE WHEN mod(g, 50) = 0 THEN timestamptz '{span.first}' + mod(g, {span.days}) * interval '1 day'
                 ELSE timestamptz '{before}' - mod(g, 3000) * interval '1 day' END,
            now(), v.id
        FROM generate_series(1, {households}) g JOIN bench_village v ON v.n = mod(g, {villages})"""  # noqa: E501
    )
    execute(
        """INSERT INTO places_resident (public_id, full_name, gender, birth_date,
            relation_to_head, cccd_encrypted, cccd_hash, phone_encrypted, phone_hash, search_key,
            created_at, updated_at, household_id)
        SELECT 'r' || h.id || '-' || k, 'Cư dân ' || h.id || '-' || k,
            CASE WHEN mod(h.id + k, 2) = 0 THEN 'female' ELSE 'male' END,
            date '1940-01-01' + mod(h.id * 31 + k * 977, 30000)::int,
            CASE WHEN k = 1 THEN 'Chủ hộ' ELSE 'Thành viên' END, '', '', '', '', '',
            h.created_at, h.created_at, h.id
        FROM places_household h CROSS JOIN LATERAL generate_series(1, 1 + mod(h.id * 7919, 6)::int) k"""  # noqa: E501
    )


def insert_survey(span: Span, member_id: int) -> None:
    """Nine households in ten visited once in the twelve months, half of them again 1–3 months
    later; each visit leaves the status rows survey.actions would have written."""
    days = span.days
    execute(
        f"""CREATE TEMP TABLE bench_plan AS
        SELECT id AS household_id, village_id,
            date '{span.first}' + mod(id * 7417, {days})::int AS first_on,
            CASE WHEN mod(id, 2) = 0 AND mod(id * 7417, {days}) + 30 + mod(id, 60) < {days}
                 THEN date '{span.first}' + (mod(id * 7417, {days}) + 30 + mod(id, 60))::int
            END AS second_on
        FROM places_household WHERE mod(id, 10) < 9"""
    )
    for number, day in (("1", "first_on"), ("2", "second_on")):
        execute(
            f"""INSERT INTO survey_visit (public_id, visited_on, notes, answers, idempotency_key,
                content_hash, conflicts, created_at, household_id, member_id, village_id)
            SELECT 'v{number}-' || household_id, {day}, '', '{{}}', 'k{number}-' || household_id,
                '', '[]', {day} + time '10:00', household_id, {member_id}, village_id
            FROM bench_plan WHERE {day} IS NOT NULL"""
        )
    items = ",\n".join(
        f"""CASE WHEN mod(r.id * {multiplier}, 100) < {share} THEN p.first_on
                 WHEN p.second_on IS NOT NULL AND mod(r.id * {multiplier}, 100) < {share + 10}
                 THEN p.second_on END"""
        for share, multiplier in RESIDENT_ITEMS.values()
    )
    columns = ", ".join(f"{item}_on" for item in RESIDENT_ITEMS)
    execute(
        f"""INSERT INTO survey_residentstatus (resident_id, household_id, village_id, adult,
            {columns}, first_visited_on, last_visited_on)
        SELECT r.id, r.household_id, p.village_id,
            r.birth_date <= p.first_on - interval '15 years',
            {items},
            p.first_on, coalesce(p.second_on, p.first_on)
        FROM places_resident r JOIN bench_plan p ON p.household_id = r.household_id"""
    )
    earliest = ", ".join(f"min(s.{item}_on)" for item in RESIDENT_ITEMS)
    execute(
        f"""INSERT INTO survey_householdstatus (household_id, village_id, version,
            fibre_broadband_on, {columns}, first_visited_on, last_visited_on)
        SELECT p.household_id, p.village_id, CASE WHEN p.second_on IS NULL THEN 1 ELSE 2 END,
            CASE WHEN mod(p.household_id * 37, 100) < 60 THEN p.first_on END,
            {earliest}, p.first_on, coalesce(p.second_on, p.first_on)
        FROM bench_plan p JOIN survey_residentstatus s ON s.household_id = p.household_id
        GROUP BY p.household_id, p.village_id, p.first_on, p.second_on"""
    )


def insert_dossiers_and_cameras(communes: list, span: Span) -> None:
    """30 dossiers a month per commune; a camera at each commune hall and at 3 crossroads."""
    import secrets

    from django.utils import timezone

    from xaso.dossiers.models import Dossier, Procedure
    from xaso.safety.models import Camera

    rng = random.Random(SEED)
    procedure = Procedure.objects.create(
        code="1.001193", name="Đăng ký khai sinh", field="Hộ tịch", processing_days=3
    )
    dossiers = []
    for commune in communes:
        for index in range(30 * 12):
            day = span.first + datetime.timedelta(days=rng.randrange(span.days))
            submitted = timezone.make_aware(datetime.datetime.combine(day, datetime.time(9)))
            dossiers.append(
                Dossier(
                    public_id=secrets.token_hex(8),
                    code=f"{commune.code}-{day:%y%m%d}-{index:04d}",
                    secret_hash="0" * 64,
                    procedure=procedure,
                    commune=commune,
                    channel=rng.choice(["online", "online", "counter"]),
                    status="returned",
                    applicant_name="Người nộp",
                    submitted_at=submitted,
                    received_at=submitted,
                    received_on=day,
                    timeliness=rng.choice(["early", "on_time", "on_time", "late"]),
                )
            )
    Dossier.objects.bulk_create(dossiers, batch_size=2000)
    cameras = []
    for commune in communes:
        villages = list(commune.children.order_by("code")[:3])
        for place, black_spot in [(commune, False)] + [(village, True) for village in villages]:
            cameras.append(
                Camera(
                    public_id=secrets.token_hex(8),
                    place=place,
                    name=f"Camera {place.code}",
                    is_black_spot=black_spot,
                )
            )
    Camera.objects.bulk_create(cameras)


# --- Timing -------------------------------------------------------------------------------------
def timed_ms(work: Callable[[], object]) -> float:
    started = time.perf_counter()
    work()
    return (time.perf_counter() - started) * 1000


def p95(samples: list[float]) -> float:
    return (
        statistics.quantiles(samples, n=20, method="inclusive")[-1]
        if len(samples) > 1
        else samples[0]
    )


@dataclass
class Case:
    label: str
    work_ms: list[float]
    baseline_ms: list[float]

    def line(self, budget_ms: float | None) -> str:
        median, baseline = statistics.median(self.work_ms), statistics.median(self.baseline_ms)
        ratios = [w / b for w, b in zip(self.work_ms, self.baseline_ms, strict=True) if b]
        verdict = "-" if budget_ms is None else "yes" if p95(self.work_ms) < budget_ms else "NO"
        return (
            f"{self.label:<48} {len(self.work_ms):>4} {median:>9.1f} {p95(self.work_ms):>8.1f} "
            f"{max(self.work_ms):>8.1f} {baseline:>9.1f} {statistics.median(ratios):>7.1f}"
            f"  {verdict}"
        )


HEADER = (
    f"{'case':<48} {'runs':>4} {'median ms':>9} {'p95 ms':>8} {'max ms':>8} "
    f"{'COUNT(*) ms':>9} {'× base':>7}  under budget"
)


def resident_rows_count(place) -> int:
    """Baseline: a plain COUNT(*) of the place's resident status rows, nothing else."""
    from xaso.places.models import Place

    if place.kind == Place.Kind.VILLAGE:
        where, param = "village_id = %s", place.id
    elif place.kind == Place.Kind.COMMUNE:
        where = "village_id IN (SELECT id FROM places_place WHERE parent_id = %s)"
        param = place.id
    else:
        where = (
            "village_id IN (SELECT id FROM places_place WHERE kind = 'village' AND path LIKE %s)"
        )
        param = place.path + "%"
    return scalar(f"SELECT count(*) FROM survey_residentstatus WHERE {where}", [param])


def province_rows_count(province) -> int:
    """Baseline for a whole dashboard: one COUNT(*) of the province's rows in each table the
    catalogue's indicators read (statuses, households, visits, dossiers, cameras)."""
    villages = "(SELECT id FROM places_place WHERE kind = 'village' AND path LIKE %s)"
    communes = "(SELECT id FROM places_place WHERE kind = 'commune' AND path LIKE %s)"
    prefix = province.path + "%"
    total = 0
    for table, column, places in [
        ("survey_residentstatus", "village_id", villages),
        ("survey_householdstatus", "village_id", villages),
        ("places_household", "village_id", villages),
        ("survey_visit", "village_id", villages),
        ("dossiers_dossier", "commune_id", communes),
    ]:
        total += scalar(f"SELECT count(*) FROM {table} WHERE {column} IN {places}", [prefix])
    total += scalar(
        "SELECT count(*) FROM safety_camera c JOIN places_place p ON p.id = c.place_id "
        "WHERE p.path LIKE %s",
        [prefix],
    )
    return total


def any_value_cases(rng: random.Random, samples: int, span: Span, how: str) -> list[Case]:
    from xaso.indicators import compute
    from xaso.indicators.models import Indicator
    from xaso.lib import periods
    from xaso.places.models import Place

    indicators = [i for i in Indicator.objects.all() if i.method != Indicator.Method.MANUAL]
    province = Place.objects.get(code=PROVINCE)
    communes = list(Place.objects.filter(parent=province))
    villages = list(Place.objects.filter(kind=Place.Kind.VILLAGE, path__startswith=province.path))
    months = periods.previous(periods.containing(span.today), 12)
    quarters = sorted({periods.containing(m.end, periods.QUARTER) for m in months}, key=str)
    years = sorted({periods.containing(m.end, periods.YEAR) for m in months}, key=str)
    cases = {}
    mode = counting(how)
    for kind, places, share in [
        ("village", villages, 0.5),
        ("commune", communes, 0.3),
        ("province", [province], 0.2),
    ]:
        case = cases.setdefault(kind, Case(f"one indicator, a {kind} {mode}", [], []))
        compute.values_for_place(indicators, places[0], months[-1])  # warm up
        for _ in range(max(5, int(samples * share))):
            indicator = rng.choice(indicators)
            place = rng.choice(places)
            period = rng.choice(rng.choice([months, quarters, years]))
            case.work_ms.append(
                timed_ms(lambda i=indicator, p=place, q=period: compute.values_for_place([i], p, q))
            )
            case.baseline_ms.append(timed_ms(lambda p=place: resident_rows_count(p)))
    every = Case(
        f"one indicator, any place {mode}",
        [ms for case in cases.values() for ms in case.work_ms],
        [ms for case in cases.values() for ms in case.baseline_ms],
    )
    return [*cases.values(), every]


def dashboard_case(runs: int, span: Span, how: str) -> Case:
    from xaso.indicators import compute
    from xaso.indicators.models import Indicator
    from xaso.lib import periods
    from xaso.places.models import Place

    indicators = list(Indicator.objects.all())
    province = Place.objects.get(code=PROVINCE)
    period = periods.containing(span.today)

    def dashboard():
        compute.values_for_place(indicators, province, period)
        compute.values_for_children(indicators, province, period)

    counting(how)
    dashboard()
    province_rows_count(province)
    case = Case(f"province dashboard + ranking {counting(how)}", [], [])
    for _ in range(runs):
        case.work_ms.append(timed_ms(dashboard))
        case.baseline_ms.append(timed_ms(lambda: province_rows_count(province)))
    return case


def opendata_case(runs: int, span: Span, how: str) -> Case:
    from django.core.cache import cache

    from xaso.indicators import opendata
    from xaso.indicators.models import Indicator
    from xaso.places.models import Place

    indicator = Indicator.objects.get(code="nguoi-lon-co-smartphone")
    province = Place.objects.get(code=PROVINCE)
    wanted = opendata.default_periods(indicator, span.today)

    def cold_file():
        cache.clear()
        return opendata.dataset_rows(indicator, wanted)

    mode = counting(how)
    rows = len(cold_file())
    case = Case(f"open-data file, 12 months, {rows:,} rows {mode}", [], [])
    for _ in range(runs):
        case.work_ms.append(timed_ms(cold_file))
        case.baseline_ms.append(timed_ms(lambda: province_rows_count(province)))
    return case


def floor() -> str:
    """The least any count can cost here: a plain COUNT(*) of each whole table (the site
    serves one province, so a table is that province's rows), median of 5."""
    parts = []
    for table in [
        "survey_residentstatus",
        "survey_householdstatus",
        "places_household",
        "survey_visit",
    ]:
        runs = [timed_ms(lambda t=table: scalar(f"SELECT count(*) FROM {t}")) for _ in range(5)]
        parts.append(f"{table} {statistics.median(runs):.0f} ms")
    return "Plain COUNT(*) of whole tables: " + ", ".join(parts)


def explain(span: Span) -> None:
    """EXPLAIN ANALYZE of what the slowest case runs: the province's counts per source."""
    from xaso.indicators import compute
    from xaso.indicators.models import Indicator
    from xaso.lib import periods
    from xaso.places.models import Place

    province = Place.objects.get(code=PROVINCE)
    period = periods.containing(span.today)
    statements = []

    def capture(execute_, sql, params, many, context):
        statements.append((sql, params))
        return execute_(sql, params, many, context)

    counting(TALLIES)
    with connection.execute_wrapper(capture):
        compute.values_for_place(list(Indicator.objects.all()), province, period)
    with connection.cursor() as cursor:
        for sql, params in statements:
            if "COUNT(" not in sql.upper():
                continue
            cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {sql}", params)
            print("\n" + sql[:300] + " …")
            print("\n".join(row[0] for row in cursor.fetchall()))


def table_sizes() -> str:
    rows = []
    for table in [
        "places_household",
        "places_resident",
        "survey_visit",
        "survey_residentstatus",
        "survey_householdstatus",
        "dossiers_dossier",
        "safety_camera",
    ]:
        count = scalar(f"SELECT count(*) FROM {table}")
        size = scalar("SELECT pg_size_pretty(pg_total_relation_size(%s))", [table])
        rows.append(f"{table} {count:,} ({size})")
    return "; ".join(rows)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--households", type=int, default=1_000_000)
    parser.add_argument(
        "--samples", type=int, default=200, help="random (indicator, place, period)"
    )
    parser.add_argument("--runs", type=int, default=10, help="dashboard and open-data runs")
    parser.add_argument("--keep", action="store_true", help="do not drop the database")
    parser.add_argument("--database", default="", help="measure a database kept by --keep")
    parser.add_argument("--explain", action="store_true", help="EXPLAIN ANALYZE the province")
    args = parser.parse_args()
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgres"):
        print("Set DATABASE_URL to a PostgreSQL server: this benchmark is for PostgreSQL.")
        return 2
    started = time.perf_counter()
    with bench_database(url, reuse=args.database, keep=args.keep) as fresh:
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "xaso.config.settings")
        django.setup()
        from xaso.lib import periods

        today = datetime.date.today()
        span = Span(first=periods.previous(periods.containing(today), 12)[0].start, today=today)
        print(f"Indicators at scale on PostgreSQL ({connection.settings_dict['NAME']})")
        call_command("migrate", interactive=False, verbosity=0)  # a kept one may lack tables
        if fresh:
            build(args.households, span)
        build_tallies()
        print(f"Data: {table_sizes()}")
        print(f"Twelve months: {span.first:%d/%m/%Y} – {span.today:%d/%m/%Y}")
        print(f"Load average before: {os.getloadavg()[0]:.1f} ({os.cpu_count()} CPUs)\n")
        print(HEADER)
        print("-" * len(HEADER))
        for how in [TALLIES, ROWS]:  # the same draws, counted both ways
            for case in any_value_cases(random.Random(SEED), args.samples, span, how):
                print(case.line(PLACE_BUDGET_MS), flush=True)
            print(dashboard_case(args.runs, span, how).line(DASHBOARD_BUDGET_MS), flush=True)
            print(opendata_case(max(1, args.runs // 3), span, how).line(None), flush=True)
        print(floor())
        print(f"\nLoad average after: {os.getloadavg()[0]:.1f}")
        if args.explain:
            explain(span)
    print(f"Benchmark ran in {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
