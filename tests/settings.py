"""Settings for the test suite: Pulse's own settings, pointed at the local PostgreSQL and Redis.

The environment is filled in *before* pulse.settings reads it, and every process a test starts
(worker, beat, Flower) inherits the same environment, so they all see the same database and broker.
Tests use the Redis database in REDIS_URL and clear it at start; the default is database 15 so a
demo on database 0 is left alone.
"""

import os

os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/pulse")
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/15")
os.environ.setdefault("SECRET_KEY", "test-secret-key-" + "x" * 40)
os.environ.setdefault("DJANGO_DEBUG", "0")
os.environ.setdefault("DJANGO_SECURE_SSL_REDIRECT", "0")
os.environ.setdefault("ALLOWED_HOSTS", "localhost,127.0.0.1,testserver")
os.environ.setdefault("LOG_LEVEL", "INFO")
# Test platforms are searched many times a minute, and retries should not make tests wait.
os.environ.setdefault("PULSE_RATE_LIMIT_DEFAULT", "1000/s")
os.environ.setdefault("PULSE_SCRAPE_BACKOFF_BASE", "0.1")
os.environ.setdefault("PULSE_SCRAPE_BACKOFF_MAX", "2")
os.environ["DJANGO_SETTINGS_MODULE"] = "tests.settings"

from pulse.settings import *  # noqa: E402,F403

# Password hashing dominates user creation; tests do not need a strong hash.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
