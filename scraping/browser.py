"""The browser pool: one Chromium per worker child process, driven from one dedicated thread.

Why a thread: Playwright's sync API keeps an asyncio loop marked as running on the thread that
started it, for as long as Playwright lives. Django's ORM refuses to run on such a thread
(``SynchronousOnlyOperation``). So the browser lives on its own thread, scrapers hand it a
function (``run_in_browser(work)``), and only plain data comes back to the task's thread, where
the pipeline then uses the ORM.

Life cycle:

1. Nothing starts at import or in the prefork parent. The first ``run_in_browser`` in a process
   starts Playwright and Chromium (``worker_process_init`` only resets state and reaps orphans).
2. Every call gets a fresh browser context (cookies, storage) that is closed in ``finally``.
3. After ``PULSE_BROWSER_RECYCLE_PAGES`` pages the browser is closed and relaunched, which bounds
   the memory a long-lived Chromium accumulates.
4. The Chromium (and Playwright driver) process ids are written to a file under
   ``PULSE_BROWSER_PID_DIR`` named after the owning process. When a child is killed by the hard
   time limit, the next pool start in any process reaps the processes recorded by owners that are
   gone — and only those, checked by pid *and* start time, so nobody else's Chromium is touched.
5. ``worker_process_shutdown`` (and ``atexit``) close the browser and remove the file.
"""

from __future__ import annotations

import atexit
import json
import logging
import os
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from contextlib import suppress
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urljoin

from celery import signals
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from scraping.browser_processes import (  # noqa: F401 - re-exported for tests and benchmarks
    alive,
    child_pids,
    kill_recorded,
    pid_dir,
    process_group_members,
    process_start_time,
    reap_orphans,
    wait_until_gone,
)
from scraping.platforms.base import ScraperError, TransientScraperError
from scraping.platforms.ssrf import BlockedURLError, check_url

logger = logging.getLogger(__name__)

T = TypeVar("T")

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SYSTEM_CHROMIUM = "/usr/bin/chromium"
# Debian's chromium-headless-shell package. The binary itself: its /usr/bin wrapper does not exec,
# so a shell would sit between Playwright and the browser.
SYSTEM_HEADLESS_SHELL = "/usr/lib/chromium/chromium-headless-shell"
# Where `playwright install chromium` puts the headless shell, next to its Chromium (the layout
# changed between Playwright releases; both are looked for).
PLAYWRIGHT_HEADLESS_SHELLS = ("chrome-headless-shell-*/chrome-headless-shell", "chrome-linux/headless_shell")
# Responses a page's scripts can read; their redirects are checked hop by hop (see _guard).
READABLE_RESOURCE_TYPES = {"xhr", "fetch", "eventsource"}
MAX_REDIRECTS = 5
# How long a task waits, after it was interrupted (soft time limit), for the browser thread to
# finish its current step and close the context before the browser is killed outright.
CANCEL_GRACE_SECONDS = 5.0


# --- locating Chromium --------------------------------------------------------------------------
def find_chromium(playwright=None, *, headless: bool = True) -> str:
    """``PULSE_CHROMIUM_PATH``, else Playwright's own browser, else Debian's.

    For headless work the headless shell comes first (Playwright's, then Debian's
    ``chromium-headless-shell``): it is the build Playwright itself uses for headless pages and
    renders a page with about a third of the CPU of full Chromium in headless mode. Full Chromium
    (Playwright's, then ``/usr/bin/chromium``) is used when no shell is installed, or for headed runs.
    """
    configured = settings.PULSE_CHROMIUM_PATH
    if configured:
        if not os.access(configured, os.X_OK):
            raise ImproperlyConfigured(
                f"PULSE_CHROMIUM_PATH={configured!r} is not an executable file. Point it at a Chromium "
                "binary, or unset it to use Playwright's Chromium or /usr/bin/chromium."
            )
        return configured
    candidates = []
    if playwright is not None:
        with suppress(Exception):
            bundled = playwright.chromium.executable_path
            if bundled:
                if headless:
                    candidates += _playwright_headless_shells(Path(bundled))
                candidates.append(bundled)
    if headless:
        candidates.append(SYSTEM_HEADLESS_SHELL)
    candidates.append(SYSTEM_CHROMIUM)
    for candidate in candidates:
        if os.access(candidate, os.X_OK):
            return str(candidate)
    raise ImproperlyConfigured(
        "No Chromium found for the browser platforms. Install one with `python -m playwright install "
        "chromium` (or `apt-get install chromium chromium-headless-shell`), or set PULSE_CHROMIUM_PATH "
        "to a Chromium binary."
    )


