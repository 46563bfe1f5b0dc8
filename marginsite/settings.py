"""Settings, read from the environment (and an optional ``.env`` file beside ``manage.py``).

Every service has an embedded default that works on a fresh machine with nothing running: a
private PostgreSQL server and a filesystem message broker under ``var/`` (made and started by
``marginsite.launch``, which `make run` and `make test` go through), and a local-memory cache.
Pointing DATABASE_URL at a PostgreSQL server and CELERY_BROKER_URL / REDIS_URL at Redis is all
production needs. ``.env.example`` lists every variable.

Importing the settings creates nothing and checks only that each value parses; whether values
make sense together is checked by the system checks (``trading/checks.py``), which every
management command runs.
"""

from datetime import timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

from marginsite import database_pool, embedded_database
from trading.schedules import FundingSchedule

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env")

# The runtime folder of the embedded defaults (database, broker, beat schedule, secret key,
# static files), made by marginsite.launch.
VAR_DIR = Path(env("MARGINSITE_VAR_DIR", default=str(BASE_DIR / "var")))
BROKER_DIR = VAR_DIR / "broker"


def _secret_key() -> str:
    """DJANGO_SECRET_KEY, else the random key marginsite.launch keeps private in var/."""
    if "DJANGO_SECRET_KEY" in env:
        return env("DJANGO_SECRET_KEY")
    try:
        return (VAR_DIR / "secret_key").read_text().strip()
    except FileNotFoundError:
        raise ImproperlyConfigured(
            f"DJANGO_SECRET_KEY is not set and {VAR_DIR / 'secret_key'} does not exist: set it, "
            "or start through `make run` or `make test`, which make one."
        ) from None


SECRET_KEY = _secret_key()
# Encrypts the API keys' secrets at rest (a Fernet key: `python -c "from cryptography.fernet
# import Fernet; print(Fernet.generate_key().decode())"`); empty: derived from SECRET_KEY.
API_KEY_ENCRYPTION_KEY = env("API_KEY_ENCRYPTION_KEY", default="")
# How far a signed API request's timestamp may be from the server's clock (milliseconds).
API_SIGNATURE_WINDOW_MS = env.int("API_SIGNATURE_WINDOW_MS", default=5000)
DEBUG = env.bool("DJANGO_DEBUG", default=False)
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

# Production security (docs/operations.md#production). DJANGO_HTTPS=true, where the site is
# served over HTTPS: every plain-HTTP request is redirected to HTTPS, browsers are told to use
# HTTPS only (HSTS), and the session and CSRF cookies are sent over HTTPS only. `make run` leaves
# it off and serves plain HTTP on 127.0.0.1. With it on, `manage.py check --deploy` is clean
# (tests/marginsite/test_production.py).
HTTPS = env.bool("DJANGO_HTTPS", default=False)
SECURE_SSL_REDIRECT = HTTPS
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
# A year, as the HSTS preload list asks; subdomains and preload can be turned off for a domain
# that still serves plain HTTP elsewhere (check --deploy then warns of them).
SECURE_HSTS_SECONDS = env.int("DJANGO_HSTS_SECONDS", default=31_536_000) if HTTPS else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("DJANGO_HSTS_INCLUDE_SUBDOMAINS", default=True)
SECURE_HSTS_PRELOAD = env.bool("DJANGO_HSTS_PRELOAD", default=True)


def _proxy_ssl_header() -> tuple[str, str] | None:
    """DJANGO_SECURE_PROXY_SSL_HEADER, "HTTP_X_FORWARDED_PROTO,https": behind a proxy that ends
    TLS, the header (and value) by which it says the request came over HTTPS. Set it only when
    the proxy always sets (or strips) that header: a client could otherwise claim HTTPS."""
    value = env.list("DJANGO_SECURE_PROXY_SSL_HEADER", default=[])
    if not value:
        return None
    if len(value) != 2 or not all(value):
        raise ImproperlyConfigured(
            "DJANGO_SECURE_PROXY_SSL_HEADER must be a header and its value, such as "
            "HTTP_X_FORWARDED_PROTO,https."
        )
    return value[0], value[1]


