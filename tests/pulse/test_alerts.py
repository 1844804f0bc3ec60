"""Alerts: channels, signatures, cool-downs, the rules, and the periodic check on a real worker."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
import uuid
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.test import override_settings

from pulse import alert_rules
from pulse.alert_models import AlertChannel, AlertEvent
from pulse.alerts import alert_cooldown_claim, alert_raise, alerts_on_search_finished
from pulse.celery import app
from pulse.redis import BEAT_HEARTBEAT_KEY
from scraping.models import Search
from tests.support.factories import make_scheduled_search, make_search

pytestmark = pytest.mark.django_db


@pytest.fixture
def webhook(receiver):
    return AlertChannel.objects.create(
        name="ops-webhook", kind="webhook", target=receiver.url, secret="s3cret"
    )


@pytest.fixture
def email():
    return AlertChannel.objects.create(
        name="ops-mail", kind="email", target="ops@example.com, oncall@example.com"
    )


def verify_signature(request, secret: str) -> bool:
    expected = "sha256=" + hmac.new(secret.encode(), request.body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(request.headers["X-Pulse-Signature"], expected)


def test_a_webhook_channel_receives_a_signed_slack_compatible_body(webhook, receiver):
    event = alert_raise(rule="test_rule", key="k1", subject="Something broke", message="Details here")

    [request] = receiver.wait_for(1)
    assert request.path == "/hooks/pulse"
    assert verify_signature(request, "s3cret")
    body = json.loads(request.body)
    assert "Something broke" in body["text"] and "Details here" in body["text"]
    assert (body["rule"], body["key"], body["subject"]) == ("test_rule", "k1", "Something broke")
    assert event.outcome == AlertEvent.Outcome.SENT
    assert event.channels == [{"channel": "ops-webhook", "kind": "webhook", "ok": True, "error": ""}]


def test_a_signature_made_with_another_secret_does_not_verify(webhook, receiver):
    alert_raise(rule="test_rule", key="k2", subject="s", message="m")
    [request] = receiver.wait_for(1)
    assert not verify_signature(request, "another-secret")


def test_a_webhook_without_a_secret_is_sent_unsigned(receiver):
    AlertChannel.objects.create(name="plain", kind="webhook", target=receiver.url, secret="")
    alert_raise(rule="test_rule", key="k3", subject="s", message="m")
    [request] = receiver.wait_for(1)
    assert "X-Pulse-Signature" not in request.headers


def test_an_email_channel_mails_every_address(email, mailoutbox):
    alert_raise(rule="test_rule", key="k4", subject="Beat stalled", message="Restart beat")
    [mail] = mailoutbox
    assert mail.to == ["ops@example.com", "oncall@example.com"]
    assert mail.subject == "[Pulse] Beat stalled"
    assert "Restart beat" in mail.body and "test_rule" in mail.body


def test_the_same_rule_and_key_alert_once_per_cooldown(email, mailoutbox):
    first = alert_raise(rule="test_rule", key="same", subject="one", message="m")
    second = alert_raise(rule="test_rule", key="same", subject="two", message="m")
    other_key = alert_raise(rule="test_rule", key="other", subject="three", message="m")
    assert first is not None and second is None and other_key is not None
    assert [mail.subject for mail in mailoutbox] == ["[Pulse] one", "[Pulse] three"]
    assert AlertEvent.objects.count() == 2


@override_settings(PULSE_ALERT_COOLDOWN_SECONDS=1)
def test_an_alert_is_sent_again_after_the_cooldown(email, mailoutbox):
    assert alert_raise(rule="test_rule", key="again", subject="s", message="m") is not None
    assert alert_raise(rule="test_rule", key="again", subject="s", message="m") is None
    deadline = time.monotonic() + 5
    while alert_raise(rule="test_rule", key="again", subject="s", message="m") is None:
        assert time.monotonic() < deadline, "the cool-down never expired"
        time.sleep(0.1)
    assert len(mailoutbox) == 2


def test_concurrent_claims_for_one_rule_and_key_let_exactly_one_through():
    results, barrier = [], threading.Barrier(8)

    def claim():
        barrier.wait()
        results.append(alert_cooldown_claim(rule="race", key="one"))

    threads = [threading.Thread(target=claim) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [False] * 7 + [True]


def test_a_failing_webhook_is_recorded_and_the_other_channels_still_get_the_alert(
    webhook, email, receiver, mailoutbox
):
    receiver.status = 500
    event = alert_raise(rule="test_rule", key="k5", subject="s", message="m")
    assert event.outcome == AlertEvent.Outcome.PARTIAL
    by_channel = {entry["channel"]: entry for entry in event.channels}
    assert by_channel["ops-mail"]["ok"] is True
    assert by_channel["ops-webhook"]["ok"] is False
    assert "HTTP 500" in by_channel["ops-webhook"]["error"]
    assert len(mailoutbox) == 1


def test_an_unreachable_webhook_does_not_raise():
    AlertChannel.objects.create(name="gone", kind="webhook", target="http://127.0.0.1:9/nothing-listens")
    event = alert_raise(rule="test_rule", key="k6", subject="s", message="m")
    assert event.outcome == AlertEvent.Outcome.FAILED
    assert "ConnectError" in event.channels[0]["error"]


def test_disabled_channels_get_nothing_and_the_event_says_so(receiver, mailoutbox):
    AlertChannel.objects.create(name="off", kind="email", target="a@example.com", enabled=False)
    event = alert_raise(rule="test_rule", key="k7", subject="s", message="m")
    assert event.outcome == AlertEvent.Outcome.NO_CHANNELS
    assert mailoutbox == []


@pytest.mark.parametrize(
    ("kind", "target", "complaint"),
    [
        ("email", "not-an-address", "is not an email address"),
        ("email", " , ", "at least one email address"),
        ("webhook", "ftp://example.com/hook", "is not an http(s) URL"),
    ],
)
def test_a_channel_with_a_bad_target_is_refused_with_a_clear_message(kind, target, complaint):
    channel = AlertChannel(name="bad", kind=kind, target=target)
    with pytest.raises(ValidationError) as raised:
        channel.full_clean()
    assert complaint in str(raised.value.message_dict["target"])


# --- Rules ---------------------------------------------------------------------------------------


def test_a_failed_search_raises_an_alert_with_the_platform_errors(email, mailoutbox):
    search = make_search(status=Search.Status.FAILED, error="every platform failed", run_error="login wall")
    event = alert_rules.rule_search_failed(search=search)
    assert event.rule == "search_failed" and event.key == f"search:{search.pk}"
    assert "login wall" in mailoutbox[0].body and "every platform failed" in mailoutbox[0].body


def test_a_succeeded_search_raises_no_alert(email, mailoutbox):
    assert alert_rules.rule_search_failed(search=make_search(status=Search.Status.SUCCEEDED)) is None
    assert mailoutbox == []


def test_failures_of_one_scheduled_search_share_one_cooldown(email, mailoutbox):
    scheduled = make_scheduled_search(name="Morning news")
    first = make_search(status=Search.Status.FAILED, scheduled_search=scheduled)
    second = make_search(status=Search.Status.FAILED, scheduled_search=scheduled)
    assert alert_rules.rule_search_failed(search=first).subject == "Search failed: Morning news"
    assert alert_rules.rule_search_failed(search=second) is None
    assert len(mailoutbox) == 1


@override_settings(PULSE_ALERT_PLATFORM_FAILURES=3)
def test_a_platform_failing_three_times_in_a_row_raises_an_alert(email, mailoutbox):
    for minutes in (3, 2):
        make_search(
            status=Search.Status.FAILED, platforms=("facebook",), finished_ago=timedelta(minutes=minutes)
        )
    assert alert_rules.rule_platform_failures(platform="facebook") is None
    make_search(status=Search.Status.FAILED, platforms=("facebook",), run_error="429 Too Many Requests")
    event = alert_rules.rule_platform_failures(platform="facebook")
    assert event.key == "facebook" and event.subject == "Platform facebook failed 3 times in a row"
    assert "429 Too Many Requests" in mailoutbox[0].body


@override_settings(PULSE_ALERT_PLATFORM_FAILURES=3)
def test_a_success_between_failures_breaks_the_platform_streak(email, mailoutbox):
    make_search(status=Search.Status.FAILED, platforms=("web",), finished_ago=timedelta(minutes=4))
    make_search(status=Search.Status.FAILED, platforms=("web",), finished_ago=timedelta(minutes=3))
    make_search(status=Search.Status.SUCCEEDED, platforms=("web",), finished_ago=timedelta(minutes=2))
    make_search(status=Search.Status.FAILED, platforms=("web",), finished_ago=timedelta(minutes=1))
    make_search(status=Search.Status.FAILED, platforms=("web",))
    assert alert_rules.rule_platform_failures(platform="web") is None


@override_settings(PULSE_ALERT_EMPTY_RUNS=3)
def test_a_scheduled_search_that_finds_nothing_three_runs_in_a_row_raises_an_alert(email, mailoutbox):
    scheduled = make_scheduled_search(name="Quiet topic")
    make_search(scheduled_search=scheduled, mentions_found=4, finished_ago=timedelta(hours=4))
    for hours in (3, 2):
        make_search(scheduled_search=scheduled, mentions_found=0, finished_ago=timedelta(hours=hours))
    assert alert_rules.rule_empty_runs(scheduled_search=scheduled) is None
    make_search(scheduled_search=scheduled, mentions_found=0)
    event = alert_rules.rule_empty_runs(scheduled_search=scheduled)
    assert event.subject == "Scheduled search Quiet topic found nothing 3 runs in a row"


@override_settings(PULSE_ALERT_EMPTY_RUNS=2)
def test_a_failed_run_breaks_the_empty_streak(email):
    scheduled = make_scheduled_search()
    make_search(scheduled_search=scheduled, finished_ago=timedelta(hours=2))
    make_search(scheduled_search=scheduled, status=Search.Status.FAILED, finished_ago=timedelta(hours=1))
    make_search(scheduled_search=scheduled)
    assert alert_rules.rule_empty_runs(scheduled_search=scheduled) is None


@override_settings(PULSE_ALERT_BEAT_STALL_SECONDS=60)
def test_beat_stalled_alerts_on_an_old_or_missing_heartbeat_but_not_a_fresh_one(
    email, redis_client, mailoutbox
):
    redis_client.set(BEAT_HEARTBEAT_KEY, time.time() - 5, ex=120)
    assert alert_rules.rule_beat_stalled() is None
    redis_client.set(BEAT_HEARTBEAT_KEY, time.time() - 90, ex=120)
    event = alert_rules.rule_beat_stalled()
    assert "90s old" in event.message or "heartbeat is" in event.message
    redis_client.delete(BEAT_HEARTBEAT_KEY)
    redis_client.delete("pulse:alert:cooldown:beat_stalled:beat")
    event = alert_rules.rule_beat_stalled()
    assert "no beat heartbeat" in event.message


def test_no_worker_answering_raises_an_alert(email, mailoutbox):
    # No worker runs in this test (the session worker is started only by tests that ask for it,
    # and this module's earlier tests do not) — unless one is already up, which the guard states.
    if app.control.ping(timeout=0.5):
        pytest.skip("a worker from another test is running; covered by test_health instead")
    event = alert_rules.rule_no_workers(timeout=0.5)
    assert event.rule == "no_workers"
    assert "no worker answered ping within 0.5s" in mailoutbox[0].body


def test_the_search_finished_hook_runs_the_failure_rules_and_never_raises(email, mailoutbox):
    search = make_search(status=Search.Status.FAILED, platforms=("news", "youtube"))
    alerts_on_search_finished(search)
    assert {event.rule for event in AlertEvent.objects.all()} == {"search_failed"}
    assert len(mailoutbox) == 1
    AlertChannel.objects.all().delete()
    search.delete()
    alerts_on_search_finished(search)  # a deleted search: logged, not raised


def test_the_admin_sends_a_test_alert_to_the_selected_channel(admin_client, webhook, receiver):
    response = admin_client.post(
        "/admin/pulse/alertchannel/",
        {"action": "send_test_alert", "_selected_action": [webhook.pk]},
        follow=True,
    )
    assert "Test alert sent to ops-webhook" in response.content.decode()
    [request] = receiver.wait_for(1)
    assert verify_signature(request, "s3cret")
    assert AlertEvent.objects.get().rule == "test"


def test_the_admin_reports_a_failed_test_alert(admin_client):
    channel = AlertChannel.objects.create(name="gone", kind="webhook", target="http://127.0.0.1:9/x")
    response = admin_client.post(
        "/admin/pulse/alertchannel/",
        {"action": "send_test_alert", "_selected_action": [channel.pk]},
        follow=True,
    )
    assert "Test alert to gone failed" in response.content.decode()


def test_the_alert_history_is_listed_in_the_admin(admin_client, email):
    alert_raise(rule="test_rule", key="listed", subject="Visible in history", message="m")
    page = admin_client.get("/admin/pulse/alertevent/")
    assert "Visible in history" in page.content.decode()


@pytest.mark.slow
def test_the_periodic_check_on_a_real_worker_alerts_that_beat_has_stalled(worker, receiver, redis_client):
    AlertChannel.objects.create(name="hook", kind="webhook", target=receiver.url, secret="k")
    redis_client.delete(BEAT_HEARTBEAT_KEY)
    app.send_task("pulse.check_alerts", queue="http")
    requests = receiver.wait_for(1, timeout=30)
    rules = {json.loads(request.body)["rule"] for request in requests}
    assert rules == {"beat_stalled"}  # the worker itself answers ping, so no "no_workers"
    # The event row is written after delivery, so it may land a moment after the request.
    worker.wait_for(
        lambda: AlertEvent.objects.filter(rule="beat_stalled", outcome="sent").count() == 1,
        timeout=10,
        what="the alert event to be recorded",
    )


@pytest.mark.slow
def test_a_search_that_fails_on_a_real_worker_sends_one_alert(worker, receiver):
    AlertChannel.objects.create(name="hook", kind="webhook", target=receiver.url, secret="k")
    keyword = f"kw{uuid.uuid4().hex[:10]}"
    result = app.send_task("pulse.search", kwargs={"keywords": [keyword], "platforms": ["test-permanent"]})
    summary = result.get(timeout=60)
    assert summary["status"] == "failed"

    [request] = receiver.wait_for(1, timeout=30)
    body = json.loads(request.body)
    assert body["rule"] == "search_failed" and body["key"] == f"search:{summary['search_id']}"
    assert keyword in body["message"] and "test-permanent" in body["message"]
    assert verify_signature(request, "k")


def test_the_check_alerts_command_runs_the_rules_and_prints_what_it_sent(email, redis_client, settings):
    from io import StringIO

    from django.core.management import call_command

    settings.PULSE_WORKER_PING_TIMEOUT_SECONDS = 0.3
    redis_client.delete(BEAT_HEARTBEAT_KEY)
    output = StringIO()
    call_command("check_alerts", stdout=output)
    assert "beat_stalled:beat sent: Beat has stalled" in output.getvalue()
    again = StringIO()
    call_command("check_alerts", stdout=again)
    assert "beat_stalled" not in again.getvalue()  # the cool-down holds


def test_the_check_alerts_command_refuses_a_negative_interval():
    from django.core.management import CommandError, call_command

    with pytest.raises(CommandError, match="--every -5 is negative"):
        call_command("check_alerts", every=-5)
