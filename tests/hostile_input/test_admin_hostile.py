"""The admin under hostile input and under-privileged staff.

Escaping on the schedule list/change pages, the Search list and the Mention list is tested by the
owning apps (tests/schedules/test_admin.py, tests/scraping/test_admin.py); this file adds the pages
they do not cover, huge input, and the second way into schedules: django-celery-beat's own admin.
"""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission, User
from django.urls import reverse
from django_celery_beat.models import PeriodicTask

from schedules.models import ScheduledSearch
from scraping.models import Mention, MentionMatch, PlatformRun, Search
from tests.schedules.factories import make_schedule

pytestmark = pytest.mark.django_db
SCRIPT = "<script>alert('pwned')</script>"
ESCAPED = "&lt;script&gt;alert(&#x27;pwned&#x27;)&lt;/script&gt;"
SCHEDULE_LIST = reverse("admin:schedules_scheduledsearch_changelist")
SCHEDULE_ADD = reverse("admin:schedules_scheduledsearch_add")
BEAT_LIST = reverse("admin:django_celery_beat_periodictask_changelist")


@pytest.fixture
def analyst(client):
    client.force_login(User.objects.create_superuser("hostile-admin", "hostile@example.com", "pw"))
    return client


def staff_with(client, *permissions: str):
    user = User.objects.create_user("limited", password="pw", is_staff=True)
    for permission in permissions:
        app_label, codename = permission.split(".")
        user.user_permissions.add(Permission.objects.get(content_type__app_label=app_label, codename=codename))
    client.force_login(user)
    return client


def schedule_form(**overrides):
    data = {
        "name": "watch", "keywords": "SSM", "platforms": ["news"], "max_results": "50", "lookback_hours": "24",
        "enabled": "on", "timezone": "Asia/Kuala_Lumpur", "schedule_kind": "cron", "cron": "0 9 * * 1-5",
        "every": "", "period": "hours", "once": "", "solar_event": "", "latitude": "", "longitude": "",
        "misfire_policy": "coalesce", "misfire_grace_seconds": "300", "on_success": "", "on_failure_action": "",
        "on_failure_run": "",
    }  # fmt: skip
    data.update(overrides)
    return data


@pytest.fixture
def hostile_search():
    search = Search.objects.create(
        keywords=[SCRIPT, "x" * 200], platforms=["news"], status=Search.Status.PARTIAL, error=f"news: {SCRIPT}"
    )
    run = PlatformRun.objects.create(
        search=search, platform="news", status=PlatformRun.Status.FAILED, error_message=SCRIPT
    )
    mention = Mention.objects.create(
        platform="news", external_id=SCRIPT, url="https://example.com/a", title=SCRIPT, text=SCRIPT * 50,
        author=SCRIPT, raw={"html": SCRIPT},
    )  # fmt: skip
    MentionMatch.objects.create(mention=mention, search=search, keyword=SCRIPT)
    return search, run, mention


def test_hostile_text_is_escaped_on_the_search_run_and_mention_pages(analyst, hostile_search):
    search, run, mention = hostile_search
    pages = [
        reverse("admin:scraping_search_changelist"),
        reverse("admin:scraping_search_change", args=[search.pk]),
        reverse("admin:scraping_platformrun_change", args=[run.pk]),
        reverse("admin:scraping_mention_changelist"),
        reverse("admin:scraping_mention_change", args=[mention.pk]),
    ]
    for url in pages:
        response = analyst.get(url)
        assert response.status_code == 200, url
        page = response.content.decode()
        assert SCRIPT not in page, url
        assert ESCAPED in page or "&lt;script&gt;" in page, url


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"name": "n" * 100_000}, "name"),
        ({"keywords": "k" * 100_000}, "keywords"),
        ({"keywords": "\n".join(f"keyword {number}" for number in range(5_000))}, "keywords"),
        ({"cron": "*/1 " * 10_000}, None),
        ({"misfire_grace_seconds": "9" * 400}, "misfire_grace_seconds"),
        ({"max_results": "-1"}, "max_results"),
    ],
)
def test_huge_or_hostile_schedule_input_is_refused_with_a_message_and_saves_nothing(analyst, overrides, field):
    tasks_before = PeriodicTask.objects.count()
    response = analyst.post(SCHEDULE_ADD, schedule_form(**overrides))
    assert response.status_code == 200  # the form again, with errors; not a 500, not a redirect
    form = response.context["adminform"].form
    assert form.errors
    if field:
        assert field in form.errors, form.errors
    assert not ScheduledSearch.objects.exists()
    assert PeriodicTask.objects.count() == tasks_before