SECURE_PROXY_SSL_HEADER = _proxy_ssl_header()
# The Content-Security-Policy of every page (marginsite/security.py): scripts, styles, images,
# fonts and requests from this site only, so no injected script runs. Pages have no inline
# script or <style>. Allowed besides: the one <style> the vendored chart adds (its attribution
# logo's, by the hash of its text in lightweight-charts 5.2.1), inline style attributes (the
# margin ratio meter's width, set by the server), and data: images (Swagger UI's icons).
LIGHTWEIGHT_CHARTS_STYLE = "'sha256-3pRED1tOXas1FXFoPb9TGCjmYe9XQsmO9OV23khV2nY='"
SECURE_CSP = {
    "default-src": ["'self'"],
    "script-src": ["'self'"],
    "style-src": ["'self'", LIGHTWEIGHT_CHARTS_STYLE],
    "style-src-attr": ["'unsafe-inline'"],
    "img-src": ["'self'", "data:"],
    "object-src": ["'none'"],
    "base-uri": ["'self'"],
    "form-action": ["'self'"],
    "frame-ancestors": ["'none'"],
}

INSTALLED_APPS = [
    "marginsite.apps.BackOfficeAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "channels",
    "rest_framework",
    "drf_spectacular",
    "accounts",
    "trading",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "marginsite.security.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "marginsite.urls"
ASGI_APPLICATION = "marginsite.asgi.application"

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
                "trading.context_processors.alerts",
            ],
        },
    },
]

# PostgreSQL only: DATABASE_URL, else the embedded server in var/postgres.
DATABASES = {
    "default": (
        env.db("DATABASE_URL")
        if "DATABASE_URL" in env
        else embedded_database.connection_settings(VAR_DIR)
    )
}
if DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
    raise ImproperlyConfigured("DATABASE_URL must point at a PostgreSQL server (postgres://...).")
# Each process keeps its connections in psycopg's pool (marginsite/database_pool.py): a request
# takes a warm one instead of opening its own (some 3 ms, then cold catalog caches), and the
# statements that run on every order are prepared once per connection, not planned on every run
# (docs/operations.md, "Order placement"). The pool checks each connection it hands out
# (CONN_HEALTH_CHECKS), so one the server dropped is replaced, never used. With the database
# down, a request waits at most DATABASE_POOL_TIMEOUT seconds for a connection, then gets its
# 503; the pool tries again within the 503's Retry-After (reconnect_timeout: a try that keeps
# failing that long gives way to a new one, at once). Django pools only with CONN_MAX_AGE at 0.
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DATABASES["default"].setdefault("OPTIONS", {}).update(
    prepare_threshold=5,  # psycopg's default, which Django turns off: database_pool.py
    pool={
        "min_size": 1,
        "max_size": env.int("DATABASE_POOL_SIZE", default=10),
        "timeout": env.float("DATABASE_POOL_TIMEOUT", default=2.0),
        "reconnect_timeout": 5,
        "reset": database_pool.connection_reset,
    },
)

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "trade_default"  # the trade page of the first instrument
LOGOUT_REDIRECT_URL = "home"

REDIS_URL = env("REDIS_URL", default="")
CACHES = {
    "default": (
        {"BACKEND": "marginsite.redis_cache.RedisCache", "LOCATION": REDIS_URL}
        if REDIS_URL
        else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    )
}

# The live trade page's channel layer (trading/live/): Redis in production (CHANNEL_LAYER_URL,
# REDIS_URL by default), else PostgreSQL's LISTEN/NOTIFY on the database the app already has
# (marginsite/channel_layers.py says why).
CHANNEL_LAYER_URL = env("CHANNEL_LAYER_URL", default=REDIS_URL)
# Names this installation's channels in Redis, so that two can share one Redis.
CHANNEL_LAYER_PREFIX = env("CHANNEL_LAYER_PREFIX", default="marginsite")
CHANNEL_LAYERS = {
    "default": (
        {
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            "CONFIG": {"hosts": [CHANNEL_LAYER_URL], "prefix": CHANNEL_LAYER_PREFIX},
        }
        if CHANNEL_LAYER_URL
        else {"BACKEND": "marginsite.channel_layers.PostgresNotifyChannelLayer"}
    )
}

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

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = VAR_DIR / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}

