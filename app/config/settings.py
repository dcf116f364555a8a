"""Django settings, all from the environment (12-factor).

Production is the default: DJANGO_DEBUG is off unless set, and then
DJANGO_SECRET_KEY is required. For local work set DJANGO_DEBUG=1
(scripts/run-local.sh does). The env var reference is in README.md.
"""
from __future__ import annotations

import os
import re
from datetime import timedelta
from pathlib import Path
from urllib.parse import quote

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from core.iam_postgresql.config import ENGINE as IAM_ENGINE, iam_database

BASE_DIR = Path(__file__).resolve().parent.parent

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean (1/0, true/false), got {raw!r}")


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be an integer, got {raw!r}") from None


def env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None:
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


DEBUG = env_bool("DJANGO_DEBUG", False)

SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        # Refuse to start rather than run production with a guessable key.
        raise ImproperlyConfigured(
            "DJANGO_SECRET_KEY is required when DJANGO_DEBUG is off (production). "
            "Set it from a secret store (e.g. an ECS task secret), or set DJANGO_DEBUG=1 "
            "for local development."
        )
    SECRET_KEY = "django-insecure-local-development-only-not-for-production"

ALLOWED_HOSTS = env_list(
    "DJANGO_ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"] if DEBUG else []
)
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "knox",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "core",
    "releases",
    # Last, as its documentation asks: it watches every login.
    "axes",
]

# Failed logins are counted and locked out (django-axes) before Django checks passwords.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]

MIDDLEWARE = [
    # First, so every log line of the request (and the response) has the id.
    "core.middleware.RequestIdMiddleware",
    # SECURE_SSL_REDIRECT lives here; the health paths are exempt (below).
    "django.middleware.security.SecurityMiddleware",
    # Answers /healthz and /readyz before CommonMiddleware validates the Host
    # header (the ALB sends the task's private IP as Host). See its docstring.
    "core.middleware.HealthCheckMiddleware",
    # NUL in the query string, oversize bodies: refused before any view.
    "core.middleware.ClientErrorMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "core.middleware.ContentSecurityPolicyMiddleware",
    # Last: answers a locked-out login (core.errors.lockout).
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

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
            ],
        },
    },
]

# --- Database ---------------------------------------------------------------
# A writable directory for local state (the SQLite file). The image sets it to
# /tmp so the root filesystem can stay read-only.
DATA_DIR = Path(os.environ.get("DJANGO_DATA_DIR", str(BASE_DIR)))
# RDS IAM authentication for the web process: a token per new connection,
# signed with the task role's credentials (core/iam_postgresql).
DB_IAM_AUTH = env_bool("DB_IAM_AUTH", False)


def database_url_from_parts() -> str | None:
    """A DATABASE_URL built from DB_HOST, DB_PORT, DB_NAME, DB_USER, DB_PASSWORD, DB_SSLMODE, DB_SSLROOTCERT.

    On ECS the host comes from the stack. The web process authenticates with
    IAM (DB_IAM_AUTH=1: no password, core/iam_postgresql); only the migrate
    step gets a user and password, the master credentials, through the task's
    `secrets`. Returns None when DB_HOST is unset.
    """
    host = os.environ.get("DB_HOST", "").strip()
    if not host:
        return None
    required = ("DB_NAME", "DB_USER") if DB_IAM_AUTH else ("DB_NAME", "DB_USER", "DB_PASSWORD")
    missing = [n for n in required if not os.environ.get(n)]
    if missing:
        raise ImproperlyConfigured(f"DB_HOST is set but {', '.join(missing)} missing")
    user = quote(os.environ["DB_USER"], safe="")
    # With IAM a password is a mistake (the web process must not hold one): it goes
    # into the URL all the same, and iam_database() refuses it, whichever way it came.
    password = ":" + quote(os.environ["DB_PASSWORD"], safe="") if os.environ.get("DB_PASSWORD") else ""
    name = quote(os.environ["DB_NAME"], safe="")
    url = f"postgres://{user}{password}@{host}:{env_int('DB_PORT', 5432)}/{name}"
    query = {k: os.environ.get(f"DB_{k.upper()}", "").strip() for k in ("sslmode", "sslrootcert")}
    if query["sslrootcert"] and not os.path.isfile(query["sslrootcert"]):
        raise ImproperlyConfigured(f"DB_SSLROOTCERT {query['sslrootcert']} is not a file")
    params = "&".join(f"{k}={quote(v, safe='/')}" for k, v in query.items() if v)
    return f"{url}?{params}" if params else url


