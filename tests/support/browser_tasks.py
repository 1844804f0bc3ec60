"""A browser task for the browser-pool tests; a worker loads it with ``--include tests.support.browser_tasks``."""

from __future__ import annotations

import os

from celery import shared_task


@shared_task(name="tests.browser_visit")
def browser_visit(url: str, hold_seconds: float = 0) -> dict:
    """Open ``url`` in the pooled browser and keep the page open for ``hold_seconds``."""
    from scraping.browser import browser_pool, run_in_browser

    def work(page):
        page.goto(url)
        if hold_seconds:
            page.wait_for_timeout(hold_seconds * 1000)
        return page.inner_text("body")

    text = run_in_browser(work)
    return {"text": text, "worker_pid": os.getpid(), "processes": browser_pool().stats()["processes"]}
