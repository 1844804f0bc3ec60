"""HTTP API figures: request latency by authentication method, mention pages, and streamed exports.

Usage:  DATABASE_URL=postgres://postgres@127.0.0.1:5432/pulse .venv/bin/python tests/bench/bench_api.py
(or `make bench-api`; `--mentions N` sets the table size, default 100000). Uses its own database,
``<DATABASE_URL name>_bench_api`` (created and migrated on first use; mentions are re-seeded when
the count differs). Requests go through the whole Django stack in-process (middleware, ninja,
PostgreSQL) without a network hop, so the figures are the server's share of a request.

Prints one markdown table:
1. latency (median and p95 of 200 requests) of GET /api/v1/searches?limit=1 with a Bearer key, an
   X-API-Key, a staff session, and with no credentials (the 401 path);
2. GET /api/v1/mentions pages: first page, a deep page (offset 90% in), a text filter;
3. export of every mention as CSV and JSON: rows per second and the peak Python memory while
   streaming (tracemalloc), which stays flat as the table grows because rows are streamed.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import tracemalloc
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlparse, urlunparse

PROJECT_ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(PROJECT_ROOT))
os.environ["DJANGO_SETTINGS_MODULE"] = "tests.settings"


def bench_database_url() -> str:
    url = urlparse(os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/pulse"))
    return urlunparse(url._replace(path=f"{url.path.rstrip('/')}_bench_api"))


def ensure_database(url: str) -> None:
    import psycopg

    parsed = urlparse(url)
    admin = psycopg.connect(
        host=parsed.hostname, port=parsed.port or 5432, user=parsed.username, password=parsed.password,
        dbname="postgres", autocommit=True,
    )  # fmt: skip
    name = parsed.path.lstrip("/")
    if not admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
        admin.execute(f'CREATE DATABASE "{name}"')
    admin.close()


def seed(count: int) -> None:
    from scraping.models import Mention

    if Mention.objects.count() == count:
        return
    Mention.objects.all().delete()
    start = datetime(2026, 1, 1, tzinfo=UTC)
    batch = []
    for number in range(count):
        batch.append(
            Mention(
                platform=("news", "youtube", "facebook", "instagram", "web")[number % 5],
                external_id=f"bench-{number}",
                url=f"https://example.com/bench/{number}",
                title=f"Story {number} about {'SSM' if number % 10 == 0 else 'markets'}",
                text="Lorem ipsum dolor sit amet, consectetur adipiscing elit. " * 4,
                author=f"author {number % 300}",
                published_at=start + timedelta(minutes=number),
                first_seen=start + timedelta(minutes=number),
                likes=number % 1000,
            )
        )
        if len(batch) == 5000:
            Mention.objects.bulk_create(batch)
            batch = []
    Mention.objects.bulk_create(batch)


def timed(call, repeat: int) -> tuple[float, float]:
    durations = []
    for _ in range(repeat):
        started = time.perf_counter()
        call()
        durations.append((time.perf_counter() - started) * 1000)
    durations.sort()
    return statistics.median(durations), durations[int(len(durations) * 0.95) - 1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--mentions", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=200)
    options = parser.parse_args()

    url = bench_database_url()
    ensure_database(url)
    os.environ["DATABASE_URL"] = url
    import django

    django.setup()
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.test import Client

    from pulse.services import api_key_create

    settings.ALLOWED_HOSTS = ["testserver"]
    call_command("migrate", verbosity=0)
    seed(options.mentions)

    user_model = get_user_model()
    admin = user_model.objects.filter(username="bench").first() or user_model.objects.create_superuser(
        username="bench", password="bench"
    )
    _api_key, key = api_key_create(user=admin, name=f"bench {time.time()}")
    bearer, header = Client(headers={"Authorization": f"Bearer {key}"}), Client(headers={"X-API-Key": key})
    session, anonymous = Client(), Client()
    session.force_login(admin)

    def get(client, path, status=200):
        def call():
            response = client.get(path)
            assert response.status_code == status, (path, response.status_code, response.content[:200])
            if response.streaming:
                for _chunk in response.streaming_content:
                    pass

        return call

    rows = []
    for label, client, status in [
        ("Bearer key", bearer, 200), ("X-API-Key", header, 200), ("staff session", session, 200),
        ("no credentials (401)", anonymous, 401),
    ]:  # fmt: skip
        median, p95 = timed(get(client, "/api/v1/searches?limit=1", status), options.repeat)
        rows.append((f"GET /searches?limit=1, {label}", f"{median:.1f}", f"{p95:.1f}", ""))
    deep = int(options.mentions * 0.9)
    for label, path in [
        ("first page of 50", "/api/v1/mentions?limit=50"),
        (f"page at offset {deep}", f"/api/v1/mentions?limit=50&offset={deep}"),
        ("q=SSM, first page", "/api/v1/mentions?limit=50&q=SSM"),
    ]:
        median, p95 = timed(get(bearer, path), max(20, options.repeat // 10))
        rows.append((f"GET /mentions, {label}", f"{median:.1f}", f"{p95:.1f}", ""))
    for export_format in ("csv", "json"):
        export = get(bearer, f"/api/v1/mentions/export?format={export_format}")
        started = time.perf_counter()
        export()
        elapsed = time.perf_counter() - started
        # A second pass under tracemalloc, which slows allocation several-fold, for memory only.
        tracemalloc.start()
        export()
        _current, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        rows.append(
            (
                f"export {export_format}, {options.mentions} mentions",
                f"{elapsed * 1000:.0f} (total)",
                "",
                f"{options.mentions / elapsed:,.0f} rows/s, peak Python memory {peak / 2**20:.1f} MiB",
            )
        )

    when = f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, load average {os.getloadavg()[0]:.1f}"
    print(f"\nPulse API, {options.mentions} mentions, in-process (no network), {when}\n")
    print("| request | median ms | p95 ms | notes |")
    print("|---|---|---|---|")
    for row in rows:
        print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()
