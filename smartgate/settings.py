"""smartgate settings: one module, configured from the environment (12-factor).

With nothing set it runs on the embedded default: a SQLite file beside the code and Celery tasks
executed in-process. With DATABASE_URL=postgres://… and CELERY_BROKER_URL=redis://… it runs on
PostgreSQL (Django's native connection pool) and Redis, as docker-compose.yml wires it.
Every variable is listed in the README; a malformed one stops the start with its name.
"""

from datetime import timedelta
from pathlib import Path

from csp.constants import NONCE, NONE, SELF, UNSAFE_INLINE
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _
from kombu import Exchange, Queue

from smartgate.config import (
    env_bool,
    env_database,
    env_decimal,
    env_int,
    env_list,
    env_networks,
    env_str,
    env_url,
)

BASE_DIR = Path(__file__).resolve().parent.parent

DEBUG = env_bool("DJANGO_DEBUG", default=True)

SECRET_KEY = env_str("DJANGO_SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("DJANGO_SECRET_KEY must be set when DJANGO_DEBUG is false.")
    # Only the embedded development default runs with this; it is never used with DEBUG off.
    SECRET_KEY = "django-insecure-embedded-default-for-local-development-only"

ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "smartgate.apps.SmartgateAdminConfig",  # django.contrib.admin with smartgate's site
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "rest_framework_api_key",
    "knox",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI and Redoc served from here, not from a CDN
    "csp",
    "django_celery_beat",
    "pgtrigger",
    "simple_history",
    "axes",
    "vehicles",
    "clearance",
    "simulation",
]