# The native API (/api/v1/, trading/api/): the browser's session or a signed API key; errors
# as {"code", "message", "field"}; decimals as strings; a request budget per key (or user) kept
# in the cache, which is Redis in production.
REST_FRAMEWORK = {
    "COERCE_DECIMAL_TO_STRING": True,
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "trading.api.authentication.ApiKeySignatureAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": [
        "rest_framework.permissions.IsAuthenticated",
        "trading.api.authentication.KeyPermission",
    ],
    "DEFAULT_THROTTLE_CLASSES": ["accounts.api_keys.KeyRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {"key": env("API_THROTTLE_RATE", default="1200/min")},
    "DEFAULT_PAGINATION_CLASS": "trading.api.pagination.Pagination",
    "PAGE_SIZE": 100,
    "EXCEPTION_HANDLER": "trading.api.errors.api_exception_handler",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": [
        "trading.api.parsers.StrictJSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "UNAUTHENTICATED_USER": None,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
}

# The native API's OpenAPI 3 schema (drf-spectacular), served at /api/schema/ and read by the
# docs page /api/docs/ and by the schemathesis test (tests/trading/api/test_schema.py).
SPECTACULAR_SETTINGS = {
    "TITLE": "marginsite API",
    "VERSION": "1.0.0",  # the contract of /api/v1/: a breaking change is a /api/v2/
    "DESCRIPTION": (
        "Paper trading of crypto perpetual futures, cross vs isolated margin, for bots and "
        "scripts.\n\n"
        "**Authentication.** The browser's session (writes need Django's CSRF token in "
        "`X-CSRFToken`), or an API key created on /settings, signing every request with three "
        "headers: `X-API-KEY` (the key), `X-API-TIMESTAMP` (milliseconds since the epoch, "
        "within a few seconds of the server's clock) and `X-API-SIGNATURE`: the hex "
        "HMAC-SHA256, keyed with the key's secret, of timestamp + METHOD + path?query + raw "
        "body, the path in full (`/api/v1/orders?status=NEW`). A read-only key may only read.\n\n"
        '**Numbers.** Every decimal is a string (`"0.001"`), in requests and responses: a '
        "float is refused.\n\n"
        '**Errors.** Every refusal is `{"code", "message", "field"}` (the Error '
        "schema) with a 4xx status; `code` is stable, `message` is for a person.\n\n"
        "**Limits.** Each key (or signed-in user) has a budget of requests: above it, 429."
    ),
    # Relative: the schema describes whichever installation serves it.
    "SERVERS": [{"url": "/", "description": "this installation"}],
    # Request and response bodies as separate components: read-only fields (ids, statuses) are
    # not asked for in requests.
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": "/api/v1/",
    # The API's contract is JSON; DRF would also read forms, which no client of it should send.
    "PARSER_WHITELIST": ["rest_framework.parsers.JSONParser"],
    # Names for the choice sets several fields share: the models' (with labels) and the request
    # fields' (plain values), which drf-spectacular would otherwise name after a hash.
    "ENUM_NAME_OVERRIDES": {
        "MarginModeEnum": "trading.models.choices.MarginMode",
        "MarginModeValueEnum": ["CROSS", "ISOLATED"],
        "OrderSideEnum": "trading.models.choices.OrderSide",
        "OrderSideValueEnum": ["BUY", "SELL"],
        "OrderTypeEnum": "trading.models.choices.OrderType",
        "OrderTypeValueEnum": ["MARKET", "LIMIT", "STOP_MARKET", "TAKE_PROFIT_MARKET"],
    },
    # The schema endpoint itself and any other DRF route (/fapi/) are not the native API.
    "SERVE_INCLUDE_SCHEMA": False,
    # trading/api/schema.py: only /api/v1/ is documented; the Error component and each
    # operation's error responses. Naming the module here imports it, which registers its
    # extensions (the signed API key's security scheme, the views' bodies) before generation.
    "PREPROCESSING_HOOKS": ["trading.api.schema.native_api_only"],
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "trading.api.schema.document_errors",
    ],
    # Public: /api/schema/ and /api/docs/ need no sign-in (they reveal no user's data).
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SERVE_AUTHENTICATION": [],
}

