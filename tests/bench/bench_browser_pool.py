"""Browser pool figures: pages per minute pooled vs a browser per task, RSS after 1,000 pages,
orphaned Chromium after hard kills.

Run:  DATABASE_URL=... REDIS_URL=... .venv/bin/python tests/bench/bench_browser_pool.py [--pages 60] [--rss-pages 1000] [--kills 3]

Everything runs in this process (one "browser worker") against an in-process simulator serving
its tiny benchmark pages, so the figures measure the browser, not the network or Celery.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402

from scraping.browser import (  # noqa: E402
    BrowserPool,
    process_group_members,
    process_start_time,
    reap_orphans,
    wait_until_gone,
)
from scraping.simulator.server import make_server  # noqa: E402

print = functools.partial(print, flush=True)  # noqa: A001 - figures appear as they are measured


def rss_kib(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except FileNotFoundError:
        pass
    return 0


def browser_rss_kib(pool: BrowserPool) -> int:
    total = 0
    for process in pool.stats()["processes"]:
        members = process_group_members(process["pid"]) if process.get("group") else [process["pid"]]
        total += sum(rss_kib(pid) for pid in members)
    return total


def visit(url: str):
    return lambda page: page.goto(url)


def pooled_rate(base: str, pages: int) -> float:
    pool = BrowserPool()
    try:
        pool.run(visit(f"{base}/bench/page/warmup"))  # the launch is paid once, outside the timing
        started = time.perf_counter()
        for number in range(pages):
            pool.run(visit(f"{base}/bench/page/{number}"))
        return pages / (time.perf_counter() - started) * 60
    finally:
        pool.close()


def per_task_rate(base: str, pages: int) -> float:
    started = time.perf_counter()
    for number in range(pages):
        pool = BrowserPool()  # what a worker without a pool does: launch, visit, quit
        try:
            pool.run(visit(f"{base}/bench/page/{number}"))
        finally:
            pool.close()
    return pages / (time.perf_counter() - started) * 60


def rss_after(base: str, pages: int) -> dict:
    pool = BrowserPool()
    try:
        pool.run(visit(f"{base}/bench/page/0"))
        start = {"python": rss_kib(os.getpid()), "browser": browser_rss_kib(pool)}
        for number in range(1, pages):
            pool.run(visit(f"{base}/bench/page/{number}"))
        end = {"python": rss_kib(os.getpid()), "browser": browser_rss_kib(pool)}
        return {"start": start, "end": end, "launches": pool.stats()["launches"]}
    finally:
        pool.close()


def orphans_after_kills(base: str, kills: int, *, kill_driver: bool, hang: bool = False) -> tuple[int, int]:
    """Start owners that hold a page open, SIGKILL them (and their driver when asked) like a hard
    time limit does, then count Chromium processes still alive before and after the reaper."""
    leftover = []
    for _ in range(kills):
        owner = subprocess.Popen(
            [sys.executable, "-c",
             "import django; django.setup(); from scraping.browser import run_in_browser; import time;"
             f"run_in_browser(lambda page: page.goto('{base}/bench/page/held')); print('ready', flush=True); time.sleep(120)"],
            cwd=ROOT,
            env={
                **os.environ,
                "PULSE_BROWSER_PID_DIR": str(settings.PULSE_BROWSER_PID_DIR),
                "PULSE_SIMULATOR_URL": base,
            },
            stdout=subprocess.PIPE,
            text=True,
        )
        if owner.stdout.readline().strip() != "ready":
            owner.kill()
            raise SystemExit("a browser owner process failed to open its page; see its output above")
        record_path = next(Path(settings.PULSE_BROWSER_PID_DIR).glob(f"{owner.pid}-*.json"))
        record = json.loads(record_path.read_text())
        chromium = [p["pid"] for p in record["processes"] if p["what"] == "chromium"]
        drivers = [p["pid"] for p in record["processes"] if p["what"] == "driver"]
        members = [pid for group in chromium for pid in process_group_members(group)]
        if hang:  # a hung Chromium does not notice its driver's pipe closing
            for group in chromium:
                os.killpg(group, signal.SIGSTOP)
        for pid in [owner.pid, *(drivers if kill_driver else [])]:
            os.kill(pid, signal.SIGKILL)
        owner.wait()
        leftover += members
    time.sleep(3)  # give Playwright's own clean-up (when its driver survived) time to act
    before = [pid for pid in leftover if process_start_time(pid) is not None]
    reap_orphans()
    after = wait_until_gone(before, timeout=10)
    return len(before), len(after)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=60, help="pages for the pooled vs per-task comparison")
    parser.add_argument("--rss-pages", type=int, default=1000, help="pages before measuring RSS")
    parser.add_argument("--kills", type=int, default=3, help="owners hard-killed per orphan scenario")
    parser.add_argument("--orphans-only", action="store_true", help="measure only the orphan scenarios")
    arguments = parser.parse_args()

    server = make_server("127.0.0.1", 0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    settings.PULSE_SIMULATOR_URL = server.url
    settings.PULSE_BROWSER_PID_DIR = Path(tempfile.mkdtemp(prefix="pulse-bench-browsers-"))
    print(f"Browser pool: recycle every {settings.PULSE_BROWSER_RECYCLE_PAGES} pages; simulator {server.url}")

    if arguments.orphans_only:
        report_orphans(server.url, arguments.kills)
        return
    pooled = pooled_rate(server.url, arguments.pages)
    fresh = per_task_rate(server.url, arguments.pages)
    print(f"pages/minute, one browser worker, {arguments.pages} pages each:")
    print(f"  pooled browser (fresh context per task): {pooled:8.0f}")
    print(f"  browser launched per task:               {fresh:8.0f}")
    print(f"  speed-up: {pooled / fresh:.1f}x")

    rss = rss_after(server.url, arguments.rss_pages)
    print(f"RSS after {arguments.rss_pages} pages (pooled, {rss['launches']} launches):")
    print(f"  worker process: {rss['start']['python'] / 1024:6.1f} MiB after 1 page -> {rss['end']['python'] / 1024:6.1f} MiB")
    print(f"  driver+Chromium: {rss['start']['browser'] / 1024:6.1f} MiB after 1 page -> {rss['end']['browser'] / 1024:6.1f} MiB")

    report_orphans(server.url, arguments.kills)
    server.shutdown()


def report_orphans(base: str, kills: int) -> None:
    scenarios = (
        (False, False, "SIGKILL of the worker child"),
        (True, False, "SIGKILL of the child and its Playwright driver"),
        (True, True, "SIGKILL of child and driver while Chromium hangs (SIGSTOP)"),
    )
    for kill_driver, hang, label in scenarios:
        before, after = orphans_after_kills(base, kills, kill_driver=kill_driver, hang=hang)
        print(f"orphan Chromium processes after {kills}x {label}: {before} before the reaper, {after} after")


if __name__ == "__main__":
    main()