# DATABASE_URL wins; else the parts above; else a SQLite file (no services needed).
DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL")
        or database_url_from_parts()
        or f"sqlite:///{DATA_DIR / 'db.sqlite3'}",
        conn_max_age=env_int("DB_CONN_MAX_AGE", 60),
        conn_health_checks=True,
    )
}
# Roll back everything a request wrote if the view fails: nothing half-written.
DATABASES["default"]["ATOMIC_REQUESTS"] = True
POSTGRES_ENGINES = {"django.db.backends.postgresql", IAM_ENGINE}
if DB_IAM_AUTH:
    DATABASES["default"] = iam_database(DATABASES["default"], os.environ.get("DB_REGION") or os.environ.get("AWS_REGION", ""))
if DATABASES["default"]["ENGINE"] in POSTGRES_ENGINES:
    # Fail fast (readiness, ALB health check timeout) when the DB is unreachable.
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault(
        "connect_timeout", env_int("DB_CONNECT_TIMEOUT", 3)
    )
    # A query never outlives the worker gunicorn would kill at GUNICORN_TIMEOUT: the
    # database cancels it first (and the request fails with a 500 the log explains).
    STATEMENT_TIMEOUT_MS = env_int("DB_STATEMENT_TIMEOUT_MS", 25_000)
    _worker_timeout_ms = env_int("GUNICORN_TIMEOUT", 30) * 1000
    if not 0 < STATEMENT_TIMEOUT_MS < _worker_timeout_ms:
        raise ImproperlyConfigured(
            f"DB_STATEMENT_TIMEOUT_MS ({STATEMENT_TIMEOUT_MS}) must be above 0 and below GUNICORN_TIMEOUT ({_worker_timeout_ms} ms)"
        )
    DATABASES["default"]["OPTIONS"]["options"] = f"-c statement_timeout={STATEMENT_TIMEOUT_MS}"

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- Static and media -------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = Path(os.environ.get("DJANGO_STATIC_ROOT", str(BASE_DIR / "staticfiles")))
MEDIA_URL = "media/"
MEDIA_ROOT = DATA_DIR / "media"

AWS_STORAGE_BUCKET_NAME = os.environ.get("AWS_STORAGE_BUCKET_NAME", "")
# Static files go to S3 only when asked: by default they are collected into the
# image at build time (no AWS credentials there) and served by whitenoise.
STATIC_ON_S3 = env_bool("DJANGO_STATIC_ON_S3", False)

if STATIC_ON_S3 and not AWS_STORAGE_BUCKET_NAME:
    raise ImproperlyConfigured("DJANGO_STATIC_ON_S3=1 needs AWS_STORAGE_BUCKET_NAME")

if AWS_STORAGE_BUCKET_NAME:
    # Credentials come from the task role (boto3's default chain); none here.
    _s3_options = {
        "bucket_name": AWS_STORAGE_BUCKET_NAME,
        "region_name": os.environ.get("AWS_S3_REGION_NAME") or None,
        "custom_domain": os.environ.get("AWS_S3_CUSTOM_DOMAIN") or None,
        "querystring_auth": env_bool("AWS_QUERYSTRING_AUTH", True),
        "file_overwrite": False,
        "default_acl": None,
    }
    _default_storage = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {**_s3_options, "location": "media"},
    }
else:
    _default_storage = {"BACKEND": "django.core.files.storage.FileSystemStorage"}

if STATIC_ON_S3:
    _static_storage = {
        "BACKEND": "storages.backends.s3.S3ManifestStaticStorage",
        "OPTIONS": {**_s3_options, "location": "static", "querystring_auth": False},
    }
else:
    _static_storage = {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    }

STORAGES = {"default": _default_storage, "staticfiles": _static_storage}

