"""Officer work queue and dossier search over 200,000 dossiers: < 150 ms?

    make bench                                   # SQLite, then PostgreSQL (DATABASE_URL)
    .venv/bin/python bench/dossier_queue.py      # the backend DATABASE_URL names, else SQLite

A throwaway database (a temporary SQLite file, or `xaso_bench_<pid>` on the server of
DATABASE_URL, dropped at the end; see household_search.py) with the official place tree and
200,000 dossiers in 20 communes, 30,000 of them in Xã Quảng Tân: two years of intake, most
returned, the rest spread over the open statuses with due dates, applicants' search keys and
phone hashes computed as `dossier_submit` computes them (on SQLite, the triggers of migration
dossiers/0003 put the keys in the FTS5 name index as the rows are inserted). Each case is what
one page request does: the selector, its first page of 25 and its count(); 5 warm-up runs, then
30 timed ones (median, p95), alternating with the baseline: one full scan of the dossiers table
(COUNT(*) with a LIKE on the applicant's address that matches nothing).
"""

import argparse
import datetime
import os
import random
import secrets
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass

import django
from django.core.management import call_command
from django.db import connection

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from household_search import person_name, throwaway_database

BUDGET_MS = 150
PAGE_SIZE = 25
WARMUP_RUNS = 5
TIMED_RUNS = 30
SEED = 20250701

DOSSIERS = 200_000
HOME_COMMUNE = "06913"
HOME_DOSSIERS = 30_000
OTHER_COMMUNES = 19
DAYS = 730
RARE_NAME = "Hứa Thị Ngoạn"
KNOWN_PHONE = "0912345678"

# Share of each status among dossiers; the open ones are recent (received in the last month).
STATUS_SHARES = [
    ("returned", 0.82),
    ("refused", 0.01),
    ("withdrawn", 0.01),
    ("stopped", 0.005),
    ("submitted", 0.02),
    ("received", 0.03),
    ("supplement", 0.01),
    ("assigned", 0.045),
    ("appraised", 0.02),
    ("approved", 0.01),
    ("result_issued", 0.015),
    ("paused", 0.005),
]
PROCEDURES = [
    ("1.001193", "Đăng ký khai sinh", 3),
    ("1.000656", "Đăng ký khai tử", 3),
    ("1.000894", "Đăng ký kết hôn", 5),
    ("1.001022", "Chứng thực bản sao từ bản chính", 1),
    ("1.003583", "Xác nhận tình trạng hôn nhân", 3),
    ("1.004873", "Đăng ký thường trú", 7),
    ("2.000635", "Cấp bản sao trích lục hộ tịch", 1),
    ("1.008004", "Giải quyết chế độ trợ cấp xã hội", 15),
]


@dataclass
class World:
    officer: object  # one-stop officer of Quảng Tân
    specialist: object  # specialist of Quảng Tân, assignee of some dossiers
    admin: object  # superuser: every commune
    code_prefix: str  # a day's codes in Quảng Tân


def build_world(rng: random.Random) -> World:
    from xaso.accounts.models import Membership, User
    from xaso.accounts.roles import Role
    from xaso.dossiers.models import Procedure
    from xaso.places.loader import official_places_load
    from xaso.places.models import Place

    official_places_load()
    admin = User.objects.create_superuser("bench-admin", password=None)
    officer = User.objects.create_user("bench-motcua", password=None, full_name="Cán bộ một cửa")
    specialist = User.objects.create_user("bench-cm", password=None, full_name="Công chức")
    other_specialist = User.objects.create_user("bench-cm2", password=None, full_name="CC 2")
    home = Place.objects.get(code=HOME_COMMUNE)
    Membership.objects.create(user=officer, place=home, role=Role.ONE_STOP_OFFICER)
    Membership.objects.create(user=specialist, place=home, role=Role.SPECIALIST)
    Membership.objects.create(user=other_specialist, place=home, role=Role.SPECIALIST)
    others = list(
        Place.objects.filter(kind=Place.Kind.COMMUNE).exclude(pk=home.pk).order_by("code")
    )
    procedures = Procedure.objects.bulk_create(
        [
            Procedure(code=code, name=name, field="Hộ tịch", processing_days=days)
            for code, name, days in PROCEDURES
        ]
    )
    today = datetime.date.today()
    insert_dossiers(rng, home, HOME_DOSSIERS, procedures, [specialist, other_specialist], today)
    per_other = (DOSSIERS - HOME_DOSSIERS) // OTHER_COMMUNES
    for commune in rng.sample(others, OTHER_COMMUNES):
        insert_dossiers(rng, commune, per_other, procedures, [other_specialist], today)
    day = today - datetime.timedelta(days=3)
    return World(officer, specialist, admin, f"{HOME_COMMUNE}-{day:%y%m%d}")


