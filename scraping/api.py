"""HTTP API for searches and mentions: start / status / cancel, list and export mentions.

Views translate HTTP to scraping.services (writes) and scraping.selectors (reads), which hold
the rules; validation messages come from the same code that guards the ``pulse.search`` task.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Any, Literal
from uuid import UUID

from django.core.serializers.json import DjangoJSONEncoder
from django.http import Http404, HttpRequest, StreamingHttpResponse
from django.urls import reverse
from django.utils import timezone
from ninja import Field, Query, Router, Schema, Status
from pydantic import ConfigDict

from pulse.api_schemas import BODY_ERRORS, ERRORS, Moment, PageParams
from pulse.api_security import permission_required
from scraping import selectors, services
from scraping.models import Mention, Search

searches_router = Router()
mentions_router = Router()

EXPORT_CHUNK_SIZE = 500
# A spreadsheet treats a cell starting with one of these as a formula (CSV injection, OWASP);
# tab and carriage return too, as some spreadsheets strip them before looking.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
MENTION_EXPORT_FIELDS = (
    "id", "platform", "external_id", "url", "title", "text", "author", "published_at",
    "likes", "comments", "shares", "views", "first_seen", "last_seen",
)  # fmt: skip


# --- Searches ---------------------------------------------------------------------------------


class SearchStartIn(Schema):
    """The same fields as the ``pulse.search`` task's kwargs."""

    model_config = ConfigDict(extra="forbid")

    keywords: list[str] = Field(..., description="1–20 non-empty keywords, each at most 200 characters.")
    platforms: list[str] | None = Field(
        None, description="Platform names (news, youtube, facebook, instagram, web); default: all enabled."
    )
    since: Moment | None = Field(None, description="Only content published at or after this (ISO 8601).")
    until: Moment | None = Field(None, description="Only content published before this (ISO 8601).")
    max_results: int = Field(50, description="Most items taken from each platform (1–500).")
    search_id: UUID | None = Field(
        None, description="Your id for this search; sending it again returns the same search (idempotent)."
    )


class PlatformStatusOut(Schema):
    status: str
    found: int
    new: int
    duplicate: int
    error: str | None


class ProgressOut(Schema):
    platforms_done: int
    platforms_total: int
    mentions_found: int
    mentions_new: int


class SearchOut(Schema):
    search_id: str
    status: str
    keywords: list[str]
    platforms: dict[str, PlatformStatusOut] = Field(description="Outcome so far, per platform.")
    progress: ProgressOut
    since: datetime | None
    until: datetime | None
    max_results: int
    trigger: str
    scheduled_search_id: int | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    error: str
    url: str
    mentions_url: str


class SearchListItemOut(Schema):
    search_id: str
    status: str
    keywords: list[str]
    platforms: list[str]
    trigger: str
    progress: ProgressOut
    created_at: datetime
    finished_at: datetime | None
    url: str


class SearchPage(Schema):
    items: list[SearchListItemOut]
    total: int
    limit: int
    offset: int


class SearchFilters(PageParams):
    status: Literal["queued", "running", "succeeded", "partial", "failed", "cancelled"] | None = None


def _search_url(request: HttpRequest, search: Search) -> str:
    return request.build_absolute_uri(reverse("api:search_get", args=[search.pk]))


def _search_out(request: HttpRequest, search: Search) -> dict[str, Any]:
    summary = selectors.search_summary(search=search)
    return {
        "search_id": str(search.pk),
        "status": summary["status"],
        "keywords": search.keywords,
        "platforms": summary["platforms"],
        "progress": selectors.search_progress(search=search),
        "since": search.since,
        "until": search.until,
        "max_results": search.max_results,
        "trigger": search.trigger,
        "scheduled_search_id": search.scheduled_search_id,
        "created_at": search.created_at,
        "started_at": search.started_at,
        "finished_at": search.finished_at,
        "error": search.error,
        "url": _search_url(request, search),
        "mentions_url": request.build_absolute_uri(reverse("api:mention_list")) + f"?search={search.pk}",
    }


def _get_search(search_id: UUID) -> Search:
    search = Search.objects.filter(pk=search_id).first()
    if search is None:
        raise Http404(f"No search with id {search_id}. List them with GET /api/v1/searches.")
    return search


@searches_router.post(
    "",
    response={200: SearchOut, 201: SearchOut, **BODY_ERRORS},
    auth=permission_required("scraping.add_search"),
    summary="Start a search (201), or return the existing one when search_id was already used (200)",
)
def search_start(request, payload: SearchStartIn):
    data = payload.dict()
    # Only tells 200 from 201; the service itself guarantees one search per id, even when two
    # requests race past this check.
    existed = data["search_id"] is not None and Search.objects.filter(pk=data["search_id"]).exists()
    search = services.search_start(**data, trigger=Search.Trigger.API)
    return Status(200 if existed else 201, _search_out(request, search))


