"""Store what a scraper found: validate → normalise → dedupe → persist.

Each stage is a plain function over ``ScrapedItem`` dataclasses so it can be tested alone; only
``store_items`` touches the database. It runs after the network or browser work has finished,
never inside an event loop.
"""

from __future__ import annotations

import dataclasses
import logging
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from scraping.models import Mention, MentionMatch, Search
from scraping.platforms.base import ScrapedItem

logger = logging.getLogger(__name__)

# Query parameters that identify a campaign or a share, not the content; two links that differ
# only in these are the same page.
TRACKING_PARAMETERS = frozenset(
    {
        "fbclid",
        "gclid",
        "dclid",
        "gbraid",
        "wbraid",
        "msclkid",
        "yclid",
        "twclid",
        "ttclid",
        "igshid",
        "igsh",
        "si",
        "ref",
        "ref_src",
        "ref_url",
        "referrer",
        "feature",
        "mc_cid",
        "mc_eid",
        "_hsenc",
        "_hsmi",
        "mkt_tok",
        "spm",
        "share",
        "s_cid",
        "cmpid",
        "ocid",
        "__tn__",
        "__cft__",
        "_ga",
        "_gl",
    }
)
TRACKING_PREFIXES = ("utm_", "__cft__[")
DEFAULT_PORTS = {"http": "80", "https": "443"}
MAX_EXTERNAL_ID = 512
MAX_AUTHOR = 255
MAX_URL = 2048
MAX_KEYWORD = 200
_WHITESPACE = re.compile(r"\s+")


@dataclass
class StoreResult:
    found: int = 0
    new: int = 0
    duplicate: int = 0
    dropped: int = 0


# --- validate -------------------------------------------------------------------------------------


def validate_item(item: ScrapedItem, *, platform: str) -> ScrapedItem | None:
    """Return the item if it can be stored, else None (and say why in the log).

    A scraper bug on one item must not lose the rest of the batch, so bad items are dropped.
    """
    problem = None
    if not isinstance(item, ScrapedItem):
        logger.warning(
            "dropping a %s from the %s scraper: scrapers must return ScrapedItem",
            type(item).__name__,
            platform,
        )
        return None
    if item.platform != platform:
        problem = f"platform is {item.platform!r}, expected {platform!r}"
    elif not isinstance(item.external_id, str) or not item.external_id.strip():
        problem = "no external id"
    elif len(item.external_id.strip()) > MAX_EXTERNAL_ID:
        problem = f"external id longer than {MAX_EXTERNAL_ID} characters"
    elif not isinstance(item.url, str) or urlsplit(item.url.strip()).scheme.lower() not in ("http", "https"):
        problem = f"URL {item.url!r} is not http(s)"
    elif item.published_at is not None and not isinstance(item.published_at, datetime):
        problem = f"published_at is {type(item.published_at).__name__}, not a datetime"
    if problem:
        logger.warning("dropping %s item %r: %s", platform, getattr(item, "external_id", None), problem)
        return None
    return item


# --- normalise ------------------------------------------------------------------------------------


def canonical_url(url: str) -> str:
    """One spelling per page: lowercase scheme and host, no default port, fragment or tracking parameters."""
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    # Credentials in a link are never part of the content's identity and must not be stored.
    host = (parts.hostname or "").lower()
    if ":" in host:
        host = f"[{host}]"
    try:
        port = parts.port
    except ValueError:
        port = None
    if port is not None and str(port) != DEFAULT_PORTS.get(scheme):
        host = f"{host}:{port}"
    query = [
        (key, value)
        for key, value in parse_qsl(parts.query, keep_blank_values=True)
        if key.lower() not in TRACKING_PARAMETERS and not key.lower().startswith(TRACKING_PREFIXES)
    ]
    path = parts.path or "/"
    return urlunsplit((scheme, host, path, urlencode(query, doseq=True), ""))


def collapse_whitespace(text: str | None) -> str:
    return _WHITESPACE.sub(" ", text or "").strip()


def _count(value) -> int | None:
    # Engagement numbers the platform did not show (or showed nonsensically) are unknown, not zero.
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        return None
    return value


def normalise_item(item: ScrapedItem) -> ScrapedItem:
    published_at = item.published_at
    if published_at is not None and timezone.is_naive(published_at):
        # Platforms publish in UTC when they give no offset (RSS, APIs); scrapers pass that through.
        published_at = published_at.replace(tzinfo=UTC)
    return dataclasses.replace(
        item,
        external_id=item.external_id.strip(),
        url=canonical_url(item.url)[:MAX_URL],
        title=collapse_whitespace(item.title),
        text=collapse_whitespace(item.text),
        author=collapse_whitespace(item.author)[:MAX_AUTHOR],
        matched_keyword=collapse_whitespace(item.matched_keyword)[:MAX_KEYWORD],
        published_at=published_at,
        likes=_count(item.likes),
        comments=_count(item.comments),
        shares=_count(item.shares),
        views=_count(item.views),
        raw=item.raw if isinstance(item.raw, dict) else {"value": repr(item.raw)},
    )


