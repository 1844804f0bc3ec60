"""The pipeline stages: validate, normalise, dedupe (pure) and store (real PostgreSQL)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest
from django.db import connection, transaction
from hypothesis import given
from hypothesis.provisional import urls

from scraping import pipeline
from scraping.models import Mention, MentionMatch, Search
from scraping.platforms.base import ScrapedItem


def item(external_id="a1", **fields) -> ScrapedItem:
    return ScrapedItem(
        platform=fields.pop("platform", "test-ok"),
        external_id=external_id,
        url=fields.pop("url", f"https://example.com/{external_id}"),
        **fields,
    )


@pytest.mark.parametrize(
    ("url", "canonical"),
    [
        ("HTTPS://Example.COM/Path?b=2&a=1#top", "https://example.com/Path?b=2&a=1"),
        ("https://example.com/p?utm_source=x&utm_medium=y&id=3", "https://example.com/p?id=3"),
        ("https://m.facebook.com/post/1?fbclid=abc&__cft__[0]=z", "https://m.facebook.com/post/1"),
        ("https://www.instagram.com/p/XYZ/?igshid=abc&igsh=def", "https://www.instagram.com/p/XYZ/"),
        ("https://youtu.be/abc?si=share123&t=10", "https://youtu.be/abc?t=10"),
        ("https://news.example/a?gclid=1&ref=rss&ref_src=twsrc", "https://news.example/a"),
        ("http://example.com:80/a", "http://example.com/a"),
        ("https://example.com:8443/a", "https://example.com:8443/a"),
        ("https://user:secret@example.com/a", "https://example.com/a"),
        ("https://example.com", "https://example.com/"),
        ("  https://example.com/a b  ", "https://example.com/a b"),
        ("https://[::1]:8000/x", "https://[::1]:8000/x"),
    ],
)
def test_canonical_url_keeps_the_page_and_drops_what_only_tracks(url, canonical):
    assert pipeline.canonical_url(url) == canonical


@given(urls())
def test_canonical_url_is_stable_and_never_keeps_a_fragment_or_utm_parameter(url):
    once = pipeline.canonical_url(
        url + "&utm_campaign=x#frag" if "?" in url else url + "?utm_campaign=x#frag"
    )
    assert pipeline.canonical_url(once) == once
    assert "#" not in once and "utm_campaign" not in once


def test_normalising_collapses_whitespace_and_unknown_engagement():
    normal = pipeline.normalise_item(
        item(
            " a1 ",
            title="  Big\n\n news\t here ",
            author=" Ann  Lee ",
            likes=-1,
            views=True,
            shares=5,
            published_at=datetime(2026, 1, 1, 9, 0),
        )
    )
    assert normal.external_id == "a1"
    assert normal.title == "Big news here"
    assert normal.author == "Ann Lee"
    assert (normal.likes, normal.views, normal.shares) == (None, None, 5)
    assert normal.published_at == datetime(2026, 1, 1, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    "bad",
    [
        item(""),
        item("   "),
        item("x" * 513),
        item("a", url="javascript:alert(1)"),
        item("a", url="ftp://example.com/a"),
        item("a", platform="other"),
        item("a", published_at="yesterday"),
        {"platform": "test-ok", "external_id": "a", "url": "https://example.com/a"},
    ],
)
def test_an_item_that_cannot_be_stored_is_dropped(bad):
    assert pipeline.validate_item(bad, platform="test-ok") is None


def test_dedupe_keeps_the_first_of_each_external_id_in_order():
    items = [item("a", title="first"), item("b"), item("a", title="second"), item("c"), item("b")]
    assert [(one.external_id, one.title) for one in pipeline.dedupe(items)] == [
        ("a", "first"),
        ("b", ""),
        ("c", ""),
    ]


def test_prepare_drops_items_outside_the_window_and_caps_at_max_results():
    since, until = datetime(2026, 1, 2, tzinfo=UTC), datetime(2026, 1, 3, tzinfo=UTC)
    items = [
        item("early", published_at=datetime(2026, 1, 1, tzinfo=UTC)),
        item("inside", published_at=datetime(2026, 1, 2, 5, tzinfo=UTC)),
        item("undated"),
        item("at-until", published_at=until),
        item("inside", published_at=datetime(2026, 1, 2, 6, tzinfo=UTC)),
        item("extra"),
    ]
    kept, dropped = pipeline.prepare_items(items, platform="test-ok", since=since, until=until, max_results=2)
    assert [one.external_id for one in kept] == ["inside", "undated"]
    assert dropped == 4


def make_search(**fields) -> Search:
    return Search.objects.create(keywords=["acme"], platforms=["test-ok"], **fields)


def store(search, items):
    with transaction.atomic():
        return pipeline.store_items(search=search, platform="test-ok", items=items)


@pytest.mark.django_db
def test_storing_counts_new_then_duplicate_and_updates_engagement_and_last_seen():
    first_search, second_search = make_search(), make_search()
    first = store(first_search, [item("a", likes=1), item("b")])
    mention = Mention.objects.get(external_id="a")
    second = store(second_search, [item("a", likes=7), item("c")])

    assert (first.found, first.new, first.duplicate) == (2, 2, 0)
    assert (second.found, second.new, second.duplicate) == (2, 1, 1)
    updated = Mention.objects.get(external_id="a")
    assert updated.likes == 7
    assert updated.first_seen == mention.first_seen and updated.last_seen > mention.last_seen
    assert set(updated.searches.all()) == {first_search, second_search}
    assert Mention.objects.count() == 3


@pytest.mark.django_db
def test_storing_the_same_batch_for_the_same_search_again_adds_nothing_and_reports_the_same_counts():
    # What a redelivered task does after its first delivery committed.
    search = make_search()
    first = store(search, [item("a"), item("b")])
    again = store(search, [item("a"), item("b")])

    assert (again.new, again.duplicate) == (first.new, first.duplicate) == (2, 0)
    assert Mention.objects.count() == 2
    assert MentionMatch.objects.filter(search=search).count() == 2


@pytest.mark.django_db(transaction=True)
def test_store_refuses_to_run_outside_a_transaction():
    with pytest.raises(RuntimeError, match="inside transaction.atomic"):
        pipeline.store_items(search=make_search(), platform="test-ok", items=[item("a")])


@pytest.mark.django_db(transaction=True)
def test_two_searches_storing_the_same_new_item_at_once_count_it_new_exactly_once():
    searches = [make_search() for _ in range(4)]
    barrier = threading.Barrier(len(searches))
    results = []

    def run(search):
        try:
            barrier.wait()
            results.append(store(search, [item("same"), item(f"own-{search.pk}")]))
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(search,)) for search in searches]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(results) == 4
    assert sum(result.new for result in results) == 1 + 4
    assert sum(result.duplicate for result in results) == 3
    assert Mention.objects.filter(external_id="same").count() == 1
