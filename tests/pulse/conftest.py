from __future__ import annotations

import pytest

from tests.support.receiver import start_receiver


@pytest.fixture
def receiver():
    receiver, server = start_receiver()
    yield receiver
    server.shutdown()
    server.server_close()


@pytest.fixture(autouse=True)
def _fresh_alert_cooldowns(redis_client):
    # Cool-down claims live in Redis, outside the per-test database rollback.
    for key in redis_client.scan_iter("pulse:alert:cooldown:*"):
        redis_client.delete(key)
    yield
