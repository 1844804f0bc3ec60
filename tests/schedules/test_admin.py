"""The scheduled-search admin through the Django test client: one form, previews, actions, permissions."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission, User
from django.urls import reverse
from django.utils import timezone
from django_celery_beat.models import CrontabSchedule, PeriodicTask

from schedules.models import ScheduledSearch
from scraping.models import Mention, MentionMatch, Search
from tests.schedules.factories import make_schedule

pytestmark = pytest.mark.django_db
ADD_URL = reverse("admin:schedules_scheduledsearch_add")
LIST_URL = reverse("admin:schedules_scheduledsearch_changelist")


def change_url(scheduled):
    return reverse("admin:schedules_scheduledsearch_change", args=[scheduled.pk])


@pytest.fixture
def analyst(client):
    user = User.objects.create_superuser("analyst", "analyst@example.com", "pw")
    client.force_login(user)
    return client


def staff_with(client, *codenames):
    user = User.objects.create_user("viewer", password="pw", is_staff=True)
    user.user_permissions.set(Permission.objects.filter(codename__in=codenames, content_type__app_label="schedules"))
    client.force_login(user)
    return client


def form_data(**overrides):
    data = {
        "name": "SSM weekday mornings", "keywords": "SSM\nBursa, Securities Commission", "platforms": ["news", "web"],
        "max_results": "50", "lookback_hours": "24", "enabled": "on", "timezone": "Asia/Kuala_Lumpur",
        "schedule_kind": "cron", "cron": "0 9 * * 1-5", "every": "", "period": "hours", "once": "",
        "solar_event": "", "latitude": "", "longitude": "", "misfire_policy": "coalesce",
        "misfire_grace_seconds": "300", "on_success": "", "on_failure_action": "", "on_failure_run": "",
    }
    data.update(overrides)
    return data


def test_the_add_form_has_real_fields_and_no_json(analyst):
    page = analyst.get(ADD_URL).content.decode()
    for field in ('name="keywords"', 'type="checkbox" name="platforms"', 'name="cron"', 'name="every"',
                  'type="datetime-local" name="once" step="1"', 'name="solar_event"', 'name="timezone"',
                  'name="misfire_policy"', 'name="on_success"'):
        assert field in page
    assert 'name="kwargs"' not in page
    assert '<option value="Asia/Kuala_Lumpur" selected>' in page


def test_saving_the_form_creates_the_schedule_and_its_periodic_task(analyst):
    response = analyst.post(ADD_URL, form_data())
    assert response.status_code == 302, response.content.decode()[:3000]
    scheduled = ScheduledSearch.objects.get(name="SSM weekday mornings")
    assert scheduled.keywords == ["SSM", "Bursa", "Securities Commission"]
    assert scheduled.platforms == ["news", "web"]
    assert json.loads(scheduled.periodic_task.kwargs) == {"scheduled_search_id": scheduled.pk}
    assert scheduled.periodic_task.crontab.day_of_week == "1-5"


def test_every_once_and_solar_are_saved_from_their_own_fields(analyst):
    analyst.post(ADD_URL, form_data(name="every", schedule_kind="every", every="3", period="hours"))
    analyst.post(ADD_URL, form_data(name="once", schedule_kind="once", once="2030-12-01T09:00"))
    analyst.post(ADD_URL, form_data(name="solar", schedule_kind="solar", solar_event="sunset",
                                    latitude="3.139", longitude="101.6869"))
    assert ScheduledSearch.objects.get(name="every").periodic_task.interval.every == 3
    assert ScheduledSearch.objects.get(name="once").periodic_task.one_off is True
    assert ScheduledSearch.objects.get(name="solar").periodic_task.solar.event == "sunset"


@pytest.mark.parametrize(
    ("overrides", "field", "fragment"),
    [
        ({"cron": "0 25 * * *"}, "cron", "is not valid"),
        ({"cron": "every morning"}, "cron", "needs exactly 5"),
        ({"keywords": "  \n , "}, "keywords", "Add at least one keyword"),
        ({"platforms": ["news", "tiktok"]}, "platforms", "tiktok is not one of the available choices"),
        ({"schedule_kind": "every", "every": ""}, "every", "at least 1"),
        ({"schedule_kind": "once", "once": "2001-01-01T09:00"}, "once", "already passed"),
        ({"schedule_kind": "solar", "solar_event": "sunrise", "latitude": "", "longitude": "1"}, "solar_event",
         "latitude is required"),
    ],
)
def test_bad_input_shows_an_error_on_the_field_and_saves_nothing(analyst, overrides, field, fragment):
    response = analyst.post(ADD_URL, form_data(**overrides))
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert field in errors, errors
    assert fragment in " ".join(errors[field])
    assert not ScheduledSearch.objects.exists() and not PeriodicTask.objects.exists()


def test_the_change_page_shows_the_schedule_in_words_the_next_five_runs_and_its_searches(analyst):
    scheduled = make_schedule(schedule={"cron": "0 9 * * 1-5"}, timezone="Europe/London")
    search = Search.objects.create(keywords=["SSM"], platforms=["news"], scheduled_search=scheduled,
                                   status=Search.Status.SUCCEEDED, trigger="schedule")
    page = analyst.get(change_url(scheduled)).content.decode()
    assert "At 09:00, Monday through Friday (Europe/London)" in page
    assert page.count(" 09:00 GMT</li>") == 5
    assert str(search.pk)[:8] in page and "Succeeded" in page
    assert f'href="{reverse("admin:scraping_search_change", args=[search.pk])}"' in page


def test_editing_the_cron_in_the_form_changes_the_periodic_task(analyst):
    scheduled = make_schedule(name="SSM weekday mornings")
    response = analyst.post(change_url(scheduled), form_data(cron="*/10 * * * *"))
    assert response.status_code == 302
    assert PeriodicTask.objects.get(pk=scheduled.periodic_task_id).crontab.minute == "*/10"
    assert CrontabSchedule.objects.filter(minute="*/10").exists()


def test_the_list_shows_schedule_words_next_run_last_run_and_mentions(analyst):
    scheduled = make_schedule(name="SSM news", schedule={"every": 2, "period": "hours"})
    make_schedule(name="SSM quiet")
    older = Search.objects.create(keywords=["SSM"], platforms=["news"], scheduled_search=scheduled,
                                  status=Search.Status.SUCCEEDED, created_at=timezone.now() - timedelta(hours=3))
    latest = Search.objects.create(keywords=["SSM"], platforms=["news"], scheduled_search=scheduled,
                                   status=Search.Status.PARTIAL)
    for number, (search, age) in enumerate([(older, 1), (latest, 1), (latest, 30)]):
        mention = Mention.objects.create(platform="news", external_id=str(number), url=f"https://example.com/{number}")
        MentionMatch.objects.create(mention=mention, search=search, keyword="SSM",
                                    matched_at=timezone.now() - timedelta(hours=age))
    page = analyst.get(LIST_URL).content.decode()
    for text in ("Schedule", "Next run", "Last run", "Mentions (24 h)", "Every 2 hours",
                 "Partial (some platforms failed) at", '<td class="field-mentions_last_24h">2</td>',
                 '<td class="field-last_run">never</td>', '<td class="field-mentions_last_24h">0</td>'):
        assert text in page


def test_hostile_text_is_shown_escaped(analyst):
    scheduled = make_schedule(name="<script>alert('name')</script>", keywords=["<script>alert(1)</script>"])
    for url in (LIST_URL, change_url(scheduled)):
        page = analyst.get(url).content.decode()
        assert "<script>alert(" not in page
        assert "&lt;script&gt;alert(" in page


def run_action(client, action, *rows):
    return client.post(LIST_URL, {"action": action, "_selected_action": [row.pk for row in rows]}, follow=True)


def test_the_run_now_action_starts_a_search_for_each_selected_schedule(analyst):
    first, second = make_schedule(), make_schedule(enabled=False)
    response = run_action(analyst, "run_now", first, second)
    assert "Started 2 search(es)." in response.content.decode()
    assert set(Search.objects.values_list("scheduled_search", "trigger")) == {(first.pk, "admin"), (second.pk, "admin")}


def test_pause_resume_and_duplicate_actions(analyst):
    scheduled = make_schedule(name="SSM news")
    run_action(analyst, "pause", scheduled)
    assert PeriodicTask.objects.get(pk=scheduled.periodic_task_id).enabled is False
    run_action(analyst, "resume", scheduled)
    assert PeriodicTask.objects.get(pk=scheduled.periodic_task_id).enabled is True
    run_action(analyst, "duplicate", scheduled)
    copy = ScheduledSearch.objects.get(name="SSM news (copy)")
    assert copy.enabled is False and copy.periodic_task.enabled is False


def test_staff_without_the_run_and_pause_permissions_cannot_use_those_actions(client):
    scheduled = make_schedule()
    viewer = staff_with(client, "view_scheduledsearch", "change_scheduledsearch")
    page = viewer.get(LIST_URL).content.decode()
    assert 'value="run_now"' not in page and 'value="pause"' not in page
    for action in ("run_now", "pause", "duplicate"):
        run_action(viewer, action, scheduled)
    assert not Search.objects.exists()
    assert PeriodicTask.objects.get(pk=scheduled.periodic_task_id).enabled is True
    assert ScheduledSearch.objects.count() == 1


def test_staff_with_the_run_permission_can_run_but_not_pause(client):
    scheduled = make_schedule()
    runner = staff_with(client, "view_scheduledsearch", "run_scheduledsearch")
    run_action(runner, "run_now", scheduled)
    run_action(runner, "pause", scheduled)
    assert Search.objects.count() == 1
    assert PeriodicTask.objects.get(pk=scheduled.periodic_task_id).enabled is True


def test_staff_with_view_only_cannot_edit(client):
    scheduled = make_schedule(name="SSM weekday mornings")
    viewer = staff_with(client, "view_scheduledsearch")
    viewer.post(change_url(scheduled), form_data(cron="*/10 * * * *"))
    assert PeriodicTask.objects.get(pk=scheduled.periodic_task_id).crontab.minute == "0"
    assert viewer.post(ADD_URL, form_data(name="new")).status_code == 403


def beat_form(**overrides):
    data = {"name": "hand made", "regtask": "", "task": "pulse.scheduled_search", "enabled": "on",
            "description": "", "interval": "", "crontab": "", "solar": "", "clocked": "", "args": "[]",
            "kwargs": "{}", "expires": "", "expire_seconds": "", "queue": "", "exchange": "", "routing_key": "",
            "headers": "{}", "priority": "", "start_time": "", "one_off": "", "last_run_at": "",
            "total_run_count": "0"}
    data.update(overrides)
    return data


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ('{"scheduled_search_id": 999999}', "no scheduled search with id 999999"),
        ('{"scheduled_search_id": "1"}', "whole number"),
        ('{"scheduled_search_id": 1, "keywords": ["x"]}', 'exactly {"scheduled_search_id": <id>}'),
        ("{}", 'exactly {"scheduled_search_id": <id>}'),
    ],
)
def test_django_celery_beats_own_admin_refuses_bad_kwargs_for_the_scheduled_search_task(analyst, kwargs, fragment):
    crontab = CrontabSchedule.objects.create(minute="0", hour="9")
    response = analyst.post(reverse("admin:django_celery_beat_periodictask_add"),
                            beat_form(kwargs=kwargs, crontab=str(crontab.pk)))
    assert response.status_code == 200
    assert fragment in " ".join(response.context["adminform"].form.errors.get("kwargs", []))
    assert not PeriodicTask.objects.filter(name="hand made").exists()


def test_django_celery_beats_own_admin_refuses_a_second_task_for_a_linked_scheduled_search(analyst):
    scheduled = make_schedule(name="linked")
    crontab = CrontabSchedule.objects.create(minute="0", hour="9")
    response = analyst.post(reverse("admin:django_celery_beat_periodictask_add"), beat_form(
        kwargs=json.dumps({"scheduled_search_id": scheduled.pk}), crontab=str(crontab.pk)))
    assert "would run it twice" in " ".join(response.context["adminform"].form.errors["kwargs"])


def test_django_celery_beats_own_admin_checks_pulse_search_kwargs_and_accepts_good_ones(analyst):
    crontab = CrontabSchedule.objects.create(minute="0", hour="9")
    url = reverse("admin:django_celery_beat_periodictask_add")
    bad = analyst.post(url, beat_form(task="pulse.search", kwargs='{"keywords": [], "platforms": ["news"]}',
                                      crontab=str(crontab.pk)))
    assert "keywords" in " ".join(bad.context["adminform"].form.errors["kwargs"])
    good = analyst.post(url, beat_form(task="pulse.search", kwargs='{"keywords": ["SSM"], "platforms": ["news"]}',
                                       crontab=str(crontab.pk)))
    assert good.status_code == 302
    assert PeriodicTask.objects.filter(name="hand made", task="pulse.search").exists()


def test_a_scheduled_searchs_own_periodic_task_may_be_retimed_in_beats_admin_but_not_renamed_or_repointed(analyst):
    scheduled = make_schedule(name="linked")
    task = scheduled.periodic_task
    url = reverse("admin:django_celery_beat_periodictask_change", args=[task.pk])
    crontab = CrontabSchedule.objects.create(minute="30", hour="7")
    fields = dict(name="linked", kwargs=json.dumps({"scheduled_search_id": scheduled.pk}), crontab=str(crontab.pk))
    renamed = analyst.post(url, beat_form(**{**fields, "name": "other name"}))
    assert "rename it under Scheduled searches" in " ".join(renamed.context["adminform"].form.errors["name"])
    repointed = analyst.post(url, beat_form(**{**fields, "task": "pulse.ping"}))
    assert "must stay pulse.scheduled_search" in " ".join(repointed.context["adminform"].form.errors["task"])
    assert analyst.post(url, beat_form(**fields)).status_code == 302
    task.refresh_from_db()
    assert (task.crontab.minute, task.crontab.hour, task.task) == ("30", "7", "pulse.scheduled_search")
