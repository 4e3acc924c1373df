"""slaops settings: one module, every value from the environment with a documented default.

The defaults are the embedded ones (`make run`): a SQLite file and a filesystem broker
under var/, so nothing but Python is needed. A malformed variable raises
ImproperlyConfigured at start-up. Every variable is documented in README.md.
"""

from datetime import timedelta
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

from slaops.env import env_bool, env_database, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("SLAOPS_VAR_DIR", str(BASE_DIR / "var")))

DEBUG = env_bool("DEBUG", False)

SECRET_KEY = env_str("SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off.")
    SECRET_KEY = "django-insecure-dev-only-key-never-use-in-production"

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "core",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_htmx",
    "simple_history",
    "axes",
    "csp",
    "calendars",
    "accounts",
    "funnel",
    "leads",
    "sla",
    "integrations",
    "health",
    "demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "core.middleware.RefuseNulMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    # Last, as django-axes asks: it answers the login form of a locked-out person or address.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "slaops.urls"
WSGI_APPLICATION = "slaops.wsgi.application"
ASGI_APPLICATION = "slaops.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "slaops.context_processors.navigation",
            ],
        },
    },
]

# --- database -------------------------------------------------------------------------
_db = env_database("DATABASE_URL", f"sqlite:///{VAR_DIR / 'slaops.sqlite3'}")
if _db["ENGINE"] == "django.db.backends.sqlite3":
    # web, worker and beat share one file: wait for locks instead of failing, and take
    # the write lock at BEGIN so two writers never deadlock on an upgrade.
    _db.setdefault("OPTIONS", {}).update(
        {
            "timeout": 30,
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    )
    # Tests use a file too, not shared-cache memory: a real worker thread in a test then
    # waits for locks as web and worker do in production, instead of failing at once.
    _db["TEST"] = {"NAME": str(VAR_DIR / "test.sqlite3")}
else:
    _db["CONN_MAX_AGE"] = env_int("DATABASE_CONN_MAX_AGE", 60, minimum=0)
    _db["CONN_HEALTH_CHECKS"] = True
    _timeout_ms = env_int("DATABASE_STATEMENT_TIMEOUT_MS", 30000, minimum=0)
    _db.setdefault("OPTIONS", {})["options"] = f"-c statement_timeout={_timeout_ms}"
DATABASES = {"default": _db}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.User"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
# django-axes counts failed logins (the form and the token endpoint) in the database, so
# every web worker sees the same count: after AXES_FAILURE_LIMIT failures a username, and
# separately an address, is locked out for LOGIN_LOCKOUT_MINUTES.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 5, minimum=1)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("LOGIN_LOCKOUT_MINUTES", 15, minimum=1))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_RESET_ON_SUCCESS = True
AXES_CLIENT_IP_CALLABLE = "accounts.auth.client_ip"
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_VERBOSE = False
# How many proxies in front of slaops append to X-Forwarded-For (0: none, the address is
# REMOTE_ADDR): the client is the address that many hops from the right, never one a
# client wrote itself. Used by the lockout and the API throttle alike.
TRUSTED_PROXIES = env_int("TRUSTED_PROXIES", 0, minimum=0)
# An API token is good for this many days; the token endpoint then issues a new one.
API_TOKEN_DAYS = env_int("API_TOKEN_DAYS", 30, minimum=1)

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # whitenoise warns at start-up without it
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}
WHITENOISE_USE_FINDERS = DEBUG

# --- security (behind a proxy in production) ------------------------------------------
# Production serves HTTPS through a TLS-terminating proxy (BEHIND_HTTPS_PROXY=1): then plain
# HTTP is redirected, browsers are told to keep to HTTPS (HSTS, a year) and cookies travel
# over HTTPS only. Each can be set on its own; serving plain HTTP (`make run`, a local
# `docker compose up`) leaves them off.
BEHIND_HTTPS_PROXY = env_bool("BEHIND_HTTPS_PROXY", False)
if BEHIND_HTTPS_PROXY:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", BEHIND_HTTPS_PROXY)
SECURE_HSTS_SECONDS = env_int(
    "SECURE_HSTS_SECONDS", 31_536_000 if SECURE_SSL_REDIRECT else 0, minimum=0
)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
if not SECURE_HSTS_PRELOAD:
    # Preloading is a commitment the owner of the domain makes, not a default.
    SILENCED_SYSTEM_CHECKS = ["security.W021"]