MIDDLEWARE = [
    "smartgate.logs.RequestIdMiddleware",
    "smartgate.metrics.RequestMetricsMiddleware",
    "smartgate.middleware.ServerTimingMiddleware",
    "smartgate.handlers.DatabaseUnavailableMiddleware",
    "smartgate.middleware.RefuseNulMiddleware",
    "smartgate.middleware.ApiNoStoreMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as django-axes asks: it answers a locked-out login attempt.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "smartgate.urls"
WSGI_APPLICATION = "smartgate.wsgi.application"
ASGI_APPLICATION = "smartgate.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "smartgate" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database -----------------------------------------------------------------------------------
_database = env_database("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")
if _database["ENGINE"] == "django.db.backends.postgresql":
    # Django's backend with psycopg's C loader for moments (smartgate/db/postgresql/base.py says why).
    _database["ENGINE"] = "smartgate.db.postgresql"
    # Django's native pool (psycopg_pool); persistent connections must stay off when it is on.
    _database["CONN_MAX_AGE"] = 0
    # The test runner's database (tests/services.py gives each run its own name).
    if env_str("DATABASE_TEST_NAME"):
        _database["TEST"] = {"NAME": env_str("DATABASE_TEST_NAME")}
    # Parameters bound by the server, not spliced into the SQL text by psycopg: the same statement has the same
    # text whatever its values, so psycopg prepares it once it has run five times on a connection (below) and
    # PostgreSQL stops parsing and planning it again: the hot paths' statements are a few dozen, run all day.
    _database.setdefault("OPTIONS", {})["server_side_binding"] = True
    if env_bool("DATABASE_PGBOUNCER", default=False):
        # Behind PgBouncer in transaction mode: it pools; a transaction may land on any server connection, so
        # no server-side cursors and no named prepared statements (psycopg's automatic ones are turned off).
        _database["DISABLE_SERVER_SIDE_CURSORS"] = True
        _database["OPTIONS"]["prepare_threshold"] = None
    else:
        # Django turns psycopg's automatic prepared statements off unless told a threshold.
        _database["OPTIONS"]["prepare_threshold"] = env_int("DATABASE_PREPARE_THRESHOLD", default=5, minimum=0)
        if env_bool("DATABASE_POOL", default=True):
            _database["OPTIONS"]["pool"] = {
                "min_size": env_int("DATABASE_POOL_MIN_SIZE", default=2, minimum=0),
                "max_size": env_int("DATABASE_POOL_MAX_SIZE", default=10, minimum=1),
                "timeout": env_int("DATABASE_POOL_TIMEOUT", default=5, minimum=1),
            }
    # Connections are checked before use (with the pool: smartgate.db.postgresql's check, which reads the
    # socket and sends a query only when the server has said something): after PostgreSQL restarts, or its
    # backends are terminated, dead connections are dropped instead of failing a request each.
    _database["CONN_HEALTH_CHECKS"] = True
else:
    # SQLite is the single-user embedded default; wait for a writer instead of failing at once.
    _database.setdefault("OPTIONS", {})["timeout"] = 20
DATABASES = {"default": _database}
# How many prepared statements psycopg keeps per connection (smartgate.apps.prepared_statements_kept).
DATABASE_PREPARED_MAX = env_int("DATABASE_PREPARED_MAX", default=500, minimum=1)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# django-axes first: it refuses a locked-out login before the password is even checked.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
# The admin login locks after this many failures for one username from one address, for this long.
AXES_FAILURE_LIMIT = env_int("SMARTGATE_LOGIN_FAILURE_LIMIT", default=5, minimum=1)
AXES_COOLOFF_TIME = env_int("SMARTGATE_LOGIN_LOCKOUT_MINUTES", default=30, minimum=1) / 60  # hours
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "admin/locked_out.html"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# --- Time and language --------------------------------------------------------------------------
# Stored in UTC; shown in the gate's local time.
USE_TZ = True
TIME_ZONE = "Asia/Ho_Chi_Minh"
LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("vi", _("Vietnamese"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_I18N = True

# --- Static files -------------------------------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

# --- Security (production values come from the environment) -------------------------------------
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", default=not DEBUG)
# Health checks and the metrics scraper call the process directly over plain http, from inside its network.
SECURE_REDIRECT_EXEMPT = [r"^healthz(/|$)", r"^metrics$"]
SESSION_COOKIE_SECURE = env_bool("DJANGO_SECURE_COOKIES", default=not DEBUG)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_HSTS_SECONDS = env_int("DJANGO_SECURE_HSTS_SECONDS", default=0 if DEBUG else 31536000, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = not DEBUG
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
# Content-Security-Policy (django-csp) on every page: scripts only from this site, or inline with the
# request's nonce (`<script nonce="{{ request.csp_nonce }}">`); inline styles stay allowed because Swagger UI
# and the admin's bars set style attributes.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF, NONCE],
        "style-src": [SELF, UNSAFE_INLINE],
        "img-src": [SELF, "data:"],
        "font-src": [SELF, "data:"],
        "worker-src": [SELF, "blob:"],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}

# --- REST API -----------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_RENDERER_CLASSES": ["clearance.api.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["clearance.api.parsers.BoundedJSONParser"],
    "DEFAULT_AUTHENTICATION_CLASSES": ["clearance.api.authentication.CompanyAPIKeyAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_THROTTLE_CLASSES": ["clearance.api.throttling.ApiClientRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {
        "api_client": env_str("API_THROTTLE_RATE", default="600/min"),
        "anon": env_str("PUBLIC_THROTTLE_RATE", default="120/min"),
    },
    "EXCEPTION_HANDLER": "clearance.api.problems.exception_handler",
    "UNAUTHENTICATED_USER": None,
    "DATETIME_FORMAT": "iso-8601",
}
# Failed API-key guesses from one client address (REMOTE_ADDR) allowed per window; then 429 until it ends.
SMARTGATE_API_KEY_FAILURE_LIMIT = env_int("SMARTGATE_API_KEY_FAILURE_LIMIT", default=20, minimum=1)
SMARTGATE_API_KEY_FAILURE_WINDOW_SECONDS = env_int("SMARTGATE_API_KEY_FAILURE_WINDOW_SECONDS", default=600, minimum=1)
# Verified API keys, devices with their lanes, and webhook subscribers are kept in each web process's
# memory (vehicles/process_cache.py): a change through the ORM is seen by every process within a second;
# this bounds how long one made behind the ORM's back (or during a Redis outage) can go unseen.
SMARTGATE_PROCESS_CACHE_SECONDS = env_int("SMARTGATE_PROCESS_CACHE_SECONDS", default=30, minimum=0)
# Officers' API tokens (django-rest-knox): only a digest is stored; each expires after this many hours.
SMARTGATE_OFFICER_TOKEN_HOURS = env_int("SMARTGATE_OFFICER_TOKEN_HOURS", default=12, minimum=1)
REST_KNOX = {
    "TOKEN_TTL": timedelta(hours=SMARTGATE_OFFICER_TOKEN_HOURS),
    "AUTO_REFRESH": False,
    "AUTH_HEADER_PREFIX": "Token",
}
SMARTGATE_API_MAX_BODY_BYTES = env_int("SMARTGATE_API_MAX_BODY_BYTES", default=256 * 1024, minimum=1024)
# POST /api/v1/declarations/batch/: at most this many declarations, in a body of at most this many bytes.
SMARTGATE_BATCH_MAX_ITEMS = env_int("SMARTGATE_BATCH_MAX_ITEMS", default=500, minimum=1)
SMARTGATE_BATCH_MAX_BODY_BYTES = env_int("SMARTGATE_BATCH_MAX_BODY_BYTES", default=4 * 1024 * 1024, minimum=1024)
# Declarations from a CSV/XLSX file (clearance/api/imports.py): the file's size, its rows, and how far an XLSX
# (a zip) may unpack before it is refused unread (a zip bomb).
SMARTGATE_IMPORT_MAX_BYTES = env_int("SMARTGATE_IMPORT_MAX_BYTES", default=2 * 1024 * 1024, minimum=1024)
SMARTGATE_IMPORT_MAX_ROWS = env_int("SMARTGATE_IMPORT_MAX_ROWS", default=500, minimum=1)
SMARTGATE_IMPORT_MAX_UNPACKED_BYTES = env_int(
    "SMARTGATE_IMPORT_MAX_UNPACKED_BYTES", default=20 * 1024 * 1024, minimum=1024 * 1024
)
SMARTGATE_IDEMPOTENCY_RETENTION_HOURS = env_int("SMARTGATE_IDEMPOTENCY_RETENTION_HOURS", default=24, minimum=1)
# How long a request waits for another still running with its Idempotency-Key before a 409.
SMARTGATE_IDEMPOTENCY_WAIT_SECONDS = env_int("SMARTGATE_IDEMPOTENCY_WAIT_SECONDS", default=5, minimum=1)

# Throttle counters must be shared by all web processes: Redis in production, memory otherwise.
_cache_url = env_url("CACHE_URL", schemes=("redis", "rediss", "locmem"))
# It fails soft (smartgate/cache.py): with Redis down, throttling fails open and reads go on answering.
CACHES = {
    "default": {
        "BACKEND": "smartgate.cache.FailSoftRedisCache",
        "LOCATION": _cache_url,
        "OPTIONS": {"socket_connect_timeout": 0.25, "socket_timeout": 0.25},
    }
    if _cache_url and _cache_url.startswith("redis")
    else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
}
SPECTACULAR_SETTINGS = {
    "TITLE": "smartgate API",
    "DESCRIPTION": "Smart border gate for cargo vehicles at Hữu Nghị – Youyiguan, Lạng Sơn.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "PlateCountryEnum": "vehicles.plates.Country.CHOICES",
        "RouteCodeEnum": "clearance.api.serializers.common.ROUTE_CHOICES",
        "CustomsDeclarationTypeEnum": "clearance.api.serializers.common.CUSTOMS_DECLARATION_TYPE_CHOICES",
        "DeclarationKindEnum": "clearance.models.Declaration.Kind",
    },
    "SERVE_AUTHENTICATION": [],
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    # The browsable docs come from drf-spectacular-sidecar's static files: nothing is loaded from a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# --- Celery -------------------------------------------------------------------------------------
# Without a broker the tasks run in-process (the embedded default); the same code runs either way.
CELERY_BROKER_URL = env_url("CELERY_BROKER_URL", schemes=("redis", "rediss", "memory"))
CELERY_TASK_ALWAYS_EAGER = CELERY_BROKER_URL is None
if CELERY_BROKER_URL is None:
    CELERY_BROKER_URL = "memory://localhost/"  # with a host: kombu warns "No hostname was supplied" otherwise
CELERY_TASK_EAGER_PROPAGATES = False
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
# Reliability: a task is acknowledged only after it finished, and goes back to the queue when its
# worker dies. Each process reserves this many messages ahead (unacknowledged: a killed worker's reserved
# messages come back after the visibility timeout, and their checks are reconciled anyway); more than 1
# keeps a process from waiting on Redis between two checks of a few milliseconds each.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = env_int("CELERY_WORKER_PREFETCH_MULTIPLIER", default=1, minimum=1)
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = True
# Celery's Django fixup closes the database connections before and after every task and, with Django's pool
# in a prefork worker, closes the pool itself: every task opened new connections (two: the pool's minimum)
# and lost the statements psycopg had prepared. Given a reuse count it closes them only every so many tasks;
# smartgate.celery hands the connection back to the process's pool after each task instead, as a request does.
CELERY_DB_REUSE_MAX = 100_000
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
# Short, so the work of a killed worker is taken up again within a minute (the visibility timeout and
# the stale-check threshold below are bound to exceed these).
CELERY_TASK_SOFT_TIME_LIMIT = env_int("CELERY_TASK_SOFT_TIME_LIMIT", default=20, minimum=1)
CELERY_TASK_TIME_LIMIT = env_int("CELERY_TASK_TIME_LIMIT", default=30, minimum=1)
if CELERY_TASK_TIME_LIMIT <= CELERY_TASK_SOFT_TIME_LIMIT:
    raise ImproperlyConfigured("CELERY_TASK_TIME_LIMIT must be greater than CELERY_TASK_SOFT_TIME_LIMIT.")
# Redis redelivers an unacknowledged message after this many seconds (a worker killed mid-task);
# it must exceed the hard time limit so a slow task is not run twice while still running.
# Short socket timeouts: a request that sends a task after commit never waits long on a broker that is
# down (the send is logged and the outbox — checks_reconcile, the periodic dispatcher — sends it later).
_BROKER_SOCKET_TIMEOUT = 1.0
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": env_int("CELERY_VISIBILITY_TIMEOUT", default=45, minimum=1),
    "socket_connect_timeout": _BROKER_SOCKET_TIMEOUT,
    "socket_timeout": _BROKER_SOCKET_TIMEOUT,
    "retry_on_timeout": False,
}
if CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"] <= CELERY_TASK_TIME_LIMIT:
    raise ImproperlyConfigured("CELERY_VISIBILITY_TIMEOUT must exceed CELERY_TASK_TIME_LIMIT.")
CELERY_BROKER_CONNECTION_TIMEOUT = _BROKER_SOCKET_TIMEOUT
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# A worker keeps trying to reconnect to a broker that went away, for as long as it takes.
CELERY_BROKER_CONNECTION_RETRY = True
CELERY_BROKER_CONNECTION_MAX_RETRIES = None
CELERY_TASK_PUBLISH_RETRY = False
CELERY_TIMEZONE = "UTC"
CELERY_ENABLE_UTC = True
# One queue per check kind, so a slow force does not hold back another.
CELERY_TASK_DEFAULT_QUEUE = "default"
# Each queue has its own exchange and routing key: bound to one shared key, every message would be
# copied into every queue.
CELERY_TASK_QUEUES = [
    Queue(name, Exchange(name, type="direct"), routing_key=name)
    for name in ("default", "customs", "border_guard", "quarantine", "health", "gate", "webhooks")
]
CELERY_TASK_DEFAULT_EXCHANGE = "default"
CELERY_TASK_DEFAULT_ROUTING_KEY = "default"
# django-celery-beat's database schedule, seeded from CELERY_BEAT_SCHEDULE without overwriting admin edits.
# An entry's options use `expire_seconds` (the database scheduler drops `expires`).
CELERY_BEAT_SCHEDULER = "smartgate.beat:DatabaseScheduler"

# --- Logging ------------------------------------------------------------------------------------
# JSON lines (smartgate.logs): request id, company, declaration, task id, and every `extra=` field a call
# passes. LOG_FORMAT=plain gives one readable line per record for a developer's terminal.
LOG_FORMAT = env_str("LOG_FORMAT", default="json")
if LOG_FORMAT not in {"json", "plain"}:
    raise ImproperlyConfigured(f"LOG_FORMAT={LOG_FORMAT!r} is not a log format; use json or plain.")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"context": {"()": "smartgate.logs.ContextFilter"}},
    "formatters": {
        "json": {"()": "smartgate.logs.JsonFormatter", "format": "%(levelname)s %(name)s %(message)s"},
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT, "filters": ["context"]}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", default="INFO")},
    # One line per task run is noise in the embedded default; failures still show.
    "loggers": {"celery.app.trace": {"level": "WARNING"}},
}
# The worker logs through the same handler (JSON lines with the task id) instead of Celery's own.
CELERY_WORKER_HIJACK_ROOT_LOGGER = False

