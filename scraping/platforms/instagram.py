"""Instagram: the hashtag page of each keyword, rendered by Playwright and scrolled.

A keyword becomes a hashtag by dropping everything but letters, digits and underscores
("Kuala Lumpur" → #kualalumpur). Instagram redirects visitors without a session to its login
page; supply one with ``PULSE_INSTAGRAM_STORAGE_STATE``.
"""

from __future__ import annotations

import re

from scraping.platforms import config
from scraping.platforms.base import PermanentScraperError
from scraping.platforms.social import ScrollingScraper


def hashtag(keyword: str) -> str:
    return re.sub(r"\W", "", keyword).lower()


class InstagramScraper(ScrollingScraper):
    name = "instagram"
    label = "Instagram"
    storage_state_setting = "PULSE_INSTAGRAM_STORAGE_STATE"
    item_selector = "article[data-shortcode]"
    extract_script = """elements => elements.map(el => ({
        id: el.dataset.shortcode,
        href: el.querySelector('a.ig-link')?.getAttribute('href'),
        author: el.querySelector('.ig-owner')?.textContent,
        text: el.querySelector('.ig-caption')?.innerText,
        published: el.querySelector('time')?.getAttribute('datetime'),
        likes: el.querySelector('.ig-likes')?.dataset.count,
        comments: el.querySelector('.ig-comments')?.dataset.count,
    }))"""

    def search_url(self, keyword: str) -> str:
        tag = hashtag(keyword)
        if not tag:
            raise PermanentScraperError(
                f"Keyword {keyword!r} has no letters or digits, so it makes no Instagram hashtag; use another keyword."
            )
        return f"{config.instagram_url()}/explore/tags/{tag}/"
