"""Scheduled searches that `make demo` creates, once: a person's later edits are never overwritten."""

from __future__ import annotations

from django.db import transaction

from schedules import services
from schedules.models import ScheduledSearch

DEMO_SCHEDULES = (
    {
        "name": "SSM news every 5 minutes",
        "keywords": ["SSM"],
        "platforms": ["news"],
        "schedule": {"every": 5, "period": "minutes"},
        # Started once when first created, so a newcomer sees mentions as soon as the workers are up.
        "run_when_created": True,
    },
    {
        "name": "SSM social daily at 09:00",
        "keywords": ["SSM"],
        "platforms": ["news", "facebook", "instagram"],
        "schedule": {"cron": "0 9 * * *"},
    },
)


def seed_demo_schedules(stdout=None) -> list[ScheduledSearch]:
    """Create each demo schedule that does not exist yet (by name); leave existing ones exactly as they are."""
    created = []
    with transaction.atomic():
        for definition in DEMO_SCHEDULES:
            fields = {key: value for key, value in definition.items() if key != "run_when_created"}
            if ScheduledSearch.objects.filter(name=fields["name"]).exists():
                continue
            scheduled_search = services.schedule_create(timezone="Asia/Kuala_Lumpur", **fields)
            created.append(scheduled_search)
            if definition.get("run_when_created"):
                # Queued on commit; the demo's workers pick it up when they start.
                services.schedule_run_now(scheduled_search=scheduled_search, trigger="cli")
    if stdout is not None:
        names = ", ".join(row.name for row in created) or "none (all present already)"
        stdout.write(f"Demo scheduled searches created: {names}")
    return created