# --- Metrics ------------------------------------------------------------------------------------
# /metrics answers only these addresses (or networks), or a scraper sending `Authorization: Bearer <token>`.
SMARTGATE_METRICS_ALLOWED_IPS = env_networks("SMARTGATE_METRICS_ALLOWED_IPS", default=["127.0.0.1", "::1"])
SMARTGATE_METRICS_TOKEN = env_str("SMARTGATE_METRICS_TOKEN", default="")

# --- Gate rules (data an operator tunes; per-gate notice lives on BorderGate) --------------------
SMARTGATE_DECLARATION_MAX_DAYS_AHEAD = env_int("SMARTGATE_DECLARATION_MAX_DAYS_AHEAD", default=30, minimum=1)
SMARTGATE_CUSTOMS_GATEWAY = env_str(
    "SMARTGATE_CUSTOMS_GATEWAY", default="clearance.engines.customs.RulesCustomsGateway"
)
SMARTGATE_DOCUMENT_MARGIN_DAYS = env_int("SMARTGATE_DOCUMENT_MARGIN_DAYS", default=7, minimum=0)
# A check pending (not picked up) or running (its worker died) longer than this is sent again.
SMARTGATE_CHECK_STALE_SECONDS = env_int("SMARTGATE_CHECK_STALE_SECONDS", default=40, minimum=1)
SMARTGATE_RECONCILE_EVERY_SECONDS = env_int("SMARTGATE_RECONCILE_EVERY_SECONDS", default=10, minimum=1)
if SMARTGATE_CHECK_STALE_SECONDS <= CELERY_TASK_TIME_LIMIT and not CELERY_TASK_ALWAYS_EAGER:
    raise ImproperlyConfigured(
        "SMARTGATE_CHECK_STALE_SECONDS must exceed CELERY_TASK_TIME_LIMIT, or a slow check "
        "would be retaken while it still runs."
    )
