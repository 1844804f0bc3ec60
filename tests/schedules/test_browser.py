"""A real Chromium drives the admin: log in, create a cron schedule, see its next runs, get a cron error."""

from __future__ import annotations

import os

import pytest
from django.contrib.auth.models import User

from schedules.models import ScheduledSearch

CHROMIUM = os.environ.get("PULSE_CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_FLAGS = [
    "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]


@pytest.mark.slow
def test_an_analyst_creates_a_cron_schedule_in_a_real_browser_and_sees_its_next_runs(live_server, monkeypatch):
    from playwright.sync_api import expect, sync_playwright

    User.objects.create_superuser("analyst", "analyst@example.com", "a-long-test-password")
    # Playwright's sync API keeps an event loop in this thread; the ORM calls below are plain sync code.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "1")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        try:
            page = browser.new_page()
            page.set_default_timeout(15_000)
            page.goto(f"{live_server.url}/admin/login/")
            page.fill("#id_username", "analyst")
            page.fill("#id_password", "a-long-test-password")
            page.click("input[type=submit]")
            expect(page.locator("#user-tools")).to_contain_text("analyst")

            page.goto(f"{live_server.url}/admin/schedules/scheduledsearch/add/")
            page.fill("#id_name", "SSM weekday mornings")
            page.fill("#id_keywords", "SSM\nBursa Malaysia")
            page.check("input[name=platforms][value=news]")
            page.check("input[name=schedule_kind][value=every]")
            expect(page.locator("#id_every")).to_be_visible()
            expect(page.locator("#id_cron")).to_be_hidden()
            page.check("input[name=schedule_kind][value=cron]")
            expect(page.locator("#id_every")).to_be_hidden()
            page.fill("#id_cron", "0 9 * * 1-5")
            page.click("input[name=_continue]")

            expect(page.locator(".messagelist")).to_contain_text("was added successfully")
            expect(page.locator(".field-schedule_words")).to_contain_text(
                "At 09:00, Monday through Friday (Asia/Kuala_Lumpur)"
            )
            runs = page.locator("ol.next-runs li")
            expect(runs).to_have_count(5)
            assert all(text.endswith("09:00 +08") for text in runs.all_inner_texts())

            page.fill("#id_cron", "0 9 * *")
            page.click("input[name=_continue]")
            expect(page.locator(".errornote")).to_be_visible()
            expect(page.locator(".field-cron .errorlist")).to_contain_text("needs exactly 5")
        finally:
            browser.close()
    scheduled = ScheduledSearch.objects.get(name="SSM weekday mornings")
    assert scheduled.keywords == ["SSM", "Bursa Malaysia"]
    assert scheduled.periodic_task.crontab.day_of_week == "1-5"
