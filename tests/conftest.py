"""Shared fixtures: the real services (PostgreSQL, Redis) and real Celery processes.

No service is faked. If PostgreSQL or Redis does not answer, the run stops at once with a
message saying how to start it, instead of skipping tests.
"""

from __future__ import annotations

import os
import uuid

import psycopg
import pytest
import redis
from django.conf import settings

from tests.support.processes import ManagedProcess, celery_command

POSTGRES_START = "pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start"
REDIS_START = (
    'redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no'
)


def pytest_sessionstart(session):
    database = settings.DATABASES["default"]
    if database["ENGINE"] != "django.db.backends.postgresql":
        pytest.exit(f"Tests need PostgreSQL; DATABASE_URL points at {database['ENGINE']}.", returncode=3)
    try:
        psycopg.connect(
            host=database["HOST"] or "127.0.0.1",
            port=database["PORT"] or 5432,
            user=database["USER"],
            password=database["PASSWORD"] or None,
            dbname="postgres",
            connect_timeout=3,
        ).close()
    except psycopg.OperationalError as error:
        pytest.exit(
            f"PostgreSQL does not answer at {database['HOST']}:{database['PORT']} ({error}).\n"
            f"Start it with: {POSTGRES_START}\nor point DATABASE_URL at a running server.",
            returncode=3,
        )
    try:
        redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=3).ping()
    except redis.RedisError as error:
        pytest.exit(
            f"Redis does not answer at {settings.REDIS_URL} ({error}).\n"
            f"Start it with: {REDIS_START}\nor point REDIS_URL at a running server.",
            returncode=3,
        )
    # Leftover messages from an interrupted run would be consumed by this run's workers.
    redis.Redis.from_url(settings.REDIS_URL).flushdb()


@pytest.fixture
def redis_client():
    client = redis.Redis.from_url(settings.REDIS_URL, decode_responses=True)
    yield client
    client.close()


@pytest.fixture
def celery_app():
    from pulse.celery import app

    return app


def processes_database_url() -> str:
    """The URL of the test database pytest-django created, for processes the tests start."""
    from django.db import connection

    database = connection.settings_dict
    password = f":{database['PASSWORD']}" if database["PASSWORD"] else ""
    return (
        f"postgres://{database['USER']}{password}@{database['HOST'] or '127.0.0.1'}:"
        f"{database['PORT'] or 5432}/{database['NAME']}"
    )


def start_worker(
    *,
    queues: str = "celery,http,browser",
    concurrency: int = 2,
    extra_env: dict | None = None,
    extra_args: tuple[str, ...] = (),
    name: str | None = None,
) -> tuple[ManagedProcess, str]:
    """Start a real prefork worker against the test database and wait until it answers ping."""
    from pulse.celery import app

    node_name = f"{name or 'test'}-{uuid.uuid4().hex[:8]}@localhost"
    worker = ManagedProcess(
        "worker",
        celery_command(
            "worker",
            "-Q",
            queues,
            "-c",
            str(concurrency),
            "-n",
            node_name,
            "--include",
            "tests.support.tasks",
            "--without-mingle",
            "--without-gossip",
            "-l",
            "INFO",
            *extra_args,
        ),
        env={"DATABASE_URL": processes_database_url(), **(extra_env or {})},
    ).start()
    worker.wait_for(
        lambda: app.control.ping(destination=[node_name], timeout=0.5),
        timeout=60,
        what=f"worker {node_name} to answer ping",
    )
    return worker, node_name


@pytest.fixture(scope="session")
def celery_worker_process(django_db_setup, django_db_blocker):
    """One real worker for the whole session, consuming every Pulse queue.

    Tests that use it must commit their data (``transactional_db``) so the worker can see it.
    """
    worker, node_name = start_worker()
    worker.node_name = node_name
    yield worker
    worker.stop()


def wait_until_worker_is_idle(worker: ManagedProcess, *, timeout: float = 20.0) -> None:
    """Drop queued messages and wait until the worker runs nothing.

    Work a test left behind (a retry, a beat-sent search) must neither run against the next test's
    data nor hold table locks while pytest-django truncates the tables: TRUNCATE waiting on a
    running task's transaction is how a deadlock at teardown happens.
    """
    import time

    from pulse.celery import app

    with app.connection_for_write() as connection:
        for queue in settings.PULSE_QUEUES:
            connection.default_channel.queue_purge(queue)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        replies = app.control.inspect(destination=[worker.node_name], timeout=1)
        active, reserved = replies.active() or {}, replies.reserved() or {}
        if not any(active.values()) and not any(reserved.values()):
            return
        time.sleep(0.2)


@pytest.fixture
def worker(celery_worker_process, transactional_db):
    if not celery_worker_process.is_running():
        pytest.fail(f"the session worker died:\n{celery_worker_process.log_tail()}")
    yield celery_worker_process
    if celery_worker_process.is_running():
        wait_until_worker_is_idle(celery_worker_process)


@pytest.fixture
def env_for_processes(transactional_db) -> dict:
    """Environment for any extra Pulse process a test starts, pointed at the test database."""
    return {"DATABASE_URL": processes_database_url(), "PYTHONUNBUFFERED": "1"}


@pytest.fixture(autouse=True)
def _no_leaked_env(monkeypatch):
    # Tests that change settings through the environment must not leak into each other.
    yield
    for key in [key for key in os.environ if key.startswith("PULSE_TEST_")]:
        monkeypatch.delenv(key, raising=False)


# --- Platform simulator ---------------------------------------------------------------------------
@pytest.fixture(scope="session")
def simulator():
    """A real ``manage.py simulate_platforms --port 0`` for the whole session; yields its base URL.

    The URL goes into ``settings.PULSE_SIMULATOR_URL`` (this process) and the environment, so
    every worker or beat started afterwards points at the simulator too. Request ``simulator``
    before ``worker`` in a test's arguments so the session worker inherits it.
    """
    import re

    from tests.support.processes import python_command

    process = ManagedProcess(
        "simulator", python_command("manage.py", "simulate_platforms", "--port", "0"), env={"PYTHONUNBUFFERED": "1"}
    ).start()
    found = process.wait_for(
        lambda: re.search(r"listening on (http://\S+)", process.log()), timeout=30, what="the simulator URL"
    )
    url = found.group(1)
    previous_setting = settings.PULSE_SIMULATOR_URL
    previous_env = os.environ.get("PULSE_SIMULATOR_URL")
    settings.PULSE_SIMULATOR_URL = url
    os.environ["PULSE_SIMULATOR_URL"] = url
    yield url
    settings.PULSE_SIMULATOR_URL = previous_setting
    if previous_env is None:
        os.environ.pop("PULSE_SIMULATOR_URL", None)
    else:
        os.environ["PULSE_SIMULATOR_URL"] = previous_env
    process.stop()


@pytest.fixture
def unique_keyword():
    """A keyword no other test uses, for failure modes counted per key in the simulator."""
    return f"kw{uuid.uuid4().hex[:8]}"