# Content-Security-Policy (django-csp): every script and style comes from our own static
# files, none inline and nothing evaluated (htmx runs with allowEval off, base.html), so an
# injected <script> or on* attribute never runs. Pages may not be framed.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
        "base-uri": ["'self'"],
        "object-src": ["'none'"],
    }
}
SESSION_COOKIE_SECURE = env_bool("SECURE_COOKIES", SECURE_SSL_REDIRECT)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
# A cache every web worker shares (the API's login throttle counts there): Redis when
# CACHE_URL names one, else each process's own memory (one process: `make run`).
_cache_url = env_str("CACHE_URL", "")
if _cache_url.startswith(("redis://", "rediss://")):
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": _cache_url,
        }
    }

# --- email ------------------------------------------------------------------------------
EMAIL_BACKEND = env_str("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25, minimum=1)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 10, minimum=1)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "slaops <slaops@localhost>")
# The address people reach slaops at: e-mails and chat messages link to its pages.
SITE_URL = env_str("SITE_URL", "http://127.0.0.1:8000").rstrip("/")
if not SITE_URL.startswith(("http://", "https://")):
    raise ImproperlyConfigured(f"SITE_URL must start with http:// or https://, not {SITE_URL!r}")
# A notification claimed for sending is the sender's this long; then another may take it.
NOTIFICATION_LEASE_SECONDS = env_int("NOTIFICATION_LEASE_SECONDS", 120, minimum=30)

# --- REST API -----------------------------------------------------------------------------
REST_FRAMEWORK = {
    # Token first: its WWW-Authenticate header makes anonymous requests answer 401, not 403.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.auth.ExpiringTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "core.api.Pagination",
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "core.api.exception_handler",
    # DRF's own three; JSON refusing what no field can hold (too deep, NUL) with a 400.
    "DEFAULT_PARSER_CLASSES": [
        "core.api.JSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_THROTTLE_RATES": {"login": env_str("LOGIN_THROTTLE_RATE", "20/min")},
    # The throttle's client address: REMOTE_ADDR, or TRUSTED_PROXIES hops into
    # X-Forwarded-For; a header the client wrote cannot make it a new client.
    "NUM_PROXIES": TRUSTED_PROXIES,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "slaops API",
    "DESCRIPTION": "Service level agreements between marketing and sales.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # Every operation's error answers (400/401/403/404/409/413/429), from what its view is.
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "core.schema.add_error_responses",
    ],
    # Several models have a `kind`: name each choice set after its model.
    "ENUM_NAME_OVERRIDES": {
        "TouchKindEnum": "leads.models.Touch.Kind",
        "StageKindEnum": "funnel.models.Stage.Kind",
        "TeamKindEnum": "accounts.models.Team.Kind",
        "FlagKindEnum": "sla.models.Flag.Kind",
        "ClockKindEnum": "sla.models.Clock.Kind",
        "TouchOutcomeEnum": "leads.models.Touch.Outcome",
        "DisputeOutcomeEnum": "sla.disputes.RulingOutcome",
    },
}

# --- Celery -------------------------------------------------------------------------------
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", "filesystem://")
if CELERY_BROKER_URL.split("://", 1)[0] not in {"filesystem", "redis", "rediss", "memory"}:
    raise ImproperlyConfigured(
        f"CELERY_BROKER_URL={CELERY_BROKER_URL!r}: use redis://host:6379/0 or filesystem://"
    )
CELERY_BROKER_DIR = VAR_DIR / "broker"
if CELERY_BROKER_URL.startswith("filesystem://"):
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(CELERY_BROKER_DIR / "queue"),
        "data_folder_out": str(CELERY_BROKER_DIR / "queue"),
        "processed_folder": str(CELERY_BROKER_DIR / "processed"),
        "control_folder": str(CELERY_BROKER_DIR / "control"),
        "store_processed": False,
    }
