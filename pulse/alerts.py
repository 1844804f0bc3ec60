"""Alerts: send a message to every enabled channel, at most once per cool-down per (rule, key).

``alert_raise`` is the one entry point other code calls. The rules below decide *whether* to call
it; each is a plain function that tests (and ``check_alerts_run``) call directly:

- ``rule_search_failed``      a search ended ``failed``
- ``rule_platform_failures``  a platform's last N runs all failed
- ``rule_empty_runs``         a scheduled search's last N searches found nothing
- ``rule_beat_stalled``       beat's heartbeat is missing or too old
- ``rule_no_workers``         no worker answers ping

Delivery failures are recorded on the ``AlertEvent`` and logged, never raised: an alert that
cannot be delivered must not break the search or task that noticed the problem.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from dataclasses import dataclass

import httpx
from django.conf import settings
from django.core.mail import send_mail
from django.utils import timezone

from pulse.alert_models import AlertChannel, AlertEvent
from pulse.redis import redis_client

logger = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Pulse-Signature"
COOLDOWN_KEY = "pulse:alert:cooldown:{rule}:{key}"

RULE_SEARCH_FAILED = "search_failed"
RULE_PLATFORM_FAILURES = "platform_failures"
RULE_EMPTY_RUNS = "empty_runs"
RULE_BEAT_STALLED = "beat_stalled"
RULE_NO_WORKERS = "no_workers"


# --- Transports --------------------------------------------------------------------------------


class TransportError(Exception):
    """A channel could not deliver; ``message`` says why in words an operator can act on."""


@dataclass(frozen=True)
class Alert:
    rule: str
    key: str
    subject: str
    message: str
    raised_at: str


def webhook_signature(*, secret: str, body: bytes) -> str:
    """The ``X-Pulse-Signature`` value: ``sha256=`` + hex HMAC-SHA256 of the raw body."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def webhook_body(alert: Alert) -> bytes:
    # "text" makes the body a valid Slack (and Mattermost, Rocket.Chat) incoming-webhook message;
    # the other fields are for receivers that route on them.
    payload = {
        "text": f"*{alert.subject}*\n{alert.message}",
        "rule": alert.rule,
        "key": alert.key,
        "subject": alert.subject,
        "message": alert.message,
        "raised_at": alert.raised_at,
    }
    return json.dumps(payload, sort_keys=True).encode()


def send_webhook(*, channel: AlertChannel, alert: Alert) -> None:
    body = webhook_body(alert)
    headers = {"Content-Type": "application/json", "User-Agent": "Pulse-Alerts/1"}
    if channel.secret:
        headers[SIGNATURE_HEADER] = webhook_signature(secret=channel.secret, body=body)
    try:
        response = httpx.post(
            channel.target,
            content=body,
            headers=headers,
            timeout=settings.PULSE_ALERT_WEBHOOK_TIMEOUT_SECONDS,
        )
    except httpx.HTTPError as error:
        raise TransportError(f"POST {channel.target} failed: {type(error).__name__}: {error}") from error
    if not response.is_success:
        raise TransportError(
            f"POST {channel.target} answered HTTP {response.status_code}: {response.text[:200]}"
        )


def send_email(*, channel: AlertChannel, alert: Alert) -> None:
    try:
        send_mail(
            subject=f"[Pulse] {alert.subject}",
            message=(
                f"{alert.message}\n\nRule: {alert.rule}\nAbout: {alert.key}\nRaised at: {alert.raised_at}\n"
            ),
            from_email=settings.DEFAULT_FROM_EMAIL,
            recipient_list=channel.email_addresses,
        )
    except Exception as error:  # noqa: BLE001  (SMTP raises many unrelated types)
        raise TransportError(
            f"sending mail to {channel.target} failed: {type(error).__name__}: {error}"
        ) from error


TRANSPORTS = {AlertChannel.Kind.EMAIL: send_email, AlertChannel.Kind.WEBHOOK: send_webhook}


