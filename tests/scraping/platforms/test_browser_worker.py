"""The browser pool inside a real prefork worker: time limits never leave Chromium behind."""

import pytest
from celery.exceptions import SoftTimeLimitExceeded, TimeLimitExceeded

from scraping.browser import process_group_members, wait_until_gone
from tests.conftest import start_worker

pytestmark = pytest.mark.slow
BROWSER_TEST_QUEUE = "pulse-test-browser"


def recorded_pids(processes: list[dict], *, with_driver: bool = True) -> list[int]:
    pids = [process["pid"] for process in processes if process["what"] == "driver" and with_driver]
    for process in processes:
        if process["what"] == "chromium":
            pids += process_group_members(process["pid"]) or [process["pid"]]
    return pids


@pytest.fixture(scope="module")
def browser_worker(simulator, django_db_setup, django_db_blocker, tmp_path_factory):
    pid_dir = tmp_path_factory.mktemp("browsers")
    # Its own queue: the session worker also consumes "browser" but does not load these test tasks.
    worker, _ = start_worker(
        queues=BROWSER_TEST_QUEUE,
        concurrency=1,
        name="browser",
        extra_env={"PULSE_BROWSER_PID_DIR": str(pid_dir)},
        extra_args=("--include", "tests.support.browser_tasks"),
    )
    worker.pid_dir = pid_dir
    worker.page = f"{simulator}/bench/page/1"
    yield worker
    worker.stop()


def visit(worker, hold_seconds=0, queue=BROWSER_TEST_QUEUE, **options):
    from tests.support.browser_tasks import browser_visit

    return browser_visit.apply_async(args=[worker.page, hold_seconds], queue=queue, **options)


def test_a_browser_task_killed_by_the_hard_time_limit_leaves_no_orphan_chromium(browser_worker):
    first = visit(browser_worker).get(timeout=90)
    assert first["text"] == "page 1"
    browser_processes = recorded_pids(first["processes"])
    assert browser_processes

    # Soft limit 3 s would start a 5 s clean-up grace; the hard kill at 4 s lands in the middle of it.
    with pytest.raises(TimeLimitExceeded):
        visit(browser_worker, 60, soft_time_limit=3, time_limit=4).get(timeout=90)
    assert wait_until_gone(browser_processes, timeout=20) == [], "Chromium outlived its killed worker child"

    # The replacement child starts its own browser on demand and works normally.
    after = visit(browser_worker).get(timeout=90)
    assert after["worker_pid"] != first["worker_pid"]


def test_a_soft_time_limit_during_a_page_closes_the_browser_work_and_the_child_goes_on(browser_worker):
    before = visit(browser_worker).get(timeout=90)
    with pytest.raises(SoftTimeLimitExceeded):
        visit(browser_worker, 60, soft_time_limit=2, time_limit=30).get(timeout=90)
    # The page step could not finish, so the pool killed that browser instead of leaving it busy
    # (the Playwright driver stays: the next task launches a new browser through it).
    assert wait_until_gone(recorded_pids(before["processes"], with_driver=False), timeout=20) == []
    after = visit(browser_worker).get(timeout=90)
    assert after["worker_pid"] == before["worker_pid"]
    assert after["text"] == "page 1"


def test_stopping_the_worker_closes_its_browser(simulator, django_db_setup, tmp_path):
    # A queue of its own: the module's browser worker must not take this visit, or the test would
    # watch that worker's Chromium instead of this one's.
    stop_queue = f"{BROWSER_TEST_QUEUE}-stop"
    worker, _ = start_worker(
        queues=stop_queue, concurrency=1, name="browser-stop",
        extra_env={"PULSE_BROWSER_PID_DIR": str(tmp_path)},
        extra_args=("--include", "tests.support.browser_tasks"),
    )
    worker.page = f"{simulator}/bench/page/1"
    try:
        result = visit(worker, queue=stop_queue).get(timeout=90)
    finally:
        # A warm shutdown closes the pool in worker_process_shutdown; allow for a loaded machine
        # before stop() falls back to SIGKILL (which would skip that and leave the record behind).
        returncode = worker.stop(timeout=60)
    assert returncode == 0, worker.log_tail()
    # Chromium runs in its own process group, so the worker's group kill would not reach it.
    assert wait_until_gone(recorded_pids(result["processes"]), timeout=20) == []
    assert list(tmp_path.glob("*.json")) == [], "the pool did not remove its record on a clean shutdown"
