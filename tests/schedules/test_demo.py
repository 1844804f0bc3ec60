"""The demo's scheduled searches are created once and a person's edits survive every later demo_setup."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command

from schedules import selectors, services
from schedules.models import ScheduledSearch
from scraping.models import Search

pytestmark = pytest.mark.django_db


def demo_setup(settings, tmp_path) -> str:
    settings.DEBUG = True
    out = io.StringIO()
    call_command("demo_setup", credentials_file=str(tmp_path / "credentials.json"), stdout=out)
    return out.getvalue()


def test_demo_setup_seeds_the_two_demo_schedules(settings, tmp_path):
    output = demo_setup(settings, tmp_path)
    assert "Demo scheduled searches created: SSM news every 5 minutes, SSM social daily at 09:00" in output
    news = ScheduledSearch.objects.get(name="SSM news every 5 minutes")
    social = ScheduledSearch.objects.get(name="SSM social daily at 09:00")
    assert selectors.schedule_in_words(scheduled_search=news) == "Every 5 minutes"
    assert sorted(social.platforms) == ["facebook", "instagram", "news"]
    assert selectors.schedule_in_words(scheduled_search=social) == "At 09:00 (Asia/Kuala_Lumpur)"
    # The news schedule is started once at creation so the demo shows mentions without waiting.
    assert [(search.scheduled_search, search.trigger) for search in Search.objects.all()] == [(news, "cli")]


def test_running_demo_setup_again_keeps_a_persons_edits_and_duplicates_nothing(settings, tmp_path):
    demo_setup(settings, tmp_path)
    news = ScheduledSearch.objects.get(name="SSM news every 5 minutes")
    services.schedule_update(scheduled_search=news, keywords=["SSM", "edited"], schedule={"every": 1, "period": "hours"})
    services.schedule_pause(scheduled_search=ScheduledSearch.objects.get(name="SSM social daily at 09:00"))
    output = demo_setup(settings, tmp_path)
    assert "none (all present already)" in output
    assert ScheduledSearch.objects.count() == 2
    assert Search.objects.count() == 1, "a later demo_setup must not start the demo search again"
    news.refresh_from_db()
    assert news.keywords == ["SSM", "edited"]
    assert selectors.schedule_in_words(scheduled_search=news) == "Every hour"
    assert ScheduledSearch.objects.get(name="SSM social daily at 09:00").enabled is False
