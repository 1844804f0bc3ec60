"""The simulator's HTTP server: one ThreadingHTTPServer, routes by path prefix.

Failure modes are picked by the request, so one simulator serves every test at once:

- a marker in the keyword (``q``, ``search_query`` or the hashtag): ``__429__``, ``__flaky__``,
  ``__slow__``, ``__malformed__``, ``__loginwall__``, ``__quota__``, ``__empty__``, ``__few__``, ``__many__``;
- or a ``mode=`` query parameter with the same names (``mode=429,slow``), plus ``fail=N`` (how many
  requests fail in flaky mode, default 2), ``delay=S`` (slow mode, default 3 s) and
  ``retry_after=S`` (429 mode, default 2 s).

Flaky failures are counted per key (path + query without the mode parameters) in this process,
so "fails twice, then succeeds" holds across retries from any worker.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import threading
import time
from collections import Counter
from datetime import datetime
from email.utils import format_datetime, parsedate_to_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, quote, urlencode, urlsplit

from scraping.simulator import content

VALID_YOUTUBE_KEYS = {"simulator-key"}
SESSION_COOKIE = "pulse_sim_session"
PAGE_SIZES = {"facebook": 8, "instagram": 12, "youtube": 20}
NOT_A_FEED = b"\x00\x01 this is not a feed <html><body>Oops"
MODE_PARAMETERS = {"mode", "fail", "delay", "retry_after"}


class SimulatorState:
    """Counters shared by the request threads."""

    def __init__(self):
        self.lock = threading.Lock()
        self.flaky_attempts: Counter[str] = Counter()
        self.responses: Counter[str] = Counter()

    def next_attempt(self, key: str) -> int:
        with self.lock:
            self.flaky_attempts[key] += 1
            return self.flaky_attempts[key]

    def record(self, path: str, status: int) -> None:
        with self.lock:
            self.responses[f"{path} {status}"] += 1


class Response(Exception):
    """Raised by a route to answer at once (errors, redirects)."""

    def __init__(self, status: int, body: str | bytes = "", *, content_type="text/plain; charset=utf-8", headers=None):
        self.status = status
        self.body = body.encode() if isinstance(body, str) else body
        self.content_type = content_type
        self.headers = headers or {}


class SimulatorHandler(BaseHTTPRequestHandler):
    server_version = "PulseSimulator/1.0"
    protocol_version = "HTTP/1.1"

    # --- plumbing ------------------------------------------------------------------------------
    def log_message(self, format, *args):  # noqa: A002  (signature from BaseHTTPRequestHandler)
        if self.server.verbose:
            super().log_message(format, *args)

    def do_GET(self):
        self._dispatch()

    def do_HEAD(self):
        self._dispatch(head=True)

    def _dispatch(self, *, head: bool = False):
        parts = urlsplit(self.path)
        self.route_path = parts.path
        self.query = {key: values[-1] for key, values in parse_qs(parts.query, keep_blank_values=True).items()}
        try:
            status, body, content_type, headers = self._route()
        except Response as response:
            status, body, content_type, headers = (
                response.status, response.body, response.content_type, response.headers,
            )
        except Exception as error:  # a bug in a route must show, not hang the client
            status, body, content_type, headers = 500, f"simulator error: {error!r}".encode(), "text/plain", {}
        self.server.state.record(self.route_path, status)
        try:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            if not head:
                self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            # The client gave up (a timeout in a slow-mode test, a closed browser); nothing to tell it.
            self.close_connection = True

    @property
    def base_url(self) -> str:
        host = self.headers.get("Host") or f"{self.server.server_address[0]}:{self.server.server_address[1]}"
        return f"http://{host}"

    def keyword(self) -> str:
        return self.query.get("q") or self.query.get("search_query") or ""

    def modes(self, keyword: str) -> set[str]:
        chosen = {mode.strip() for mode in self.query.get("mode", "").split(",") if mode.strip()}
        return chosen | content.markers(keyword)

    def apply_common_modes(self, modes: set[str]) -> None:
        """Slow, 429 and flaky behave the same on every route."""
        if "slow" in modes:
            time.sleep(float(self.query.get("delay", "3")))
        if "429" in modes:
            retry_after = self.query.get("retry_after", "2")
            raise Response(429, "Too Many Requests: slow down.", headers={"Retry-After": retry_after})
        if "flaky" in modes:
            kept = sorted((key, value) for key, value in self.query.items() if key not in MODE_PARAMETERS)
            key = f"{self.route_path}?{urlencode(kept)}"
            failures = int(self.query.get("fail", "2"))
            if self.server.state.next_attempt(key) <= failures:
                raise Response(500, "Internal Server Error (flaky mode).")

    def _route(self):
        path = self.route_path
        routes = (
            ("/_stats", self.stats),
            ("/redirect", self.redirect),
            ("/bench/", self.bench_page),
            ("/news/", self.news),
            ("/youtube/v3/search", self.youtube_api),
            ("/youtube/results", self.youtube_results),
            ("/youtube/api/feed", lambda: self.feed_api("youtube")),
            ("/facebook/api/feed", lambda: self.feed_api("facebook")),
            ("/instagram/api/feed", lambda: self.feed_api("instagram")),
            ("/facebook/", self.facebook),
            ("/instagram/", self.instagram),
            ("/web/", self.web),
        )
        for prefix, handler in routes:
            if path == prefix or path.startswith(prefix):
                return handler()
        if path == "/":
            return self.index()
        raise Response(404, f"No simulator route for {path}. See / for the list.")

    @staticmethod
    def html_page(body: str, *, title: str = "Simulator", head: str = "") -> tuple:
        page = (
            f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>{head}</head>"
            f"<body>{body}</body></html>"
        )
        return 200, page.encode(), "text/html; charset=utf-8", {}

    # --- utility routes --------------------------------------------------------------------------
    def index(self):
        routes = {
            "news search feed": "/news/rss/search?q=KEYWORD",
            "news outlet feeds": [f"/news/feeds/{outlet}.xml" for outlet in content.OUTLETS] + ["/news/feeds/broken.xml"],
            "youtube api": "/youtube/v3/search?part=snippet&q=KEYWORD&key=simulator-key",
            "youtube page": "/youtube/results?search_query=KEYWORD",
            "facebook": "/facebook/search/posts/?q=KEYWORD",
            "instagram": "/instagram/explore/tags/TAG/",
            "web": [f"/web/{site}/{slug}" for site, pages in content.WEB_PAGES.items() for slug in pages],
            "redirect": "/redirect?to=URL",
            "bench": "/bench/page/N",
            "modes": "add __429__ / __flaky__ / __slow__ / __malformed__ / __loginwall__ / __quota__ to a keyword, "
            "or mode=... to the query",
        }
        return 200, json.dumps(routes, indent=2).encode(), "application/json", {}

    def stats(self):
        with self.server.state.lock:
            data = {"responses": dict(self.server.state.responses), "flaky": dict(self.server.state.flaky_attempts)}
        return 200, json.dumps(data).encode(), "application/json", {}

    def redirect(self):
        target = self.query.get("to", "/")
        raise Response(int(self.query.get("status", "302")), "", headers={"Location": target})

    def bench_page(self):
        # The fast path: a tiny page with no scripts or sub-resources, for browser benchmarks.
        number = self.route_path.rsplit("/", 1)[-1]
        return self.html_page(f"<p id='n'>page {html.escape(number)}</p>", title=f"bench {number}")

    # --- news ------------------------------------------------------------------------------------
    def news(self):
        path = self.route_path
        if path == "/news/rss/search":
            keyword = self.keyword()
            modes = self.modes(keyword)
            self.apply_common_modes(modes)
            if "malformed" in modes:
                return 200, NOT_A_FEED, "application/rss+xml", {}
            return self.conditional(self.search_feed(keyword))
        if path.startswith("/news/feeds/") and path.endswith(".xml"):
            outlet = path.removeprefix("/news/feeds/").removesuffix(".xml")
            self.apply_common_modes(self.modes(""))
            if "malformed" in self.modes(""):
                return 200, NOT_A_FEED, "application/rss+xml", {}
            if outlet == "broken":  # cut off mid-item: a parser can salvage a little of it
                return 200, b"<?xml version='1.0'?><rss><channel><item><title>Cut off &", "application/rss+xml", {}
            if outlet not in content.OUTLETS:
                raise Response(404, f"No outlet feed {outlet!r}; known: {', '.join(content.OUTLETS)}.")
            body = self.outlet_feed(outlet)
            return self.conditional(body, last_modified=content.anchor())
        if path.startswith("/news/articles/"):
            return self.html_page(f"<article><h1>Article {html.escape(path.rsplit('/', 1)[-1])}</h1></article>")
        raise Response(404, "Unknown news route.")

    def conditional(self, body: str, *, last_modified: datetime | None = None):
        """Answer 304 when the client's validators still match (ETag or Last-Modified)."""
        data = body.encode()
        etag = '"' + hashlib.sha1(data).hexdigest() + '"'
        headers = {"ETag": etag, "Cache-Control": "max-age=0"}
        if last_modified:
            headers["Last-Modified"] = format_datetime(last_modified, usegmt=True)
        if self.headers.get("If-None-Match") == etag:
            return 304, b"", "application/rss+xml", headers
        since = self.headers.get("If-Modified-Since")
        if since and last_modified and not self.headers.get("If-None-Match"):
            try:
                if parsedate_to_datetime(since) >= last_modified:
                    return 304, b"", "application/rss+xml", headers
            except (TypeError, ValueError):
                pass
        return 200, data, "application/rss+xml; charset=utf-8", headers

    def search_feed(self, keyword: str) -> str:
        entries = []
        for item in content.items("news", keyword)[:100]:
            outlet_slug, outlet = sorted(content.OUTLETS.items())[int(item["id"], 16) % len(content.OUTLETS)]
            link = f"{self.base_url}/news/articles/{item['id']}?utm_source=rss&utm_medium=feed&oc=5"
            published = format_datetime(datetime.fromisoformat(item["published_at"]), usegmt=True)
            entries.append(
                f"<item><title>{html.escape(item['title'])} - {outlet}</title><link>{html.escape(link)}</link>"
                f"<guid isPermaLink='false'>{item['id']}</guid><pubDate>{published}</pubDate>"
                f"<description>{html.escape(item['text'])}</description>"
                f"<source url='{self.base_url}/news/feeds/{outlet_slug}.xml'>{outlet}</source></item>"
            )
        shown = html.escape(content.clean(keyword))
        return (
            "<?xml version='1.0' encoding='UTF-8'?><rss version='2.0'><channel>"
            f"<title>\"{shown}\" - Google News</title><link>{self.base_url}/news</link>"
            f"<description>Simulated news search</description>{''.join(entries)}</channel></rss>"
        )

    def outlet_feed(self, outlet: str) -> str:
        name = content.OUTLETS[outlet]
        articles = content.outlet_articles(outlet)
        if outlet == "the-herald":  # Atom, so both feed formats are exercised
            entries = "".join(
                f"<entry><id>urn:herald:{a['id']}</id><title>{html.escape(a['title'])}</title>"
                f"<link href='{self.base_url}/news/articles/{a['id']}'/>"
                f"<updated>{a['published_at'].isoformat()}</updated><author><name>{a['author']}</name></author>"
                f"<summary>{html.escape(a['summary'])}</summary></entry>"
                for a in articles
            )
            return (
                "<?xml version='1.0' encoding='utf-8'?><feed xmlns='http://www.w3.org/2005/Atom'>"
                f"<title>{name}</title><id>urn:herald</id><updated>{articles[0]['published_at'].isoformat()}</updated>"
                f"{entries}</feed>"
            )
        entries = "".join(
            f"<item><title>{html.escape(a['title'])}</title><link>{self.base_url}/news/articles/{a['id']}</link>"
            f"<guid>{self.base_url}/news/articles/{a['id']}</guid>"
            f"<pubDate>{format_datetime(a['published_at'], usegmt=True)}</pubDate>"
            f"<author>{a['author']}</author><description>{html.escape(a['summary'])}</description></item>"
            for a in articles
        )
        return f"<?xml version='1.0'?><rss version='2.0'><channel><title>{name}</title>{entries}</channel></rss>"

    # --- youtube ---------------------------------------------------------------------------------
    @staticmethod
    def youtube_error(status: int, reason: str, message: str):
        body = {"error": {"code": status, "message": message, "errors": [
            {"message": message, "domain": "youtube.quota" if reason == "quotaExceeded" else "global", "reason": reason}
        ]}}
        raise Response(status, json.dumps(body), content_type="application/json; charset=UTF-8")

    def youtube_api(self):
        keyword = self.keyword()
        modes = self.modes(keyword)
        key = self.query.get("key") or self.headers.get("X-Goog-Api-Key", "")
        if not key:
            self.youtube_error(403, "forbidden", "The request is missing a valid API key.")
        if key not in VALID_YOUTUBE_KEYS:
            self.youtube_error(400, "keyInvalid", "API key not valid. Please pass a valid API key.")
        if "quota" in modes:
            self.youtube_error(403, "quotaExceeded", "The request cannot be completed because you have exceeded your quota.")
        self.apply_common_modes(modes)
        if "malformed" in modes:
            return 200, b'{"kind": "youtube#searchListResponse", "items": [', "application/json", {}
        try:
            per_page = max(0, min(50, int(self.query.get("maxResults", "5"))))
            offset = int(base64.urlsafe_b64decode(self.query["pageToken"]).decode()) if self.query.get("pageToken") else 0
        except (ValueError, KeyError):
            self.youtube_error(400, "invalidParameter", "Invalid value for maxResults or pageToken.")
        everything = content.items("youtube", keyword)
        page = everything[offset:offset + per_page]
        response = {
            "kind": "youtube#searchListResponse",
            "etag": content.short_id("etag", keyword, offset),
            "regionCode": "MY",
            "pageInfo": {"totalResults": len(everything), "resultsPerPage": per_page},
            "items": [
                {
                    "kind": "youtube#searchResult",
                    "etag": content.short_id("etag", item["id"]),
                    "id": {"kind": "youtube#video", "videoId": item["id"][:11]},
                    "snippet": {
                        "publishedAt": item["published_at"].replace("+00:00", "Z"),
                        "channelId": "UC" + content.short_id("channel", item["author"], length=22),
                        "title": item["title"],
                        "description": item["text"],
                        "channelTitle": item["author"],
                        "liveBroadcastContent": "none",
                    },
                }
                for item in page
            ],
        }
        if offset + per_page < len(everything):
            response["nextPageToken"] = base64.urlsafe_b64encode(str(offset + per_page).encode()).decode()
        return 200, json.dumps(response).encode(), "application/json; charset=UTF-8", {}

    def youtube_results(self):
        keyword = self.query.get("search_query", "")
        self.apply_common_modes(self.modes(keyword))
        return self.scroll_page("youtube", keyword, title=f"{content.clean(keyword)} - YouTube")

    # --- social pages ----------------------------------------------------------------------------
    def has_session(self) -> bool:
        return f"{SESSION_COOKIE}=valid" in (self.headers.get("Cookie") or "")

    def facebook(self):
        path = self.route_path
        if path.startswith("/facebook/search"):
            keyword = self.keyword()
        elif path.startswith("/facebook/hashtag/"):
            keyword = path.removeprefix("/facebook/hashtag/").strip("/")
        elif path.startswith("/facebook/posts/") or path.startswith("/facebook/profile/"):
            return self.html_page(f"<div role='article'>Post {html.escape(path)}</div>")
        elif path.startswith("/facebook/login"):
            return self.html_page("<form id='login_form'><input name='email'><input name='pass' type='password'></form>")
        else:
            raise Response(404, "Unknown facebook route.")
        modes = self.modes(keyword)
        self.apply_common_modes(modes)
        if "loginwall" in modes and not self.has_session():
            return self.html_page(
                "<div id='login-wall'><h2>You must log in to continue.</h2>"
                "<form id='login_form' action='/facebook/login'><input name='email'>"
                "<input name='pass' type='password'><button>Log in</button></form></div>",
                title="Log in to Facebook",
            )
        return self.scroll_page("facebook", keyword, title=f"{content.clean(keyword)} | Facebook search")

    def instagram(self):
        path = self.route_path
        if path.startswith("/instagram/explore/tags/"):
            keyword = path.removeprefix("/instagram/explore/tags/").strip("/")
        elif path.startswith("/instagram/accounts/login"):
            return self.html_page(
                "<form id='loginForm'><input name='username'><input name='password' type='password'></form>",
                title="Login • Instagram",
            )
        elif path.startswith("/instagram/p/"):
            return self.html_page(f"<article>Post {html.escape(path)}</article>")
        else:
            raise Response(404, "Unknown instagram route.")
        modes = self.modes(keyword)
        self.apply_common_modes(modes)
        if "loginwall" in modes and not self.has_session():
            # Instagram sends visitors without a session to the login page.
            raise Response(302, "", headers={"Location": f"/instagram/accounts/login/?next={quote(path)}"})
        return self.scroll_page("instagram", keyword, title=f"#{content.clean(keyword)} • Instagram")

    def feed_api(self, platform: str):
        keyword = self.keyword()
        try:
            cursor = int(self.query.get("cursor", "0"))
            size = int(self.query.get("size", PAGE_SIZES[platform]))
        except ValueError:
            raise Response(400, "cursor and size must be whole numbers.") from None
        everything = content.items(platform, keyword)
        page = everything[cursor:cursor + size]
        next_cursor = cursor + size if cursor + size < len(everything) else None
        body = {"items": page, "next_cursor": next_cursor}
        return 200, json.dumps(body).encode(), "application/json", {}

    def scroll_page(self, platform: str, keyword: str, *, title: str):
        """A page whose items are rendered by JavaScript, loading more as the reader scrolls."""
        config = {
            "platform": platform,
            "api": f"/{platform}/api/feed",
            "q": keyword,
            "size": int(self.query.get("size", PAGE_SIZES[platform])),
        }
        config_json = json.dumps(config).replace("</", "<\\/")
        body = f"<div id='feed' data-platform='{platform}'></div><div id='spinner'>Loading…</div><script>{SCROLL_SCRIPT.replace('__CONFIG__', config_json)}</script>"
        style = "<style>.post{display:block;min-height:180px;border:1px solid #ccc;margin:8px;padding:8px}</style>"
        return self.html_page(body, title=title, head=style)

    # --- web ---------------------------------------------------------------------------------------
    def web(self):
        parts = self.route_path.strip("/").split("/")
        self.apply_common_modes(self.modes(""))
        if len(parts) != 3:
            raise Response(404, "Web pages live at /web/<site>/<slug>.")
        page = content.web_page(parts[1], parts[2])
        if page is None:
            raise Response(404, f"No web page {self.route_path}.")
        navigation = "".join(f"<a href='#'>{html.escape(label)}</a> " for label in page["navigation"])
        paragraphs = "".join(f"<p>{html.escape(text)}</p>" for text in page["paragraphs"])
        # The last paragraph arrives by JavaScript, so only a rendering scraper sees it.
        late = json.dumps(f"Update: readers discussed {parts[2].replace('-', ' ')} late into the night.")
        body = (
            f"<nav>{navigation}</nav><article class='story'><h1>{html.escape(page['title'])}</h1>{paragraphs}"
            f"<div id='late'></div></article><footer>© Simulated media</footer>"
            f"<script>document.getElementById('late').innerHTML = '<p>' + {late} + '</p>';</script>"
        )
        head = f"<meta property='article:published_time' content='{page['published_at']}'>"
        return self.html_page(body, title=page["title"], head=head)


