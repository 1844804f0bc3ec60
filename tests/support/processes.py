"""Start and stop the real processes tests need (worker, beat, Flower, web) and read their logs.

Every process runs in its own process group so that stopping it also stops its children
(prefork pool children, Chromium); a test that fails shows the tail of each process's log.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]


class ManagedProcess:
    def __init__(self, name: str, command: list[str], *, env: dict | None = None, cwd: Path = PROJECT_ROOT):
        self.name = name
        self.command = command
        self.env = {**os.environ, **(env or {})}
        self.cwd = cwd
        self.log_path = Path(tempfile.mkstemp(prefix=f"pulse-{name}-", suffix=".log")[1])
        self.process: subprocess.Popen | None = None

    def start(self) -> ManagedProcess:
        log = open(self.log_path, "ab")  # noqa: SIM115  (kept open for the child's lifetime)
        self.process = subprocess.Popen(
            self.command,
            cwd=self.cwd,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        log.close()
        return self

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def is_running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def log_tail(self, lines: int = 60) -> str:
        return "\n".join(self.log().splitlines()[-lines:])

    def wait_for(self, predicate: Callable[[], object], *, timeout: float, what: str, interval: float = 0.2):
        """Poll ``predicate`` until it returns something truthy; fail with the process log if not."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            result = predicate()
            if result:
                return result
            if not self.is_running():
                raise AssertionError(
                    f"{self.name} exited with {self.process.returncode} while waiting for {what}:\n"
                    f"{self.log_tail()}"
                )
            time.sleep(interval)
        raise AssertionError(f"timed out after {timeout}s waiting for {what}; {self.name} log:\n{self.log_tail()}")

    def wait_for_log(self, text: str, *, timeout: float) -> None:
        self.wait_for(lambda: text in self.log(), timeout=timeout, what=f"{text!r} in the {self.name} log")

    def signal_group(self, signum: int) -> None:
        if self.process is not None:
            try:
                os.killpg(self.process.pid, signum)
            except ProcessLookupError:
                pass

    def stop(self, *, timeout: float = 15.0, signum: int = signal.SIGTERM) -> int | None:
        """Stop gracefully, then kill the whole group if it does not exit in time."""
        if self.process is None:
            return None
        if self.process.poll() is None:
            self.signal_group(signum)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.signal_group(signal.SIGKILL)
                self.process.wait(timeout=10)
        # Children that ignored the signal must not outlive the test.
        self.signal_group(signal.SIGKILL)
        return self.process.returncode


def python_command(*args: str) -> list[str]:
    return [sys.executable, *args]


def celery_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "celery", "-A", "pulse", *args]