def test_a_script_keyword_is_stored_as_text_and_shown_escaped_on_the_schedule_pages(analyst):
    response = analyst.post(SCHEDULE_ADD, schedule_form(name=SCRIPT, keywords=f"{SCRIPT}\nSSM"))
    assert response.status_code == 302
    scheduled = ScheduledSearch.objects.get()
    assert scheduled.keywords == [SCRIPT, "SSM"]
    for url in (SCHEDULE_LIST, reverse("admin:schedules_scheduledsearch_change", args=[scheduled.pk])):
        page = analyst.get(url).content.decode()
        assert SCRIPT not in page and ESCAPED in page


def test_a_schedule_with_an_unusual_but_valid_cron_does_not_break_the_admin_pages(analyst):
    # "*/7" days of the week is valid for beat; describing it once raised inside cron-descriptor.
    scheduled = make_schedule(schedule={"cron": "0 9 * * */7"})
    for url in (SCHEDULE_LIST, reverse("admin:schedules_scheduledsearch_change", args=[scheduled.pk])):
        assert analyst.get(url).status_code == 200, url


def action_messages(response) -> list[str]:
    return [str(message) for message in response.context["messages"]] if response.context else []


@pytest.mark.parametrize("action", ["disable_tasks", "toggle_tasks", "run_tasks"])
def test_staff_who_may_only_view_periodic_tasks_cannot_pause_or_run_a_schedule_through_beats_admin(client, action):
    scheduled = make_schedule()
    limited = staff_with(client, "django_celery_beat.view_periodictask")
    assert f'value="{action}"' not in limited.get(BEAT_LIST).content.decode()
    response = limited.post(BEAT_LIST, {"action": action, "_selected_action": [scheduled.periodic_task_id]}, follow=True)
    assert PeriodicTask.objects.get(pk=scheduled.periodic_task_id).enabled is True
    assert not any("successfully" in message for message in action_messages(response))


@pytest.mark.parametrize(("action", "permission"), [("disable_tasks", "pause"), ("run_tasks", "run")])
def test_changing_periodic_tasks_is_not_enough_to_pause_or_run_a_scheduled_search(client, action, permission):
    scheduled = make_schedule()
    limited = staff_with(client, "django_celery_beat.view_periodictask", "django_celery_beat.change_periodictask")
    response = limited.post(
        BEAT_LIST, {"action": action, "_selected_action": [scheduled.periodic_task_id]}, follow=True
    )
    assert PeriodicTask.objects.get(pk=scheduled.periodic_task_id).enabled is True
    assert not any("successfully" in message for message in action_messages(response))
    assert any(f"schedules.{permission}_scheduledsearch" in message for message in action_messages(response))


def test_with_the_schedule_permission_too_the_same_action_works(client):
    scheduled = make_schedule()
    allowed = staff_with(
        client, "django_celery_beat.view_periodictask", "django_celery_beat.change_periodictask",
        "schedules.pause_scheduledsearch",
    )  # fmt: skip
    allowed.post(BEAT_LIST, {"action": "disable_tasks", "_selected_action": [scheduled.periodic_task_id]})
    assert PeriodicTask.objects.get(pk=scheduled.periodic_task_id).enabled is False
