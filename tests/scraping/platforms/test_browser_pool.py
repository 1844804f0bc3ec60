import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import pytest
from django.core.exceptions import ImproperlyConfigured

from scraping import browser
from scraping.browser import BrowserPool, find_chromium, process_group_members, process_start_time, reap_orphans, wait_until_gone
from scraping.checks import check_browser_timeouts


@pytest.fixture
def pool(browser_settings, tmp_path):
    browser_settings.PULSE_BROWSER_PID_DIR = tmp_path / "browsers"
    created = BrowserPool()
    yield created
    created.close()


def chromium_pids(pool) -> list[int]:
    groups = [process["pid"] for process in pool.stats()["processes"] if process["what"] == "chromium"]
    return [pid for group in groups for pid in process_group_members(group)]


def page_url(settings, number=1):
    return f"{settings.PULSE_SIMULATOR_URL}/bench/page/{number}"


def test_nothing_starts_until_the_first_page_is_asked_for(pool, browser_settings):
    assert pool.stats()["launches"] == 0 and pool.stats()["processes"] == []
    text = pool.run(lambda page: (page.goto(page_url(browser_settings)), page.inner_text("#n"))[1])
    assert text == "page 1"
    assert pool.stats()["launches"] == 1


def test_the_same_browser_serves_many_tasks_each_in_a_fresh_context(pool, browser_settings):
    def visit(page):
        page.goto(page_url(browser_settings))
        page.context.add_cookies([{"name": "seen", "value": "1", "url": browser_settings.PULSE_SIMULATOR_URL}])
        return len(page.context.browser.contexts)

    assert [pool.run(visit) for _ in range(3)] == [1, 1, 1]
    cookies = pool.run(lambda page: page.context.cookies())
    assert cookies == []  # nothing leaks from one task's context to the next
    assert pool.stats()["launches"] == 1


def test_the_browser_is_recycled_after_the_configured_number_of_pages(pool, browser_settings):
    browser_settings.PULSE_BROWSER_RECYCLE_PAGES = 2
    pool.run(lambda page: page.goto(page_url(browser_settings)))
    first_chromium = chromium_pids(pool)
    for number in range(4):
        pool.run(lambda page: page.goto(page_url(browser_settings, number)))
    stats = pool.stats()
    assert stats["launches"] == 3  # pages 1-2, 3-4, 5
    assert stats["pages_total"] == 5
    assert wait_until_gone(first_chromium) == []


def test_the_context_is_closed_after_the_work_raises(pool, browser_settings):
    def explode(page):
        page.goto(page_url(browser_settings))
        raise ValueError("scraper bug")

    with pytest.raises(ValueError, match="scraper bug"):
        pool.run(explode)
    assert pool.stats()["open_contexts"] == 0
    assert pool.run(lambda page: len(page.context.browser.contexts)) == 1


def test_no_chromium_is_left_after_the_pool_closes(pool, browser_settings, tmp_path):
    pool.run(lambda page: page.goto(page_url(browser_settings)))
    pids = chromium_pids(pool)
    driver = [process["pid"] for process in pool.stats()["processes"] if process["what"] == "driver"]
    assert pids and driver
    pool.close()
    assert wait_until_gone(pids + driver) == []
    assert list((tmp_path / "browsers").glob("*.json")) == []


@pytest.mark.django_db
def test_the_orm_works_on_the_task_thread_while_the_browser_runs(pool, browser_settings):
    from scraping.models import Search

    pool.run(lambda page: page.goto(page_url(browser_settings)))
    with pytest.raises(RuntimeError):
        asyncio.get_running_loop()
    assert Search.objects.count() == 0  # would raise SynchronousOnlyOperation inside a running loop


def test_chromium_left_by_a_killed_owner_is_reaped_and_nothing_else(browser_settings, tmp_path):
    pid_dir = tmp_path / "browsers"
    browser_settings.PULSE_BROWSER_PID_DIR = pid_dir
    owner = subprocess.Popen(
        [sys.executable, "-c",
         "import django; django.setup(); from scraping.browser import run_in_browser; import time; "
         f"run_in_browser(lambda page: page.goto({page_url(browser_settings)!r})); print('ready', flush=True); time.sleep(60)"],
        env={**os.environ, "PULSE_BROWSER_PID_DIR": str(pid_dir)}, stdout=subprocess.PIPE, text=True,
    )
    bystander = subprocess.Popen(["sleep", "30"])
    try:
        assert owner.stdout.readline().strip() == "ready"
        record = json.loads(next(pid_dir.glob("*.json")).read_text())
        chromium = [p for p in record["processes"] if p["what"] == "chromium"]
        driver = [p["pid"] for p in record["processes"] if p["what"] == "driver"]
        members = [pid for process in chromium for pid in process_group_members(process["pid"])]
        # Chromium normally quits when its driver's pipe closes; a hung one does not. Stop it so
        # it cannot, then hard-kill the owner and its driver, as a hard time limit might.
        for process in chromium:
            os.killpg(process["pid"], signal.SIGSTOP)
        for pid in [owner.pid, *driver]:
            os.kill(pid, signal.SIGKILL)
        owner.wait()
        assert [pid for pid in members if process_start_time(pid) is not None]
        assert reap_orphans() >= 1
        assert wait_until_gone(members) == []
        assert list(pid_dir.glob("*.json")) == []
        assert bystander.poll() is None
    finally:
        owner.kill()
        bystander.kill()