# --- Security ---------------------------------------------------------------
# TLS ends at the ALB, which forwards plain HTTP with X-Forwarded-Proto. Only the
# ALB can reach the tasks (security group), so trusting the header is safe.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", not DEBUG)
# The ALB health checks speak plain HTTP to the task IP inside the VPC, without
# X-Forwarded-Proto: a redirect to https would fail them. Patterns are matched
# against the path without its leading slash. HealthCheckMiddleware answers
# these paths too, but this keeps them safe whatever the middleware order.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]
SECURE_HSTS_SECONDS = env_int("DJANGO_SECURE_HSTS_SECONDS", 0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS", not DEBUG)
# Preloading is a promise to browsers that is slow to take back: only when asked for.
SECURE_HSTS_PRELOAD = env_bool("DJANGO_SECURE_HSTS_PRELOAD", False)
# check --deploy recommends preload (security.W021); it is a decision, made above.
SILENCED_SYSTEM_CHECKS = [] if SECURE_HSTS_PRELOAD else ["security.W021"]
# Content-Security-Policy (core.middleware.ContentSecurityPolicyMiddleware): only this
# origin. The API docs page runs drf-spectacular's inline start-up script.
CONTENT_SECURITY_POLICY = os.environ.get(
    "DJANGO_CONTENT_SECURITY_POLICY",
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'",
)
CONTENT_SECURITY_POLICY_DOCS = CONTENT_SECURITY_POLICY.replace("script-src 'self'", "script-src 'self' 'unsafe-inline'")
SESSION_COOKIE_SECURE = not DEBUG
CSRF_COOKIE_SECURE = not DEBUG
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
# Request bodies larger than this are refused (413) before parsing.
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("DJANGO_DATA_UPLOAD_MAX_MEMORY_SIZE", 1024 * 1024)
# JSON bodies nested deeper than this are refused (400) before parsing.
MAX_JSON_DEPTH = env_int("DJANGO_MAX_JSON_DEPTH", 32)
# A CSRF failure under /api/ is a JSON 403, elsewhere Django's page.
CSRF_FAILURE_VIEW = "core.errors.csrf_failure"

# --- Abuse limits -------------------------------------------------------------
# The admin's URL (not the well-known /admin/ when set), e.g. "ops-7f3a/".
ADMIN_URL = os.environ.get("DJANGO_ADMIN_URL", "admin/").strip()
if not re.fullmatch(r"(?:[A-Za-z0-9_-]+/)+", ADMIN_URL):
    raise ImproperlyConfigured(f"DJANGO_ADMIN_URL must be path segments ending in '/', e.g. 'ops-7f3a/'; got {ADMIN_URL!r}")

# Login attempts (admin and /api-auth/login/): locked after this many failures of one
# username from one address, for this long; every failure logged (WARNING).
AXES_FAILURE_LIMIT = env_int("DJANGO_LOGIN_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("DJANGO_LOGIN_LOCKOUT_MINUTES", 15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "core.errors.lockout"
# Behind the ALB: the client is the last address it appended to X-Forwarded-For.
AXES_IPWARE_PROXY_COUNT = env_int("DJANGO_PROXY_COUNT", 1)
AXES_IPWARE_META_PRECEDENCE_ORDER = ["HTTP_X_FORWARDED_FOR", "REMOTE_ADDR"]

# The throttles' counters: in this process's memory (LocMemCache), so a read
# request writes nothing to the database. Each gunicorn worker of each task keeps
# its own counters: with N processes in all, a client can reach up to N x a rate
# before its 429 (app/README.md, "Abuse limits"). A shared store built for counters
# (Redis/Valkey through Django's RedisCache) would make the limits exact; it needs
# the `redis` package, which requirements.in does not have (not built).
# Room for 10,000 clients' counters per process (each a list of at most a rate's
# timestamps, ~1 KB for an anonymous client); past that a third are dropped and
# those clients' counts start again.
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
        "LOCATION": "throttles",
        "OPTIONS": {"MAX_ENTRIES": 10_000},
    }
}