SCROLL_SCRIPT = r"""
(function () {
  const config = __CONFIG__;
  const feed = document.getElementById('feed');
  const spinner = document.getElementById('spinner');
  let cursor = 0, loading = false, done = false;
  function esc(s) { const d = document.createElement('div'); d.textContent = String(s); return d.innerHTML; }
  function render(item) {
    const el = document.createElement(config.platform === 'youtube' ? 'ytd-video-renderer' : (config.platform === 'instagram' ? 'article' : 'div'));
    el.className = 'post';
    if (config.platform === 'facebook') {
      el.setAttribute('role', 'article');
      el.dataset.postId = item.id;
      el.innerHTML = '<a class="fb-author" href="/facebook/profile/' + esc(item.author.replace(/ /g, '.')) + '">' + esc(item.author) + '</a> ' +
        '<a class="fb-permalink" href="/facebook/posts/' + item.id + '?__cft__=tracking&ref=search"><time datetime="' + item.published_at + '">' + esc(item.published_at) + '</time></a>' +
        '<div class="fb-text" dir="auto">' + esc(item.text) + '</div>' +
        '<span class="fb-likes" data-count="' + item.likes + '">' + item.likes + ' reactions</span> ' +
        '<span class="fb-comments" data-count="' + item.comments + '">' + item.comments + ' comments</span> ' +
        '<span class="fb-shares" data-count="' + item.shares + '">' + item.shares + ' shares</span>';
    } else if (config.platform === 'instagram') {
      el.dataset.shortcode = item.id;
      el.innerHTML = '<a class="ig-link" href="/instagram/p/' + item.id + '/?igsh=share"><div class="ig-image" role="img" aria-label="photo"></div></a>' +
        '<span class="ig-owner">' + esc(item.author.toLowerCase().replace(/ /g, '_')) + '</span>' +
        '<div class="ig-caption">' + esc(item.text) + ' #' + esc(item.tag) + '</div>' +
        '<time datetime="' + item.published_at + '"></time>' +
        '<span class="ig-likes" data-count="' + item.likes + '">' + item.likes + ' likes</span>' +
        '<span class="ig-comments" data-count="' + item.comments + '"></span>';
    } else {
      el.dataset.videoId = item.id.slice(0, 11);
      el.innerHTML = '<a id="video-title" href="/youtube/watch?v=' + item.id.slice(0, 11) + '&pp=search" title="' + esc(item.title) + '">' + esc(item.title) + '</a>' +
        '<a class="yt-channel" href="/youtube/@' + esc(item.author.replace(/ /g, '')) + '">' + esc(item.author) + '</a>' +
        '<span class="yt-views" data-count="' + item.views + '">' + item.views + ' views</span>' +
        '<time datetime="' + item.published_at + '"></time>' +
        '<div class="yt-description">' + esc(item.text) + '</div>';
    }
    feed.appendChild(el);
  }
  async function loadMore() {
    if (loading || done) return;
    loading = true;
    try {
      const response = await fetch(config.api + '?q=' + encodeURIComponent(config.q) + '&cursor=' + cursor + '&size=' + config.size);
      const data = await response.json();
      data.items.forEach(render);
      if (data.next_cursor === null) {
        done = true;
        spinner.remove();
        const end = document.createElement('div');
        end.id = 'end-of-results';
        end.textContent = 'End of results';
        document.body.appendChild(end);
      } else {
        cursor = data.next_cursor;
      }
    } finally {
      loading = false;
    }
    // A page too short to scroll would never load more; fill the screen first.
    if (!done && document.body.scrollHeight <= window.innerHeight) loadMore();
  }
  window.addEventListener('scroll', function () {
    if (window.innerHeight + window.scrollY >= document.body.scrollHeight - 300) loadMore();
  });
  loadMore();
})();
"""


class SimulatorServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address, *, verbose: bool = False):
        super().__init__(address, SimulatorHandler)
        self.state = SimulatorState()
        self.verbose = verbose

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}"


def make_server(host: str = "127.0.0.1", port: int = 0, *, verbose: bool = False) -> SimulatorServer:
    return SimulatorServer((host, port), verbose=verbose)