@searches_router.get(
    "",
    response={200: SearchPage, **ERRORS},
    auth=permission_required("scraping.view_search"),
    summary="List searches, newest first",
)
def search_list(request, filters: Query[SearchFilters]):
    queryset = Search.objects.order_by("-created_at", "-pk")
    if filters.status:
        queryset = queryset.filter(status=filters.status)
    total = queryset.count()
    rows = queryset[filters.offset : filters.offset + filters.limit]
    items = [
        {
            "search_id": str(search.pk),
            "status": search.status,
            "keywords": search.keywords,
            "platforms": search.platforms,
            "trigger": search.trigger,
            "progress": {
                "platforms_done": search.platforms_done,
                "platforms_total": search.platforms_total,
                "mentions_found": search.mentions_found,
                "mentions_new": search.mentions_new,
            },
            "created_at": search.created_at,
            "finished_at": search.finished_at,
            "url": _search_url(request, search),
        }
        for search in rows
    ]
    return {"items": items, "total": total, "limit": filters.limit, "offset": filters.offset}


@searches_router.get(
    "/{search_id}",
    response={200: SearchOut, **ERRORS},
    auth=permission_required("scraping.view_search"),
    url_name="search_get",
    summary="Status of a search with per-platform progress",
)
def search_get(request, search_id: UUID):
    return _search_out(request, _get_search(search_id))


@searches_router.post(
    "/{search_id}/cancel",
    response={200: SearchOut, **ERRORS},
    auth=permission_required("scraping.change_search"),
    summary="Cancel a search: stop its platform work and mark it cancelled",
)
def search_cancel(request, search_id: UUID):
    search = _get_search(search_id)
    search = services.search_cancel(search=search)
    return _search_out(request, search)


# --- Mentions ---------------------------------------------------------------------------------


class MentionFilters(Schema):
    platform: str | None = Field(None, description="Only this platform.")
    search: UUID | None = Field(None, description="Only mentions this search saw.")
    since: Moment | None = Field(None, description="Published at or after (ISO 8601).")
    until: Moment | None = Field(None, description="Published before (ISO 8601).")
    q: str | None = Field(None, max_length=200, description="Text contained in title or text.")


class MentionListParams(MentionFilters, PageParams):
    pass


class ExportParams(MentionFilters):
    format: Literal["csv", "json"] = Field("csv", description="csv (with a header row) or json (an array).")


class MentionOut(Schema):
    id: int
    platform: str
    external_id: str
    url: str
    title: str
    text: str
    author: str
    published_at: datetime | None
    likes: int | None
    comments: int | None
    shares: int | None
    views: int | None
    first_seen: datetime
    last_seen: datetime


class MentionPage(Schema):
    items: list[MentionOut]
    total: int
    limit: int
    offset: int


def _mentions(filters: MentionFilters):
    queryset = selectors.mention_list(
        platform=filters.platform or None,
        search_id=filters.search,
        since=filters.since,
        until=filters.until,
        text=filters.q or None,
    )
    # A total order, so that pages neither repeat nor skip rows.
    return queryset.order_by("-first_seen", "-pk")


@mentions_router.get(
    "",
    response={200: MentionPage, **ERRORS},
    auth=permission_required("scraping.view_mention"),
    url_name="mention_list",
    summary="List mentions, newest first",
)
def mention_list(request, params: Query[MentionListParams]):
    queryset = _mentions(params)
    total = queryset.count()
    items = list(queryset[params.offset : params.offset + params.limit])
    return {"items": items, "total": total, "limit": params.limit, "offset": params.offset}


def formula_safe(value: Any) -> Any:
    """Prefix ' to a text cell a spreadsheet would run as a formula."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


class _Echo:
    """A file-like object whose write returns the line, for csv.writer in a streamed response."""

    def write(self, value: str) -> str:
        return value


def _export_row(mention: Mention) -> dict[str, Any]:
    return {field: getattr(mention, field) for field in MENTION_EXPORT_FIELDS}


def _csv_lines(mentions: Iterable[Mention]) -> Iterator[str]:
    writer = csv.writer(_Echo())
    yield writer.writerow(MENTION_EXPORT_FIELDS)
    for mention in mentions:
        values = _export_row(mention).values()
        yield writer.writerow(
            [formula_safe(value.isoformat() if isinstance(value, datetime) else value) for value in values]
        )


def _json_chunks(mentions: Iterable[Mention]) -> Iterator[str]:
    yield "["
    for index, mention in enumerate(mentions):
        yield ("," if index else "") + json.dumps(_export_row(mention), cls=DjangoJSONEncoder)
    yield "]"


@mentions_router.get(
    "/export",
    response={200: None, **ERRORS},
    auth=permission_required("scraping.view_mention"),
    summary="Export every matching mention as CSV or JSON (streamed)",
    openapi_extra={
        "responses": {
            200: {
                "description": "The mentions, streamed.",
                "content": {"text/csv": {"schema": {"type": "string"}}, "application/json": {}},
            }
        }
    },
)
def mention_export(request, params: Query[ExportParams]):
    mentions = _mentions(params).iterator(chunk_size=EXPORT_CHUNK_SIZE)
    stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
    if params.format == "csv":
        response = StreamingHttpResponse(_csv_lines(mentions), content_type="text/csv; charset=utf-8")
    else:
        response = StreamingHttpResponse(_json_chunks(mentions), content_type="application/json")
    response["Content-Disposition"] = f'attachment; filename="mentions-{stamp}.{params.format}"'
    return response