CELERY_BEAT_SCHEDULE = {
    "checks-reconcile": {
        "task": "clearance.tasks.checks_reconcile_task",
        "schedule": SMARTGATE_RECONCILE_EVERY_SECONDS,
        "options": {"queue": "default"},
    },
}

# --- Yards, slots, queue and dispatch -------------------------------------------------------------
SMARTGATE_SLOT_TOLERANCE_MINUTES = env_int("SMARTGATE_SLOT_TOLERANCE_MINUTES", default=30, minimum=0)
SMARTGATE_SLOT_MAX_MOVES = env_int("SMARTGATE_SLOT_MAX_MOVES", default=2, minimum=0)
# A booked slot lies within this many hours of the declaration's expected arrival, either side.
SMARTGATE_SLOT_ARRIVAL_WINDOW_HOURS = env_int("SMARTGATE_SLOT_ARRIVAL_WINDOW_HOURS", default=24, minimum=1)
SMARTGATE_SLOT_DAYS_AHEAD = env_int("SMARTGATE_SLOT_DAYS_AHEAD", default=7, minimum=1)
SMARTGATE_PERISHABLE_CHAPTERS = env_list("SMARTGATE_PERISHABLE_CHAPTERS", default=["07", "08"])
# Calls in a row given to priority classes before one regular truck is called; 0 turns interleaving off.
SMARTGATE_QUEUE_PRIORITY_STREAK = env_int("SMARTGATE_QUEUE_PRIORITY_STREAK", default=1, minimum=0)
SMARTGATE_CALL_TIMEOUT_MINUTES = env_int("SMARTGATE_CALL_TIMEOUT_MINUTES", default=15, minimum=1)
SMARTGATE_INSPECTION_SHARE_PERCENT = env_int("SMARTGATE_INSPECTION_SHARE_PERCENT", default=30, minimum=0)
SMARTGATE_INSPECTION_THROTTLE_PERCENT = env_int("SMARTGATE_INSPECTION_THROTTLE_PERCENT", default=50, minimum=0)
SMARTGATE_LOAD_CACHE_SECONDS = env_int("SMARTGATE_LOAD_CACHE_SECONDS", default=5, minimum=0)
# Readiness reports the workers unavailable when none ran the heartbeat task for three periods.
SMARTGATE_WORKER_HEARTBEAT_SECONDS = env_int("SMARTGATE_WORKER_HEARTBEAT_SECONDS", default=15, minimum=1)
SMARTGATE_DISPATCH_EVERY_SECONDS = env_int("SMARTGATE_DISPATCH_EVERY_SECONDS", default=5, minimum=1)
CELERY_BEAT_SCHEDULE.update(
    {
        "dispatch": {
            "task": "clearance.tasks.dispatch_task",
            "schedule": SMARTGATE_DISPATCH_EVERY_SECONDS,
            "options": {"queue": "gate", "expire_seconds": SMARTGATE_DISPATCH_EVERY_SECONDS},
        },
        "calls-expire": {"task": "clearance.tasks.calls_expire_task", "schedule": 60, "options": {"queue": "gate"}},
        "slots-no-shows": {
            "task": "clearance.tasks.slots_sweep_no_shows_task",
            "schedule": 300,
            "options": {"queue": "gate"},
        },
        "slots-generate": {
            "task": "clearance.tasks.slots_generate_task",
            "schedule": 3600,
            "options": {"queue": "gate"},
        },
        "idempotency-purge": {
            "task": "clearance.tasks.idempotency_purge_task",
            "schedule": 3600,
            "options": {"queue": "default"},
        },
        "worker-heartbeat": {
            "task": "clearance.tasks.worker_heartbeat_task",
            "schedule": SMARTGATE_WORKER_HEARTBEAT_SECONDS,
            "options": {"queue": "default", "expire_seconds": SMARTGATE_WORKER_HEARTBEAT_SECONDS},
        },
    }
)

