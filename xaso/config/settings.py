"""The one settings file. Every setting that differs between machines comes from the environment.

See docs/operations.md for the variables. There is no production settings file.
"""

import os
import secrets
from pathlib import Path

import dj_database_url

BASE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = Path(os.environ.get("XASO_DATA_DIR", "var")).resolve()
DATA_DIR.mkdir(parents=True, exist_ok=True)


def _env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


# Names of the secrets read from generated files rather than the environment (see below).
GENERATED_SECRETS: list[str] = []


def _secret_from_env_or_file(name: str) -> str:
    """Read a secret from the environment; for a demo box, keep a generated one in DATA_DIR.

    A real installation sets the variable. The file fallback exists so that `make demo` works
    on a fresh clone and keeps working across restarts (encrypted data stays readable).
    """
    value = os.environ.get(name)
    if value:
        return value
    GENERATED_SECRETS.append(name)
    secret_file = DATA_DIR / "secrets" / name.lower()
    if not secret_file.exists():
        secret_file.parent.mkdir(parents=True, exist_ok=True)
        secret_file.write_text(secrets.token_urlsafe(48))
        secret_file.chmod(0o600)
    return secret_file.read_text().strip()


SECRET_KEY = _secret_from_env_or_file("XASO_SECRET_KEY")
FIELD_ENCRYPTION_KEY = _secret_from_env_or_file("XASO_FIELD_KEY")
DEBUG = _env_bool("XASO_DEBUG", False)
ALLOWED_HOSTS = [
    host.strip()
    for host in os.environ.get("XASO_ALLOWED_HOSTS", "127.0.0.1,localhost").split(",")
    if host.strip()
]
CSRF_TRUSTED_ORIGINS = [
    origin.strip()
    for origin in os.environ.get("XASO_CSRF_ORIGINS", "").split(",")
    if origin.strip()
]

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "template_partials",
    "leaflet",  # only for its static Leaflet and Leaflet.draw files (the area boundary map)
    "django_tasks",
    "django_tasks_db",
    "xaso.core",
    "xaso.accounts",
    "xaso.places",
    "xaso.notify",
    "xaso.traceability",
    "xaso.safety",
    "xaso.dossiers",
    "xaso.survey",
    "xaso.indicators",
    "xaso.demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "xaso.core.middleware.NulCharacterMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.middleware.gzip.GZipMiddleware",
    "xaso.core.middleware.DatabaseUnavailableMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "xaso.core.middleware.RequestContextMiddleware",
]

# The public scan pages (/s/…, /l/…, /01/…) are anonymous and cookie-less: they skip the
# middleware of sessions, logins, CSRF, messages, htmx and static files (config/wsgi.py).
XASO_SCAN_PAGE_MIDDLEWARE = [
    middleware
    for middleware in MIDDLEWARE
    if middleware
    not in (
        "whitenoise.middleware.WhiteNoiseMiddleware",
        "django.contrib.sessions.middleware.SessionMiddleware",
        "django.middleware.csrf.CsrfViewMiddleware",
        "django.contrib.auth.middleware.AuthenticationMiddleware",
        "django.contrib.messages.middleware.MessageMiddleware",
        "django_htmx.middleware.HtmxMiddleware",
    )
]

ROOT_URLCONF = "xaso.config.urls"
WSGI_APPLICATION = "xaso.config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "xaso.core.context_processors.shell",
            ],
            # {% partialdef %} in every template without a {% load %} line.
            "builtins": ["template_partials.templatetags.partials"],
        },
    },
]

