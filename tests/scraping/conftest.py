"""Fixtures for the scraping tests: the test platforms registered in this process too."""

from __future__ import annotations

import uuid

import pytest

import tests.support.scrapers  # noqa: F401  (registers test-ok, test-flaky, ...)


@pytest.fixture
def keyword() -> str:
    """A keyword no other test uses, so Redis state and mentions of one test never meet another's."""
    return f"kw{uuid.uuid4().hex[:10]}"