# API tokens (django-rest-knox): stored as a hash, valid for this long.
REST_KNOX = {
    "TOKEN_TTL": timedelta(hours=env_int("DJANGO_TOKEN_TTL_HOURS", 24 * 30)),
    "AUTH_HEADER_PREFIX": "Token",
    "AUTO_REFRESH": False,
}

# --- Build info (/version) --------------------------------------------------
# Set at image build time (Dockerfile ARG -> ENV).
GIT_COMMIT_SHA = os.environ.get("GIT_COMMIT_SHA", "unknown")
BUILD_TIME = os.environ.get("BUILD_TIME", "unknown")

# --- REST framework ---------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "core.throttling.ThrottledTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticatedOrReadOnly"],
    # Counted in CACHES (per process); every 429 is JSON with Retry-After.
    "DEFAULT_THROTTLE_CLASSES": [
        "rest_framework.throttling.AnonRateThrottle",
        "rest_framework.throttling.UserRateThrottle",
        "core.throttling.WriteRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "anon": os.environ.get("DJANGO_THROTTLE_ANON", "120/minute"),
        "user": os.environ.get("DJANGO_THROTTLE_USER", "1200/minute"),
        "writes": os.environ.get("DJANGO_THROTTLE_WRITES", "120/minute"),
        "auth_failures": os.environ.get("DJANGO_THROTTLE_AUTH_FAILURES", "20/minute"),
    },
    "NUM_PROXIES": env_int("DJANGO_PROXY_COUNT", 1),
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_PAGINATION_CLASS": "releases.pagination.StrictCursorPagination",
    "PAGE_SIZE": 20,
    "DEFAULT_FILTER_BACKENDS": ["releases.filters.StrictDjangoFilterBackend"],
    # JSON only; the browsable API (HTML) only with DJANGO_BROWSABLE_API (default: DEBUG).
    "DEFAULT_RENDERER_CLASSES": [
        "rest_framework.renderers.JSONRenderer",
        *(["rest_framework.renderers.BrowsableAPIRenderer"] if env_bool("DJANGO_BROWSABLE_API", DEBUG) else []),
    ],
    "DEFAULT_PARSER_CLASSES": ["config.parsers.BoundedJSONParser"],
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}

# --- OpenAPI (drf-spectacular) -------------------------------------------------
SPECTACULAR_SETTINGS = {
    "TITLE": "Releases API",
    "DESCRIPTION": "Deployment records. Errors are JSON: {\"detail\": ...} or per-field messages.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    # Read-only fields (id, created_by, ...) are not asked for in requests.
    "COMPONENT_SPLIT_REQUEST": True,
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "core.schema_hooks.add_error_responses",
    ],
    # The docs page's assets from the app (drf-spectacular-sidecar), not a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
}

# --- Tracing: OpenTelemetry, off by default ---------------------------------
# On with OTEL_TRACES_ENABLED=1 (config/tracing.py, started from core.apps and
# gunicorn's post_fork). The exporter, sampler, service name and propagators
# are the SDK's standard OTEL_* variables (README.md).
OTEL_TRACES_ENABLED = env_bool("OTEL_TRACES_ENABLED", False)

# --- Logging: JSON on stdout ------------------------------------------------
LOG_LEVEL = os.environ.get("LOG_LEVEL", "INFO").upper()
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"json": {"()": "config.jsonlog.JsonFormatter"}},
    "filters": {"client_errors": {"()": "config.jsonlog.ClientErrorFilter"}},
    "handlers": {
        "stdout": {
            "class": "logging.StreamHandler",
            "stream": "ext://sys.stdout",
            "formatter": "json",
            "filters": ["client_errors"],
        }
    },
    "root": {"handlers": ["stdout"], "level": LOG_LEVEL},
    "loggers": {
        # Handled by the root logger above; no duplicate console handler.
        "django": {"handlers": [], "level": LOG_LEVEL, "propagate": True},
        # The access log is gunicorn's (one JSON line per request).
        "django.server": {"handlers": [], "level": "WARNING", "propagate": True},
        # Its banner at every start is noise; failed logins and lockouts are WARNINGs.
        "axes.apps": {"handlers": [], "level": "WARNING", "propagate": True},
    },
}
