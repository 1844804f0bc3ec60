"""What Facebook, Instagram and YouTube's results page have in common: a search page whose posts
are rendered by JavaScript and load as the reader scrolls."""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import ClassVar
from urllib.parse import urljoin

from django.conf import settings

from scraping.browser import run_in_browser
from scraping.platforms.base import PermanentScraperError, Query, ScrapedItem, Scraper, ScrapeResult
from scraping.platforms.browsing import open_page, scroll_and_collect, shows_login_wall
from scraping.platforms.matching import in_window, parse_datetime


def _count(value) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


class ScrollingScraper(Scraper):
    queue = "browser"
    item_selector: ClassVar[str] = ""
    end_selector: ClassVar[str] = "#end-of-results"
    extract_script: ClassVar[str] = ""
    # Setting that names a Playwright storage-state file with a logged-in session; "" = none.
    storage_state_setting: ClassVar[str] = ""

    def search_url(self, keyword: str) -> str:
        raise NotImplementedError

    def storage_state(self) -> str | None:
        if not self.storage_state_setting:
            return None
        path = getattr(settings, self.storage_state_setting, "")
        if path and not Path(path).is_file():
            raise PermanentScraperError(
                f"{self.storage_state_setting}={path!r} does not exist. Save a logged-in session there "
                "(see docs/PLATFORMS.md) or unset the setting."
            )
        return path or None

    def login_wall_message(self, session: str | None) -> str:
        setting = self.storage_state_setting
        if session:
            return (
                f"{self.label} shows a login wall although a session was supplied in {setting}={session!r}; "
                "it has probably expired. Log in again and save a new storage state to that file "
                "(see docs/PLATFORMS.md)."
            )
        return (
            f"{self.label} shows a login wall to visitors without a session. Supply a logged-in session: "
            f"save a Playwright storage state (cookies) after logging in and set {setting}=/path/to/state.json "
            "(see docs/PLATFORMS.md, 'Supplying a session')."
        )

    def search(self, query: Query) -> ScrapeResult:
        session = self.storage_state()
        items: dict[str, ScrapedItem] = {}
        for keyword in query.keywords:
            remaining = query.max_results - len(items)
            if remaining <= 0:
                break
            url = self.search_url(keyword)
            rows = run_in_browser(partial(self.collect, url=url, limit=remaining, session=session), storage_state=session)
            for row in rows:
                item = self.item(row, keyword=keyword, page_url=url)
                if item and in_window(query, item.published_at):
                    items.setdefault(item.external_id, item)
        return ScrapeResult(list(items.values())[: query.max_results])

    def collect(self, page, *, url: str, limit: int, session: str | None) -> list[dict]:
        """Runs on the browser thread: open the search page, refuse a login wall, scroll, extract."""
        open_page(page, url, what=self.label)
        if shows_login_wall(page):
            raise PermanentScraperError(self.login_wall_message(session))
        return scroll_and_collect(
            page,
            item_selector=self.item_selector,
            end_selector=self.end_selector,
            limit=limit,
            extract_script=self.extract_script,
        )

    def item(self, row: dict, *, keyword: str, page_url: str) -> ScrapedItem | None:
        if not row.get("id") or not row.get("href"):
            return None
        return ScrapedItem(
            platform=self.name,
            external_id=str(row["id"]),
            url=urljoin(page_url, row["href"]),
            title=(row.get("title") or "").strip(),
            text=(row.get("text") or "").strip(),
            author=(row.get("author") or "").strip()[:255],
            published_at=parse_datetime(row.get("published")),
            matched_keyword=keyword,
            likes=_count(row.get("likes")),
            comments=_count(row.get("comments")),
            shares=_count(row.get("shares")),
            views=_count(row.get("views")),
            raw=row,
        )
