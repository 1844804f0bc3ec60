"""Facebook: public post search rendered by Playwright, scrolled until ``max_results`` or the end.

Selectors follow the simulator's markup (``div[role=article]`` posts). Facebook shows a login wall
to most visitors; supply a logged-in session with ``PULSE_FACEBOOK_STORAGE_STATE``.
"""

from __future__ import annotations

from urllib.parse import quote

from scraping.platforms import config
from scraping.platforms.social import ScrollingScraper


class FacebookScraper(ScrollingScraper):
    name = "facebook"
    label = "Facebook"
    storage_state_setting = "PULSE_FACEBOOK_STORAGE_STATE"
    item_selector = "div[role='article'][data-post-id]"
    extract_script = """elements => elements.map(el => ({
        id: el.dataset.postId,
        href: el.querySelector('a.fb-permalink')?.getAttribute('href'),
        author: el.querySelector('.fb-author')?.textContent,
        text: el.querySelector('.fb-text')?.innerText,
        published: el.querySelector('time')?.getAttribute('datetime'),
        likes: el.querySelector('.fb-likes')?.dataset.count,
        comments: el.querySelector('.fb-comments')?.dataset.count,
        shares: el.querySelector('.fb-shares')?.dataset.count,
    }))"""

    def search_url(self, keyword: str) -> str:
        return f"{config.facebook_url()}/search/posts/?q={quote(keyword)}"