def _playwright_headless_shells(bundled: Path) -> list[str]:
    """``…/ms-playwright/chromium-1255/chrome-linux64/chrome`` → the shells of the same revision."""
    browser_directory = bundled.parent.parent  # …/ms-playwright/chromium-1255
    revision = browser_directory.name.rpartition("-")[2]
    shell_directory = browser_directory.parent / f"chromium_headless_shell-{revision}"
    return [str(path) for pattern in PLAYWRIGHT_HEADLESS_SHELLS for path in sorted(shell_directory.glob(pattern))]


# --- the pool -------------------------------------------------------------------------------------
class BrowserPool:
    """One Chromium for this process; all Playwright calls happen on ``self._thread``."""

    def __init__(self):
        self.owner_pid = os.getpid()
        self.owner_start = process_start_time(self.owner_pid)
        self._jobs: queue.SimpleQueue | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        # Everything below is touched only on the browser thread.
        self._playwright = None
        self._browser = None
        self.launches = 0
        self.pages_since_launch = 0
        self.pages_total = 0
        self.open_contexts = 0
        self.processes: list[dict] = []
        self._driver_pids: list[int] = []

    @property
    def record_path(self) -> Path:
        return pid_dir() / f"{self.owner_pid}-{id(self):x}.json"

    # Main-thread side ------------------------------------------------------------------------
    def run(self, work: Callable[[Any], T], *, storage_state: str | None = None) -> T:
        """Run ``work(page)`` in a fresh context on the browser thread and return its result.

        ``work`` must return plain data (no Playwright objects). Playwright failures come back as
        ``ScraperError``s: a timeout or crash is transient, a blocked address permanent.
        """
        future = self._submit(self._run_on_browser_thread, work, storage_state)
        return self._wait(future)

    def stats(self) -> dict:
        return self._wait(self._submit(self._stats))

    def close(self) -> None:
        with self._lock:
            jobs, thread = self._jobs, self._thread
            self._jobs = self._thread = None
        if jobs is None:
            return
        future: Future = Future()
        jobs.put((future, self._close_on_browser_thread, ()))
        jobs.put(None)
        try:
            future.result(timeout=30)
        except Exception as error:  # noqa: BLE001 - closing must not raise; kill what is left
            logger.warning("closing the browser failed (%s); killing its processes", error)
            self._kill_processes(include_driver=True)
        if thread is not None:
            thread.join(timeout=5)

    def _submit(self, function, *args) -> Future:
        if os.getpid() != self.owner_pid:
            raise RuntimeError("BrowserPool used in a forked process; call browser_pool() instead.")
        future: Future = Future()
        with self._lock:
            if self._jobs is None:
                # A plain daemon thread rather than a ThreadPoolExecutor: executors refuse work
                # once interpreter shutdown begins, and the browser must still be closed then.
                self._jobs = queue.SimpleQueue()
                self._thread = threading.Thread(
                    target=self._serve, args=(self._jobs,), name="pulse-browser", daemon=True
                )
                self._thread.start()
            self._jobs.put((future, function, args))
        return future

    @staticmethod
    def _serve(jobs: queue.SimpleQueue) -> None:
        while True:
            job = jobs.get()
            if job is None:
                return
            future, function, args = job
            if not future.set_running_or_notify_cancel():
                continue
            try:
                future.set_result(function(*args))
            except BaseException as error:  # noqa: BLE001 - handed to the waiting thread
                future.set_exception(error)

    def _wait(self, future: Future):
        try:
            # Wait in slices so signals (soft time limit, SIGTERM) are handled promptly.
            while True:
                try:
                    return future.result(timeout=0.5)
                except FutureTimeout:
                    continue
        except BaseException:
            if not future.done():
                # Interrupted (e.g. SoftTimeLimitExceeded): the page step in flight ends by the
                # navigation timeout at worst; if it does not, kill the browser so the context is
                # gone for sure, and let the next task launch a new one.
                try:
                    future.result(timeout=CANCEL_GRACE_SECONDS)
                except BaseException:  # noqa: BLE001
                    pass
                if not future.done():
                    logger.warning("browser did not finish after cancellation; killing it")
                    self._kill_processes()
            raise

    def _kill_processes(self, *, include_driver: bool = False) -> None:
        """Kill this pool's Chromium (and its driver when closing failed); safe from any thread."""
        for process in list(self.processes):
            if process["what"] == "chromium" or include_driver:
                kill_recorded(process)

    # Browser-thread side ---------------------------------------------------------------------
    def _stats(self) -> dict:
        return {
            "launches": self.launches,
            "pages_since_launch": self.pages_since_launch,
            "pages_total": self.pages_total,
            "open_contexts": self.open_contexts,
            "browser_connected": bool(self._browser and self._browser.is_connected()),
            "processes": [dict(process) for process in self.processes],
        }

    def _ensure_browser(self):
        if self._browser is not None and not self._browser.is_connected():
            logger.warning("browser disconnected (crashed or killed); launching a new one")
            self._browser = None
        if self._browser is not None and self.pages_since_launch >= settings.PULSE_BROWSER_RECYCLE_PAGES:
            logger.info("recycling the browser after %s pages", self.pages_since_launch)
            self._close_browser()
        if self._browser is None:
            if self._playwright is None:
                reap_orphans()
                from playwright.sync_api import sync_playwright

                before = set(child_pids(self.owner_pid))
                self._playwright = sync_playwright().start()
                # The driver is the child that appeared just now (another pool may share the process).
                self._driver_pids = [pid for pid in child_pids(self.owner_pid) if pid not in before]
            executable = find_chromium(self._playwright, headless=settings.PULSE_BROWSER_HEADLESS)
            self._browser = self._playwright.chromium.launch(
                executable_path=executable,
                headless=settings.PULSE_BROWSER_HEADLESS,
                args=CHROMIUM_ARGS,
                timeout=settings.PULSE_BROWSER_NAVIGATION_TIMEOUT * 1000,
            )
            self.launches += 1
            self.pages_since_launch = 0
            self._record_processes(executable)
        return self._browser

    def _record_processes(self, executable: str) -> None:
        """Write the driver's and Chromium's pids (with start times) for the orphan reaper."""
        processes = []
        for driver in self._driver_pids:
            processes.append({"pid": driver, "start": process_start_time(driver), "what": "driver"})
            for browser_pid in child_pids(driver):
                is_leader = os.getpgid(browser_pid) == browser_pid
                processes.append(
                    {"pid": browser_pid, "start": process_start_time(browser_pid), "what": "chromium", "group": is_leader}
                )
        self.processes = processes
        record = {"owner_pid": self.owner_pid, "owner_start": self.owner_start, "executable": executable, "processes": processes}
        path = self.record_path
        temporary = path.with_suffix(".tmp")
        temporary.write_text(json.dumps(record))
        temporary.replace(path)

    def _run_on_browser_thread(self, work, storage_state):
        from playwright.sync_api import Error as PlaywrightError
        from playwright.sync_api import TimeoutError as PlaywrightTimeout

        browser = self._ensure_browser()
        blocked: list[BlockedURLError] = []
        redirects: dict[str, str] = {}
        context = browser.new_context(storage_state=storage_state or None, viewport={"width": 1280, "height": 900})
        # Page steps look here to report a refused navigation as such, not as a network error.
        context.pulse_blocked = blocked
        context.pulse_redirects = redirects
        self.open_contexts += 1
        try:
            timeout_ms = settings.PULSE_BROWSER_NAVIGATION_TIMEOUT * 1000
            context.set_default_navigation_timeout(timeout_ms)
            context.set_default_timeout(timeout_ms)
            context.route("**/*", lambda route, request: self._guard(route, request, blocked, redirects))
            context.on("page", lambda page: self._count_page())
            page = context.new_page()
            try:
                return work(page)
            except ScraperError:
                raise
            except PlaywrightTimeout as error:
                raise TransientScraperError(f"The page did not load in time: {first_line(error)}") from None
            except PlaywrightError as error:
                if blocked:
                    raise blocked[0] from None
                if not browser.is_connected():
                    raise TransientScraperError(f"The browser crashed: {first_line(error)}") from None
                raise TransientScraperError(f"The browser could not load the page: {first_line(error)}") from None
        finally:
            with suppress(Exception):
                context.close()
            self.open_contexts -= 1

    def _count_page(self) -> None:
        self.pages_since_launch += 1
        self.pages_total += 1

    @staticmethod
    def _guard(route, request, blocked: list, redirects: dict) -> None:
        """SSRF check for every request the browser makes, including each redirect hop."""
        url = request.url
        if url.startswith(("data:", "blob:", "about:")):
            route.continue_()
            return
        try:
            check_url(url)
        except BlockedURLError as error:
            if request.is_navigation_request():
                blocked.append(error)
            route.abort("blockedbyclient")
            return
        except ScraperError:
            route.abort("namenotresolved")
            return
        if request.is_navigation_request() or request.resource_type in READABLE_RESOURCE_TYPES:
            # Chromium follows redirects itself and routes see only the first URL of a chain,
            # also when the 3xx came from route.fulfill. So for what a page can read (documents,
            # XHR, fetch) the chain is walked here, every Location checked, and the final answer
            # handed to the browser as the answer to the first URL. Fetching only to check and
            # then letting the browser fetch again would let a server answer the two differently.
            # The final URL of each walked chain is kept in context.pulse_redirects.
            hop = url
            try:
                for _ in range(MAX_REDIRECTS + 1):
                    response = route.fetch(url=hop, max_redirects=0)
                    location = response.headers.get("location")
                    if not (300 <= response.status < 400 and location):
                        break
                    hop = urljoin(hop, location)
                    check_url(hop)
                else:
                    raise BlockedURLError(f"Refusing {url!r}: more than {MAX_REDIRECTS} redirects.")
            except BlockedURLError as error:
                if request.is_navigation_request():
                    blocked.append(error)
                route.abort("blockedbyclient")
                return
            except Exception:  # noqa: BLE001 - a network error: let the browser report its own
                route.abort("failed")
                return
            if hop != url:
                redirects[url] = hop
            route.fulfill(response=response)
            return
        route.continue_()

    def _close_browser(self) -> None:
        if self._browser is not None:
            with suppress(Exception):
                self._browser.close()
            self._browser = None
        # Browser.close() waits for Chromium; anything still there is killed, not left behind.
        self._kill_processes()

    def _close_on_browser_thread(self) -> None:
        self._close_browser()
        if self._playwright is not None:
            with suppress(Exception):
                self._playwright.stop()
            self._playwright = None
        self.processes = []
        with suppress(FileNotFoundError):
            self.record_path.unlink()


def first_line(error: BaseException) -> str:
    return (str(error).strip().splitlines() or [type(error).__name__])[0]


_pool: BrowserPool | None = None
_pool_lock = threading.Lock()


def browser_pool() -> BrowserPool:
    """This process's pool, created on first use (a forked child gets its own)."""
    global _pool
    with _pool_lock:
        if _pool is None or _pool.owner_pid != os.getpid():
            _pool = BrowserPool()
        return _pool


def run_in_browser(work: Callable[[Any], T], *, storage_state: str | None = None) -> T:
    """Run ``work(page)`` with a fresh page in a fresh context; see ``BrowserPool.run``."""
    return browser_pool().run(work, storage_state=storage_state)


def close_browser_pool() -> None:
    global _pool
    with _pool_lock:
        pool, _pool = _pool, None
    if pool is not None and pool.owner_pid == os.getpid():
        pool.close()


@signals.worker_process_init.connect
def _reset_in_child(**kwargs):
    """A new pool child: forget any pool object inherited by fork and reap earlier orphans."""
    global _pool
    _pool = None
    with suppress(Exception):
        reap_orphans()


@signals.worker_process_shutdown.connect
def _close_in_child(**kwargs):
    close_browser_pool()


atexit.register(close_browser_pool)
