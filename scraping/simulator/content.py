"""Deterministic content: the same keyword always gives the same items.

Every generator seeds its own ``random.Random`` from a hash of its inputs, so two simulator
processes (or two requests) agree without shared state. Publication times count back from the
start of the current UTC hour so that content stays inside "the last 24 hours" windows.
"""

from __future__ import annotations

import hashlib
import random
import re
from datetime import UTC, datetime, timedelta

MARKER = re.compile(r"__([a-z0-9]+)__")

TOPICS = (
    "climate", "election", "football", "semiconductor", "harbour", "transit",
    "rainfall", "startup", "vaccine", "festival", "durian", "monorail",
)
AUTHORS = (
    "Aisyah Rahman", "Daniel Tan", "Priya Nair", "Wei Ling", "Hafiz Ismail", "Grace Lim",
    "Arjun Menon", "Nurul Huda", "Marcus Ong", "Siti Aminah",
)
OUTLETS = {"daily-planet": "The Daily Planet", "the-herald": "The Herald"}
PHRASES = (
    "Residents weigh in on {kw} as the week closes",
    "{Kw}: what we know so far",
    "Why {kw} matters more than ever",
    "Opinion: the quiet story behind {kw}",
    "Five numbers that explain {kw}",
    "Live updates: {kw} draws a crowd downtown",
    "Officials respond to questions about {kw}",
    "{Kw} trends again after a busy weekend",
)
BODIES = (
    "Reporters followed {kw} across the city and spoke to people on both sides.",
    "The latest figures on {kw} were published this morning and surprised analysts.",
    "Community groups say {kw} deserves a closer look before the next council meeting.",
    "A short explainer on {kw}, with reactions from readers and a timeline of events.",
)


def seeded(*parts: object) -> random.Random:
    digest = hashlib.sha256("|".join(str(part) for part in parts).encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


def short_id(*parts: object, length: int = 12) -> str:
    return hashlib.sha256("|".join(str(part) for part in parts).encode()).hexdigest()[:length]


def markers(keyword: str) -> set[str]:
    """Failure-mode markers in a keyword, e.g. ``"acme __flaky__"`` → ``{"flaky"}``."""
    return set(MARKER.findall(keyword or ""))


def clean(keyword: str) -> str:
    """The keyword as content shows it: verbatim (markers too, so scrapers' matching still holds)."""
    return " ".join((keyword or "").split()) or "pulse"


def anchor() -> datetime:
    return datetime.now(UTC).replace(minute=0, second=0, microsecond=0)


def result_count(platform: str, keyword: str) -> int:
    found = markers(keyword)
    if "empty" in found:
        return 0
    if "few" in found:
        return 3
    if "many" in found:
        return 400
    return 40 + seeded("count", platform, keyword).randint(0, 40)


def items(platform: str, keyword: str) -> list[dict]:
    """All items a search for ``keyword`` finds on ``platform``, newest first."""
    shown = clean(keyword)
    rng = seeded("items", platform, keyword)
    start = anchor()
    result = []
    for index in range(result_count(platform, keyword)):
        title = rng.choice(PHRASES).format(kw=shown, Kw=shown[:1].upper() + shown[1:])
        body = rng.choice(BODIES).format(kw=shown)
        topic = rng.choice(TOPICS)
        result.append(
            {
                "id": short_id(platform, keyword, index),
                "title": title,
                "text": f"{title}. {body} Also mentioned: {topic}.",
                "author": rng.choice(AUTHORS),
                "published_at": (start - timedelta(minutes=23 * index + rng.randint(0, 20))).isoformat(),
                "likes": rng.randint(0, 5000),
                "comments": rng.randint(0, 400),
                "shares": rng.randint(0, 300),
                "views": rng.randint(100, 2_000_000),
                "tag": re.sub(r"\W", "", shown).lower() or "pulse",
            }
        )
    return result


def outlet_articles(outlet: str) -> list[dict]:
    """An outlet's own feed: not keyword-specific; Pulse matches keywords itself."""
    rng = seeded("outlet", outlet)
    start = anchor()
    articles = []
    for index in range(25):
        first, second = rng.sample(TOPICS, 2)
        title = rng.choice(PHRASES).format(kw=f"{first} and {second}", Kw=f"{first.title()} and {second}")
        articles.append(
            {
                "id": short_id("outlet", outlet, index),
                "title": title,
                "summary": rng.choice(BODIES).format(kw=first),
                "author": rng.choice(AUTHORS),
                "published_at": start - timedelta(minutes=41 * index),
            }
        )
    return articles


WEB_PAGES = {
    "city-times": {
        "harbour-plan": ("Harbour plan approved", ["harbour", "transit", "climate"]),
        "transit-report": ("Transit report card", ["transit", "monorail", "rainfall"]),
        # The demo's keyword, so `make demo` finds web mentions too.
        "registry-notice": ("Companies registry notice", ["SSM", "startup"]),
    },
    "tech-weekly": {
        "chips": ("Chip makers expand", ["semiconductor", "startup"]),
        "apps": ("Apps of the week", ["startup", "festival"]),
    },
}


def web_page(site: str, slug: str) -> dict | None:
    try:
        title, topics = WEB_PAGES[site][slug]
    except KeyError:
        return None
    rng = seeded("web", site, slug)
    paragraphs = [rng.choice(BODIES).format(kw=topic) for topic in topics]
    return {
        "title": title,
        "paragraphs": paragraphs,
        "published_at": (anchor() - timedelta(hours=rng.randint(1, 20))).isoformat(),
        # Words only outside the article body: a CSS selector must keep them out of the match.
        "navigation": ["Home", "Sports", "Durian festival tickets", "Subscribe"],
    }
