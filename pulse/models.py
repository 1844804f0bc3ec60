"""Project-wide models: API keys (how other services authenticate) and alerting (pulse.alert_models)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone


class ApiKey(models.Model):
    """A secret that acts with its user's permissions.

    Only a SHA-256 hash of the key is stored: a leaked database does not leak working keys. The
    first characters (``prefix``) are stored in clear so a request can find its row with one
    indexed lookup and a person can tell keys apart in the admin.
    """

    PREFIX_LENGTH = 8

    name = models.CharField(max_length=200, help_text="What the key is for, e.g. 'reporting service'.")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="api_keys",
        help_text="The key acts with this user's permissions.",
    )
    prefix = models.CharField(
        max_length=PREFIX_LENGTH, unique=True, editable=False, help_text="First characters of the key."
    )
    key_hash = models.CharField(max_length=64, editable=False, help_text="SHA-256 of the key, hex.")
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    expires_at = models.DateTimeField(
        null=True, blank=True, help_text="The key stops working at this time (empty: never)."
    )
    revoked_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "API key"
        verbose_name_plural = "API keys"

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    def is_usable(self, *, at=None) -> bool:
        at = at or timezone.now()
        if self.revoked_at is not None:
            return False
        return self.expires_at is None or self.expires_at > at


# Alert channels and their history live in their own module; importing them here registers them.
from pulse.alert_models import AlertChannel, AlertEvent  # noqa: E402,F401
