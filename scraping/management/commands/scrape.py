"""manage.py scrape: run a search now and watch it, platform by platform.

manage.py scrape --keywords acme "acme corp" --platforms news youtube --max-results 20
manage.py scrape --keywords acme --eager      # in this process, no worker needed
"""

from __future__ import annotations

import json
import time

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from scraping import services
from scraping.models import PlatformRun, Search
from scraping.platforms.base import ScraperError
from scraping.selectors import search_summary
from scraping.validation import validation_message

BAR_WIDTH = 20
STATUS_FILL = {
    PlatformRun.Status.PENDING: 0.0,
    PlatformRun.Status.RUNNING: 0.5,
    PlatformRun.Status.RETRYING: 0.5,
}


class Command(BaseCommand):
    help = "Search platforms for keywords now, show progress per platform, then the summary."

    def add_arguments(self, parser):
        parser.add_argument(
            "--keywords",
            nargs="+",
            required=True,
            metavar="KEYWORD",
            help='1 to 20 keywords; quote a phrase: "acme corp".',
        )
        parser.add_argument(
            "--platforms",
            nargs="+",
            metavar="PLATFORM",
            help="Platforms to search (default: every enabled platform).",
        )
        parser.add_argument(
            "--max-results",
            type=int,
            default=None,
            metavar="N",
            help="Most items taken from each platform (1 to PULSE_MAX_RESULTS_LIMIT; default 50).",
        )
        parser.add_argument(
            "--since", metavar="ISO", help="Only content published at or after, e.g. 2026-11-01."
        )
        parser.add_argument("--until", metavar="ISO", help="Only content published before this moment.")
        parser.add_argument(
            "--eager", action="store_true", help="Run in this process without a worker (retries wait here)."
        )
        parser.add_argument(
            "--timeout",
            type=float,
            default=900,
            metavar="SECONDS",
            help="Stop watching after this long (the search goes on in the workers).",
        )
        parser.add_argument("--json", action="store_true", help="Print the summary as JSON only.")

    def handle(self, *args, **options):
        fields = {
            "keywords": options["keywords"],
            "platforms": options["platforms"],
            "since": _date_or_moment(options["since"]),
            "until": _date_or_moment(options["until"]),
            "max_results": options["max_results"] if options["max_results"] is not None else 50,
            "trigger": Search.Trigger.CLI,
        }
        self.quiet = options["json"]
        try:
            if options["eager"]:
                search, _ = services.search_create(**fields)
                summary = self.run_eagerly(search)
            else:
                search = services.search_start(**fields)
                summary = self.watch(search, timeout=options["timeout"])
        except ValidationError as error:
            raise CommandError(validation_message(error)) from None
        if options["json"]:
            self.stdout.write(json.dumps(summary, indent=2))
        else:
            self.print_summary(search, summary)
        if summary["status"] == Search.Status.FAILED:
            raise CommandError(
                f"the search failed on every platform: {Search.objects.get(pk=search.pk).error}"
            )

    # --- running ----------------------------------------------------------------------------------

    def run_eagerly(self, search: Search) -> dict:
        """Each platform in turn, in this process; transient errors wait and retry here."""
        search, run_now = services.search_claim(data={"search_id": str(search.pk)}, task_id="")
        if not run_now:
            return search_summary(search=search)
        self.progress = _Progress(self)
        self.progress.draw(search)
        for run in search.platform_runs.order_by("platform"):
            while True:
                try:
                    services.platform_run_execute(run_id=run.pk)
                    break
                except services.RateLimited as limited:
                    time.sleep(limited.wait)
                except ScraperError as error:
                    self.progress.draw(search)
                    time.sleep(
                        services.retry_delay(
                            attempt=getattr(error, "attempt", 1), retry_after=error.retry_after
                        )
                    )
            self.progress.draw(search)
        summary = services.search_finalize(search_id=search.pk)
        self.progress.draw(search)
        return summary

    def watch(self, search: Search, *, timeout: float) -> dict:
        """Redraw until the search finishes; Ctrl-C cancels it."""
        self.progress = _Progress(self)
        self.progress.draw(search)
        deadline = time.monotonic() + timeout
        try:
            while True:
                search.refresh_from_db()
                self.progress.draw(search)
                if search.is_finished:
                    return search_summary(search=search)
                if time.monotonic() > deadline:
                    raise CommandError(
                        f"search {search.pk} is still {search.status} after {timeout:.0f}s; it goes on "
                        "in the workers. Follow it in the admin, or check that a worker consumes the "
                        "celery queue."
                    )
                time.sleep(0.3)
        except KeyboardInterrupt:
            services.search_cancel(search=search)
            raise CommandError(f"interrupted: search {search.pk} cancelled") from None

    # --- output -----------------------------------------------------------------------------------

    def print_summary(self, search: Search, summary: dict) -> None:
        style = {
            "succeeded": self.style.SUCCESS,
            "partial": self.style.WARNING,
        }.get(summary["status"], self.style.ERROR)
        self.stdout.write(style(f"Search {summary['search_id']}: {summary['status']}"))
        for platform, result in summary["platforms"].items():
            line = (
                f"  {platform:<18} {result['status']:<10} found {result['found']:>4}  "
                f"new {result['new']:>4}  duplicate {result['duplicate']:>4}"
            )
            if result["error"]:
                line += f"  error: {result['error']}"
            self.stdout.write(line)


def _date_or_moment(value: str | None) -> str | None:
    """Accept a plain date on the command line as midnight of that day."""
    if value and len(value) == 10 and value[4] == "-" and value[7] == "-":
        return f"{value}T00:00:00"
    return value


class _Progress:
    """A bar per platform. On a terminal the block is redrawn in place; elsewhere a line per change."""

    def __init__(self, command: Command):
        self.command = command
        self.stdout = command.stdout
        self.tty = self.stdout.isatty()
        self.drawn_lines = 0
        self.last: dict[str, str] = {}

    def draw(self, search: Search) -> None:
        if self.command.quiet:
            return
        search.refresh_from_db()
        runs = list(search.platform_runs.order_by("platform"))
        lines = {run.platform: self.line(run) for run in runs}
        total = (
            f"{search.platforms_done}/{search.platforms_total} platforms, {search.mentions_new} new mentions"
        )
        lines["overall"] = (
            f"  {'all':<18} {_bar(search.platforms_done / max(1, search.platforms_total))} {total}"
        )
        if self.tty:
            if self.drawn_lines:
                self.stdout.write(f"\x1b[{self.drawn_lines}F", ending="")
            for text in lines.values():
                self.stdout.write(f"{text}\x1b[K")
            self.drawn_lines = len(lines)
        else:
            for key, text in lines.items():
                if self.last.get(key) != text:
                    self.stdout.write(text)
        self.last = lines

    @staticmethod
    def line(run: PlatformRun) -> str:
        fill = STATUS_FILL.get(run.status, 1.0)
        detail = run.status
        if run.status == PlatformRun.Status.RETRYING:
            detail += f" ({run.error_message})"
        elif run.status == PlatformRun.Status.SUCCEEDED:
            detail += f"  {run.found} found, {run.new} new"
        elif run.status == PlatformRun.Status.FAILED:
            detail += f"  {run.error_message}"
        return f"  {run.platform:<18} {_bar(fill)} {detail}"


def _bar(fraction: float) -> str:
    filled = round(BAR_WIDTH * fraction)
    return "[" + "#" * filled + "-" * (BAR_WIDTH - filled) + "]"
