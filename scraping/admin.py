"""Admin for searches, their platform runs and the mentions found.

Rows here are written by the pipeline, so the admin shows them read-only; the only writes are
the actions (cancel a search, export mentions). Everything a platform or a user typed is shown
through Django's escaping; links are built with ``format_html`` and only for http(s) URLs.
"""

from __future__ import annotations

import csv
import json
from urllib.parse import urlsplit

from django.contrib import admin, messages
from django.http import HttpResponse, StreamingHttpResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html

from scraping import services
from scraping.models import Mention, MentionMatch, PlatformRun, Search

EXPORT_FIELDS = [
    "id",
    "platform",
    "external_id",
    "url",
    "title",
    "text",
    "author",
    "published_at",
    "likes",
    "comments",
    "shares",
    "views",
    "first_seen",
    "last_seen",
]


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, seconds = divmod(round(seconds), 60)
    return f"{minutes} min {seconds} s"


class PlatformFilter(admin.SimpleListFilter):
    """Filter by platform name; the choices are the platforms that occur in ``names_from``."""

    title = "platform"
    parameter_name = "platform"
    names_from = PlatformRun  # a model with a ``platform`` field
    lookup = "platform"

    def lookups(self, request, model_admin):
        names = self.names_from.objects.order_by("platform").values_list("platform", flat=True).distinct()
        return [(name, name) for name in names]

    def queryset(self, request, queryset):
        if self.value():
            # distinct(): a lookup across runs would repeat a search once per matching run.
            return queryset.filter(**{self.lookup: self.value()}).distinct()
        return queryset


class PlatformListFilter(PlatformFilter):
    """Searches that included a platform (through their runs, which works on every database)."""

    lookup = "platform_runs__platform"


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class PlatformRunInline(admin.TabularInline):
    model = PlatformRun
    extra = 0
    can_delete = False
    fields = [
        "platform",
        "status",
        "attempts",
        "found",
        "new",
        "duplicate",
        "duration",
        "error_kind",
        "error_message",
        "finished_at",
    ]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.display(description="duration")
    def duration(self, run):
        return _duration(run.duration_seconds)


@admin.register(Search)
class SearchAdmin(ReadOnlyAdmin):
    list_display = [
        "short_id",
        "status",
        "keywords_list",
        "platforms_list",
        "progress",
        "mentions_found",
        "mentions_new",
        "duration",
        "created_at",
        "trigger",
    ]
    list_filter = ["status", "trigger", PlatformListFilter, "created_at"]
    search_fields = ["id", "celery_task_id", "error"]
    date_hierarchy = "created_at"
    inlines = [PlatformRunInline]
    actions = ["cancel_searches"]
    readonly_fields = [
        "id",
        "status",
        "keywords_list",
        "platforms_list",
        "since",
        "until",
        "max_results",
        "trigger",
        "scheduled_search",
        "parent",
        "progress",
        "mentions_found",
        "mentions_new",
        "created_at",
        "started_at",
        "finished_at",
        "duration",
        "celery_task_id",
        "error",
    ]
    fields = readonly_fields

    @admin.display(description="search", ordering="id")
    def short_id(self, search):
        return str(search.pk)[:8]

    @admin.display(description="keywords")
    def keywords_list(self, search):
        return ", ".join(search.keywords or [])

    @admin.display(description="platforms")
    def platforms_list(self, search):
        return ", ".join(search.platforms or [])

    @admin.display(description="progress")
    def progress(self, search):
        return f"{search.platforms_done}/{search.platforms_total}"

    @admin.display(description="duration")
    def duration(self, search):
        if search.started_at is None:
            return "—"
        end = search.finished_at or timezone.now()
        return _duration((end - search.started_at).total_seconds())

    def has_cancel_permission(self, request):
        return request.user.has_perm("scraping.change_search")

    @admin.action(description="Cancel selected searches", permissions=["cancel"])
    def cancel_searches(self, request, queryset):
        cancelled = 0
        for search in queryset:
            if not search.is_finished:
                services.search_cancel(search=search)
                cancelled += 1
        skipped = queryset.count() - cancelled
        self.message_user(
            request,
            f"Cancelled {cancelled} search(es)." + (f" {skipped} had already finished." if skipped else ""),
            messages.SUCCESS if cancelled else messages.WARNING,
        )