# --- dedupe ---------------------------------------------------------------------------------------


def dedupe(items: Iterable[ScrapedItem]) -> list[ScrapedItem]:
    """Keep the first item for each (platform, external id); a page can list a post twice."""
    seen: set[tuple[str, str]] = set()
    unique: list[ScrapedItem] = []
    for item in items:
        key = (item.platform, item.external_id)
        if key not in seen:
            seen.add(key)
            unique.append(item)
    return unique


def in_window(item: ScrapedItem, *, since: datetime | None, until: datetime | None) -> bool:
    """Items with a known date outside the search's window are dropped; undated items are kept."""
    if item.published_at is None:
        return True
    if since and item.published_at < since:
        return False
    if until and item.published_at >= until:
        return False
    return True


def prepare_items(
    items: Sequence[ScrapedItem], *, platform: str, since=None, until=None, max_results: int | None = None
) -> tuple[list[ScrapedItem], int]:
    """Run the pure stages; return the items to store and how many were dropped."""
    valid = [normalise_item(item) for item in items if validate_item(item, platform=platform)]
    windowed = [item for item in valid if in_window(item, since=since, until=until)]
    unique = dedupe(windowed)
    if max_results is not None:
        unique = unique[:max_results]
    return unique, len(items) - len(unique)


# --- persist --------------------------------------------------------------------------------------

UPSERT_UPDATE_FIELDS = ["last_seen", "title", "text", "likes", "comments", "shares", "views", "raw"]


def _lock_platform(platform: str) -> None:
    """Serialise stores per platform so "new" versus "duplicate" is counted exactly under concurrency.

    Two searches storing the same new post at once would otherwise both see it missing and both
    count it new. The lock lasts until the transaction ends; SQLite (demo only) serialises writers anyway.
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [f"pulse:mention:{platform}"])


def store_items(*, search: Search, platform: str, items: Sequence[ScrapedItem]) -> StoreResult:
    """Upsert mentions and link them to the search, counting new and duplicate mentions.

    1. Lock the platform, then read which external ids already exist.
    2. Upsert every item: new rows get first_seen = now; existing rows get last_seen and engagement.
    3. Link each mention to the search (ignoring links that exist: a redelivered task adds nothing).
    4. An existing mention whose link to *this* search was made when the mention was first stored was
       created by an earlier attempt of this same run; it still counts as new, so a redelivery
       reports the same numbers as the first delivery.

    Must run inside a transaction (the caller's), so the counts and rows commit together.
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("store_items must run inside transaction.atomic()")
    if not items:
        return StoreResult()
    _lock_platform(platform)
    now = timezone.now()
    external_ids = [item.external_id for item in items]
    existing = set(
        Mention.objects.filter(platform=platform, external_id__in=external_ids).values_list(
            "external_id", flat=True
        )
    )
    first_stored_by_this_search = set(
        MentionMatch.objects.filter(
            search=search,
            mention__platform=platform,
            mention__external_id__in=existing,
            matched_at=F("mention__first_seen"),
        ).values_list("mention__external_id", flat=True)
    )
    mentions = [
        Mention(
            platform=platform,
            external_id=item.external_id,
            url=item.url,
            title=item.title,
            text=item.text,
            author=item.author,
            published_at=item.published_at,
            likes=item.likes,
            comments=item.comments,
            shares=item.shares,
            views=item.views,
            raw=item.raw,
            first_seen=now,
            last_seen=now,
        )
        for item in items
    ]
    Mention.objects.bulk_create(
        mentions,
        update_conflicts=True,
        unique_fields=["platform", "external_id"],
        update_fields=UPSERT_UPDATE_FIELDS,
    )
    # On PostgreSQL the upsert returns every row's id (new or updated); other databases need a read.
    if not all(mention.pk for mention in mentions):
        mentions = list(Mention.objects.filter(platform=platform, external_id__in=external_ids))
    ids = {mention.external_id: mention.pk for mention in mentions}
    default_keyword = (search.keywords or [""])[0]
    MentionMatch.objects.bulk_create(
        [
            MentionMatch(
                mention_id=ids[item.external_id],
                search=search,
                keyword=(item.matched_keyword or default_keyword)[:MAX_KEYWORD],
                # Equal to first_seen for mentions this store creates; step 4 above relies on it.
                matched_at=now,
            )
            for item in items
        ],
        ignore_conflicts=True,
    )
    duplicate = len(existing - first_stored_by_this_search)
    return StoreResult(found=len(items), new=len(items) - duplicate, duplicate=duplicate)
