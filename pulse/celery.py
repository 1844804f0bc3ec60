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


@signals.task_prerun.connect
@signals.task_postrun.connect
def close_old_database_connections(task=None, **kwargs):
    """Close connections that are broken or older than CONN_MAX_AGE, as Django does per request.

    Replaces Celery's default of closing every connection around every task (see
    CELERY_DB_REUSE_MAX), so a worker keeps one healthy connection instead of opening one per task;
    a connection left broken by a database restart is dropped here and reopened by the next query.
    """
    from django.db import close_old_connections

    if task is not None and getattr(task.request, "is_eager", False):
        return  # runs inside the caller's own connection and transaction, as Celery's fix-up skips it too
    close_old_connections()


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
