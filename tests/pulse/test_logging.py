"""Structured logs: JSON or text, and every line a task logs carries its search id and platform."""

from __future__ import annotations

import json
import logging
import uuid

import pytest

from pulse.celery import app
from pulse.logging import JsonFormatter, TaskContextFilter, context_from_task_call, task_context
from scraping.models import Search
from tests.support.factories import make_search


def make_record(message: str = "hello") -> logging.LogRecord:
    record = logging.LogRecord("pulse.test", logging.INFO, __file__, 1, message, None, None)
    TaskContextFilter().filter(record)
    return record


@pytest.fixture
def in_task():
    token = task_context.set(
        {"task_id": "t-1", "task_name": "pulse.scrape_platform", "search_id": "s-1", "platform": "youtube"}
    )
    yield
    task_context.reset(token)


def test_a_json_line_carries_the_task_fields(in_task):
    line = json.loads(JsonFormatter("%(asctime)s %(levelname)s %(name)s %(message)s").format(make_record()))
    assert line["message"] == "hello" and line["levelname"] == "INFO" and line["name"] == "pulse.test"
    assert (line["search_id"], line["platform"], line["task_name"]) == (
        "s-1",
        "youtube",
        "pulse.scrape_platform",
    )


def test_a_json_line_outside_a_task_has_no_empty_task_fields():
    line = json.loads(JsonFormatter("%(message)s").format(make_record()))
    assert line == {"message": "hello"}


def test_a_readable_line_shows_the_search_and_platform(in_task):
    formatter = logging.Formatter("%(levelname)s %(name)s:%(task_context)s %(message)s")
    assert formatter.format(make_record()) == "INFO pulse.test: [search_id=s-1 platform=youtube] hello"


def test_a_readable_line_outside_a_task_stays_plain():
    formatter = logging.Formatter("%(name)s:%(task_context)s %(message)s")
    assert formatter.format(make_record()) == "pulse.test: hello"


@pytest.mark.django_db
def test_a_run_id_is_resolved_to_its_platform_and_search():
    search = make_search(platforms=("instagram",))
    run = search.platform_runs.get()
    context = context_from_task_call(
        task_name="pulse.scrape_platform", task_id="t", args=(run.pk,), kwargs={}
    )
    assert (context["platform"], context["search_id"]) == ("instagram", str(search.pk))
    unknown = context_from_task_call(task_name="x", task_id="t", args=(), kwargs={"run_id": 987654})
    assert unknown == {"task_id": "t", "task_name": "x"}


def test_the_finalize_tasks_positional_search_id_is_used():
    context = context_from_task_call(task_name="pulse.finalize_search", task_id="t", args=("abc",), kwargs={})
    assert context["search_id"] == "abc"
    other = context_from_task_call(task_name="tests.add", task_id="t", args=(1, 2), kwargs={})
    assert "search_id" not in other


def test_log_format_must_be_json_or_text(monkeypatch):
    import subprocess
    import sys

    from tests.support.processes import PROJECT_ROOT

    finished = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        env={**__import__("os").environ, "LOG_FORMAT": "xml"},
        timeout=60,
    )
    assert finished.returncode != 0
    assert "LOG_FORMAT='xml' is not a log format. Use json or text." in finished.stderr


@pytest.mark.slow
def test_every_line_a_task_logs_on_a_real_worker_carries_its_search_id_and_platform(worker):
    search = make_search(platforms=("facebook",), status=Search.Status.RUNNING, finished_ago=None)
    run = search.platform_runs.get()
    marker = f"working on it {uuid.uuid4().hex}"
    result = app.send_task("tests.log_message", args=[marker], kwargs={"run_id": run.pk}, queue="http")
    result.get(timeout=20)

    def json_lines():
        lines = []
        for text in worker.log().splitlines():
            try:
                lines.append(json.loads(text))
            except ValueError:
                continue  # Celery's start-up banner is printed, not logged
        return lines

    task_line = worker.wait_for(
        lambda: next((line for line in json_lines() if line.get("message") == marker), None),
        timeout=10,
        what="the task's log line",
    )
    assert task_line["search_id"] == str(search.pk)
    assert task_line["platform"] == "facebook"
    assert task_line["task_id"] == result.id and task_line["task_name"] == "tests.log_message"
    succeeded = worker.wait_for(
        lambda: next(
            (
                line
                for line in json_lines()
                if result.id in line.get("message", "") and "succeeded" in line.get("message", "")
            ),
            None,
        ),
        timeout=10,
        what="Celery's 'succeeded' line",
    )
    assert succeeded["search_id"] == str(search.pk)  # Celery's own lines go through Django's logging too


@pytest.mark.slow
def test_a_real_search_logs_its_platform_runs_with_search_id_and_platform(worker):
    keyword = f"kw{uuid.uuid4().hex[:10]}"
    result = app.send_task("pulse.search", kwargs={"keywords": [keyword], "platforms": ["test-ok"]})
    search_id = result.get(timeout=60)["search_id"]

    def platform_lines():
        lines = []
        for text in worker.log().splitlines():
            try:
                line = json.loads(text)
            except ValueError:
                continue
            if line.get("search_id") == search_id and line.get("task_name") == "pulse.scrape_platform":
                lines.append(line)
        return lines

    lines = worker.wait_for(platform_lines, timeout=10, what="log lines of the search's platform run")
    assert {line["platform"] for line in lines} == {"test-ok"}
    # The finalize step's lines carry the search id too (its argument, given positionally).
    worker.wait_for(
        lambda: [
            line
            for line in json_lines_of(worker)
            if line.get("task_name") == "pulse.finalize_search" and line.get("search_id") == search_id
        ],
        timeout=10,
        what="log lines of the search's finalize task",
    )


def json_lines_of(worker) -> list[dict]:
    lines = []
    for text in worker.log().splitlines():
        try:
            lines.append(json.loads(text))
        except ValueError:
            continue
    return lines


@pytest.mark.django_db
def test_a_platform_task_that_names_its_platform_and_search_needs_no_query(django_assert_num_queries):
    with django_assert_num_queries(0):
        context = context_from_task_call(
            task_name="pulse.scrape_platform", task_id="t", args=(42,), kwargs={"platform": "news", "search_id": "s1"}
        )
    assert context["platform"] == "news" and context["search_id"] == "s1"