# --- The gate -----------------------------------------------------------------------------------------
# A camera read below this confidence is held for an officer to look at.
SMARTGATE_MIN_PLATE_CONFIDENCE = env_decimal("SMARTGATE_MIN_PLATE_CONFIDENCE", default="0.85", minimum=0, maximum=1)
SMARTGATE_WEIGHT_TOLERANCE_PERCENT = env_int("SMARTGATE_WEIGHT_TOLERANCE_PERCENT", default=5, minimum=0)
# Shared with the payment provider to sign its callbacks; no default, so payments are refused until set.
SMARTGATE_PAYMENT_SECRET = env_str("SMARTGATE_PAYMENT_SECRET", default="")

# --- Signed gate passes (the lane decides offline from them) ------------------------------------------
# Ed25519 signing keys as "key-id:base64url-raw-private-key", comma-separated: the first signs, every one is
# published (GET /api/v1/gate/keys/) so passes signed before a rotation still verify. Never in the repo.
SMARTGATE_GATE_PASS_KEYS = env_str("SMARTGATE_GATE_PASS_KEYS", default="")
# When SMARTGATE_GATE_PASS_KEYS is unset: the file holding the same lines (one key a line). When the file
# does not exist either, a key is generated into it at first use (mode 0600): a development default that
# lives outside the repository and survives restarts, shared by the processes of one machine.
SMARTGATE_GATE_PASS_KEY_FILE = env_str(
    "SMARTGATE_GATE_PASS_KEY_FILE",
    default=str(
        Path(env_str("XDG_STATE_HOME", default="") or Path.home() / ".local" / "state") / "smartgate" / "gate-pass-keys"
    ),
)
# How long a pass stays valid after it is issued (a called vehicle that misses its call is recalled,
# and its pass revoked, well before).
SMARTGATE_GATE_PASS_VALID_MINUTES = env_int("SMARTGATE_GATE_PASS_VALID_MINUTES", default=120, minimum=1)
# A revocation list asked for "since T" also repeats the revocations of this many seconds before T, so
# one committed late by a slow transaction is not missed (a device keeps a set: repeats are harmless).
SMARTGATE_GATE_REVOCATION_OVERLAP_SECONDS = env_int("SMARTGATE_GATE_REVOCATION_OVERLAP_SECONDS", default=60, minimum=0)