def insert_dossiers(rng, commune, total, procedures, assignees, today) -> None:
    """`total` dossiers of `commune`, coded per day as _next_code does, keyed as dossier_submit
    keys them (search key of name and procedure, keyed hash of the phone)."""
    from django.utils import timezone

    from xaso.dossiers.actions import _encrypt, _hash
    from xaso.dossiers.models import Dossier
    from xaso.lib.text import search_key

    statuses, weights = zip(*STATUS_SHARES, strict=True)
    ciphertexts = [_encrypt(f"09{rng.randint(10_000_000, 99_999_999)}") for _ in range(50)]
    per_day: dict[datetime.date, int] = {}
    rows = []
    for index in range(total):
        status = rng.choices(statuses, weights)[0]
        is_open = status not in ("returned", "refused", "withdrawn", "stopped")
        age = rng.randint(0, 30) if is_open else rng.randint(0, DAYS)
        day = today - datetime.timedelta(days=age)
        per_day[day] = per_day.get(day, 0) + 1
        procedure = rng.choice(procedures)
        name = RARE_NAME if index == total // 2 else person_name(rng)
        phone = KNOWN_PHONE if index % 20_000 == 7 else f"09{rng.randint(10_000_000, 99_999_999)}"
        submitted = timezone.make_aware(
            datetime.datetime.combine(day, datetime.time(7 + rng.randint(0, 9), rng.randint(0, 59)))
        )
        received = status not in ("submitted", "refused")
        due = day + datetime.timedelta(days=procedure.processing_days * 7 // 5 + 1)
        rows.append(
            Dossier(
                public_id=secrets.token_hex(8),
                code=f"{commune.code}-{day:%y%m%d}-{per_day[day]:04d}",
                secret_hash=secrets.token_hex(32),
                procedure=procedure,
                commune=commune,
                channel=rng.choice(["online", "counter", "counter"]),
                status=status,
                applicant_name=name,
                applicant_address=f"Thôn {rng.randint(1, 12)}, {commune.name}",
                applicant_phone_encrypted=rng.choice(ciphertexts),
                applicant_phone_hash=_hash("phone", phone),
                submitted_at=submitted,
                received_at=submitted if received else None,
                received_on=day if received else None,
                due=due if received else None,
                assignee=rng.choice(assignees)
                if status in ("assigned", "appraised", "approved", "paused")
                else None,
                timeliness="" if is_open else rng.choice(["early", "on_time", "on_time", "late"]),
                search_key=search_key(name, procedure.name),
            )
        )
    Dossier.objects.bulk_create(rows, batch_size=2000)


def refresh_planner_statistics() -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")


# --- Timing --------------------------------------------------------------------------------------
@dataclass
class Result:
    label: str
    user: str
    matches: int
    median_ms: float
    p95_ms: float
    baseline_ms: float


def timed_ms(work: Callable[[], object]) -> float:
    start = time.perf_counter()
    work()
    return (time.perf_counter() - start) * 1000


def full_scan() -> int:
    from xaso.dossiers.models import Dossier

    return Dossier.objects.filter(applicant_address__contains="zzz").count()


def measure(label: str, user_label: str, work: Callable[[], int]) -> Result:
    matches = work()
    for _ in range(WARMUP_RUNS):
        work()
        full_scan()
    times, baseline = [], []
    for _ in range(TIMED_RUNS):
        times.append(timed_ms(work))
        baseline.append(timed_ms(full_scan))
    p95 = statistics.quantiles(times, n=20)[-1]
    return Result(
        label, user_label, matches, statistics.median(times), p95, statistics.median(baseline)
    )


def page_and_count(queryset_for: Callable[[], object], user) -> int:
    from xaso.accounts.permissions import forget_cached_memberships

    forget_cached_memberships(user)  # a request loads the user's memberships once
    dossiers = queryset_for()
    list(dossiers[:PAGE_SIZE])
    return dossiers.count()


def cases(world: World) -> list[Result]:
    from xaso.dossiers import selectors

    def queue(user):
        return lambda: page_and_count(lambda: selectors.work_queue_for_user(user=user), user)

    def search(user, q):
        return lambda: page_and_count(lambda: selectors.dossiers_for_user(user=user, q=q), user)

    officer, specialist, admin = world.officer, world.specialist, world.admin
    plan = [
        ("work queue", "officer", queue(officer)),
        ("work queue", "specialist", queue(specialist)),
        ("list, no query", "officer", search(officer, "")),
        (f"code prefix '{world.code_prefix}'", "officer", search(officer, world.code_prefix)),
        ("name 'nguyen van'", "officer", search(officer, "nguyen van")),
        ("rare name 'hua thi ngoan'", "officer", search(officer, "hua thi ngoan")),
        (f"phone '{KNOWN_PHONE}'", "officer", search(officer, KNOWN_PHONE)),
        (f"code prefix '{world.code_prefix}'", "superuser", search(admin, world.code_prefix)),
        ("name 'nguyen van'", "superuser", search(admin, "nguyen van")),
        ("rare name 'hua thi ngoan'", "superuser", search(admin, "hua thi ngoan")),
        (f"phone '{KNOWN_PHONE}'", "superuser", search(admin, KNOWN_PHONE)),
    ]
    results = [measure("baseline: full scan, no match", "-", full_scan)]
    results += [measure(label, user, work) for label, user, work in plan]
    return results


def print_table(results: list[Result]) -> None:
    header = (
        f"{'case':<34} {'user':<10} {'matches':>7} {'median ms':>9} {'p95 ms':>8} "
        f"{'× baseline':>10}  < {BUDGET_MS} ms"
    )
    print(header)
    print("-" * len(header))
    for r in results:
        ok = "yes" if r.median_ms < BUDGET_MS else "NO"
        print(
            f"{r.label:<34} {r.user:<10} {r.matches:>7} {r.median_ms:>9.1f} {r.p95_ms:>8.1f} "
            f"{r.median_ms / r.baseline_ms:>10.2f}  {ok}"
        )
    slow = [f"{r.label} ({r.user})" for r in results if r.user != "-" and r.median_ms >= BUDGET_MS]
    print(
        f"Every case's median < {BUDGET_MS} ms? "
        + ("yes" if not slow else "NO: " + "; ".join(slow))
    )


def main() -> int:
    argparse.ArgumentParser(description=__doc__.splitlines()[0]).parse_args()
    started = time.perf_counter()
    with throwaway_database() as backend:
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "xaso.config.settings")
        django.setup()
        call_command("migrate", interactive=False, verbosity=0)
        print(
            f"Dossier queue and search benchmark on {backend} ({connection.settings_dict['NAME']})"
        )
        world = build_world(random.Random(SEED))
        refresh_planner_statistics()
        print(f"Data built in {time.perf_counter() - started:.0f} s: {DOSSIERS:,} dossiers.")
        print(f"{WARMUP_RUNS} warm-up + {TIMED_RUNS} timed runs per case, baseline alternating.")
        print(f"Load average before: {os.getloadavg()[0]:.1f} ({os.cpu_count()} CPUs)")
        print("\nSelector → first 25 + count()")
        print_table(cases(world))
        print(f"Load average after: {os.getloadavg()[0]:.1f}")
    print(f"Benchmark ran in {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
