"""The compose file and the image's scripts: what can be checked without a Docker engine.

The start scripts the image runs are the same ones `make demo` runs (deploy/Procfile), so the
demo test exercises them for real; here the wiring between compose, Dockerfile and scripts is checked.
"""

from __future__ import annotations

import os
import re
import subprocess

import sys

import yaml

from tests.support.processes import PROJECT_ROOT

ROLES = {"web", "worker-http", "worker-browser", "beat", "flower"}
# Pulse services that run a manage.py command instead of a start script.
COMMAND_SERVICES = {"alerts": ["python", "manage.py", "check_alerts", "--every", "60"]}


def compose():
    return yaml.safe_load((PROJECT_ROOT / "docker-compose.yml").read_text())


def test_every_role_runs_from_the_same_image_and_environment():
    services = compose()["services"]
    assert ROLES | set(COMMAND_SERVICES) | {"postgres", "redis"} == set(services)
    for role in ROLES | set(COMMAND_SERVICES):
        service = services[role]
        assert service["image"] == "pulse:latest", role
        assert service["build"]["dockerfile"] == "deploy/Dockerfile", role
        assert service["env_file"][0]["path"] == ".env", role
        assert service["environment"]["REDIS_URL"] == "redis://redis:6379/0", role
        assert service["environment"]["DATABASE_URL"].startswith("postgres://"), role


def test_each_role_command_is_an_executable_script_in_the_image():
    services = compose()["services"]
    for role in ROLES:
        (command,) = services[role]["command"]
        assert command == f"/app/deploy/start-{role}", role
        script = PROJECT_ROOT / "deploy" / f"start-{role}"
        assert script.exists(), f"{script} is missing"
        assert os.access(script, os.X_OK), f"{script} is not executable"
        result = subprocess.run(["bash", "-n", str(script)], capture_output=True, text=True)
        assert result.returncode == 0, result.stderr


def test_the_alerts_service_runs_the_alert_command_on_a_loop():
    services = compose()["services"]
    for name, command in COMMAND_SERVICES.items():
        assert services[name]["command"] == command
    from django.core.management import get_commands

    assert "check_alerts" in get_commands()


def test_the_browser_worker_reaps_children_and_has_shared_memory():
    browser = compose()["services"]["worker-browser"]
    assert browser["init"] is True
    size = re.fullmatch(r"(\d+)([mg])b", browser["shm_size"].lower())
    assert size and int(size.group(1)) * (1024 if size.group(2) == "g" else 1) >= 512


def test_databases_have_healthchecks_and_pulse_waits_for_them():
    services = compose()["services"]
    assert "pg_isready" in " ".join(services["postgres"]["healthcheck"]["test"])
    assert "ping" in services["redis"]["healthcheck"]["test"]
    assert services["postgres"]["volumes"][0].startswith("postgres-data:")
    for role in ROLES | set(COMMAND_SERVICES):
        depends = services[role]["depends_on"]
        assert depends["postgres"]["condition"] == "service_healthy", role
        assert depends["redis"]["condition"] == "service_healthy", role


def test_only_the_web_role_migrates():
    services = compose()["services"]
    assert services["web"]["environment"]["PULSE_ROLE"] == "web"
    others = (ROLES | set(COMMAND_SERVICES)) - {"web"}
    assert all("PULSE_ROLE" not in services[role]["environment"] for role in others)
    entrypoint = (PROJECT_ROOT / "deploy" / "entrypoint").read_text()
    assert 'if [ "${PULSE_ROLE:-}" = "web" ]; then\n  python manage.py migrate' in entrypoint


def test_the_dockerfile_copies_what_exists_and_installs_chromium():
    dockerfile = (PROJECT_ROOT / "deploy" / "Dockerfile").read_text()
    for source in re.findall(r"^COPY (\S+) ", dockerfile, flags=re.MULTILINE):
        assert (PROJECT_ROOT / source).exists(), source
    # Both Debian builds, and no pinned path, so find_chromium picks the headless shell.
    assert re.search(r"apt-get install [^\n]*\bchromium chromium-headless-shell\b", dockerfile)
    assert not re.search(r"^\s*PULSE_CHROMIUM_PATH=", dockerfile, flags=re.MULTILINE)
    assert re.search(r"pip install -r requirements/prod.txt", dockerfile)
    assert "USER pulse" in dockerfile


def test_the_entrypoint_waits_for_postgres_and_then_runs_the_command(env_for_processes):
    # In the image `python` is the one with Pulse's requirements; here that is this interpreter's.
    path = f"{os.path.dirname(sys.executable)}:{os.environ['PATH']}"
    result = subprocess.run(
        ["bash", str(PROJECT_ROOT / "deploy" / "entrypoint"), "echo", "role started"],
        env={
            **os.environ,
            "PATH": path,
            "DATABASE_URL": "postgres://nobody@127.0.0.1:1/none",
            "PULSE_WAIT_FOR_DB_SECONDS": "1",
        },
        capture_output=True,
        text=True,
        timeout=30,
        cwd=PROJECT_ROOT,
    )
    assert result.returncode != 0
    assert "PostgreSQL did not answer at 127.0.0.1:1" in result.stderr
    assert "role started" not in result.stdout

    result = subprocess.run(
        ["bash", str(PROJECT_ROOT / "deploy" / "entrypoint"), "echo", "role started"],
        env={**os.environ, **env_for_processes, "PATH": path, "PULSE_WAIT_FOR_DB_SECONDS": "5"},
        capture_output=True,
        text=True,
        timeout=30,
        cwd=PROJECT_ROOT,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().endswith("role started")


def test_pinned_requirements_only():
    for name in ("base.txt", "dev.txt", "prod.txt"):
        for line in (PROJECT_ROOT / "requirements" / name).read_text().splitlines():
            if line and not line.startswith(("#", "-r ")):
                assert re.fullmatch(r"[A-Za-z0-9_.\-\[\]]+==[0-9][\w.]*", line), f"{name}: {line!r} is not pinned"
