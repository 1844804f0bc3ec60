"""Processes of the browser pool: reading /proc, recording Chromium, reaping orphans.

A worker child killed by the hard time limit cannot close its browser. Its Chromium usually quits
by itself when the Playwright driver's pipe closes, but a hung one does not. Each pool therefore
records the driver's and Chromium's pids *with their start times* in ``PULSE_BROWSER_PID_DIR``;
the next pool start (in any process) kills what records of dead owners name — and only those
exact processes, so a reused pid or somebody else's Chromium is never touched.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import time
from contextlib import suppress
from pathlib import Path

from django.conf import settings

logger = logging.getLogger(__name__)


# --- /proc helpers ------------------------------------------------------------------------------
def process_start_time(pid: int) -> int | None:
    """Start time of ``pid`` in clock ticks since boot (field 22 of /proc/pid/stat), or None."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    fields = stat.rsplit(")", 1)[1].split()
    if fields[0] == "Z":  # a zombie is as good as gone
        return None
    return int(fields[19])


def process_parent(pid: int) -> int | None:
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    except (FileNotFoundError, ProcessLookupError, PermissionError, IndexError, ValueError):
        return None


def child_pids(parent: int) -> list[int]:
    children = []
    for entry in os.listdir("/proc"):
        if entry.isdigit() and process_parent(int(entry)) == parent:
            children.append(int(entry))
    return children


def process_group_members(pgid: int) -> list[int]:
    members = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            if os.getpgid(int(entry)) == pgid and process_start_time(int(entry)) is not None:
                members.append(int(entry))
        except (ProcessLookupError, PermissionError):
            continue
    return members


def alive(pid: int, start_time: int | None) -> bool:
    return start_time is not None and process_start_time(pid) == start_time


# --- orphan reaping -----------------------------------------------------------------------------
def pid_dir() -> Path:
    path = Path(settings.PULSE_BROWSER_PID_DIR)
    path.mkdir(parents=True, exist_ok=True)
    return path


def reap_orphans() -> int:
    """Kill browser processes recorded by pool owners that no longer run. Returns how many."""
    killed = 0
    for record_path in pid_dir().glob("*.json"):
        try:
            record = json.loads(record_path.read_text())
        except (OSError, ValueError):
            continue
        if alive(record["owner_pid"], record["owner_start"]):
            continue
        for process in record.get("processes", []):
            if kill_recorded(process):
                killed += 1
                logger.warning("reaped orphaned browser process %s (%s)", process["pid"], process.get("what"))
        with suppress(FileNotFoundError):
            record_path.unlink()
    return killed


def kill_recorded(process: dict) -> bool:
    """SIGKILL one recorded process (its whole group when it leads one) if it is still that process."""
    if not alive(process["pid"], process["start"]):
        return False
    with suppress(ProcessLookupError, PermissionError):
        if process.get("group"):
            # Playwright starts Chromium as a process-group leader; the group holds its zygote,
            # renderers and GPU helper.
            os.killpg(process["pid"], signal.SIGKILL)
        else:
            os.kill(process["pid"], signal.SIGKILL)
        return True
    return False


def wait_until_gone(pids: list[int], *, timeout: float = 10.0) -> list[int]:
    """The pids still alive after ``timeout`` seconds (polling), for tests and benchmarks."""
    deadline = time.monotonic() + timeout
    remaining = list(pids)
    while remaining and time.monotonic() < deadline:
        remaining = [pid for pid in remaining if process_start_time(pid) is not None]
        if remaining:
            time.sleep(0.1)
    return remaining
