"""/api/v1/schedules: create, read, change, delete, pause, resume and run scheduled searches."""

from __future__ import annotations

import pytest
from django_celery_beat.models import PeriodicTask

import tests.support.scrapers  # noqa: F401  (registers the test platforms used below)
from schedules.models import ScheduledSearch
from scraping.models import Search
from tests.support.api import bearer, key_for, superuser_api_caller, superuser_key, user_with

pytestmark = pytest.mark.django_db

PLATFORM = "test-ok"


@pytest.fixture
def api(client):
    """The test client, sending a superuser's key; calls return (status, json or None)."""
    return superuser_api_caller(client)


def entry(**overrides) -> dict:
    return {
        "name": "SSM news",
        "keywords": ["SSM"],
        "platforms": [PLATFORM],
        "schedule": {"cron": "0 9 * * 1-5"},
        "timezone": "Asia/Kuala_Lumpur",
        **overrides,
    }


def test_creating_a_schedule_returns_it_in_words_with_its_next_runs(api):
    status, body = api("post", "/schedules", entry())
    assert status == 201, body
    row = ScheduledSearch.objects.get(name="SSM news")
    assert body["id"] == row.pk
    assert body["schedule"] == {"cron": "0 9 * * 1-5"}
    assert "09:00" in body["schedule_in_words"] and "Monday through Friday" in body["schedule_in_words"]
    assert len(body["next_runs"]) == 5
    assert all(run.endswith("+08:00") for run in body["next_runs"]), body["next_runs"]
    assert (body["lookback_hours"], body["enabled"], body["on_failure"]) == (24, True, None)
    assert body["url"].endswith(f"/api/v1/schedules/{row.pk}")
    assert row.periodic_task.crontab.hour == "9"


def test_an_entry_of_the_export_file_can_be_posted_as_it_is(api):
    status, first = api("post", "/schedules", entry(name="first", lookback_hours=6, enabled=False))
    assert status == 201
    from schedules.selectors import schedule_as_dict

    exported = schedule_as_dict(scheduled_search=ScheduledSearch.objects.get(name="first"))
    status, copy = api("post", "/schedules", {**exported, "name": "second"})
    assert status == 201, copy
    same = {key: value for key, value in exported.items() if key != "name"}
    assert {key: copy[key] for key in same} == same


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"schedule": {"cron": "61 * * * *"}}, "schedule"),
        ({"schedule": {"every": 0, "period": "hours"}}, "schedule"),
        ({"schedule": {"every": 10**30, "period": "hours"}}, "schedule"),
        ({"schedule": {"sometimes": True}}, "schedule"),
        ({"platforms": ["myspace"]}, "platforms"),
        ({"keywords": []}, "keywords"),
        ({"timezone": "Mars/Olympus"}, "timezone"),
        ({"lookback_hours": -1}, "lookback_hours"),
        ({"lookback_hours": 1e300}, "lookback_hours"),
        ({"on_failure": {"run": "nobody"}}, "on_failure"),
        ({"on_failure": "explode"}, "on_failure"),
        ({"on_success": "no such schedule"}, "on_success"),
        ({"misfire_policy": "sometimes"}, "misfire_policy"),
        ({"colour": "blue"}, "colour"),
    ],
    ids=lambda value: value if isinstance(value, str) else next(iter(value)),
)
def test_a_bad_entry_gets_422_naming_the_field_and_creates_nothing(api, overrides, field):
    status, body = api("post", "/schedules", entry(**overrides))
    assert status == 422, body
    assert field in body["errors"], body
    assert body["errors"][field][0]
    assert not ScheduledSearch.objects.exists()
    assert not PeriodicTask.objects.filter(task="pulse.scheduled_search").exists()


def test_a_second_schedule_with_the_same_name_is_refused(api):
    assert api("post", "/schedules", entry())[0] == 201
    status, body = api("post", "/schedules", entry(schedule={"every": 5, "period": "minutes"}))
    assert status == 422
    assert "name" in body["errors"]
    assert ScheduledSearch.objects.count() == 1


def test_the_list_is_paginated_by_name_with_a_total(api):
    for name in ("c", "a", "d", "b"):
        assert api("post", "/schedules", entry(name=name))[0] == 201
    status, page = api("get", "/schedules?limit=2&offset=1")
    assert status == 200
    assert (page["total"], page["limit"], page["offset"]) == (4, 2, 1)
    assert [item["name"] for item in page["items"]] == ["b", "c"]


def test_reading_one_schedule_and_an_unknown_one(api):
    _status, created = api("post", "/schedules", entry())
    status, body = api("get", f"/schedules/{created['id']}")
    assert status == 200
    assert body == created | {"next_runs": body["next_runs"]}
    assert api("get", "/schedules/987654")[0] == 404


def test_put_replaces_every_field_and_resets_those_left_out(api):
    _status, other = api("post", "/schedules", entry(name="other"))
    _status, created = api("post", "/schedules", entry(on_success="other", lookback_hours=2))
    status, body = api(
        "put", f"/schedules/{created['id']}", entry(name="renamed", schedule={"every": 2, "period": "hours"})
    )
    assert status == 200, body
    assert (body["name"], body["schedule"], body["on_success"], body["lookback_hours"]) == (
        "renamed", {"every": 2, "period": "hours"}, None, 24,
    )
    row = ScheduledSearch.objects.get(pk=created["id"])
    assert row.periodic_task.interval is not None and row.periodic_task.crontab is None
    assert row.periodic_task.name == "renamed"


