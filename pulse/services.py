"""Services for API keys (HackSoft style: writes here, keyword-only arguments)."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta

from django.contrib.auth.base_user import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from pulse.models import ApiKey

# last_used_at is written at most this often per key, so a busy client does not turn every
# read into a database write.
API_KEY_TOUCH_INTERVAL = timedelta(minutes=1)


def api_key_hash(*, key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def api_key_create(
    *, user: AbstractBaseUser, name: str, expires_at: datetime | None = None
) -> tuple[ApiKey, str]:
    """Create a key for ``user`` and return it with the plain key, which is never stored.

    The key is 43 URL-safe characters (256 random bits); its first 8 are the stored prefix. A
    prefix collision (about one in 10^14 per pair) is retried with a fresh key.
    """
    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": ["Give the key a name that says what uses it."]})
    if expires_at is not None and expires_at <= timezone.now():
        raise ValidationError({"expires_at": ["The expiry is in the past; choose a future time or none."]})
    for _attempt in range(5):
        key = secrets.token_urlsafe(32)
        try:
            with transaction.atomic():
                api_key = ApiKey.objects.create(
                    user=user,
                    name=name,
                    prefix=key[: ApiKey.PREFIX_LENGTH],
                    key_hash=api_key_hash(key=key),
                    expires_at=expires_at,
                )
        except IntegrityError:
            continue
        return api_key, key
    raise RuntimeError("Could not find an unused API key prefix after 5 attempts.")


def api_key_revoke(*, api_key: ApiKey) -> ApiKey:
    """Stop a key from working. Revoking twice keeps the first revocation time."""
    ApiKey.objects.filter(pk=api_key.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())
    api_key.refresh_from_db(fields=["revoked_at"])
    return api_key


def api_key_authenticate(*, key: str) -> ApiKey | None:
    """Return the usable key matching ``key`` (with its user), or None.

    1. Find the row by prefix (an indexed lookup; the prefix alone proves nothing).
    2. Compare hashes in constant time, so response timing does not reveal how much matched.
    3. Refuse revoked or expired keys and keys of inactive users.
    4. Record the use, at most once per API_KEY_TOUCH_INTERVAL.
    """
    if not key or len(key) < ApiKey.PREFIX_LENGTH or len(key) > 200:
        return None
    api_key = ApiKey.objects.select_related("user").filter(prefix=key[: ApiKey.PREFIX_LENGTH]).first()
    if api_key is None:
        # Hash anyway so an unknown prefix takes as long as a known one.
        hmac.compare_digest(api_key_hash(key=key), "0" * 64)
        return None
    if not hmac.compare_digest(api_key_hash(key=key), api_key.key_hash):
        return None
    now = timezone.now()
    if not api_key.is_usable(at=now) or not api_key.user.is_active:
        return None
    if api_key.last_used_at is None or api_key.last_used_at <= now - API_KEY_TOUCH_INTERVAL:
        # The condition in the filter makes concurrent requests write once per interval.
        cutoff = now - API_KEY_TOUCH_INTERVAL
        not_recent = Q(last_used_at__isnull=True) | Q(last_used_at__lte=cutoff)
        ApiKey.objects.filter(not_recent, pk=api_key.pk).update(last_used_at=now)
        api_key.last_used_at = now
    return api_key
