"""The OpenAPI document and the docs page, which must work without internet."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.contrib.staticfiles import finders


def test_the_openapi_document_lists_every_endpoint_with_its_security(client):
    document = client.get("/api/v1/openapi.json").json()
    assert document["info"] == {**document["info"], "title": "Pulse API", "version": "1"}
    expected = {
        ("get", "/api/v1/schedules"), ("post", "/api/v1/schedules"),
        ("get", "/api/v1/schedules/{schedule_id}"), ("put", "/api/v1/schedules/{schedule_id}"),
        ("patch", "/api/v1/schedules/{schedule_id}"), ("delete", "/api/v1/schedules/{schedule_id}"),
        ("post", "/api/v1/schedules/{schedule_id}/pause"), ("post", "/api/v1/schedules/{schedule_id}/resume"),
        ("post", "/api/v1/schedules/{schedule_id}/run"),
        ("post", "/api/v1/searches"), ("get", "/api/v1/searches"), ("get", "/api/v1/searches/{search_id}"),
        ("post", "/api/v1/searches/{search_id}/cancel"),
        ("get", "/api/v1/mentions"), ("get", "/api/v1/mentions/export"),
    }  # fmt: skip
    found = {(method, path) for path, operations in document["paths"].items() for method in operations}
    assert found == expected
    schemes = document["components"]["securitySchemes"]
    assert schemes["BearerKeyAuth"] == {"type": "http", "scheme": "bearer"}
    assert schemes["HeaderKeyAuth"] == {"type": "apiKey", "in": "header", "name": "X-API-Key"}
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            assert operation.get("security"), f"{method} {path} has no security requirement"
            assert "401" in operation["responses"], f"{method} {path} does not document 401"


def test_the_docs_page_loads_swagger_ui_from_pulse_itself_not_a_cdn(client):
    response = client.get("/api/v1/docs")
    assert response.status_code == 200
    html = response.content.decode()
    assets = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert any(asset.endswith("swagger-ui-bundle.js") for asset in assets)
    for asset in assets:
        assert asset.startswith("/static/"), f"{asset} would need the internet"
        found = finders.find(asset.removeprefix("/static/"))
        assert found and Path(found).stat().st_size > 0, f"{asset} is not among the static files"


@pytest.mark.parametrize("asset", ["ninja/swagger-ui-bundle.js", "ninja/swagger-ui-init.js"])
def test_the_swagger_scripts_fetch_nothing_from_the_internet(asset):
    text = Path(finders.find(asset)).read_text(errors="replace")
    assert "cdn.jsdelivr" not in text and "unpkg.com" not in text