def test_patch_changes_only_the_fields_sent(api):
    _status, created = api("post", "/schedules", entry())
    crontab_before = ScheduledSearch.objects.get(pk=created["id"]).periodic_task.crontab_id
    status, body = api("patch", f"/schedules/{created['id']}", {"keywords": ["SSM", "Suruhanjaya"]})
    assert status == 200, body
    assert body["keywords"] == ["SSM", "Suruhanjaya"]
    assert body["schedule"] == created["schedule"] and body["name"] == created["name"]
    assert ScheduledSearch.objects.get(pk=created["id"]).periodic_task.crontab_id == crontab_before


def test_patching_the_timing_changes_the_beat_entry(api):
    _status, created = api("post", "/schedules", entry())
    status, body = api("patch", f"/schedules/{created['id']}", {"schedule": {"cron": "*/15 * * * *"}})
    assert status == 200
    assert body["schedule"] == {"cron": "*/15 * * * *"}
    assert ScheduledSearch.objects.get(pk=created["id"]).periodic_task.crontab.minute == "*/15"


def test_patch_refuses_null_for_a_field_that_needs_a_value(api):
    _status, created = api("post", "/schedules", entry())
    status, body = api("patch", f"/schedules/{created['id']}", {"name": None, "keywords": None})
    assert status == 422
    assert set(body["errors"]) == {"name", "keywords"}
    assert ScheduledSearch.objects.get(pk=created["id"]).name == "SSM news"


def test_follow_ups_are_set_and_shown_by_name(api):
    api("post", "/schedules", entry(name="after success"))
    api("post", "/schedules", entry(name="after failure"))
    status, body = api(
        "post", "/schedules", entry(on_success="after success", on_failure={"run": "after failure"})
    )
    assert status == 201, body
    assert (body["on_success"], body["on_failure"]) == ("after success", {"run": "after failure"})
    status, body = api("patch", f"/schedules/{body['id']}", {"on_failure": "alert", "on_success": None})
    assert (body["on_success"], body["on_failure"]) == (None, "alert")


def test_delete_removes_the_schedule_and_its_beat_entry(api):
    _status, created = api("post", "/schedules", entry())
    periodic_task_id = ScheduledSearch.objects.get(pk=created["id"]).periodic_task_id
    assert api("delete", f"/schedules/{created['id']}") == (204, None)
    assert not ScheduledSearch.objects.filter(pk=created["id"]).exists()
    assert not PeriodicTask.objects.filter(pk=periodic_task_id).exists()
    assert api("delete", f"/schedules/{created['id']}")[0] == 404


def test_pause_and_resume_switch_the_beat_entry(api):
    _status, created = api("post", "/schedules", entry())
    status, body = api("post", f"/schedules/{created['id']}/pause")
    assert (status, body["enabled"]) == (200, False)
    assert ScheduledSearch.objects.get(pk=created["id"]).periodic_task.enabled is False
    status, body = api("post", f"/schedules/{created['id']}/resume")
    assert (status, body["enabled"]) == (200, True)
    assert ScheduledSearch.objects.get(pk=created["id"]).periodic_task.enabled is True


def test_run_starts_a_search_triggered_by_the_api_and_points_at_its_status(api, client):
    _status, created = api("post", "/schedules", entry(keywords=["SSM", "securities"]))
    status, body = api("post", f"/schedules/{created['id']}/run")
    assert status == 202, body
    search = Search.objects.get(pk=body["search_id"])
    assert search.trigger == Search.Trigger.API
    assert search.scheduled_search_id == created["id"]
    assert search.keywords == ["SSM", "securities"]
    assert body["status_url"].endswith(f"/api/v1/searches/{search.pk}")
    status, status_body = api("get", f"/searches/{search.pk}")
    assert status == 200 and status_body["search_id"] == str(search.pk)


def test_run_works_for_a_paused_schedule_because_a_person_asked(api):
    _status, created = api("post", "/schedules", entry(enabled=False))
    status, body = api("post", f"/schedules/{created['id']}/run")
    assert status == 202
    assert Search.objects.filter(pk=body["search_id"], trigger="api").exists()


def test_a_key_that_may_only_read_cannot_change_anything(client, api):
    _status, created = api("post", "/schedules", entry())
    headers = bearer(key_for(user_with("schedules.view_scheduledsearch")))
    assert client.get(f"/api/v1/schedules/{created['id']}", headers=headers).status_code == 200
    for method, path in [
        ("patch", f"/api/v1/schedules/{created['id']}"),
        ("delete", f"/api/v1/schedules/{created['id']}"),
        ("post", f"/api/v1/schedules/{created['id']}/pause"),
        ("post", f"/api/v1/schedules/{created['id']}/run"),
    ]:
        response = getattr(client, method)(path, data={}, content_type="application/json", headers=headers)
        assert response.status_code == 403, (method, path)
    assert ScheduledSearch.objects.get(pk=created["id"]).enabled is True
    assert not Search.objects.exists()
