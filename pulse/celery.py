"""Celery application for Pulse, configured from Django settings (namespace ``CELERY_``)."""

from __future__ import annotations

import os

from celery import Celery, signals

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pulse.settings")

app = Celery("pulse")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@signals.setup_logging.connect
def use_django_logging(**kwargs):
    """Let Django's LOGGING configure every Celery process instead of Celery's own setup."""
    from logging.config import dictConfig

    from django.conf import settings

    dictConfig(settings.LOGGING)


@signals.worker_init.connect
@signals.beat_init.connect
def refuse_bad_configuration(**kwargs):
    """Run Pulse's system checks in worker and beat too; Django runs them only for web commands.

    A worker whose tasks can outlive Redis' visibility timeout would run them twice, so it must
    not start at all.
    """
    from django.core import checks

    errors = [message for message in checks.run_checks(tags=["pulse"]) if message.is_serious()]
    if errors:
        raise SystemExit("Pulse refuses to start:\n" + "\n".join(f"  {error}" for error in errors))