# The web server's access log (marginsite/access_log.py): ACCESS_LOG_FILE, else standard output.
ACCESS_LOG_FILE = env("ACCESS_LOG_FILE", default="")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"bare": {"format": "%(message)s"}},
    "handlers": {
        "console": {"class": "logging.StreamHandler"},
        "access": (
            {"class": "logging.FileHandler", "filename": ACCESS_LOG_FILE, "formatter": "bare"}
            if ACCESS_LOG_FILE
            else {
                "class": "logging.StreamHandler",
                "stream": "ext://sys.stdout",
                "formatter": "bare",
            }
        ),
    },
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
    "loggers": {
        "marginsite.access": {"handlers": ["access"], "level": "INFO", "propagate": False},
    },
}

# Celery. The embedded default broker is kombu's filesystem transport: real messages in files
# under var/broker, shared by every process on this machine (web, worker, beat).
CELERY_BROKER_URL = env("CELERY_BROKER_URL", default="filesystem://")
if CELERY_BROKER_URL.startswith("filesystem://"):
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(BROKER_DIR / "messages"),
        "data_folder_out": str(BROKER_DIR / "messages"),
        "control_folder": str(BROKER_DIR / "control"),
        # The folder is polled: every 0.1 s keeps a task's latency (and a worker's shutdown)
        # well under a one-second beat, for a directory listing.
        "polling_interval": 0.1,
    }
CELERY_TASK_IGNORE_RESULT = True
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")

HEARTBEAT_INTERVAL = timedelta(seconds=env.float("HEARTBEAT_INTERVAL_SECONDS", default=10))
# Funding: settled every FUNDING_INTERVAL_MINUTES from midnight UTC (480: 00:00, 08:00, 16:00).
FUNDING_INTERVAL = timedelta(minutes=env.int("FUNDING_INTERVAL_MINUTES", default=480))

# Shards of a sweep, each a Celery task of its own (accounts split by user id): more workers, on
# this machine or others sharing the database and broker, then sweep faster.
SWEEP_SHARDS = env.int("SWEEP_SHARDS", default=1)


def _env_decimal(name: str, default: str) -> Decimal:
    """A decimal setting (prices and rates are never floats); a value that is not a finite
    number stops the start with the variable's name."""
    try:
        value = Decimal(env(name, default=default))
    except InvalidOperation:
        value = None
    if value is None or not value.is_finite():
        raise ImproperlyConfigured(f"{name} must be a decimal number, such as {default}.")
    return value


