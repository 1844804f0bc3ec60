"""Fixtures that break real services: kill workers, restart Redis and PostgreSQL.

The machine's own PostgreSQL and Redis serve other test runs, so faults that stop a server use a
private one started here: a ``redis-server`` subprocess on a free port, and a PostgreSQL cluster
made with ``initdb`` in a temporary directory. Workers and beat under test are pointed at them
through ``REDIS_URL`` / ``DATABASE_URL``; evidence (what ran, how often) is recorded in the shared
test Redis, which no fault touches. Every process started here is stopped by its own id.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import kombu.exceptions
import psycopg
import pytest
import redis
from celery import Celery
from django.conf import settings

from tests.conftest import processes_database_url
from tests.support.processes import PROJECT_ROOT, ManagedProcess, celery_command

POSTGRES_BIN = Path("/usr/lib/postgresql/15/bin")
FAULT_TASKS = "tests.support.tasks,tests.faults.tasks"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(predicate: Callable[[], object], *, timeout: float, what: str, interval: float = 0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = predicate()
        if result:
            return result
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


# --- Private Redis ---------------------------------------------------------------------------------


class PrivateRedis:
    """A redis-server of our own, with the persistence production uses (append-only file).

    ``restart()`` stops it the way ``docker compose restart`` does (SIGTERM: Redis flushes the AOF)
    and starts it again on the same port and data directory.
    """

    def __init__(self, *, append_only: bool = True) -> None:
        self.append_only = append_only
        self.port = free_port()
        self.directory = Path(tempfile.mkdtemp(prefix="pulse-redis-"))
        self.process: subprocess.Popen | None = None
        self.log_path = self.directory / "redis.log"

    def url(self, db: int = 0) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"

    def client(self) -> redis.Redis:
        return redis.Redis.from_url(self.url(), socket_connect_timeout=1)

    def answers(self) -> bool:
        try:
            return bool(self.client().ping())
        except redis.RedisError:
            return False

    def start(self) -> PrivateRedis:
        command = [
            "redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
            "--appendonly", "yes" if self.append_only else "no", "--appendfsync", "everysec",
            "--dir", str(self.directory),
            "--daemonize", "no", "--logfile", str(self.log_path),
        ]  # fmt: skip
        self.process = subprocess.Popen(command, stdin=subprocess.DEVNULL, start_new_session=True)
        wait_until(self.answers, timeout=10, what=f"private redis on {self.port}")
        return self

    def stop(self, *, signum: int = signal.SIGTERM) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signum)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)

    def restart(self, *, down_for: float = 0.0) -> None:
        self.stop()
        time.sleep(down_for)
        self.start()

    def cleanup(self) -> None:
        self.stop(signum=signal.SIGKILL)
        shutil.rmtree(self.directory, ignore_errors=True)


@pytest.fixture
def private_redis() -> Iterator[PrivateRedis]:
    server = PrivateRedis().start()
    yield server
    server.cleanup()


# --- Private PostgreSQL ----------------------------------------------------------------------------


class PrivatePostgres:
    """A PostgreSQL 15 cluster of our own, run as the ``postgres`` OS user, on a free port."""

    def __init__(self) -> None:
        self.port = free_port()
        self.directory = Path(tempfile.mkdtemp(prefix="pulse-pg-"))
        self.data = self.directory / "data"
        self.log_path = self.directory / "postgres.log"
        shutil.chown(self.directory, user="postgres", group="postgres")

    @property
    def url(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/pulse"

    def _as_postgres(self, *command: str, check: bool = True) -> subprocess.CompletedProcess:
        # PostgreSQL refuses to run as root; runuser needs root. As the postgres user, run directly.
        prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        return subprocess.run([*prefix, *command], capture_output=True, text=True, check=check, timeout=120)

    def init(self) -> PrivatePostgres:
        self._as_postgres(
            str(POSTGRES_BIN / "initdb"), "-D", str(self.data), "--auth=trust", "-U", "postgres", "--no-sync"
        )
        self.start()
        self._as_postgres(str(POSTGRES_BIN / "createdb"), "-h", "127.0.0.1", "-p", str(self.port), "pulse")
        return self

    def pg_ctl(self, action: str, *extra: str) -> None:
        # fsync off: these clusters hold nothing worth keeping, and disk flushes slow a shared machine.
        options = f"-p {self.port} -k /tmp -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=60"
        self._as_postgres(
            str(POSTGRES_BIN / "pg_ctl"), "-D", str(self.data), "-l", str(self.log_path), "-o", options,
            "-w", "-t", "60", action, *extra,
        )  # fmt: skip

    def start(self) -> None:
        self.pg_ctl("start")

    def stop(self) -> None:
        # "fast" disconnects every client at once, as a database failover or restart does.
        self.pg_ctl("stop", "-m", "fast")

    def restart(self, *, down_for: float = 0.0) -> None:
        self.stop()
        time.sleep(down_for)
        self.start()

    def answers(self) -> bool:
        try:
            psycopg.connect(self.url.replace("postgres://", "postgresql://"), connect_timeout=1).close()
            return True
        except psycopg.OperationalError:
            return False

    def query(self, sql: str, params: tuple = ()) -> list[tuple]:
        with psycopg.connect(self.url.replace("postgres://", "postgresql://"), autocommit=True) as connection:
            return connection.execute(sql, params).fetchall()

    def migrate(self) -> None:
        result = subprocess.run(
            [sys.executable, "manage.py", "migrate", "--no-input", "-v", "0"],
            cwd=PROJECT_ROOT,
            env={**os.environ, "DATABASE_URL": self.url},
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert result.returncode == 0, f"migrating the private database failed:\n{result.stderr[-3000:]}"

    def run_django(self, code: str) -> str:
        """Run Python with Django set up against this cluster (the test process's ORM uses another)."""
        result = subprocess.run(
            [sys.executable, "-c", f"import django; django.setup()\n{code}"],
            cwd=PROJECT_ROOT,
            env={**os.environ, "DATABASE_URL": self.url, "DJANGO_SETTINGS_MODULE": "tests.settings"},
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode == 0, f"Django code against the private database failed:\n{result.stderr[-3000:]}"
        return result.stdout

    def cleanup(self) -> None:
        if (self.data / "postmaster.pid").exists():
            self._as_postgres(
                str(POSTGRES_BIN / "pg_ctl"), "-D", str(self.data), "stop", "-m", "immediate", check=False
            )
        shutil.rmtree(self.directory, ignore_errors=True)


@pytest.fixture(scope="session")
def private_postgres() -> Iterator[PrivatePostgres]:
    """One migrated private cluster for the session; tests that restart it leave it running."""
    import pwd

    if not (POSTGRES_BIN / "initdb").exists():
        pytest.fail(f"The PostgreSQL restart faults need PostgreSQL 15's initdb at {POSTGRES_BIN}.")
    if os.geteuid() != 0 and pwd.getpwuid(os.geteuid()).pw_name != "postgres":
        pytest.fail("The PostgreSQL restart faults start a private cluster: run them as root or as postgres.")
    server = PrivatePostgres().init()
    try:
        server.migrate()
        yield server
    finally:
        server.cleanup()


@pytest.fixture
def postgres_up(private_postgres) -> PrivatePostgres:
    """The private cluster, started again if an earlier test left it stopped."""
    if not private_postgres.answers():
        private_postgres.start()
    return private_postgres


# --- Celery processes against any broker and database -------------------------------------------------


def broker_client(broker_url: str) -> Celery:
    """A Celery client that knows only the broker, as another service would."""
    # Not the current app: tests that run later must keep using Pulse's app and broker.
    client = Celery("faults-client", broker=broker_url, backend=broker_url, set_as_current=False)
    client.conf.update(
        task_serializer="json",
        accept_content=["json"],
        result_serializer="json",
        broker_connection_retry_on_startup=True,
    )
    return client


def ping(client: Celery, node_name: str) -> list:
    """Ping one worker; a pooled connection broken by a broker restart fails once, then reconnects."""
    try:
        return client.control.ping(destination=[node_name], timeout=0.5)
    except (redis.ConnectionError, kombu.exceptions.OperationalError):
        return []


class FaultProcesses:
    """Starts workers and beat for one test and stops every one of them afterwards."""

    def __init__(self) -> None:
        self.started: list[ManagedProcess] = []

    def worker(
        self,
        *,
        env: dict,
        queues: str = "celery,http,browser",
        concurrency: int = 1,
        name: str = "fault",
        extra_args: tuple[str, ...] = (),
        wait: bool = True,
        include: str = FAULT_TASKS,
    ) -> ManagedProcess:
        node_name = f"{name}-{uuid.uuid4().hex[:8]}@localhost"
        process = ManagedProcess(
            f"worker-{name}",
            celery_command(
                "worker", "-Q", queues, "-c", str(concurrency), "-n", node_name, "--include", include,
                "--without-mingle", "--without-gossip", "-l", "INFO", *extra_args,
            ),  # fmt: skip
            env={"PYTHONUNBUFFERED": "1", **env},
        ).start()
        process.node_name = node_name
        process.is_worker = True
        self.started.append(process)
        if wait:
            client = broker_client(env.get("REDIS_URL", settings.REDIS_URL))
            process.wait_for(
                lambda: ping(client, node_name),
                timeout=60,
                what=f"worker {node_name} to answer ping",
            )
        return process

    def beat(self, *, env: dict) -> ManagedProcess:
        process = ManagedProcess(
            "beat",
            celery_command("beat", "-l", "INFO", "--pidfile=", "--max-interval", "1"),
            env={"PYTHONUNBUFFERED": "1", **env},
        ).start()
        self.started.append(process)
        return process

    def stop_all(self) -> None:
        for process in reversed(self.started):
            # Workers get Celery's cold shutdown (SIGQUIT): the test is over, nothing must finish.
            is_worker = getattr(process, "is_worker", False)
            process.stop(timeout=10, signum=signal.SIGQUIT if is_worker else signal.SIGTERM)


@pytest.fixture
def fault_processes() -> Iterator[FaultProcesses]:
    processes = FaultProcesses()
    yield processes
    processes.stop_all()


@pytest.fixture
def test_database_env(transactional_db) -> dict:
    """Environment for processes that use the pytest-django test database and the shared test Redis."""
    return {"DATABASE_URL": processes_database_url(), "REDIS_URL": settings.REDIS_URL}


@pytest.fixture
def records(redis_client):
    """Read what fault tasks recorded under a key, in the shared test Redis."""

    def read(key: str) -> list[str]:
        return redis_client.lrange(f"tests:{key}", 0, -1)

    return read