# --- Database: SQLite in DATA_DIR by default, PostgreSQL when DATABASE_URL is set.
if os.environ.get("DATABASE_URL"):
    DATABASES = {"default": dj_database_url.parse(os.environ["DATABASE_URL"], conn_max_age=60)}
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    DATABASES["default"].setdefault("OPTIONS", {})["connect_timeout"] = 3
    # Lets the scan path prepare its statements (traceability/public.py); Django's own cursors
    # bind on the client and never prepare. 0 turns it off (e.g. PgBouncer before 1.21).
    DATABASES["default"]["OPTIONS"]["prepare_threshold"] = (
        int(os.environ.get("XASO_DB_PREPARE_THRESHOLD", "5")) or None
    )
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": DATA_DIR / "xaso.sqlite3",
            "OPTIONS": {
                # WAL lets the task worker write progress while pages read; IMMEDIATE avoids
                # "database is locked" when two writers upgrade a read transaction at once.
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
            },
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache and rate limits: Redis when REDIS_URL is set, else the local process.
if os.environ.get("REDIS_URL"):
    CACHES = {
        "default": {
            "BACKEND": "xaso.core.cache.RedisCache",  # one client per pool: see core/cache.py
            "LOCATION": os.environ["REDIS_URL"],
            "KEY_PREFIX": "xaso",
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# API lists: ?limit= is capped, so one request cannot make the server decrypt a whole commune.
NINJA_PAGINATION_PER_PAGE = 50
NINJA_PAGINATION_MAX_LIMIT = 200

# --- Background jobs: django-tasks with the database backend (no broker needed).
TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}

AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "places:home"
LOGOUT_REDIRECT_URL = "accounts:login"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
SESSION_COOKIE_AGE = 60 * 60 * 12
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = _env_bool("XASO_SECURE_COOKIES", False)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE

# --- Language and time: Vietnamese first.
# Every page is Vietnamese whatever the browser asks for: there is no English catalogue yet,
# and LocaleMiddleware would switch Django's own messages to English on an English browser.
LANGUAGE_CODE = "vi"
LANGUAGES = [("vi", "Tiếng Việt")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Ho_Chi_Minh"
USE_I18N = True
USE_TZ = True
DATE_INPUT_FORMATS = ["%d/%m/%Y", "%Y-%m-%d"]

# --- Files.
STATIC_URL = "/static/"
STATIC_ROOT = DATA_DIR / "static"
MEDIA_ROOT = DATA_DIR / "media"
MEDIA_URL = "/media/"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
if _env_bool("XASO_TESTING", False):
    # Tests render pages without running collectstatic first.
    STORAGES["staticfiles"] = {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}
    WHITENOISE_AUTOREFRESH = True
    WHITENOISE_USE_FINDERS = True

# Behind a reverse proxy, trust its X-Forwarded-For for the client address in the audit log.
XASO_TRUST_PROXY = _env_bool("XASO_TRUST_PROXY", False)

# --- Limits for anonymous and login traffic.
XASO_LOGIN_ATTEMPTS_PER_MINUTE = int(os.environ.get("XASO_LOGIN_ATTEMPTS_PER_MINUTE", "10"))
# Unknown stamp codes one client may try per minute before it gets 429s (guessing defence).
XASO_STAMP_MISSES_PER_MINUTE = int(os.environ.get("XASO_STAMP_MISSES_PER_MINUTE", "30"))

# --- Traceability.
# The address printed in QR codes (stamps, lots); scheme and host only, no trailing slash.
XASO_PUBLIC_URL = os.environ.get("XASO_PUBLIC_URL", "http://localhost:8000").rstrip("/")
# Runs up to this many stamps get a PDF label sheet; bigger runs get the CSV for the printer.
XASO_STAMP_PDF_MAX = int(os.environ.get("XASO_STAMP_PDF_MAX", "100000"))
# A TTF font with Vietnamese glyphs for labels and PDFs (Debian's fonts-dejavu-core).
XASO_PDF_FONT = os.environ.get("XASO_PDF_FONT", "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
# Map tiles behind the boundary drawing map, e.g. https://tile.openstreetmap.org/{z}/{x}/{y}.png
# (mind the tile server's usage policy). Empty: the map draws on a plain background.
XASO_MAP_TILES = os.environ.get("XASO_MAP_TILES", "")
# Optional CSV "network,province_code" that places scans in a province; empty: unknown.
XASO_IP_PROVINCES = os.environ.get("XASO_IP_PROVINCES", "")
# The JSON schema EPCIS capture validates against; empty: the compact schema XãSố ships.
# Point it at GS1's EPCIS-JSON-Schema.json to validate with the official one.
XASO_EPCIS_SCHEMA = os.environ.get("XASO_EPCIS_SCHEMA", "")
# A stamp scanned more often than this is flagged as suspicious.
XASO_STAMP_MAX_SCANS = int(os.environ.get("XASO_STAMP_MAX_SCANS", "30"))
# Scans are appended to a journal in this directory and applied to the database in batches,
# every this many seconds, by a thread of each web process (docs/decisions/0023). 0: no thread;
# whoever holds the journal applies it (the tests do, with `journal().flush()`).
XASO_SCAN_JOURNAL_DIR = Path(os.environ.get("XASO_SCAN_JOURNAL_DIR", DATA_DIR / "scan-journal"))
XASO_SCAN_FLUSH_SECONDS = float(os.environ.get("XASO_SCAN_FLUSH_SECONDS", "0.25"))
# On PostgreSQL, each web process keeps the lots that lot links name, and what stamp scans need
# of each stamp run, and forgets them the moment they change (LISTEN/NOTIFY,
# traceability/lot_refs.py). 0: read on every scan.
XASO_LOT_REF_CACHE = _env_bool("XASO_LOT_REF_CACHE", True)
# On PostgreSQL, every stamp and its counters are copied into a file each web process maps
# into memory, kept up to date by notifications: a stamp scan reads no database
# (traceability/stamp_replica.py, under XASO_DATA_DIR). 0: read the database on every scan.
XASO_STAMP_REPLICA = _env_bool("XASO_STAMP_REPLICA", True)

# --- Safety.
# Snapshots older than this are deleted unless their incident is on hold (evidence).
XASO_SNAPSHOT_RETENTION_DAYS = int(os.environ.get("XASO_SNAPSHOT_RETENTION_DAYS", "30"))
XASO_SNAPSHOT_MAX_BYTES = int(os.environ.get("XASO_SNAPSHOT_MAX_BYTES", str(4 * 1024 * 1024)))
# Minutes a new incident may wait unacknowledged before it goes up a level (commune leader,
# then province), per severity; 0 never escalates.
XASO_ESCALATION_MINUTES = os.environ.get(
    "XASO_ESCALATION_MINUTES", "critical:5,high:10,medium:30,low:0"
)
# The MQTT broker of the cameras (Frigate), e.g. mqtt://127.0.0.1:1883; empty: no listener.
XASO_MQTT_URL = os.environ.get("XASO_MQTT_URL", "")
# Frigate's HTTP API, for event snapshots, e.g. http://127.0.0.1:5000; empty: no snapshots.
XASO_FRIGATE_URL = os.environ.get("XASO_FRIGATE_URL", "").rstrip("/")
# Citizen reports (/phan-anh/ and Open311): which communes open an incident for every new report
# ("all", "none" or a comma list of commune codes), the commune a request naming none goes to
# (empty: the one commune the site serves), the largest photo, and the per-client limits.
XASO_REPORTS_OPEN_INCIDENTS = os.environ.get("XASO_REPORTS_OPEN_INCIDENTS", "all")
XASO_OPEN311_JURISDICTION = os.environ.get("XASO_OPEN311_JURISDICTION", "")
XASO_REPORT_PHOTO_MAX_BYTES = int(os.environ.get("XASO_REPORT_PHOTO_MAX_BYTES", "5242880"))
XASO_REPORTS_PER_HOUR = int(os.environ.get("XASO_REPORTS_PER_HOUR", "10"))
XASO_REPORT_LOOKUP_MISSES_PER_MINUTE = int(
    os.environ.get("XASO_REPORT_LOOKUP_MISSES_PER_MINUTE", "30")
)
XASO_OPEN311_POSTS_PER_MINUTE = int(os.environ.get("XASO_OPEN311_POSTS_PER_MINUTE", "30"))

# --- Notifications (docs/operations.md, "Notifications").
# After commit, messages go out on a pool of this process ("thread"), in the committing thread
# ("inline", the tests), or only from `xaso worker` ("worker").
XASO_NOTIFY_DISPATCH = os.environ.get(
    "XASO_NOTIFY_DISPATCH", "inline" if _env_bool("XASO_TESTING", False) else "thread"
)
XASO_NOTIFY_THREADS = int(os.environ.get("XASO_NOTIFY_THREADS", "4"))
XASO_NOTIFY_TIMEOUT = float(os.environ.get("XASO_NOTIFY_TIMEOUT", "5"))
XASO_NOTIFY_MAX_ATTEMPTS = int(os.environ.get("XASO_NOTIFY_MAX_ATTEMPTS", "5"))
# User-entered URLs (webhook, ntfy, push endpoint) may reach loopback and private networks.
XASO_NOTIFY_ALLOW_PRIVATE_URLS = _env_bool("XASO_NOTIFY_ALLOW_PRIVATE_URLS", False)
# Web push: the VAPID key (empty: one generated into DATA_DIR/secrets) and contact.
XASO_VAPID_PRIVATE_KEY = os.environ.get("XASO_VAPID_PRIVATE_KEY", "").strip()
XASO_VAPID_SUBJECT = os.environ.get("XASO_VAPID_SUBJECT", "").strip()
XASO_EMAIL_HOST = os.environ.get("XASO_EMAIL_HOST", "")
XASO_EMAIL_PORT = int(os.environ.get("XASO_EMAIL_PORT", "587"))
XASO_EMAIL_USER = os.environ.get("XASO_EMAIL_USER", "")
XASO_EMAIL_PASSWORD = os.environ.get("XASO_EMAIL_PASSWORD", "")
XASO_EMAIL_TLS = _env_bool("XASO_EMAIL_TLS", True)
XASO_EMAIL_SSL = _env_bool("XASO_EMAIL_SSL", False)
XASO_EMAIL_FROM = os.environ.get("XASO_EMAIL_FROM", "") or "XãSố <noreply@localhost>"
XASO_ZALO_ZNS_URL = (
    os.environ.get("XASO_ZALO_ZNS_URL", "") or "https://business.openapi.zalo.me/message/template"
)
XASO_ZALO_ACCESS_TOKEN = os.environ.get("XASO_ZALO_ACCESS_TOKEN", "")
XASO_ZALO_TEMPLATE_ID = os.environ.get("XASO_ZALO_TEMPLATE_ID", "")
XASO_SMS_GATEWAY_URL = os.environ.get("XASO_SMS_GATEWAY_URL", "")
XASO_SMS_GATEWAY_TOKEN = os.environ.get("XASO_SMS_GATEWAY_TOKEN", "")

# --- One-stop shop.
# The agency code that starts every dossier code (<agency>-<yyMMdd>-<4-digit number>), e.g.
# 000.00.12.H56; empty: the commune's official code.
XASO_AGENCY_CODE = os.environ.get("XASO_AGENCY_CODE", "")
XASO_DOSSIER_FILE_MAX_BYTES = int(os.environ.get("XASO_DOSSIER_FILE_MAX_BYTES", "10000000"))
# An RFC 3161 timestamp authority (e.g. your CA's http://…/tsa): signed PDFs then carry a
# timestamp (PAdES B-T). Empty, or the authority unreachable: signatures without one (B-B).
XASO_TSA_URL = os.environ.get("XASO_TSA_URL", "")
XASO_TSA_TIMEOUT = float(os.environ.get("XASO_TSA_TIMEOUT", "10"))

# --- Receipts and payments.
# The commune's account for VietQR transfers: NAPAS bank BIN (6 digits), account number, name.
XASO_BANK_BIN = os.environ.get("XASO_BANK_BIN", "")
XASO_BANK_ACCOUNT = os.environ.get("XASO_BANK_ACCOUNT", "")
XASO_BANK_ACCOUNT_NAME = os.environ.get("XASO_BANK_ACCOUNT_NAME", "")
# The receipt template symbol and series (Circular 78/2021); "{yy}" becomes the year of issue,
# so the default series is AA-26E in 2026 and a new one starts each 1 January.
XASO_RECEIPT_TEMPLATE = os.environ.get("XASO_RECEIPT_TEMPLATE", "01BLP0-001")
XASO_RECEIPT_SERIES = os.environ.get("XASO_RECEIPT_SERIES", "AA-{yy}E")
# Reporting periods end on this day of the month (DOMAIN.md: commonly the 14th); 0 = month end.
XASO_PERIOD_CLOSE_DAY = int(os.environ.get("XASO_PERIOD_CLOSE_DAY", "14"))
# Open data: a count below this is published as blank, so that no household can be singled out.
XASO_OPENDATA_MIN_COUNT = int(os.environ.get("XASO_OPENDATA_MIN_COUNT", "10"))
# Open data requests per minute from one address; the publisher named in the DCAT catalogue
# (empty: "UBND <province>" when the data covers one province).
XASO_OPENDATA_PER_MINUTE = int(os.environ.get("XASO_OPENDATA_PER_MINUTE", "60"))
XASO_OPENDATA_PUBLISHER = os.environ.get("XASO_OPENDATA_PUBLISHER", "")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("XASO_LOG_LEVEL", "INFO")},
    "loggers": {"django.request": {"level": "ERROR"}},
}
