"""Search input validation: every bad field is named, with what would be accepted."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from django.core.exceptions import ValidationError
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from scraping.platforms import registry
from scraping.validation import MAX_KEYWORDS, validate_search_input, validation_message


def errors_of(data) -> dict[str, list[str]]:
    with pytest.raises(ValidationError) as raised:
        validate_search_input(data)
    return raised.value.message_dict


def test_valid_input_is_cleaned():
    cleaned = validate_search_input(
        {
            "keywords": ["  acme   corp ", "acme corp", "widgets"],
            "platforms": ["test-ok", "test-flaky", "test-ok"],
            "since": "2026-11-01T00:00:00+00:00",
            "until": "2026-11-02T08:00:00",
            "max_results": 500,
            "search_id": "3f0c1d2e-0000-4000-8000-000000000000",
        }
    )
    assert cleaned.keywords == ("acme corp", "widgets")
    assert cleaned.platforms == ("test-ok", "test-flaky")
    assert cleaned.since == datetime(2026, 11, 1, tzinfo=UTC)
    # A time without an offset is in Pulse's time zone (Asia/Kuala_Lumpur, UTC+8).
    assert cleaned.until == datetime(2026, 11, 2, 0, 0, tzinfo=UTC)
    assert cleaned.max_results == 500
    assert cleaned.search_id == uuid.UUID("3f0c1d2e-0000-4000-8000-000000000000")


def test_defaults_are_all_enabled_platforms_and_fifty_results(monkeypatch):
    monkeypatch.setattr(registry, "enabled_platform_names", lambda: ["test-ok", "test-flaky"])
    cleaned = validate_search_input({"keywords": ["acme"]})
    assert cleaned.platforms == ("test-ok", "test-flaky")
    assert cleaned.max_results == 50
    assert (cleaned.since, cleaned.until, cleaned.search_id) == (None, None, None)


def test_without_enabled_platforms_a_search_must_name_them(monkeypatch):
    monkeypatch.setattr(registry, "enabled_platform_names", lambda: [])
    assert errors_of({"keywords": ["acme"]}) == {
        "platforms": ["platforms: no platform is enabled, so a search without platforms has nothing to do"]
    }


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"platforms": ["test-ok"]}, "keywords", 'keywords: required; give 1 to 20 keywords, e.g. ["acme"]'),
        ({"keywords": None}, "keywords", "keywords: must be a list of 1 to 20 strings"),
        ({"keywords": "acme"}, "keywords", "got str"),
        ({"keywords": ["ok", 5]}, "keywords", "keywords: item 1 must be a string, got int 5"),
        ({"keywords": ["  \t "]}, "keywords", "keywords: item 0 is empty"),
        ({"keywords": ["x" * 201]}, "keywords", "keywords: item 0 is 201 characters long; the limit is 200"),
        ({"keywords": [f"k{n}" for n in range(21)]}, "keywords", "at most 20 keywords per search, got 21"),
        ({"keywords": ["a"], "platforms": "test-ok"}, "platforms", "must be a list of platform names"),
        ({"keywords": ["a"], "platforms": []}, "platforms", "must name at least one platform"),
        (
            {"keywords": ["a"], "platforms": ["MySpace"]},
            "platforms",
            "unknown platform 'MySpace', use one of: ",
        ),
        (
            {"keywords": ["a"], "max_results": 1000000000},
            "max_results",
            "max_results: must be between 1 and 500, got 1000000000",
        ),
        ({"keywords": ["a"], "max_results": 0}, "max_results", "must be between 1 and 500, got 0"),
        ({"keywords": ["a"], "max_results": True}, "max_results", "got bool True"),
        ({"keywords": ["a"], "max_results": 2.5}, "max_results", "got float 2.5"),
        ({"keywords": ["a"], "since": "last tuesday"}, "since", "since: 'last tuesday' is not an ISO 8601"),
        (
            {"keywords": ["a"], "until": 1700000000},
            "until",
            "until: must be an ISO 8601 date-time string, got int",
        ),
        (
            {"keywords": ["a"], "since": "2026-11-02T00:00:00Z", "until": "2026-11-01T00:00:00Z"},
            "until",
            "until: must be later than since",
        ),
        (
            {"keywords": ["a"], "search_id": "not-a-uuid"},
            "search_id",
            "search_id: 'not-a-uuid' is not a UUID",
        ),
        ({"keywords": ["a"], "keyword": ["typo"]}, "keyword", "keyword: unknown field; accepted fields are"),
    ],
)
def test_bad_input_is_refused_with_a_message_naming_the_field(data, field, message):
    data.setdefault("platforms", ["test-ok"])
    errors = errors_of(data)
    assert list(errors) == [field]
    assert message in errors[field][0]
    assert errors[field][0].startswith(f"{field}: ")


def test_the_unknown_platform_message_lists_every_known_platform():
    message = errors_of({"keywords": ["a"], "platforms": ["nope"]})["platforms"][0]
    for name in registry.platform_names():
        assert name in message


def test_every_bad_field_is_reported_at_once_and_joined_into_one_line():
    with pytest.raises(ValidationError) as raised:
        validate_search_input({"keywords": [], "platforms": ["x"], "max_results": -1})
    assert set(raised.value.message_dict) == {"keywords", "platforms", "max_results"}
    assert validation_message(raised.value).count("; ") == 2


def test_input_that_is_not_an_object_is_refused():
    assert "must be an object" in errors_of(["acme"])["__all__"][0]


# --- properties -----------------------------------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=10,
)
fields = st.sampled_from(["keywords", "platforms", "since", "until", "max_results", "search_id", "extra"])


@hypothesis_settings(max_examples=300, deadline=None)
@given(st.dictionaries(fields, json_values, max_size=6))
def test_any_json_input_is_either_accepted_or_refused_with_field_messages_never_a_crash(data):
    try:
        cleaned = validate_search_input(data)
    except ValidationError as error:
        for field, messages in error.message_dict.items():
            assert messages and all(message.startswith(f"{field}: ") for message in messages)
    else:
        assert 1 <= len(cleaned.keywords) <= MAX_KEYWORDS
        assert all(keyword and keyword == keyword.strip() for keyword in cleaned.keywords)
        assert 1 <= cleaned.max_results <= 500
        assert set(cleaned.platforms) <= set(registry.platform_names())


@given(
    keywords=st.lists(st.text(min_size=1, max_size=40).filter(str.strip), min_size=1, max_size=MAX_KEYWORDS),
    platforms=st.lists(
        st.sampled_from(["test-ok", "test-flaky", "test-browser-ok"]), min_size=1, unique=True
    ),
    max_results=st.integers(min_value=1, max_value=500),
)
def test_well_formed_input_is_always_accepted(keywords, platforms, max_results):
    cleaned = validate_search_input(
        {"keywords": keywords, "platforms": platforms, "max_results": max_results}
    )
    assert cleaned.platforms == tuple(platforms)
    assert cleaned.max_results == max_results
    assert set(cleaned.keywords) == {" ".join(keyword.split()) for keyword in keywords}


@given(st.integers().filter(lambda number: not 1 <= number <= 500))
def test_any_max_results_outside_the_bounds_is_refused_naming_the_value(number):
    errors = errors_of({"keywords": ["a"], "platforms": ["test-ok"], "max_results": number})
    assert errors == {"max_results": [f"max_results: must be between 1 and 500, got {number}"]}
