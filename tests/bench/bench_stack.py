"""Start-up time of the demo stack and idle memory of each process.

Usage:  DATABASE_URL=postgres://postgres@127.0.0.1:5432/pulse_bench .venv/bin/python tests/bench/bench_stack.py
(or `make bench-stack`). Starts deploy/local/demo.sh on free ports, measures the time until the admin
login page answers, Flower lists both workers and beat has started, waits for the stack to settle,
then prints the resident memory of each process (its main process plus its children, e.g. prefork
pool processes), and stops everything with SIGINT as Ctrl-C would.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from scraping.browser_processes import child_pids  # noqa: E402  (reads /proc only; no Django set-up)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def rss_kib(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def descendants(pid: int) -> list[int]:
    return [process for child in child_pids(pid) for process in (child, *descendants(child))]


def main() -> None:
    web_port, flower_port = free_port(), free_port()
    env = {
        **os.environ,
        "DJANGO_DEBUG": "1",
        "PYTHON": sys.executable,
        "PULSE_WEB_PORT": str(web_port),
        "FLOWER_PORT": str(flower_port),
        "FLOWER_BASIC_AUTH": "bench:bench",
    }
    log_path = Path("/tmp/pulse-bench-stack.log")
    started = time.monotonic()
    with open(log_path, "wb") as log:
        demo = subprocess.Popen(
            ["bash", "deploy/local/demo.sh"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    ready = {}
    try:
        deadline = started + 180
        while len(ready) < 3 and time.monotonic() < deadline:
            now = time.monotonic() - started
            if "admin" not in ready:
                try:
                    if httpx.get(f"http://127.0.0.1:{web_port}/admin/login/", timeout=1).status_code == 200:
                        ready["admin"] = now
                except httpx.HTTPError:
                    pass
            if "flower+workers" not in ready:
                try:
                    workers = httpx.get(
                        f"http://127.0.0.1:{flower_port}/api/workers?refresh=1", auth=("bench", "bench"), timeout=3
                    )
                    if workers.status_code == 200 and len(workers.json()) >= 2:
                        ready["flower+workers"] = now
                except (httpx.HTTPError, ValueError):
                    pass
            if "beat" not in ready and "beat: Starting" in log_path.read_text(errors="replace"):
                ready["beat"] = now
            time.sleep(0.2)
        if len(ready) < 3:
            raise SystemExit(f"stack did not come up; see {log_path}")
        time.sleep(15)  # let imports, pools and Flower's first inspect settle before reading memory
        text = log_path.read_text(errors="replace")
        rows = []
        for name, pid in re.findall(r"\| (\S+)\.1 started \(pid=(\d+)\)", text):
            pid = int(pid)
            family = [pid, *descendants(pid)]
            rows.append((name, len(family), sum(rss_kib(p) for p in family) / 1024, rss_kib(pid) / 1024))
    finally:
        os.killpg(demo.pid, signal.SIGINT)
        demo.wait(timeout=60)

    print(f"\nDemo stack start-up on {os.cpu_count()} cores (from launching demo.sh, migrations included):")
    for what, seconds in sorted(ready.items(), key=lambda item: item[1]):
        print(f"  {what:<16} ready after {seconds:5.1f} s")
    print(f"  all ready after  {max(ready.values()):5.1f} s")
    print("\nIdle memory (RSS) per process after 15 s idle:")
    print(f"  {'process':<16}{'processes':>10}{'total MiB':>11}{'main MiB':>10}")
    for name, count, total, main_rss in sorted(rows):
        print(f"  {name:<16}{count:>10}{total:>11.1f}{main_rss:>10.1f}")


if __name__ == "__main__":
    main()