@admin.register(PlatformRun)
class PlatformRunAdmin(ReadOnlyAdmin):
    list_display = [
        "platform",
        "search_link",
        "status",
        "attempts",
        "found",
        "new",
        "duplicate",
        "duration",
        "error_kind",
        "finished_at",
    ]
    list_filter = ["platform", "status", "error_kind", "finished_at"]
    search_fields = ["search__id", "error_message", "celery_task_id"]
    list_select_related = ["search"]

    @admin.display(description="search", ordering="search")
    def search_link(self, run):
        url = reverse("admin:scraping_search_change", args=[run.search_id])
        return format_html('<a href="{}">{}</a>', url, str(run.search_id)[:8])

    @admin.display(description="duration", ordering="duration_seconds")
    def duration(self, run):
        return _duration(run.duration_seconds)


class MentionMatchInline(admin.TabularInline):
    model = MentionMatch
    extra = 0
    can_delete = False
    fields = ["search", "keyword", "matched_at"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class MentionPlatformFilter(PlatformFilter):
    names_from = Mention


@admin.register(Mention)
class MentionAdmin(ReadOnlyAdmin):
    list_display = ["platform", "title_link", "author", "published_at", "first_seen"]
    list_filter = [MentionPlatformFilter, "published_at", "first_seen"]
    search_fields = ["title", "text", "author"]
    date_hierarchy = "first_seen"
    actions = ["export_csv", "export_json"]
    inlines = [MentionMatchInline]
    fields = [
        "platform",
        "external_id",
        "link",
        "title",
        "text",
        "author",
        "published_at",
        "likes",
        "comments",
        "shares",
        "views",
        "first_seen",
        "last_seen",
        "raw",
    ]
    readonly_fields = fields

    @admin.display(description="title", ordering="title")
    def title_link(self, mention):
        label = mention.title or mention.text[:80] or mention.url
        return _link(mention.url, label)

    @admin.display(description="URL")
    def link(self, mention):
        return _link(mention.url, mention.url)

    def has_export_permission(self, request):
        return request.user.has_perm("scraping.view_mention")

    @admin.action(description="Export selected mentions as CSV", permissions=["export"])
    def export_csv(self, request, queryset):
        response = StreamingHttpResponse(
            _csv_rows(queryset.order_by("id")), content_type="text/csv; charset=utf-8"
        )
        response["Content-Disposition"] = f'attachment; filename="{_export_name()}.csv"'
        return response

    @admin.action(description="Export selected mentions as JSON", permissions=["export"])
    def export_json(self, request, queryset):
        rows = [_export_row(mention) for mention in queryset.order_by("id")]
        response = HttpResponse(
            json.dumps(rows, indent=2, ensure_ascii=False), content_type="application/json"
        )
        response["Content-Disposition"] = f'attachment; filename="{_export_name()}.json"'
        return response


def _link(url: str, label: str):
    # format_html escapes both parts; a non-http(s) URL (javascript:, data:) is shown, never linked.
    if urlsplit(url).scheme.lower() not in ("http", "https"):
        return label
    return format_html('<a href="{}" target="_blank" rel="noopener noreferrer">{}</a>', url, label)


def _export_name() -> str:
    return f"mentions-{timezone.now():%Y%m%d-%H%M%S}"


def _export_row(mention: Mention) -> dict:
    row = {}
    for name in EXPORT_FIELDS:
        value = getattr(mention, name)
        row[name] = value.isoformat() if hasattr(value, "isoformat") else value
    return row


class _Echo:
    def write(self, value):
        return value


def _spreadsheet_safe(value):
    """Text starting with = + - @ is run as a formula by spreadsheet programs; make it plain text."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return "" if value is None else value


def _csv_rows(queryset):
    writer = csv.writer(_Echo())
    yield "\ufeff"  # lets Excel detect UTF-8
    yield writer.writerow(EXPORT_FIELDS)
    for mention in queryset.iterator(chunk_size=500):
        yield writer.writerow([_spreadsheet_safe(value) for value in _export_row(mention).values()])
