"""Property-based run of the whole API from its own OpenAPI document (schemathesis).

Schemathesis reads /api/v1/openapi.json, generates requests for every operation — valid ones and
edge cases: odd strings, huge numbers, missing fields — and sends them, authenticated, through
the real WSGI application to the test database. Whatever it sends, the API must never answer 5xx.
Bounded to a few examples per operation so the run takes seconds.
"""

from __future__ import annotations

import pytest
from django.core import signals
from django.db import close_old_connections
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error

import tests.support.scrapers  # noqa: F401  (so platform validation knows some names)
from pulse.wsgi import application
from tests.support.api import superuser_key

EXAMPLES_PER_OPERATION = 6  # 15 operations: about 90 generated requests in all
# The coverage phase would add several hundred boundary cases; the fuzzing phase alone keeps the
# run to seconds. Run `schemathesis run` against a live server for the exhaustive version.
CONFIG = schemathesis.config.SchemathesisConfig.from_dict(
    {"phases": {"coverage": {"enabled": False}, "stateful": {"enabled": False}}}
)
schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", application, config=CONFIG)


@pytest.fixture
def auth_headers(db):
    return {"Authorization": f"Bearer {superuser_key()}"}


@pytest.fixture(autouse=True)
def _keep_the_test_transaction_open():
    """Requests go straight to the WSGI app, whose request signals would close the database
    connection — and with it the test's transaction. Django's own test client detaches the same
    handler for the same reason."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@schema.parametrize()
@settings(
    max_examples=EXAMPLES_PER_OPERATION,
    deadline=None,
    derandomize=True,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.filter_too_much,
    ],
)
def test_no_generated_request_makes_the_api_answer_5xx(case, auth_headers):
    # on_commit callbacks never run inside the test transaction, so nothing reaches the broker.
    case.call_and_validate(headers=auth_headers, checks=[not_a_server_error])
