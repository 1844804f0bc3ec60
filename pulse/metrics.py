"""Prometheus metrics read from PostgreSQL and Redis at scrape time.

Web, workers and beat are separate processes, so counters kept in one process's memory would
show only that process. The collector below asks the shared stores instead, on every scrape, and
is registered on its own registry so nothing else leaks into ``/metrics``.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.db.models import Count
from prometheus_client.core import CollectorRegistry, CounterMetricFamily, GaugeMetricFamily

from pulse.health import beat_heartbeat_age
from pulse.redis import BEAT_DISPATCH_LAG_KEY, BEAT_DISPATCHES_KEY, read_float, redis_client

logger = logging.getLogger(__name__)

# kombu's Redis transport keeps a queue's higher priorities in sibling lists named
# "<queue>\x06\x16<priority>"; a queue's depth is the sum over all of them.
PRIORITY_SEPARATOR = "\x06\x16"
PRIORITY_STEPS = (0, 3, 6, 9)


def queue_depth(queue: str) -> int:
    client = redis_client()
    names = [queue] + [f"{queue}{PRIORITY_SEPARATOR}{step}" for step in PRIORITY_STEPS if step]
    return sum(client.llen(name) for name in names)


class PulseCollector:
    """Every ``pulse_*`` series; each group is read independently so one broken store hides only its own."""

    def collect(self):
        yield from self._guarded("redis", self._beat_metrics)
        yield from self._guarded("redis", self._queue_metrics)
        yield from self._guarded("database", self._database_metrics)

    def _guarded(self, source: str, reader):
        up = GaugeMetricFamily(
            f"pulse_metrics_{reader.__name__.strip('_')}_up",
            f"1 when the {source} values for {reader.__name__.strip('_')} could be read at this scrape.",
        )
        try:
            families = list(reader())
        except Exception:  # noqa: BLE001  (a scrape must answer even with a store down)
            logger.warning("metrics: could not read %s", reader.__name__, exc_info=True)
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        yield from families

    def _beat_metrics(self):
        lag = GaugeMetricFamily(
            "pulse_beat_dispatch_lag_seconds",
            "Seconds between a task's due time and beat sending it (last dispatch).",
        )
        lag.add_metric([], read_float(BEAT_DISPATCH_LAG_KEY) or 0.0)
        yield lag
        dispatches = CounterMetricFamily(
            "pulse_beat_dispatches", "Tasks beat has sent since the counter was created."
        )
        dispatches.add_metric([], read_float(BEAT_DISPATCHES_KEY) or 0.0)
        yield dispatches
        age = beat_heartbeat_age()
        heartbeat = GaugeMetricFamily(
            "pulse_beat_heartbeat_age_seconds", "Seconds since beat's last heartbeat; -1 when there is none."
        )
        heartbeat.add_metric([], -1.0 if age is None else age)
        yield heartbeat

    def _queue_metrics(self):
        depth = GaugeMetricFamily(
            "pulse_queue_depth", "Messages waiting in a Celery queue.", labels=["queue"]
        )
        for queue in settings.PULSE_QUEUES:
            depth.add_metric([queue], queue_depth(queue))
        yield depth

    def _database_metrics(self):
        from scraping.models import Mention, PlatformRun, Search

        searches = GaugeMetricFamily(
            "pulse_searches", "Searches kept in run history, by status.", labels=["status"]
        )
        by_status = dict(Search.objects.values_list("status").annotate(count=Count("pk")).order_by())
        for status in Search.Status.values:
            searches.add_metric([status], by_status.get(status, 0))
        yield searches

        errors = GaugeMetricFamily(
            "pulse_platform_errors",
            "Failed platform runs kept in run history, by platform and error kind (permanent, transient).",
            labels=["platform", "kind"],
        )
        failed = (
            PlatformRun.objects.filter(status=PlatformRun.Status.FAILED)
            .values_list("platform", "error_kind")
            .annotate(count=Count("pk"))
            .order_by()
        )
        for platform, kind, count in failed:
            errors.add_metric([platform, kind or "unknown"], count)
        yield errors

        mentions = GaugeMetricFamily(
            "pulse_mentions_stored", "Mentions stored, by platform.", labels=["platform"]
        )
        for platform, count in Mention.objects.values_list("platform").annotate(count=Count("pk")).order_by():
            mentions.add_metric([platform], count)
        yield mentions


registry = CollectorRegistry(auto_describe=False)
registry.register(PulseCollector())
