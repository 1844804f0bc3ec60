"""What the pipeline benchmark's workers load besides Pulse (``--include tests.bench.support``).

- ``bench.noop``: the baseline's task, a bare chord member that does nothing.
- ``bench.entry``: Pulse's task topology without Pulse's work: an entry task that publishes
  progress and replaces itself with the baseline's chord, as ``pulse.search`` does with its own.
- four in-process platforms (two on the http queue, two on the browser queue) that return three
  fixed items per keyword without any I/O, so a search over them measures Pulse's own machinery:
  validation, the chord, claims, the store pipeline, counters and finalize.
"""

from __future__ import annotations

from celery import chord, group, shared_task, signature

import tests.support.tasks  # noqa: F401  (test tasks and test platforms)
from scraping.platforms.base import Query
from tests.support.scrapers import TestScraper, items_for, register

BENCH_PLATFORMS = ["bench-http-1", "bench-http-2", "bench-browser-1", "bench-browser-2"]


@shared_task(name="bench.noop")
def noop(*args, **kwargs) -> None:
    return None


@shared_task(name="bench.entry", bind=True)
def entry(self):
    header = [
        signature("bench.noop", args=[number], queue="http" if number < 2 else "browser", immutable=True)
        for number in range(4)
    ]
    self.update_state(state="PROGRESS", meta={"platforms_done": 0})
    return self.replace(chord(group(header), signature("bench.noop", queue="http", immutable=True)))


class BenchScraper(TestScraper):
    def search(self, query: Query):
        return items_for(self.name, query)


# The registry imports a platform by dotted path, so each class must be a module attribute.
for _name in BENCH_PLATFORMS:
    _class_name = f"Scraper_{_name.replace('-', '_')}"
    globals()[_class_name] = type(
        _class_name,
        (BenchScraper,),
        {"name": _name, "queue": "browser" if "browser" in _name else "http", "__module__": __name__},
    )
    register(globals()[_class_name])