def channel_send(*, channel: AlertChannel, alert: Alert) -> dict:
    """Deliver to one channel; returns ``{"channel", "kind", "ok", "error"}`` instead of raising."""
    outcome = {"channel": channel.name, "kind": channel.kind, "ok": True, "error": ""}
    try:
        transport = TRANSPORTS[channel.kind]
    except KeyError:
        outcome.update(ok=False, error=f"unknown channel kind {channel.kind!r}; known: {sorted(TRANSPORTS)}")
        return outcome
    try:
        transport(channel=channel, alert=alert)
    except TransportError as error:
        logger.warning("alert %s:%s not delivered to %s: %s", alert.rule, alert.key, channel.name, error)
        outcome.update(ok=False, error=str(error))
    return outcome


# --- Raising -----------------------------------------------------------------------------------


def alert_cooldown_claim(*, rule: str, key: str, seconds: int | None = None) -> bool:
    """Claim the right to send (rule, key) now; False while an earlier claim's cool-down lasts.

    ``SET NX EX`` is atomic in Redis, so of many workers noticing the same problem at once exactly
    one sends.
    """
    seconds = settings.PULSE_ALERT_COOLDOWN_SECONDS if seconds is None else seconds
    return bool(
        redis_client().set(
            COOLDOWN_KEY.format(rule=rule, key=key), timezone.now().isoformat(), nx=True, ex=seconds
        )
    )


def alert_deliver(*, alert: Alert, channels: list[AlertChannel] | None = None) -> AlertEvent:
    """Send ``alert`` to ``channels`` (default: every enabled channel) and record the outcome."""
    if channels is None:
        channels = list(AlertChannel.objects.filter(enabled=True))
    results = [channel_send(channel=channel, alert=alert) for channel in channels]
    if not results:
        outcome = AlertEvent.Outcome.NO_CHANNELS
        logger.warning(
            "alert %s:%s has no enabled channel to go to: %s", alert.rule, alert.key, alert.subject
        )
    elif all(result["ok"] for result in results):
        outcome = AlertEvent.Outcome.SENT
    elif any(result["ok"] for result in results):
        outcome = AlertEvent.Outcome.PARTIAL
    else:
        outcome = AlertEvent.Outcome.FAILED
    return AlertEvent.objects.create(
        rule=alert.rule,
        key=alert.key[:255],
        subject=alert.subject[:255],
        message=alert.message,
        channels=results,
        outcome=outcome,
    )


def alert_raise(*, rule: str, key: str, subject: str, message: str) -> AlertEvent | None:
    """Send an alert to every enabled channel unless (rule, key) was alerted within the cool-down.

    Returns the recorded ``AlertEvent``, or None when the cool-down suppressed it. Never raises for
    a delivery problem (those are recorded on the event).
    """
    if not alert_cooldown_claim(rule=rule, key=key):
        logger.info("alert %s:%s suppressed (cool-down): %s", rule, key, subject)
        return None
    alert = Alert(
        rule=rule, key=str(key), subject=subject, message=message, raised_at=timezone.now().isoformat()
    )
    logger.warning("alert %s:%s raised: %s", rule, key, subject)
    return alert_deliver(alert=alert)


def alert_send_test(*, channel: AlertChannel) -> dict:
    """Send a test message to one channel, bypassing the cool-down (the admin's "send test alert")."""
    alert = Alert(
        rule="test",
        key=channel.name,
        subject=f"Test alert for channel {channel.name}",
        message="If you can read this, Pulse can reach this channel.",
        raised_at=timezone.now().isoformat(),
    )
    event = alert_deliver(alert=alert, channels=[channel])
    return event.channels[0]


def alerts_on_search_finished(search) -> None:
    """Run the search alert rules for a search that just finished (``pulse.alert_rules``). Never raises."""
    from pulse.alert_rules import alerts_on_search_finished as run_rules

    run_rules(search)