def test_the_reaper_skips_a_recorded_pid_that_now_belongs_to_another_process(browser_settings, tmp_path):
    browser_settings.PULSE_BROWSER_PID_DIR = tmp_path
    bystander = subprocess.Popen(["sleep", "30"])
    try:
        # Owner gone, and the recorded pid was reused by an unrelated process (start time differs).
        record = {"owner_pid": 999_999_999, "owner_start": 1, "processes": [
            {"pid": bystander.pid, "start": (process_start_time(bystander.pid) or 0) + 1, "what": "chromium", "group": False}
        ]}
        (tmp_path / "999999999-1.json").write_text(json.dumps(record))
        assert reap_orphans() == 0
        time.sleep(0.2)
        assert bystander.poll() is None
    finally:
        bystander.kill()


def test_a_configured_chromium_path_that_is_not_executable_is_a_clear_error(settings, tmp_path):
    settings.PULSE_CHROMIUM_PATH = str(tmp_path / "chromium")
    with pytest.raises(ImproperlyConfigured, match="PULSE_CHROMIUM_PATH=.*not an executable"):
        find_chromium()


def executable(path: Path) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("#!/bin/sh\n")
    path.chmod(0o755)
    return str(path)


def test_without_a_setting_headless_work_prefers_debians_headless_shell(settings, monkeypatch, tmp_path):
    settings.PULSE_CHROMIUM_PATH = ""
    shell = executable(tmp_path / "lib" / "chromium-headless-shell")
    full = executable(tmp_path / "bin" / "chromium")
    monkeypatch.setattr(browser, "SYSTEM_HEADLESS_SHELL", shell)
    monkeypatch.setattr(browser, "SYSTEM_CHROMIUM", full)
    assert find_chromium(headless=True) == shell
    assert find_chromium(headless=False) == full  # the shell cannot show a window
    Path(shell).unlink()
    assert find_chromium(headless=True) == full


@pytest.mark.parametrize(
    "shell_path",
    [
        "chromium_headless_shell-1255/chrome-headless-shell-linux64/chrome-headless-shell",
        "chromium_headless_shell-1255/chrome-linux/headless_shell",
    ],
)
def test_playwrights_own_headless_shell_comes_before_its_chromium(settings, monkeypatch, tmp_path, shell_path):
    settings.PULSE_CHROMIUM_PATH = ""
    monkeypatch.setattr(browser, "SYSTEM_HEADLESS_SHELL", "/nonexistent/shell")
    full = executable(tmp_path / "ms-playwright" / "chromium-1255" / "chrome-linux64" / "chrome")
    # Another revision's shell must not be picked for this Chromium.
    executable(tmp_path / "ms-playwright" / "chromium_headless_shell-1200" / "chrome-linux" / "headless_shell")
    playwright = SimpleNamespace(chromium=SimpleNamespace(executable_path=full))
    assert find_chromium(playwright, headless=True) == full
    shell = executable(tmp_path / "ms-playwright" / shell_path)
    assert find_chromium(playwright, headless=True) == shell
    assert find_chromium(playwright, headless=False) == full


def test_the_timeouts_must_be_layered(settings):
    settings.PULSE_BROWSER_NAVIGATION_TIMEOUT = 30
    settings.PULSE_TASK_SOFT_TIME_LIMIT = 300
    settings.PULSE_TASK_TIME_LIMIT = 360
    assert check_browser_timeouts() == []
    settings.PULSE_BROWSER_NAVIGATION_TIMEOUT = 300
    assert [error.id for error in check_browser_timeouts()] == ["pulse.E101"]


def test_with_no_chromium_anywhere_the_error_says_how_to_install_one(settings, monkeypatch):
    settings.PULSE_CHROMIUM_PATH = ""
    monkeypatch.setattr(browser, "SYSTEM_CHROMIUM", "/nonexistent/chromium")
    monkeypatch.setattr(browser, "SYSTEM_HEADLESS_SHELL", "/nonexistent/chromium-headless-shell")
    with pytest.raises(ImproperlyConfigured, match="playwright install chromium.*PULSE_CHROMIUM_PATH"):
        find_chromium(playwright=None)