else:
    # Delays stay far below this, so a task is never redelivered while it still waits.
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# CSV imports run as jobs (sla/imports.py): the largest file and row count accepted.
IMPORT_MAX_BYTES = env_int("IMPORT_MAX_MB", 200, minimum=1) * 1024 * 1024
IMPORT_MAX_ROWS = env_int("IMPORT_MAX_ROWS", 1_000_000, minimum=1)
# Holidays from an iCalendar file (calendars/ics.py): the largest file, and the most dates
# one import adds. A holiday file is small; the caps keep a hostile one cheap to refuse.
CALENDAR_ICS_MAX_BYTES = 1024 * 1024
CALENDAR_ICS_MAX_DATES = 1000
# Uploads above this size go to a temporary file, not memory.
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024

CELERY_TASK_TIME_LIMIT = env_int("CELERY_TASK_TIME_LIMIT", 300, minimum=1)
CELERY_TASK_SOFT_TIME_LIMIT = max(1, CELERY_TASK_TIME_LIMIT - 30)
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = True
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
# A static schedule: the checks' cadence is part of the product, not an admin knob, and a
# static schedule needs no database table to be right before the first beat starts.
CELERY_BEAT_SCHEDULE = {
    "heartbeat": {
        "task": "health.tasks.heartbeat",
        "schedule": env_int("HEARTBEAT_SECONDS", 60, minimum=1),
        "options": {"expires": 55},
    },
    # The checks find every due clock from the database, so a skipped tick loses nothing:
    # an expired tick is dropped rather than run late beside the next one.
    "run-sla-checks": {
        "task": "sla.tasks.run_checks",
        "schedule": 60,
        "options": {"expires": 55},
    },
    "send-notifications": {
        "task": "sla.tasks.send_notifications",
        "schedule": 30,
        "options": {"expires": 25},
    },
    # Every 15 minutes; the digest service decides whose working day has begun.
    "queue-digests": {
        "task": "sla.tasks.queue_digests",
        "schedule": 900,
        "options": {"expires": 840},
    },
    # The change feed of outbound webhooks, and their sender (its own task and budget).
    "collect-webhook-events": {
        "task": "integrations.tasks.collect_events",
        "schedule": 60,
        "options": {"expires": 55},
    },
    "send-webhooks": {
        "task": "integrations.tasks.send_webhooks",
        "schedule": 15,
        "options": {"expires": 14},
    },
    "prune-integrations": {
        "task": "integrations.tasks.prune",
        "schedule": 86400,
        "options": {"expires": 3600},
    },
    # A CSV import whose message was lost, or whose worker died, is sent again.
    "resume-imports": {
        "task": "sla.tasks.resume_imports",
        "schedule": 60,
        "options": {"expires": 55},
    },
}

# Integrations (integrations/): outbound webhooks and inbound events. Private, loopback and
# reserved addresses (and plain http) are refused as webhook URLs unless this is on.
WEBHOOKS_ALLOW_PRIVATE_URLS = env_bool("WEBHOOKS_ALLOW_PRIVATE_URLS", False)
# Seconds before retry 1, 2, ... (full jitter below each step): 8 attempts over about a day.
WEBHOOK_RETRY_SCHEDULE = [30, 120, 600, 1800, 3600, 4 * 3600, 16 * 3600]
WEBHOOK_DISABLE_AFTER_FAILURES = env_int("WEBHOOK_DISABLE_AFTER_FAILURES", 5, minimum=1)
INBOUND_EVENTS_MAX_BYTES = env_int("INBOUND_EVENTS_MAX_KB", 1024, minimum=1) * 1024

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    # axes logs every failed login at INFO; its lockouts are WARNING and stay.
    "loggers": {"django.db.backends": {"level": "WARNING"}, "axes": {"level": "WARNING"}},
}
