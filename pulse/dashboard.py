"""The operations dashboard in the admin: mentions per day per platform, and the latest failures.

The chart is an SVG drawn here on the server: the machines Pulse runs on are offline, so no
charting library from a CDN, and no JavaScript at all.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from django.contrib import admin
from django.db.models import Count
from django.db.models.functions import TruncDate
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

# Colour-blind-safe palette (Okabe–Ito); platforms beyond it cycle.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000")


@dataclass(frozen=True)
class DailySeries:
    days: list[date]
    counts: dict[str, list[int]]  # platform -> one count per day, aligned with ``days``

    @property
    def total(self) -> int:
        return sum(sum(values) for values in self.counts.values())


def mentions_per_day(*, days: int = 30, today: date | None = None) -> DailySeries:
    """Mentions first stored on each of the last ``days`` days (in TIME_ZONE), per platform."""
    today = today or timezone.localdate()
    first_day = today - timedelta(days=days - 1)
    day_list = [first_day + timedelta(days=offset) for offset in range(days)]
    start = timezone.make_aware(timezone.datetime.combine(first_day, timezone.datetime.min.time()))
    from scraping.models import Mention

    rows = (
        Mention.objects.filter(first_seen__gte=start)
        .annotate(day=TruncDate("first_seen", tzinfo=timezone.get_current_timezone()))
        .values_list("day", "platform")
        .annotate(count=Count("pk"))
        .order_by()
    )
    counts: dict[str, list[int]] = {}
    index = {day: position for position, day in enumerate(day_list)}
    for day, platform, count in rows:
        if day in index:
            counts.setdefault(platform, [0] * days)[index[day]] += count
    return DailySeries(days=day_list, counts=dict(sorted(counts.items())))


def latest_failures(*, limit: int = 20) -> dict:
    from scraping.models import PlatformRun, Search

    return {
        "platform_runs": list(
            PlatformRun.objects.filter(status=PlatformRun.Status.FAILED)
            .select_related("search")
            .order_by("-finished_at", "-pk")[:limit]
        ),
        "searches": list(
            Search.objects.filter(status=Search.Status.FAILED).order_by("-finished_at", "-created_at")[:limit]
        ),
    }


def _nice_ceiling(value: int) -> int:
    """The smallest of 1, 2, 5 × 10^n not below ``value``, so the y axis has round ticks."""
    if value <= 0:
        return 1
    magnitude = 1
    while True:
        for step in (1, 2, 5):
            if step * magnitude >= value:
                return step * magnitude
        magnitude *= 10


def chart_svg(series: DailySeries, *, width: int = 900, height: int = 320) -> SafeString:
    """A line chart (one line per platform) with axes, a legend and a tooltip on every point."""
    left, right, top, bottom = 48, 130, 16, 40
    plot_width, plot_height = width - left - right, height - top - bottom
    peak = _nice_ceiling(max((max(values) for values in series.counts.values()), default=0))
    day_count = len(series.days)

    def x(position: int) -> float:
        return left + (plot_width * position / max(day_count - 1, 1))

    def y(count: int) -> float:
        return top + plot_height - plot_height * count / peak

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" viewBox="0 0 {width} {height}" '
        f'width="100%" style="max-width:{width}px" aria-labelledby="mentions-chart-title">',
        '<title id="mentions-chart-title">Mentions stored per day per platform, last '
        f"{day_count} days</title>",
        '<g font-family="sans-serif" font-size="11" fill="#666">',
    ]
    # Five steps divide every 1/2/5 × 10^n peak from 5 up into whole numbers; below that, one per count.
    steps = 5 if peak >= 5 else peak
    for tick in range(steps + 1):
        value = peak * tick / steps
        label = f"{value:g}"
        parts.append(
            f'<line x1="{left}" x2="{left + plot_width}" y1="{y(value):.1f}" y2="{y(value):.1f}" '
            'stroke="#e5e5e5"/>'
            f'<text x="{left - 6}" y="{y(value) + 4:.1f}" text-anchor="end">{label}</text>'
        )
    for position, day in enumerate(series.days):
        if position % 5 == 0 or position == day_count - 1:
            parts.append(
                f'<text x="{x(position):.1f}" y="{top + plot_height + 18}" text-anchor="middle">'
                f"{day:%d %b}</text>"
            )
    parts.append("</g>")
    for number, (platform, values) in enumerate(series.counts.items()):
        colour = PALETTE[number % len(PALETTE)]
        name = escape(platform)
        points = " ".join(f"{x(position):.1f},{y(count):.1f}" for position, count in enumerate(values))
        parts.append(
            f'<g class="series" data-platform="{name}">'
            f'<polyline fill="none" stroke="{colour}" stroke-width="2" '
            f'points="{points}"/>'
        )
        for position, count in enumerate(values):
            parts.append(
                f'<circle cx="{x(position):.1f}" cy="{y(count):.1f}" r="3" fill="{colour}">'
                f"<title>{name}, {series.days[position]:%Y-%m-%d}: {count}</title></circle>"
            )
        legend_y = top + 14 + number * 18
        parts.append(
            f'<rect x="{left + plot_width + 16}" y="{legend_y - 9}" width="12" height="12" fill="{colour}"/>'
            f'<text x="{left + plot_width + 34}" y="{legend_y + 1}" font-family="sans-serif" font-size="12">'
            f"{name} ({sum(values)})</text></g>"
        )
    if not series.counts:
        parts.append(
            f'<text x="{left + plot_width / 2}" y="{top + plot_height / 2}" text-anchor="middle" '
            'font-family="sans-serif" fill="#666">No mentions stored in this period.</text>'
        )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308  (every interpolated text above is escaped or numeric)


def dashboard_view(request):
    series = mentions_per_day(days=30)
    context = {
        **admin.site.each_context(request),
        "title": "Operations dashboard",
        "chart": chart_svg(series),
        "series": series,
        "rows": [(day, [series.counts[p][i] for p in series.counts]) for i, day in enumerate(series.days)],
        **latest_failures(limit=20),
    }
    return TemplateResponse(request, "pulse/dashboard.html", context)
