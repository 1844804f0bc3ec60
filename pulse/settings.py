"""Django settings for Pulse.

Every value that differs between a laptop, CI and production comes from the
environment (see .env.example). Readers in ``pulse.env`` fail start-up with a
message naming the variable when a value is malformed.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

from pulse.env import (
    env_bool,
    env_database,
    env_float,
    env_int,
    env_list,
    env_redis_url,
    env_str,
    env_timezone,
)

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"

# A .env file beside manage.py is read for convenience; real environment variables win.
if (BASE_DIR / ".env").exists():
    environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

# --- Core ---------------------------------------------------------------------------------------
DEBUG = env_bool("DJANGO_DEBUG", default=False)
if DEBUG:
    SECRET_KEY = env_str("SECRET_KEY", default="insecure-local-development-key-never-use-in-production")
else:
    SECRET_KEY = env_str("SECRET_KEY")
    if len(SECRET_KEY) < 32 or SECRET_KEY.startswith("insecure-"):
        raise ImproperlyConfigured(
            "SECRET_KEY is too weak for DJANGO_DEBUG=0: use at least 32 random characters, e.g. "
            "python -c 'import secrets; print(secrets.token_urlsafe(50))'."
        )

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_celery_beat",
    # Serves the API docs page (Swagger UI) from its own static files instead of a CDN.
    "ninja",
    "pulse.apps.PulseConfig",
    "scraping",
    "schedules",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Serves the admin's and the API docs' static files from gunicorn (collected into STATIC_ROOT).
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "pulse.urls"
WSGI_APPLICATION = "pulse.wsgi.application"
ASGI_APPLICATION = "pulse.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "pulse" / "templates"],
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

# --- Database -------------------------------------------------------------------------------------
# SQLite under var/ is the zero-setup default for `make demo`; tests and production use PostgreSQL.
DATABASES = {"default": env_database("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'pulse.sqlite3'}")}
DATABASES["default"].setdefault("CONN_MAX_AGE", env_int("DATABASE_CONN_MAX_AGE", default=60, minimum=0))
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    VAR_DIR.mkdir(exist_ok=True)
    # Worker, beat and web write concurrently during the demo; wait for the lock instead of failing.
    DATABASES["default"]["OPTIONS"] = {"timeout": 20, "transaction_mode": "IMMEDIATE"}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# --- Time -----------------------------------------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = env_timezone("TIME_ZONE", default="Asia/Kuala_Lumpur")
USE_I18N = True
USE_TZ = True

# --- Static files ---------------------------------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"

# --- Security (production) ------------------------------------------------------------------------
if not DEBUG:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", default=True)
    # Health probes come over plain HTTP from inside the compose network.
    SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env_int("DJANGO_SECURE_HSTS_SECONDS", default=60 * 60 * 24 * 30, minimum=0)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SECURE_CONTENT_TYPE_NOSNIFF = True
    X_FRAME_OPTIONS = "DENY"

# --- Logging --------------------------------------------------------------------------------------
LOG_LEVEL = env_str("LOG_LEVEL", default="INFO").upper()
if LOG_LEVEL not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
    raise ImproperlyConfigured(f"LOG_LEVEL={LOG_LEVEL!r} is not a level. Use DEBUG, INFO, WARNING or ERROR.")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "readable": {"format": "%(asctime)s %(levelname)-7s %(processName)s %(name)s: %(message)s"},
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "readable"}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "celery": {"level": LOG_LEVEL},
    },
}

# --- Redis and Celery -----------------------------------------------------------------------------
REDIS_URL = env_redis_url("REDIS_URL", default="redis://127.0.0.1:6379/0")

# Time limits in seconds. The soft limit raises SoftTimeLimitExceeded inside the task so it can
# clean up (close browser contexts); the hard limit kills the child process.
PULSE_TASK_SOFT_TIME_LIMIT = env_int("PULSE_TASK_SOFT_TIME_LIMIT", default=300, minimum=1)
PULSE_TASK_TIME_LIMIT = env_int("PULSE_TASK_TIME_LIMIT", default=360, minimum=1)
if PULSE_TASK_SOFT_TIME_LIMIT >= PULSE_TASK_TIME_LIMIT:
    raise ImproperlyConfigured(
        "PULSE_TASK_SOFT_TIME_LIMIT must be smaller than PULSE_TASK_TIME_LIMIT so a task can clean up "
        f"before it is killed (got {PULSE_TASK_SOFT_TIME_LIMIT} >= {PULSE_TASK_TIME_LIMIT})."
    )
# Redis re-delivers an unacknowledged message after this many seconds. With acks_late a task that
# runs longer than this is started a second time while the first still runs; the system check
# pulse.E001 refuses to start when any time limit reaches it.
PULSE_REDIS_VISIBILITY_TIMEOUT = env_int("PULSE_REDIS_VISIBILITY_TIMEOUT", default=3600, minimum=1)

# https://docs.celeryq.dev/en/stable/userguide/configuration.html#broker-url
CELERY_BROKER_URL = REDIS_URL
# https://docs.celeryq.dev/en/stable/userguide/configuration.html#result-backend
CELERY_RESULT_BACKEND = REDIS_URL
# https://docs.celeryq.dev/en/stable/userguide/configuration.html#broker-transport-options
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": PULSE_REDIS_VISIBILITY_TIMEOUT}
# https://docs.celeryq.dev/en/stable/userguide/configuration.html#result-backend-transport-options
CELERY_RESULT_BACKEND_TRANSPORT_OPTIONS = {"visibility_timeout": PULSE_REDIS_VISIBILITY_TIMEOUT}
# https://docs.celeryq.dev/en/stable/userguide/configuration.html#broker-connection-retry-on-startup
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# https://docs.celeryq.dev/en/stable/userguide/configuration.html#accept-content
CELERY_ACCEPT_CONTENT = ["json"]
# https://docs.celeryq.dev/en/stable/userguide/configuration.html#result-accept-content
CELERY_RESULT_ACCEPT_CONTENT = ["json"]
# https://docs.celeryq.dev/en/stable/userguide/configuration.html#task-serializer
CELERY_TASK_SERIALIZER = "json"
# https://docs.celeryq.dev/en/stable/userguide/configuration.html#result-serializer
CELERY_RESULT_SERIALIZER = "json"
# https://docs.celeryq.dev/en/stable/userguide/configuration.html#timezone
CELERY_TIMEZONE = TIME_ZONE
# https://docs.celeryq.dev/en/stable/userguide/configuration.html#result-expires
CELERY_RESULT_EXPIRES = 60 * 60 * 24 * 7
# https://docs.celeryq.dev/en/stable/userguide/configuration.html#result-extended
# Keeps task name and arguments with the result so Flower and AsyncResult can show them.
CELERY_RESULT_EXTENDED = True
# https://docs.celeryq.dev/en/stable/userguide/configuration.html#task-acks-late
CELERY_TASK_ACKS_LATE = True
# https://docs.celeryq.dev/en/stable/userguide/configuration.html#task-reject-on-worker-lost
CELERY_TASK_REJECT_ON_WORKER_LOST = True
# https://docs.celeryq.dev/en/stable/userguide/configuration.html#worker-prefetch-multiplier
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# https://docs.celeryq.dev/en/stable/userguide/configuration.html#task-time-limit
CELERY_TASK_TIME_LIMIT = PULSE_TASK_TIME_LIMIT
# https://docs.celeryq.dev/en/stable/userguide/configuration.html#task-soft-time-limit
CELERY_TASK_SOFT_TIME_LIMIT = PULSE_TASK_SOFT_TIME_LIMIT
# https://docs.celeryq.dev/en/stable/userguide/configuration.html#task-track-started
CELERY_TASK_TRACK_STARTED = True
# https://docs.celeryq.dev/en/stable/userguide/configuration.html#worker-send-task-events
CELERY_WORKER_SEND_TASK_EVENTS = True
# https://docs.celeryq.dev/en/stable/userguide/configuration.html#task-send-sent-event
CELERY_TASK_SEND_SENT_EVENT = True
# https://docs.celeryq.dev/en/stable/userguide/configuration.html#worker-hijack-root-logger
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
# Celery's Django fix-up closes every database connection before and after every task unless this
# is set, so each task would open a new PostgreSQL connection (a server process fork, ~5 ms). Pulse
# closes connections the Django way instead (pulse.celery: CONN_MAX_AGE and health checks); this
# only bounds how long the fix-up lets one connection live, counted in tasks.
CELERY_DB_REUSE_MAX = 1000
# https://docs.celeryq.dev/en/stable/userguide/configuration.html#worker-max-tasks-per-child
CELERY_WORKER_MAX_TASKS_PER_CHILD = env_int("PULSE_WORKER_MAX_TASKS_PER_CHILD", default=200, minimum=1)
# https://docs.celeryq.dev/en/stable/userguide/configuration.html#task-default-queue
# Callers that only know the broker URL send to the default "celery" queue, so the http worker
# consumes it too; Pulse's own fan-out goes to "http" or "browser" by the routes below.
CELERY_TASK_DEFAULT_QUEUE = "celery"
# https://docs.celeryq.dev/en/stable/userguide/configuration.html#task-routes
CELERY_TASK_ROUTES = ("pulse.routing.route_task",)

PULSE_QUEUES = ("celery", "http", "browser")

# --- Pipeline -------------------------------------------------------------------------------------
# Bounds of search input: max_results is per platform; the limit protects workers and platforms.
PULSE_MAX_RESULTS_LIMIT = env_int("PULSE_MAX_RESULTS_LIMIT", default=500, minimum=1, maximum=10_000)
PULSE_DEFAULT_MAX_RESULTS = env_int("PULSE_DEFAULT_MAX_RESULTS", default=50, minimum=1)
# Transient scraper errors (429, 5xx, timeouts) are retried this many times after the first attempt,
# waiting base * 2**n seconds (with jitter, capped at the maximum) unless the platform said Retry-After.
PULSE_SCRAPE_MAX_RETRIES = env_int("PULSE_SCRAPE_MAX_RETRIES", default=3, minimum=0, maximum=20)
PULSE_SCRAPE_BACKOFF_BASE = env_float("PULSE_SCRAPE_BACKOFF_BASE", default=2.0, minimum=0.0)
PULSE_SCRAPE_BACKOFF_MAX = env_float("PULSE_SCRAPE_BACKOFF_MAX", default=300.0, minimum=0.0)
# Scrapes started per platform across all workers (token bucket in Redis): "N/s", "N/m" or "N/h".
# PULSE_RATE_LIMIT_<PLATFORM> (e.g. PULSE_RATE_LIMIT_FACEBOOK=6/m) overrides the default for one.
PULSE_RATE_LIMIT_DEFAULT = env_str("PULSE_RATE_LIMIT_DEFAULT", default="30/m")
PULSE_PLATFORM_RATE_LIMITS = {
    name[len("PULSE_RATE_LIMIT_"):].lower().replace("_", "-"): value.strip()
    for name, value in os.environ.items()
    if name.startswith("PULSE_RATE_LIMIT_") and name != "PULSE_RATE_LIMIT_DEFAULT"
}
for _name, _rate in [("default", PULSE_RATE_LIMIT_DEFAULT), *PULSE_PLATFORM_RATE_LIMITS.items()]:
    if not re.fullmatch(r"[1-9][0-9]*/[smh]", _rate):
        raise ImproperlyConfigured(
            f"rate limit for {_name} is {_rate!r}; write it as scrapes per second, minute or hour, e.g. 30/m."
        )
# Browser-queue tasks (Playwright) get their own, longer limits; http-queue tasks use the global ones.
PULSE_BROWSER_TASK_SOFT_TIME_LIMIT = env_int("PULSE_BROWSER_TASK_SOFT_TIME_LIMIT", default=540, minimum=1)
PULSE_BROWSER_TASK_TIME_LIMIT = env_int("PULSE_BROWSER_TASK_TIME_LIMIT", default=600, minimum=1)
if PULSE_BROWSER_TASK_SOFT_TIME_LIMIT >= PULSE_BROWSER_TASK_TIME_LIMIT:
    raise ImproperlyConfigured(
        "PULSE_BROWSER_TASK_SOFT_TIME_LIMIT must be smaller than PULSE_BROWSER_TASK_TIME_LIMIT so a browser "
        f"task can close its pages before it is killed (got {PULSE_BROWSER_TASK_SOFT_TIME_LIMIT} >= "
        f"{PULSE_BROWSER_TASK_TIME_LIMIT})."
    )

# --- Platforms ------------------------------------------------------------------------------------
# Every platform's address is a setting. An empty value means "the default": the platform
# simulator when PULSE_SIMULATOR_URL is set (tests, `make demo`), otherwise the real site.
# scraping.platforms.config resolves them at call time, so a test can point a running process
# at a simulator whose port it learned after start-up. See docs/PLATFORMS.md.
import json as _json  # noqa: E402

from pulse.env import env_float  # noqa: E402

PULSE_SIMULATOR_URL = env_str("PULSE_SIMULATOR_URL", default="").rstrip("/")
# Platform names a search may use when it names none; empty = all registered platforms.
PULSE_ENABLED_PLATFORMS = env_list("PULSE_ENABLED_PLATFORMS", default=[])
PULSE_HTTP_TIMEOUT = env_float("PULSE_HTTP_TIMEOUT", default=20.0, minimum=0.1)
PULSE_HTTP_USER_AGENT = env_str("PULSE_HTTP_USER_AGENT", default="PulseBot/0.1 (+https://example.invalid/pulse)")
# news: a Google-News-like search feed (queried per keyword) plus outlet feeds (matched locally).
PULSE_GOOGLE_NEWS_URL = env_str("PULSE_GOOGLE_NEWS_URL", default="")
PULSE_NEWS_FEED_URLS = env_list("PULSE_NEWS_FEED_URLS", default=[])
# Conditional-GET validators and the last body of each feed are kept this long in Redis.
PULSE_NEWS_CACHE_SECONDS = env_int("PULSE_NEWS_CACHE_SECONDS", default=60 * 60 * 24, minimum=60)
# youtube: the Data API v3 when a key is set, else Playwright on the results page.
PULSE_YOUTUBE_API_URL = env_str("PULSE_YOUTUBE_API_URL", default="")
PULSE_YOUTUBE_API_KEY = env_str("PULSE_YOUTUBE_API_KEY", default="")
PULSE_YOUTUBE_RESULTS_URL = env_str("PULSE_YOUTUBE_RESULTS_URL", default="")
# facebook / instagram: Playwright; a storage-state file (cookies of a logged-in session) is optional.
PULSE_FACEBOOK_URL = env_str("PULSE_FACEBOOK_URL", default="")
PULSE_INSTAGRAM_URL = env_str("PULSE_INSTAGRAM_URL", default="")
PULSE_FACEBOOK_STORAGE_STATE = env_str("PULSE_FACEBOOK_STORAGE_STATE", default="")
PULSE_INSTAGRAM_STORAGE_STATE = env_str("PULSE_INSTAGRAM_STORAGE_STATE", default="")
# web: pages rendered with Playwright; PULSE_WEB_SELECTORS is JSON {"host or URL prefix": "css selector"}.
PULSE_WEB_URLS = env_list("PULSE_WEB_URLS", default=[])
try:
    PULSE_WEB_SELECTORS = _json.loads(env_str("PULSE_WEB_SELECTORS", default="{}"))
except ValueError as _error:
    raise ImproperlyConfigured(
        f"PULSE_WEB_SELECTORS is not valid JSON ({_error}). "
        'Example: PULSE_WEB_SELECTORS=\'{"news.example.com": "article .body"}\''
    ) from None
if not isinstance(PULSE_WEB_SELECTORS, dict) or not all(
    isinstance(key, str) and isinstance(value, str) for key, value in PULSE_WEB_SELECTORS.items()
):
    raise ImproperlyConfigured(
        'PULSE_WEB_SELECTORS must be a JSON object of strings, e.g. {"news.example.com": "article .body"}.'
    )
# SSRF guard: hosts, host:port pairs or CIDRs that may be fetched although they are private.
# The simulator's host:port is added at call time when PULSE_SIMULATOR_URL is set.
PULSE_SSRF_ALLOW = env_list("PULSE_SSRF_ALLOW", default=[])
# Browser pool (one Chromium per worker child). Timeouts are layered:
# navigation < PULSE_TASK_SOFT_TIME_LIMIT < PULSE_TASK_TIME_LIMIT (system check pulse.E101).
PULSE_CHROMIUM_PATH = env_str("PULSE_CHROMIUM_PATH", default="")
PULSE_BROWSER_HEADLESS = env_bool("PULSE_BROWSER_HEADLESS", default=True)
PULSE_BROWSER_NAVIGATION_TIMEOUT = env_float("PULSE_BROWSER_NAVIGATION_TIMEOUT", default=30.0, minimum=1.0)
PULSE_BROWSER_RECYCLE_PAGES = env_int("PULSE_BROWSER_RECYCLE_PAGES", default=100, minimum=1)
PULSE_BROWSER_SCROLL_PAUSE = env_float("PULSE_BROWSER_SCROLL_PAUSE", default=0.3, minimum=0.0)
PULSE_BROWSER_MAX_SCROLLS = env_int("PULSE_BROWSER_MAX_SCROLLS", default=60, minimum=1)
# Where each worker child records its Chromium so a later child can reap it after a hard kill.
PULSE_BROWSER_PID_DIR = Path(env_str("PULSE_BROWSER_PID_DIR", default=str(VAR_DIR / "browsers")))

# --- Schedules ------------------------------------------------------------------------------------
# Run by `manage.py demo_setup` (make demo): seeds the demo scheduled searches once, never overwriting edits.
PULSE_DEMO_SETUP_HOOKS = (*globals().get("PULSE_DEMO_SETUP_HOOKS", ()), "schedules.demo.seed_demo_schedules")

# --- Scheduler ------------------------------------------------------------------------------------
# https://docs.celeryq.dev/en/stable/userguide/configuration.html#beat-scheduler
# PulseScheduler: leader election in Redis, incremental reloads, misfire policies (docs/SCHEDULER.md).
CELERY_BEAT_SCHEDULER = "schedules.scheduler:PulseScheduler"
# Seconds the leader lock lives without renewal; a standby takes over at most about this long
# (plus one renewal interval) after the leader dies, kill -9 included.
PULSE_BEAT_LEADER_TTL_SECONDS = env_float("PULSE_BEAT_LEADER_TTL_SECONDS", default=10.0, minimum=1.0)
# How often every beat looks for edited schedules; an edit is live within about this long.
PULSE_BEAT_CHANGE_CHECK_SECONDS = env_float("PULSE_BEAT_CHANGE_CHECK_SECONDS", default=0.5, minimum=0.05)
# How often the whole schedule is re-read to repair anything incremental reads could miss.
PULSE_BEAT_RECONCILE_SECONDS = env_float("PULSE_BEAT_RECONCILE_SECONDS", default=300.0, minimum=10.0)
# Grace for PeriodicTasks without a ScheduledSearch (which carry their own): a run later than this
# after its slot counts as missed and follows the misfire policy ("coalesce" for these rows).
PULSE_BEAT_MISFIRE_GRACE_SECONDS = env_int("PULSE_BEAT_MISFIRE_GRACE_SECONDS", default=300, minimum=0)
# How long a per-slot claim (pulse:beat:slot:<id>:<due>) is kept in Redis.
PULSE_BEAT_SLOT_CLAIM_TTL_SECONDS = env_int("PULSE_BEAT_SLOT_CLAIM_TTL_SECONDS", default=600, minimum=10)
# "run_all" sends at most this many missed slots per schedule after downtime; older ones are skipped.
PULSE_BEAT_RUN_ALL_MAX_SLOTS = env_int("PULSE_BEAT_RUN_ALL_MAX_SLOTS", default=100, minimum=1)
# Entries dispatched per tick (one transaction); more wait for the next, immediate, tick.
PULSE_BEAT_DISPATCH_BATCH = env_int("PULSE_BEAT_DISPATCH_BATCH", default=500, minimum=1)

# --- Operations -----------------------------------------------------------------------------------
# Logs: JSON lines for log shippers in production, one readable line per record locally. Every
# record a task logs carries its search id and platform (pulse.logging.TaskContextFilter).
LOG_FORMAT = env_str("LOG_FORMAT", default="text" if DEBUG else "json").lower()
if LOG_FORMAT not in {"json", "text"}:
    raise ImproperlyConfigured(f"LOG_FORMAT={LOG_FORMAT!r} is not a log format. Use json or text.")
LOGGING["filters"] = {"task_context": {"()": "pulse.logging.TaskContextFilter"}}
LOGGING["formatters"]["readable"] = {
    "format": "%(asctime)s %(levelname)-7s %(processName)s %(name)s:%(task_context)s %(message)s"
}
LOGGING["formatters"]["json"] = {
    "()": "pulse.logging.JsonFormatter",
    "fmt": "%(asctime)s %(levelname)s %(name)s %(processName)s %(message)s",
}
LOGGING["handlers"]["console"]["formatter"] = "json" if LOG_FORMAT == "json" else "readable"
LOGGING["handlers"]["console"]["filters"] = ["task_context"]

# Run history older than this many days is deleted by the periodic task pulse.cleanup_history
# (finished searches with their platform runs and matches; mentions are kept).
PULSE_HISTORY_RETENTION_DAYS = env_int("PULSE_HISTORY_RETENTION_DAYS", default=90, minimum=1)
PULSE_HISTORY_CLEANUP_BATCH = env_int("PULSE_HISTORY_CLEANUP_BATCH", default=500, minimum=1, maximum=10000)

# Alerts (pulse.alerts): one alert per cool-down per (rule, key), to every enabled AlertChannel.
PULSE_ALERT_COOLDOWN_SECONDS = env_int("PULSE_ALERT_COOLDOWN_SECONDS", default=3600, minimum=1)
PULSE_ALERT_PLATFORM_FAILURES = env_int("PULSE_ALERT_PLATFORM_FAILURES", default=3, minimum=1)
PULSE_ALERT_EMPTY_RUNS = env_int("PULSE_ALERT_EMPTY_RUNS", default=5, minimum=1)
PULSE_ALERT_BEAT_STALL_SECONDS = env_int("PULSE_ALERT_BEAT_STALL_SECONDS", default=120, minimum=1)
PULSE_ALERT_WEBHOOK_TIMEOUT_SECONDS = env_float("PULSE_ALERT_WEBHOOK_TIMEOUT_SECONDS", default=10.0, minimum=0.1)
# Readiness and the "no worker answering" rule wait this long for a worker to answer ping.
PULSE_WORKER_PING_TIMEOUT_SECONDS = env_float("PULSE_WORKER_PING_TIMEOUT_SECONDS", default=2.0, minimum=0.1)

# Email for alert channels of kind "email" (Django's SMTP backend; console when DEBUG and unset).
EMAIL_BACKEND = env_str(
    "EMAIL_BACKEND",
    default="django.core.mail.backends.console.EmailBackend"
    if DEBUG and not env_str("EMAIL_HOST", default="")
    else "django.core.mail.backends.smtp.EmailBackend",
)
EMAIL_HOST = env_str("EMAIL_HOST", default="localhost")
EMAIL_PORT = env_int("EMAIL_PORT", default=25, minimum=1, maximum=65535)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", default="")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", default="")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", default=False)
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", default=10, minimum=1)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", default="Pulse <pulse@localhost>")

# /metrics: when set, scrapers must send "Authorization: Bearer <token>".
PULSE_METRICS_TOKEN = env_str("PULSE_METRICS_TOKEN", default="")

# --- Reliability ----------------------------------------------------------------------------------
# When PostgreSQL is unreachable (restart, failover) search tasks wait and try again instead of
# failing: after 1, 2, 4 … s with jitter, at most the maximum between tries, at most this many
# retries of one task (20 retries with the 60 s cap ride out an outage of roughly 10–15 minutes).
PULSE_DATABASE_RETRY_MAX = env_int("PULSE_DATABASE_RETRY_MAX", default=20, minimum=0, maximum=1000)
PULSE_DATABASE_RETRY_BACKOFF_MAX = env_float("PULSE_DATABASE_RETRY_BACKOFF_MAX", default=60.0, minimum=0.1)
