"""/metrics: pulse_* series read from PostgreSQL and Redis at scrape time, optional bearer token."""

from __future__ import annotations

import pytest
from prometheus_client.parser import text_string_to_metric_families

from pulse.redis import BEAT_DISPATCH_LAG_KEY, BEAT_DISPATCHES_KEY, beat_dispatch_record
from scraping.models import Search
from tests.support.factories import make_mention, make_search

pytestmark = pytest.mark.django_db


def scrape(client, **headers) -> dict[tuple[str, tuple], float]:
    response = client.get("/metrics", headers=headers)
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/plain; version=0.0.4")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.content.decode())
        for sample in family.samples
    }


def test_every_series_is_prefixed_with_pulse(client):
    assert all(name.startswith("pulse_") for name, _ in scrape(client))


def test_searches_are_counted_by_status_including_zeroes(client):
    make_search(status=Search.Status.SUCCEEDED)
    make_search(status=Search.Status.SUCCEEDED)
    make_search(status=Search.Status.FAILED, platforms=("facebook",))
    samples = scrape(client)
    assert samples[("pulse_searches", (("status", "succeeded"),))] == 2
    assert samples[("pulse_searches", (("status", "failed"),))] == 1
    assert samples[("pulse_searches", (("status", "running"),))] == 0


def test_platform_errors_are_counted_by_platform_and_kind(client):
    make_search(status=Search.Status.FAILED, platforms=("facebook", "web"))
    make_search(status=Search.Status.FAILED, platforms=("facebook",))
    samples = scrape(client)
    assert samples[("pulse_platform_errors", (("kind", "transient"), ("platform", "facebook")))] == 2
    assert samples[("pulse_platform_errors", (("kind", "transient"), ("platform", "web")))] == 1


def test_mentions_stored_are_counted_per_platform(client):
    for _ in range(3):
        make_mention(platform="news")
    make_mention(platform="youtube")
    samples = scrape(client)
    assert samples[("pulse_mentions_stored", (("platform", "news"),))] == 3
    assert samples[("pulse_mentions_stored", (("platform", "youtube"),))] == 1


def test_queue_depth_counts_waiting_messages_in_each_queue(client, redis_client):
    for queue in ("celery", "http", "browser"):
        redis_client.delete(queue)
    redis_client.rpush("browser", "m1", "m2")
    redis_client.rpush("browser\x06\x163", "m3")  # a higher-priority sibling list of the same queue
    try:
        samples = scrape(client)
    finally:
        redis_client.delete("browser", "browser\x06\x163")
    assert samples[("pulse_queue_depth", (("queue", "browser"),))] == 3
    assert samples[("pulse_queue_depth", (("queue", "http"),))] == 0
    assert ("pulse_queue_depth", (("queue", "celery"),)) in samples


def test_beat_values_written_by_the_scheduler_are_exposed(client, redis_client):
    redis_client.set(BEAT_DISPATCH_LAG_KEY, "0.75")
    redis_client.set(BEAT_DISPATCHES_KEY, 42)
    try:
        samples = scrape(client)
    finally:
        redis_client.delete(BEAT_DISPATCH_LAG_KEY, BEAT_DISPATCHES_KEY)
    assert samples[("pulse_beat_dispatch_lag_seconds", ())] == 0.75
    assert samples[("pulse_beat_dispatches_total", ())] == 42


def test_absent_beat_values_read_as_zero_and_a_missing_heartbeat_as_minus_one(client, redis_client):
    redis_client.delete(BEAT_DISPATCH_LAG_KEY, BEAT_DISPATCHES_KEY, "pulse:beat:heartbeat")
    samples = scrape(client)
    assert samples[("pulse_beat_dispatch_lag_seconds", ())] == 0
    assert samples[("pulse_beat_dispatches_total", ())] == 0
    assert samples[("pulse_beat_heartbeat_age_seconds", ())] == -1


def test_a_set_token_is_required_as_a_bearer_header(client, settings):
    settings.PULSE_METRICS_TOKEN = "metrics-token"
    refused = client.get("/metrics")
    assert refused.status_code == 401
    assert "Authorization: Bearer" in refused.content.decode()
    assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert ("pulse_queue_depth", (("queue", "http"),)) in scrape(client, Authorization="Bearer metrics-token")


def test_a_scrape_still_answers_when_redis_is_down(client, settings):
    from pulse import redis as pulse_redis

    settings.REDIS_URL = "redis://127.0.0.1:1/0"
    pulse_redis._client.cache_clear()
    try:
        samples = scrape(client)
    finally:
        pulse_redis._client.cache_clear()
    assert samples[("pulse_metrics_queue_metrics_up", ())] == 0
    assert samples[("pulse_metrics_database_metrics_up", ())] == 1
    assert ("pulse_searches", (("status", "queued"),)) in samples


def test_the_scheduler_helper_records_lag_and_counts_dispatches(client, redis_client):
    redis_client.delete(BEAT_DISPATCH_LAG_KEY, BEAT_DISPATCHES_KEY)
    try:
        beat_dispatch_record(lag_seconds=0.25)
        beat_dispatch_record(lag_seconds=1.5)
        beat_dispatch_record(lag_seconds=-3)  # clock skew: a dispatch is never early
        samples = scrape(client)
    finally:
        redis_client.delete(BEAT_DISPATCH_LAG_KEY, BEAT_DISPATCHES_KEY)
    assert samples[("pulse_beat_dispatch_lag_seconds", ())] == 0
    assert samples[("pulse_beat_dispatches_total", ())] == 3
