"""`make demo`'s process set starts, answers, and leaves nothing behind on Ctrl-C."""

from __future__ import annotations

import re
import signal
import socket
import uuid
from pathlib import Path

import httpx
import pytest

from tests.support.processes import PROJECT_ROOT, ManagedProcess


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def processes_with_marker(marker: str) -> list[int]:
    found = []
    for environ_file in Path("/proc").glob("[0-9]*/environ"):
        try:
            if marker.encode() in environ_file.read_bytes():
                found.append(int(environ_file.parent.name))
        except OSError:
            continue
    return found


@pytest.mark.slow
def test_the_demo_stack_serves_admin_and_flower_and_stops_cleanly(env_for_processes, tmp_path):
    marker = f"PULSE_DEMO_MARKER_{uuid.uuid4().hex}"
    web_port, flower_port = free_port(), free_port()
    demo = ManagedProcess(
        "demo",
        ["bash", str(PROJECT_ROOT / "deploy/local/demo.sh")],
        env={
            **env_for_processes,
            "DJANGO_DEBUG": "1",
            "PYTHON": __import__("sys").executable,
            "PULSE_WEB_PORT": str(web_port),
            "FLOWER_PORT": str(flower_port),
            "FLOWER_BASIC_AUTH": "operator:demo-secret",
            marker: "1",
        },
    ).start()
    try:
        credentials = demo.wait_for(
            lambda: re.search(r"Admin user: (\S+)\s+password: (\S+)", demo.log()),
            timeout=90,
            what="the printed admin credentials",
        )
        username, password = credentials.groups()
        base = f"http://127.0.0.1:{web_port}"

        def web_answers():
            try:
                return httpx.get(f"{base}/healthz", timeout=2).status_code == 200
            except httpx.HTTPError:
                return False

        demo.wait_for(web_answers, timeout=60, what="the web process")
        with httpx.Client(base_url=base, timeout=10, follow_redirects=True) as browser:
            login_page = browser.get("/admin/login/")
            token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', login_page.text).group(1)
            index = browser.post(
                "/admin/login/?next=/admin/",
                data={"username": username, "password": password, "csrfmiddlewaretoken": token, "next": "/admin/"},
                headers={"Referer": f"{base}/admin/login/"},
            )
            assert index.status_code == 200
            assert "Log out" in index.text and "Pulse administration" in index.text

        flower = f"http://127.0.0.1:{flower_port}"

        def flower_lists_workers():
            try:
                response = httpx.get(f"{flower}/api/workers?refresh=1", auth=("operator", "demo-secret"), timeout=5)
            except httpx.HTTPError:
                return False
            if response.status_code != 200:
                return False
            # Other workers on the same broker (the test session's) may be listed too.
            names = list(response.json())
            return any(n.startswith("http@") for n in names) and any(n.startswith("browser@") for n in names)

        demo.wait_for(flower_lists_workers, timeout=60, what="Flower to list the http and browser workers")
        assert httpx.get(f"{flower}/api/workers", timeout=5).status_code == 401
        assert "beat: Starting" in demo.log()
    finally:
        # Ctrl-C in a terminal sends SIGINT to the whole foreground group.
        demo.signal_group(signal.SIGINT)
        try:
            demo.process.wait(timeout=30)
        finally:
            leftovers = processes_with_marker(marker)
            demo.stop()
    assert leftovers == [], f"processes left running after Ctrl-C: {leftovers}\n{demo.log_tail()}"