# --- The audit trail ------------------------------------------------------------------------------
# Signs the audit anchors (HMAC-SHA256); derived from DJANGO_SECRET_KEY when not set.
SMARTGATE_AUDIT_SIGNING_KEY = env_str("SMARTGATE_AUDIT_SIGNING_KEY", default="")
# Each day's last anchor is appended here as a JSON line (and always logged as audit.daily_head), to be
# shipped somewhere the database's administrators cannot write.
SMARTGATE_AUDIT_EXPORT_FILE = env_str("SMARTGATE_AUDIT_EXPORT_FILE", default="")
SMARTGATE_AUDIT_ANCHOR_EVERY_SECONDS = env_int("SMARTGATE_AUDIT_ANCHOR_EVERY_SECONDS", default=3600, minimum=60)
CELERY_BEAT_SCHEDULE["audit-anchor"] = {
    "task": "clearance.tasks.audit_anchor_task",
    "schedule": SMARTGATE_AUDIT_ANCHOR_EVERY_SECONDS,
    "options": {"queue": "default"},
}

# --- Webhooks and the event feed ----------------------------------------------------------------------
# E-mail (a disabled webhook subscription tells its alert address): the console when debugging.
EMAIL_BACKEND = env_str(
    "DJANGO_EMAIL_BACKEND",
    default="django.core.mail.backends.console.EmailBackend"
    if DEBUG
    else "django.core.mail.backends.smtp.EmailBackend",
)
EMAIL_HOST = env_str("DJANGO_EMAIL_HOST", default="localhost")
EMAIL_PORT = env_int("DJANGO_EMAIL_PORT", default=25, minimum=1)
EMAIL_HOST_USER = env_str("DJANGO_EMAIL_HOST_USER", default="")
EMAIL_HOST_PASSWORD = env_str("DJANGO_EMAIL_HOST_PASSWORD", default="")
EMAIL_USE_TLS = env_bool("DJANGO_EMAIL_USE_TLS", default=False)
EMAIL_TIMEOUT = 10
DEFAULT_FROM_EMAIL = env_str("DJANGO_DEFAULT_FROM_EMAIL", default="smartgate <noreply@localhost>")
# http and private or loopback receivers are refused unless this is on (on by default only when debugging).
SMARTGATE_WEBHOOK_ALLOW_PRIVATE = env_bool("SMARTGATE_WEBHOOK_ALLOW_PRIVATE", default=DEBUG)
# Encrypts the subscriptions' signing secrets at rest; derived from DJANGO_SECRET_KEY when unset.
SMARTGATE_WEBHOOK_ENCRYPTION_KEY = env_str("SMARTGATE_WEBHOOK_ENCRYPTION_KEY", default="")
# Attempts of one subscription running at once: a slow receiver holds at most this many workers.
SMARTGATE_WEBHOOK_MAX_IN_FLIGHT = env_int("SMARTGATE_WEBHOOK_MAX_IN_FLIGHT", default=2, minimum=1)
SMARTGATE_WEBHOOK_SWEEP_EVERY_SECONDS = env_int("SMARTGATE_WEBHOOK_SWEEP_EVERY_SECONDS", default=10, minimum=1)
# The feed replays this far back; older events are purged and an older cursor is 410 Gone.
SMARTGATE_EVENT_RETENTION_DAYS = env_int("SMARTGATE_EVENT_RETENTION_DAYS", default=30, minimum=1)
CELERY_BEAT_SCHEDULE.update(
    {
        "webhooks-sweep": {
            "task": "clearance.tasks.webhooks_sweep_task",
            "schedule": SMARTGATE_WEBHOOK_SWEEP_EVERY_SECONDS,
            "options": {"queue": "webhooks", "expire_seconds": SMARTGATE_WEBHOOK_SWEEP_EVERY_SECONDS},
        },
        "events-purge": {
            "task": "clearance.tasks.events_purge_task",
            "schedule": 3600,
            "options": {"queue": "default"},
        },
    }
)
