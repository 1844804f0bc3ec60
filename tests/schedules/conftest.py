"""Scheduled-search tests run real searches over the test platforms (test-ok, test-crash, ...)."""

import tests.support.scrapers  # noqa: F401  (registers the test platforms in this process too)
