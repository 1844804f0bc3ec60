"""Reads: mention lists, search summaries and progress."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from scraping import selectors, services
from scraping.models import Mention

pytestmark = pytest.mark.django_db


def mention(external_id, platform="test-ok", **fields) -> Mention:
    return Mention.objects.create(
        platform=platform, external_id=external_id, url=f"https://example.com/{external_id}", **fields
    )


def ids(queryset) -> list[str]:
    return list(queryset.values_list("external_id", flat=True))


def test_mention_list_filters_by_platform_search_window_and_text(keyword):
    search, _ = services.search_create(keywords=[keyword], platforms=["test-ok"], trigger="api")
    services.platform_run_execute(run_id=search.platform_runs.get().pk)
    mention("early", published_at=datetime(2026, 1, 1, tzinfo=UTC), title="Acme early")
    mention("late", platform="test-flaky", published_at=datetime(2026, 6, 1, tzinfo=UTC), author="ACME fan")
    mention("other", title="nothing")

    assert ids(selectors.mention_list(platform="test-flaky")) == ["late"]
    assert sorted(ids(selectors.mention_list(search_id=search.pk))) == [f"{keyword}-{n}" for n in range(3)]
    assert ids(
        selectors.mention_list(since=datetime(2026, 3, 1, tzinfo=UTC), until=datetime(2026, 7, 1, tzinfo=UTC))
    ) == ["late"]
    assert sorted(ids(selectors.mention_list(text="acme"))) == ["early", "late"]
    assert ids(selectors.mention_list())[0] == "other"  # newest first


def test_summary_and_progress_of_a_new_search_list_every_platform_in_the_order_asked(keyword):
    search, _ = services.search_create(
        keywords=[keyword], platforms=["test-permanent", "test-ok"], trigger="api"
    )
    assert selectors.search_summary(search=search) == {
        "search_id": str(search.pk),
        "status": "queued",
        "platforms": {
            "test-permanent": {"status": "pending", "found": 0, "new": 0, "duplicate": 0, "error": None},
            "test-ok": {"status": "pending", "found": 0, "new": 0, "duplicate": 0, "error": None},
        },
    }
    assert selectors.search_progress(search=search) == {
        "platforms_done": 0,
        "platforms_total": 2,
        "mentions_found": 0,
        "mentions_new": 0,
    }
