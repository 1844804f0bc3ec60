"""Search tasks wait for the database with growing, jittered, capped delays (see tests/faults)."""

from __future__ import annotations

import pytest

from scraping.tasks import database_retry_delay


@pytest.mark.parametrize(("retries", "ceiling"), [(0, 1.0), (1, 2.0), (3, 8.0), (5, 32.0), (6, 60.0), (40, 60.0)])
def test_the_database_retry_delay_doubles_with_jitter_up_to_the_cap(settings, retries, ceiling):
    settings.PULSE_DATABASE_RETRY_BACKOFF_MAX = 60.0
    delays = [database_retry_delay(retries) for _ in range(50)]
    assert all(ceiling / 2 <= delay <= ceiling for delay in delays)
    assert len(set(delays)) > 1  # jittered, so workers that failed together do not retry together
