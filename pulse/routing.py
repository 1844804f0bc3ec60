"""Queue routing: ``http`` for API and feed work, ``browser`` for Playwright work.

A task states its queue with the ``pulse_queue`` attribute; a signature may still pick
another queue explicitly (the per-platform fan-out does, by platform kind).
"""

from __future__ import annotations


def route_task(name, args, kwargs, options, task=None, **kw):
    queue = getattr(task, "pulse_queue", None)
    if queue:
        return {"queue": queue}
    return None
