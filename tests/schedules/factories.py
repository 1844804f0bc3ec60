"""Small helpers to make scheduled searches through the real services."""

from __future__ import annotations

import itertools

from schedules import services

_counter = itertools.count(1)


def make_schedule(**overrides):
    fields = {
        "name": f"SSM watch {next(_counter)}",
        "keywords": ["SSM"],
        "platforms": ["news"],
        "schedule": {"cron": "0 9 * * 1-5"},
    }
    fields.update(overrides)
    return services.schedule_create(**fields)
