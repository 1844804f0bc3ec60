"""Stop `make test` early, with a start command, when PostgreSQL or Redis does not answer."""

import os
import sys
from urllib.parse import urlparse

import psycopg
import redis

database_url = os.environ["DATABASE_URL"]
redis_url = os.environ["REDIS_URL"]
problems = []

parsed = urlparse(database_url)
if parsed.scheme not in {"postgres", "postgresql"}:
    problems.append(f"Tests need PostgreSQL, but DATABASE_URL is {database_url!r}. Unset it or point it at PostgreSQL.")
else:
    try:
        psycopg.connect(
            host=parsed.hostname or "127.0.0.1",
            port=parsed.port or 5432,
            user=parsed.username or "postgres",
            password=parsed.password,
            dbname="postgres",
            connect_timeout=3,
        ).close()
    except psycopg.OperationalError as error:
        problems.append(
            f"PostgreSQL does not answer at {parsed.hostname}:{parsed.port or 5432}: {error}".strip()
            + "\n  Start it: pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start"
            + "\n  (or: sudo service postgresql start), or set DATABASE_URL to a running server."
        )
try:
    redis.Redis.from_url(redis_url, socket_connect_timeout=3).ping()
except redis.RedisError as error:
    problems.append(
        f"Redis does not answer at {redis_url}: {error}"
        + '\n  Start it: redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no'
        + "\n  or set REDIS_URL to a running server."
    )

if problems:
    print("Cannot run the tests:\n" + "\n".join(f"- {problem}" for problem in problems), file=sys.stderr)
    sys.exit(2)
