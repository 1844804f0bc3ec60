"""The scheduler's heap: edits replace entries by version, stale items never fire."""

from __future__ import annotations

from schedules.beat_heap import CompactEntry, ScheduleHeap
from schedules.beat_timing import NEVER, IntervalSpec

EVERY_MINUTE = IntervalSpec(60, "seconds")


def entry(entry_id: int, due: float) -> CompactEntry:
    made = CompactEntry(
        id=entry_id,
        spec=EVERY_MINUTE,
        last_run_us=None,
        baseline=due - 60,
        start_time=None,
        expires=None,
        one_off=False,
        policy="coalesce",
        grace=300,
    )
    made.due = due
    return made


def test_due_entries_come_out_in_due_order_and_only_once():
    heap = ScheduleHeap()
    heap.load([entry(1, 30), entry(2, 10), entry(3, 20), entry(4, 99)])
    assert [e.id for e in heap.pop_due(50, limit=10)] == [2, 3, 1]
    assert list(heap.pop_due(50, limit=10)) == []
    assert heap.next_due() == 99


def test_an_edited_entry_fires_at_its_new_time_and_never_at_the_old_one():
    heap = ScheduleHeap()
    heap.load([entry(1, 10), entry(2, 40)])
    heap.put(entry(1, 100))  # edit: moved later
    assert [e.id for e in heap.pop_due(30, limit=10)] == []
    assert heap.next_due() == 40
    assert [e.id for e in heap.pop_due(100, limit=10)] == [2, 1]


def test_an_entry_moved_earlier_fires_once_at_the_earlier_time():
    heap = ScheduleHeap()
    heap.load([entry(1, 100)])
    heap.put(entry(1, 10))
    assert [e.id for e in heap.pop_due(200, limit=10)] == [1]


def test_a_removed_entry_never_fires():
    heap = ScheduleHeap()
    heap.load([entry(1, 10), entry(2, 20)])
    heap.remove(1)
    assert [e.id for e in heap.pop_due(100, limit=10)] == [2]
    assert 1 not in heap


def test_a_popped_entry_is_out_of_the_heap_until_rescheduled():
    heap = ScheduleHeap()
    heap.load([entry(1, 10)])
    (popped,) = heap.pop_due(10, limit=1)
    assert heap.next_due() == NEVER
    heap.reschedule(popped, 70)
    assert heap.next_due() == 70


def test_the_batch_limit_leaves_the_rest_for_the_next_pass():
    heap = ScheduleHeap()
    heap.load([entry(i, i) for i in range(1, 6)])
    assert [e.id for e in heap.pop_due(10, limit=2)] == [1, 2]
    assert [e.id for e in heap.pop_due(10, limit=10)] == [3, 4, 5]


def test_an_entry_that_is_never_due_stays_known_but_out_of_the_heap():
    heap = ScheduleHeap()
    heap.load([entry(1, NEVER)])
    assert 1 in heap and heap.next_due() == NEVER


def test_stale_items_from_many_edits_are_compacted_away():
    heap = ScheduleHeap()
    heap.load([entry(i, 1000 + i) for i in range(10)])
    for edit in range(5000):
        heap.put(entry(edit % 10, 2000 + edit))
    assert heap.stale_items() <= 2 * len(heap) + 1024
    fired = [e.id for e in heap.pop_due(10_000, limit=100)]
    assert sorted(fired) == list(range(10))
