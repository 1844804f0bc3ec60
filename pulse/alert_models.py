"""Where alerts go (AlertChannel) and what was sent (AlertEvent)."""

from __future__ import annotations

import secrets

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator, validate_email
from django.db import models
from django.utils import timezone


def new_webhook_secret() -> str:
    return secrets.token_urlsafe(32)


class AlertChannel(models.Model):
    """An email list or a webhook that receives every alert while enabled."""

    class Kind(models.TextChoices):
        EMAIL = "email", "Email"
        WEBHOOK = "webhook", "Webhook (Slack-compatible JSON, HMAC-signed)"

    name = models.CharField(max_length=100, unique=True)
    kind = models.CharField(max_length=16, choices=Kind.choices)
    enabled = models.BooleanField(default=True)
    target = models.TextField(
        help_text="Email: addresses separated by commas. Webhook: the http(s) URL that receives a POST."
    )
    secret = models.CharField(
        max_length=200,
        blank=True,
        default=new_webhook_secret,
        help_text="Webhook only: key of the X-Pulse-Signature header (sha256=HMAC of the body). "
        "Leave empty to send unsigned.",
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        app_label = "pulse"
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.kind})"

    @property
    def email_addresses(self) -> list[str]:
        return [address.strip() for address in self.target.replace(";", ",").split(",") if address.strip()]

    def clean(self) -> None:
        if self.kind == self.Kind.EMAIL:
            addresses = self.email_addresses
            if not addresses:
                raise ValidationError({"target": ["Enter at least one email address, separated by commas."]})
            for address in addresses:
                try:
                    validate_email(address)
                except ValidationError:
                    raise ValidationError(
                        {"target": [f"{address!r} is not an email address. Separate addresses with commas."]}
                    ) from None
        elif self.kind == self.Kind.WEBHOOK:
            self.target = self.target.strip()
            try:
                URLValidator(schemes=["http", "https"])(self.target)
            except ValidationError:
                raise ValidationError(
                    {
                        "target": [
                            f"{self.target!r} is not an http(s) URL. Example: https://hooks.example.com/pulse"
                        ]
                    }
                ) from None


class AlertEvent(models.Model):
    """One alert that passed its cool-down, and what happened on each channel."""

    class Outcome(models.TextChoices):
        SENT = "sent", "Sent to every channel"
        PARTIAL = "partial", "Some channels failed"
        FAILED = "failed", "Every channel failed"
        NO_CHANNELS = "no_channels", "No enabled channel"

    rule = models.CharField(max_length=64, db_index=True)
    key = models.CharField(max_length=255, help_text="What the alert is about (a platform, a search…).")
    subject = models.CharField(max_length=255)
    message = models.TextField(blank=True)
    sent_at = models.DateTimeField(default=timezone.now, db_index=True)
    channels = models.JSONField(
        default=list, blank=True, help_text='One entry per channel: {"channel", "kind", "ok", "error"}.'
    )
    outcome = models.CharField(max_length=16, choices=Outcome.choices)

    class Meta:
        app_label = "pulse"
        ordering = ["-sent_at"]

    def __str__(self) -> str:
        return f"{self.rule}:{self.key} — {self.subject}"