# Price feeds (trading/prices/): where the mark prices come from: simulated, replay, live or
# manual (trading/checks.py checks these values).
PRICE_FEED = env("PRICE_FEED", default="simulated")
PRICE_TICK_SECONDS = _env_decimal("PRICE_TICK_SECONDS", "1")
# After each tick, enqueue the sweep (trading.sweep), so that triggers and liquidations follow
# the new marks at once.
PRICE_TICK_THEN_SWEEP = env.bool("PRICE_TICK_THEN_SWEEP", default=True)
PRICE_CANDLE_RETENTION_DAYS = env.int("PRICE_CANDLE_RETENTION_DAYS", default=7)
# simulated: any text seeds the walk; per tick: log drift, volatility, chance and size of a jump.
PRICE_SIMULATION_SEED = env("PRICE_SIMULATION_SEED", default="marginsite")
PRICE_SIMULATION_VOLATILITY = _env_decimal("PRICE_SIMULATION_VOLATILITY", "0.0005")
PRICE_SIMULATION_DRIFT = _env_decimal("PRICE_SIMULATION_DRIFT", "0")
PRICE_SIMULATION_JUMP_PROBABILITY = _env_decimal("PRICE_SIMULATION_JUMP_PROBABILITY", "0.001")
PRICE_SIMULATION_JUMP_SIZE = _env_decimal("PRICE_SIMULATION_JUMP_SIZE", "0.05")
# replay: a CSV of marks (timestamp, symbol, mark_price[, index_price]) at N x real time.
PRICE_REPLAY_FILE = Path(
    env("PRICE_REPLAY_FILE", default=str(BASE_DIR / "trading" / "prices" / "samples" / "crash.csv"))
)
PRICE_REPLAY_SPEED = _env_decimal("PRICE_REPLAY_SPEED", "1")
PRICE_REPLAY_LOOP = env.bool("PRICE_REPLAY_LOOP", default=True)
# live: Binance USD-M public mark prices; PRICE_LIVE_URL replaces https://fapi.binance.com.
PRICE_LIVE_URL = env("PRICE_LIVE_URL", default="")
PRICE_LIVE_TIMEOUT_SECONDS = _env_decimal("PRICE_LIVE_TIMEOUT_SECONDS", "2")

# Everything beat sends, in one place.
CELERY_BEAT_SCHEDULE = {
    # Proves beat and a worker are alive: beat sends it, a worker records the time it ran, and
    # /healthz reports how long ago that was.
    "heartbeat": {"task": "trading.heartbeat", "schedule": HEARTBEAT_INTERVAL},
    # check_ledger every hour: a violation is logged as an error (trading/services/audits.py).
    "ledger-check": {"task": "trading.ledger_check", "schedule": timedelta(hours=1)},
    "funding": {
        # Due exactly at each funding time (trading/schedules.py), not on a fixed beat: the task
        # settles that time, and any a stopped beat or worker missed, once each.
        "task": "trading.funding_settle",
        "schedule": FundingSchedule(),
    },
    "prices-tick": {
        # The next marks from PRICE_FEED, the 1-minute candles and the feed status; then the
        # sweep (PRICE_TICK_THEN_SWEEP). A tick still queued five intervals later is dropped:
        # after a worker outage a backlog would hammer the live exchange. Five, not one, so that
        # two machines whose clocks differ a little do not drop every tick.
        "task": "trading.prices_tick",
        "schedule": timedelta(seconds=float(PRICE_TICK_SECONDS)),
        "options": {"expires": float(PRICE_TICK_SECONDS * 5)},
    },
}

# Paper money: what a new account starts with (and a reset returns to), in USDT.
PAPER_STARTING_BALANCE = _env_decimal("PAPER_STARTING_BALANCE", "10000")
# The insurance fund's starting capital, given once by `manage.py seed_market`: what covers
# bankrupt positions before auto-deleveraging must (0: a fund that starts empty).
INSURANCE_FUND_CAPITAL = _env_decimal("INSURANCE_FUND_CAPITAL", "1000000")

# Signed API requests (accounts/signature_guards.py): a key whose signature checks fail this
# many times within this many seconds is answered 429 before its secret is decrypted again.
API_SIGNATURE_FAILURE_LIMIT = env.int("API_SIGNATURE_FAILURE_LIMIT", default=20)
API_SIGNATURE_FAILURE_SECONDS = env.int("API_SIGNATURE_FAILURE_SECONDS", default=300)

# Log-in (the trader's and the back office's, accounts/login_limits.py): this many wrong
# passwords for one username, or from one address, within this many seconds lock it for as long.
LOGIN_FAILURE_LIMIT_PER_ACCOUNT = env.int("LOGIN_FAILURE_LIMIT_PER_ACCOUNT", default=5)
LOGIN_FAILURE_LIMIT_PER_IP = env.int("LOGIN_FAILURE_LIMIT_PER_IP", default=20)
LOGIN_FAILURE_SECONDS = env.int("LOGIN_FAILURE_SECONDS", default=900)
