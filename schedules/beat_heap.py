"""The scheduler's in-memory state: compact entries keyed by PeriodicTask id, and a heap of due times.

An entry holds only what timing needs (about 200 bytes); the message itself (task, args, queue,
headers) is read from the row at dispatch, in the same statement that records the run, so it is
never stale. Heap items are ``(due, id, version)``; an edit gives the entry a new version and
pushes a new item, and items whose version no longer matches are dropped when they surface.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Iterator

from schedules.beat_timing import NEVER, ScheduleSpec

_versions = itertools.count(1)


class CompactEntry:
    __slots__ = (
        "id",
        "version",
        "spec",
        "last_run_us",
        "baseline",
        "start_time",
        "expires",
        "one_off",
        "policy",
        "grace",
        "due",
    )

    def __init__(
        self,
        *,
        id: int,
        spec: ScheduleSpec | None,
        last_run_us: int | None,
        baseline: float,
        start_time: float | None,
        expires: float | None,
        one_off: bool,
        policy: str,
        grace: float,
    ):
        self.id = id
        self.version = next(_versions)
        self.spec = spec
        self.last_run_us = last_run_us
        self.baseline = baseline
        self.start_time = start_time
        self.expires = expires
        self.one_off = one_off
        self.policy = policy
        self.grace = grace
        self.due = NEVER

    def timing_equals(self, other: CompactEntry) -> bool:
        return (
            self.spec is other.spec
            and self.start_time == other.start_time
            and self.expires == other.expires
            and self.one_off == other.one_off
        )

    def __repr__(self):
        return f"<CompactEntry {self.id} v{self.version} due={self.due} {self.spec!r}>"


class ScheduleHeap:
    """Entries by id plus a lazily cleaned heap ordered by due time."""

    def __init__(self):
        self.entries: dict[int, CompactEntry] = {}
        self._heap: list[tuple[float, int, int]] = []

    def __len__(self) -> int:
        return len(self.entries)

    def __contains__(self, entry_id: int) -> bool:
        return entry_id in self.entries

    def get(self, entry_id: int) -> CompactEntry | None:
        return self.entries.get(entry_id)

    def ids(self) -> set[int]:
        return set(self.entries)

    def put(self, entry: CompactEntry) -> None:
        """Add or replace an entry; the replaced one's heap item becomes stale."""
        self.entries[entry.id] = entry
        self._push(entry)

    def load(self, entries: list[CompactEntry]) -> None:
        """Replace everything at once (cold start, full reconcile): one heapify, no pushes."""
        self.entries = {entry.id: entry for entry in entries}
        self._heap = [(entry.due, entry.id, entry.version) for entry in entries if entry.due != NEVER]
        heapq.heapify(self._heap)

    def reschedule(self, entry: CompactEntry, due: float) -> None:
        entry.version = next(_versions)
        entry.due = due
        self._push(entry)

    def remove(self, entry_id: int) -> CompactEntry | None:
        return self.entries.pop(entry_id, None)

    def _push(self, entry: CompactEntry) -> None:
        if entry.due != NEVER:
            heapq.heappush(self._heap, (entry.due, entry.id, entry.version))
        # Edits leave stale items behind; rebuild when they outnumber live ones, so memory stays
        # bounded under one edit per second for weeks.
        if len(self._heap) > 2 * len(self.entries) + 1024:
            self._compact()

    def _compact(self) -> None:
        self._heap = [
            (entry.due, entry.id, entry.version) for entry in self.entries.values() if entry.due != NEVER
        ]
        heapq.heapify(self._heap)

    def _drop_stale_top(self) -> None:
        heap = self._heap
        while heap:
            _, entry_id, version = heap[0]
            entry = self.entries.get(entry_id)
            if entry is not None and entry.version == version:
                return
            heapq.heappop(heap)

    def next_due(self) -> float:
        self._drop_stale_top()
        return self._heap[0][0] if self._heap else NEVER

    def pop_due(self, now: float, *, limit: int) -> Iterator[CompactEntry]:
        """Take up to ``limit`` entries due at ``now``; each leaves the heap until rescheduled."""
        taken = 0
        while taken < limit:
            self._drop_stale_top()
            if not self._heap or self._heap[0][0] > now:
                return
            _, entry_id, _ = heapq.heappop(self._heap)
            entry = self.entries[entry_id]
            # A new version marks the entry as "in flight": any heap item left for it is stale.
            entry.version = next(_versions)
            taken += 1
            yield entry

    def stale_items(self) -> int:
        return len(self._heap) - sum(1 for entry in self.entries.values() if entry.due != NEVER)
