"""PulseScheduler: django-celery-beat's DatabaseScheduler made safe to run twice and fast at 100k rows.

Run any number of ``celery -A pulse beat`` processes; they elect one leader in Redis and only the
leader dispatches (see ``schedules.beat_lock``). Every beat keeps a compact heap of all enabled
``PeriodicTask`` rows (``schedules.beat_heap``) and reads only the rows that changed since its
last look, so an edit is live within a second and a standby can take over without reloading.
The leader records each dispatch (``last_run_at``, one-off disable) in the database in the same
transaction that sends the message, guarded by a compare-and-set, so a crash, a restart or a
second leader never sends a slot twice. docs/SCHEDULER.md explains the design and the settings.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator, Mapping
from datetime import datetime, timedelta

import redis
from celery.beat import ScheduleEntry
from django.conf import settings
from django.db import DatabaseError, InterfaceError, close_old_connections, transaction
from django_celery_beat.models import PeriodicTask
from django_celery_beat.schedulers import DatabaseScheduler, ModelEntry
from kombu.utils.json import loads

from schedules import beat_store
from schedules.beat_heap import CompactEntry, ScheduleHeap
from schedules.beat_lock import BeatCoordinator
from schedules.beat_store import (
    CLOCKED_ID,
    CRONTAB_ID,
    DATE_CHANGED,
    ENABLED,
    EXPIRES,
    ID,
    INTERVAL_ID,
    LAST_RUN_AT,
    MISFIRE_GRACE,
    MISFIRE_POLICY,
    ONE_OFF,
    SOLAR_ID,
    START_TIME,
    RunRecord,
    from_microseconds,
    to_microseconds,
)
from schedules.beat_timing import (
    MISFIRE_COALESCE,
    MISFIRE_POLICIES,
    NEVER,
    ClockedSpec,
    CrontabSpec,
    IntervalSpec,
    ScheduleSpec,
    SolarSpec,
    first_slot_after_baseline,
    from_epoch,
    plan_dispatch,
)

logger = logging.getLogger(__name__)

SCHEDULED_FOR_HEADER = "pulse_scheduled_for"
# Rows committed this long after they were stamped (a slow transaction) are still picked up.
CHANGE_OVERLAP = timedelta(seconds=10)
# Schedule tables up to this many rows are re-read on every change (a few milliseconds).
SMALL_SCHEDULE_TABLES = 5000
# After losing a slot claim, look at the row again this much later.
CLAIM_CONFLICT_RECHECK_SECONDS = 2.0
# A send that failed (broker away) is retried this much later.
SEND_RETRY_SECONDS = 2.0


class PulseEntry(ModelEntry):
    """A full django-celery-beat entry, built only on demand (admin-style introspection)."""


class _ScheduleView(Mapping):
    """``scheduler.schedule`` for tools that inspect it; built from the database on access.

    The scheduler itself never needs full ModelEntry objects, so it does not keep 100k of them.
    """

    def __init__(self, scheduler: PulseScheduler):
        self.scheduler = scheduler

    def __getitem__(self, name: str) -> PulseEntry:
        try:
            model = self.scheduler.enabled_models_qs().get(name=name)
        except PeriodicTask.DoesNotExist:
            raise KeyError(name) from None
        return self.scheduler.Entry(model, app=self.scheduler.app)

    def __iter__(self) -> Iterator[str]:
        return iter(self.scheduler.enabled_models_qs().values_list("name", flat=True))

    def __len__(self) -> int:
        return len(self.scheduler.heap)


class PulseScheduler(DatabaseScheduler):
    """A DatabaseScheduler with leader election, incremental reloads and misfire policies."""

    Entry = PulseEntry

    def __init__(self, *args, **kwargs):
        self.heap = ScheduleHeap()
        self.leader_ttl = settings.PULSE_BEAT_LEADER_TTL_SECONDS
        self.change_check_interval = settings.PULSE_BEAT_CHANGE_CHECK_SECONDS
        self.reconcile_interval = settings.PULSE_BEAT_RECONCILE_SECONDS
        self.default_grace = float(settings.PULSE_BEAT_MISFIRE_GRACE_SECONDS)
        self.run_all_limit = settings.PULSE_BEAT_RUN_ALL_MAX_SLOTS
        self.dispatch_batch = settings.PULSE_BEAT_DISPATCH_BATCH
        self.specs: dict[tuple[str, int], ScheduleSpec | None] = {}
        self.schedule_table: beat_store.ScheduleRows | None = None
        self.coordinator: BeatCoordinator | None = None
        self.last_change_stamp = None
        self.change_watermark: datetime | None = None
        self.next_change_check = 0.0
        self.next_reconcile = 0.0
        self.standby_since = time.time()
        self.loaded = False
        self._claim_conflicts: dict[int, int | None] = {}
        super().__init__(*args, **kwargs)
        # The Service sleeps for what tick() returns; never longer than a change check.
        self.max_interval = min(self.max_interval, self.change_check_interval)

    # --- django-celery-beat hooks ---------------------------------------------------------------

    def enabled_models_qs(self):
        # Stock hides crontabs outside a +/-2 hour window to make its full reloads cheaper;
        # Pulse loads every row once and then only changes, so it needs no such filter.
        return self.Model.objects.enabled()

    def setup_schedule(self):
        """1. Save beat_schedule / default entries as rows. 2. Load every enabled row. 3. Connect Redis."""
        self.install_default_entries(None)
        self.update_from_dict(self.app.conf.beat_schedule)
        started = time.monotonic()
        self.full_reconcile(cold=True)
        logger.info(
            "PulseScheduler: loaded %d enabled schedules in %.2fs", len(self.heap), time.monotonic() - started
        )
        self.coordinator = BeatCoordinator(
            redis.Redis.from_url(settings.REDIS_URL, socket_timeout=5, socket_connect_timeout=5),
            leader_ttl=self.leader_ttl,
            slot_ttl=settings.PULSE_BEAT_SLOT_CLAIM_TTL_SECONDS,
        )

    def update_from_dict(self, mapping):
        # Rows only: entries reach the heap through the normal load, like any admin-made row.
        for name, fields in (mapping or {}).items():
            try:
                self.Entry.from_entry(name, app=self.app, **fields)
            except Exception:
                logger.exception("PulseScheduler: cannot save beat_schedule entry %r: %r", name, fields)

    @property
    def schedule(self):
        return _ScheduleView(self)

    def schedule_changed(self) -> bool:
        """Whether ``PeriodicTasks.last_update`` moved (any save, delete or schedule-row edit)."""
        stamp = self.Changes.last_change()
        changed = stamp != self.last_change_stamp
        self.last_change_stamp = stamp
        return changed

    def reserve(self, entry):
        # Runs are recorded at dispatch in record_runs; nothing is left to write later.
        return entry

    def sync(self):
        # Nothing is kept only in memory: last_run_at is written when a slot is sent.
        pass

    def close(self):
        try:
            super().close()
        finally:
            if self.coordinator is not None:
                self.coordinator.release()

    def apply_entry(self, entry, producer=None):
        """Send one slot; unlike the base class, a failure propagates so the run can be undone."""
        logger.info("PulseScheduler: sending due task %s (%s)", entry.name, entry.task)
        return self.apply_async(entry, producer=producer, advance=False)

    @property
    def info(self):
        return f"    . leader lock: pulse:beat:leader (TTL {self.leader_ttl:g}s)"

    # --- the loop -------------------------------------------------------------------------------

    def tick(self, *args, **kwargs) -> float:
        """One pass of beat; returns how long to sleep.

        1. Every ``change_check_interval``: pick up edited rows; rarely, a full reconcile.
        2. Take or renew the leader lock; the leader writes the heartbeat.
        3. The leader dispatches every due entry (in batches) and sleeps until the next due
           time, the next change check or the next renewal, whichever is first.
        """
        now = time.time()
        self._refresh_from_database(now)
        is_leader = self._renew_leadership(now)
        if is_leader:
            try:
                more = self.dispatch_due(time.time())
            except (DatabaseError, InterfaceError):
                logger.exception("PulseScheduler: database error while dispatching; retrying")
                close_old_connections()
                return 1.0
            if more:
                return 0.0
        wake = min(self.next_change_check, now + self.leader_ttl / 5)
        if is_leader:
            wake = min(wake, self.heap.next_due())
        return max(0.0, min(wake - time.time(), self.max_interval))

    def _refresh_from_database(self, now: float) -> None:
        try:
            if now >= self.next_reconcile:
                self.full_reconcile(cold=False)
            elif now >= self.next_change_check:
                self.pick_up_changes()
        except (DatabaseError, InterfaceError):
            logger.exception("PulseScheduler: database error while reading changes; keeping the schedule")
            close_old_connections()
        finally:
            self.next_change_check = time.time() + self.change_check_interval

    def _renew_leadership(self, now: float) -> bool:
        coordinator = self.coordinator
        was_leader = coordinator.is_leader
        try:
            is_leader = coordinator.acquire_or_renew()
            if is_leader:
                coordinator.beat_heartbeat(now)
        except redis.RedisError as error:
            # Without Redis nobody can prove leadership; stop dispatching until it answers.
            if was_leader:
                logger.error("PulseScheduler: Redis unavailable (%s); stepping down", error)
            coordinator.is_leader = False
            return False
        if is_leader and not was_leader:
            logger.info(
                "PulseScheduler: this beat is now the leader (%s pid %s)",
                coordinator.identity["host"],
                coordinator.identity["pid"],
            )
            self._catch_up_with_previous_leader()
        elif was_leader and not is_leader:
            logger.warning("PulseScheduler: lost the leader lock; now on standby")
            self.standby_since = now
        return is_leader

    # --- loading --------------------------------------------------------------------------------

    def full_reconcile(self, *, cold: bool) -> None:
        """Rebuild the heap from every enabled row (cold start, then every few minutes).

        Entries already in memory keep their due time when their row is unchanged, so a
        reconcile never moves or repeats a slot; it only repairs what incremental reads missed
        (schedule rows edited in place, changes hidden by very long transactions).
        """
        close_old_connections()
        self.last_change_stamp = self.Changes.last_change()
        previous_table, self.schedule_table = self.schedule_table, beat_store.schedule_rows()
        # Keep the spec objects of unchanged schedule rows: entries compare specs by identity.
        self.specs = {
            (kind, schedule_id): spec
            for (kind, schedule_id), spec in self.specs.items()
            if previous_table is not None
            and getattr(previous_table, kind).get(schedule_id) == getattr(self.schedule_table, kind).get(schedule_id)
        }
        started = time.time()
        entries = []
        newest_change = None
        previous = self.heap
        for row in beat_store.iterate_rows(self.enabled_models_qs()):
            old = previous.get(row[ID])
            entry = self._entry_from_row(row, runtime_change=not cold and old is None)
            if entry is None:
                continue
            if old is not None and old.timing_equals(entry) and old.last_run_us == entry.last_run_us:
                entry.due = old.due
            else:
                entry.due = self._first_due(entry)
            entries.append(entry)
            if newest_change is None or row[DATE_CHANGED] > newest_change:
                newest_change = row[DATE_CHANGED]
        self.heap.load(entries)
        if self.change_watermark is None or (newest_change and newest_change > self.change_watermark):
            self.change_watermark = newest_change or from_epoch(started)
        self.loaded = True
        self.next_reconcile = time.time() + self.reconcile_interval
        if not cold:
            logger.info("PulseScheduler: reconciled %d schedules", len(entries))

    def pick_up_changes(self) -> int:
        """Apply rows changed since the last look; returns how many entries changed.

        1. One cheap query: did ``PeriodicTasks.last_update`` move? If not, nothing changed.
        2. Read rows whose ``date_changed`` is newer than the watermark (minus an overlap for
           slow transactions) and update just those entries.
        3. Deletions leave no row: compare the enabled count, and only when it disagrees, the
           id sets.
        4. A schedule row (crontab, interval...) may have been edited in place, which changes no
           task row: reload the schedule tables when they are small, or when nothing above
           explained the change, and re-time the entries that use an edited row.
        """
        close_old_connections()
        if not self.schedule_changed():
            return 0
        changed = 0
        since = self.change_watermark - CHANGE_OVERLAP if self.change_watermark else from_epoch(0)
        rows = beat_store.changed_rows(since=since)
        missing: dict[str, set[int]] = {}
        for row in rows:
            for kind, index in self._schedule_columns():
                if row[index] is not None and (kind, row[index]) not in self.specs:
                    missing.setdefault(kind, set()).add(row[index])
        if missing:
            # Tasks now point at schedule rows this beat has not seen: read just those.
            fresh = beat_store.schedule_rows(missing)
            for kind in missing:
                getattr(self.schedule_table, kind).update(getattr(fresh, kind))
        for row in rows:
            if self._apply_row(row):
                changed += 1
            if row[DATE_CHANGED] > self.change_watermark:
                self.change_watermark = row[DATE_CHANGED]
        enabled = self.enabled_models_qs()
        if beat_store.enabled_count(enabled) != len(self.heap):
            changed += self._reconcile_ids(beat_store.enabled_ids(enabled))
        if changed == 0 or self._schedule_row_count() <= SMALL_SCHEDULE_TABLES:
            changed += self._reload_schedule_rows()
        if changed:
            logger.info("PulseScheduler: applied %d schedule changes", changed)
        return changed

    def _schedule_row_count(self) -> int:
        table = self.schedule_table
        return len(table.interval) + len(table.crontab) + len(table.solar) + len(table.clocked)

    def _schedule_columns(self):
        return (("interval", INTERVAL_ID), ("crontab", CRONTAB_ID), ("solar", SOLAR_ID), ("clocked", CLOCKED_ID))

    def _apply_row(self, row: tuple) -> bool:
        """Bring one row's entry up to date; returns whether the heap changed."""
        old = self.heap.get(row[ID])
        if not row[ENABLED]:
            return self.heap.remove(row[ID]) is not None
        entry = self._entry_from_row(row, runtime_change=old is None)
        if entry is None:
            return self.heap.remove(row[ID]) is not None
        if old is not None and old.timing_equals(entry) and old.last_run_us == entry.last_run_us:
            if old.policy == entry.policy and old.grace == entry.grace:
                return False
            old.policy, old.grace = entry.policy, entry.grace
            return True
        if old is not None and not old.timing_equals(entry):
            # A new timing starts from the edit: slots the old timing "missed" are no surprise run.
            entry.baseline = max(entry.baseline, row[DATE_CHANGED].timestamp())
        entry.due = self._first_due(entry)
        self.heap.put(entry)
        return True

    def _reconcile_ids(self, ids: set[int]) -> int:
        known = self.heap.ids()
        changed = 0
        for missing in known - ids:
            self.heap.remove(missing)
            changed += 1
        added = ids - known
        if added:
            for row in beat_store.rows_by_id(added):
                changed += self._apply_row(row)
        return changed

    def _reload_schedule_rows(self) -> int:
        fresh = beat_store.schedule_rows()
        old = self.schedule_table
        self.schedule_table = fresh
        if old == fresh:
            return 0
        stale_keys = set()
        for kind in ("interval", "crontab", "solar", "clocked"):
            before, after = getattr(old, kind), getattr(fresh, kind)
            stale_keys |= {(kind, key) for key in set(before) | set(after) if before.get(key) != after.get(key)}
        stale_specs = {id(self.specs.pop(key, None)) for key in stale_keys}
        affected = [entry.id for entry in self.heap.entries.values() if id(entry.spec) in stale_specs]
        for row in beat_store.rows_by_id(affected):
            entry = self._entry_from_row(row, runtime_change=False)
            if entry is not None:
                entry.baseline = max(entry.baseline, time.time())
                entry.due = self._first_due(entry)
                self.heap.put(entry)
        return len(affected)

    def _catch_up_with_previous_leader(self) -> None:
        """On taking over, read the runs the previous leader recorded while this beat stood by."""
        try:
            since = from_epoch(self.standby_since - 60)
            for entry_id, last_run_at in beat_store.recent_last_runs(self.enabled_models_qs(), since=since):
                entry = self.heap.get(entry_id)
                last_run_us = to_microseconds(last_run_at)
                if entry is not None and entry.last_run_us != last_run_us:
                    entry.last_run_us = last_run_us
                    entry.baseline = last_run_at.timestamp()
                    self.heap.reschedule(entry, self._first_due(entry))
        except (DatabaseError, InterfaceError):
            # The compare-and-set in record_runs still stops any double dispatch.
            logger.exception("PulseScheduler: could not read the previous leader's runs")
            close_old_connections()

    # --- entries --------------------------------------------------------------------------------

    def _spec_for(self, row: tuple) -> ScheduleSpec | None:
        for kind, index in self._schedule_columns():
            schedule_id = row[index]
            if schedule_id is None:
                continue
            key = (kind, schedule_id)
            if key in self.specs:
                return self.specs[key]
            spec = None
            try:
                table = getattr(self.schedule_table, kind)
                fields = table.get(schedule_id)
                if fields is None:
                    # A schedule row newer than our copy of the table: read just that one.
                    table.update(getattr(beat_store.schedule_rows({kind: {schedule_id}}), kind))
                    fields = table.get(schedule_id)
                if fields is None:
                    raise ValueError(f"{kind} schedule {schedule_id} does not exist")
                spec = self._build_spec(kind, fields)
            except (ValueError, TypeError) as error:
                logger.error("PulseScheduler: periodic task %s has an unusable schedule: %s", row[ID], error)
            self.specs[key] = spec
            return spec
        logger.error("PulseScheduler: periodic task %s has no schedule; ignoring it", row[ID])
        return None

    @staticmethod
    def _build_spec(kind: str, fields: tuple) -> ScheduleSpec:
        if kind == "interval":
            return IntervalSpec(*fields)
        if kind == "crontab":
            minute, hour, day_of_month, month_of_year, day_of_week, timezone = fields
            return CrontabSpec(
                minute=minute,
                hour=hour,
                day_of_month=day_of_month,
                month_of_year=month_of_year,
                day_of_week=day_of_week,
                timezone=timezone,
            )
        if kind == "solar":
            return SolarSpec(*fields)
        return ClockedSpec(fields[0])

    def _entry_from_row(self, row: tuple, *, runtime_change: bool) -> CompactEntry | None:
        """A compact entry for a row.

        Baseline (the moment the first slot is counted from): ``last_run_at`` when set, else
        ``date_changed`` (creation, or re-enabling through ``save()``, which clears
        ``last_run_at``), so enabling a schedule never releases a burst of "missed" runs.
        """
        spec = self._spec_for(row)
        if spec is None:
            return None
        last_run_at = row[LAST_RUN_AT]
        changed_at = row[DATE_CHANGED].timestamp()
        if isinstance(spec, ClockedSpec):
            # A clocked one-off runs at its time unless it already ran, whenever it was created.
            baseline = last_run_at.timestamp() if last_run_at is not None else -NEVER
        elif last_run_at is None:
            baseline = changed_at
        elif runtime_change:
            # Appeared while beat runs yet carries an old last_run_at: re-enabled by a bulk
            # update (save() would have cleared it). Count from now, not from before the pause.
            baseline = max(last_run_at.timestamp(), changed_at, time.time())
        else:
            baseline = last_run_at.timestamp()
        policy = row[MISFIRE_POLICY] if row[MISFIRE_POLICY] in MISFIRE_POLICIES else MISFIRE_COALESCE
        grace = row[MISFIRE_GRACE] if row[MISFIRE_GRACE] is not None else self.default_grace
        return CompactEntry(
            id=row[ID],
            spec=spec,
            last_run_us=to_microseconds(last_run_at),
            baseline=baseline,
            start_time=row[START_TIME].timestamp() if row[START_TIME] else None,
            expires=row[EXPIRES].timestamp() if row[EXPIRES] else None,
            one_off=bool(row[ONE_OFF]),
            policy=policy,
            grace=float(grace),
        )

    def _first_due(self, entry: CompactEntry) -> float:
        try:
            due = first_slot_after_baseline(entry.spec, baseline=entry.baseline, start_time=entry.start_time)
        except Exception:
            logger.exception("PulseScheduler: cannot compute the next run of periodic task %s", entry.id)
            return NEVER
        if entry.expires is not None and due > entry.expires:
            return NEVER
        return due

    # --- dispatch -------------------------------------------------------------------------------

    def dispatch_due(self, now: float) -> bool:
        """Send every slot due at ``now``; returns True if more may be waiting (batch was full).

        1. Pop due entries and plan each (misfire policy decides which slots to send).
        2. Claim every slot in Redis (SET NX); a slot someone else holds is not sent.
        3. In one transaction: record the runs (compare-and-set on last_run_at, one-off
           disable), send the messages, undo the record of any that failed, commit.
        4. Put each entry back in the heap at its next slot.
        """
        due_entries = list(self.heap.pop_due(now, limit=self.dispatch_batch))
        if not due_entries:
            return False
        plans = []
        for entry in due_entries:
            plan = plan_dispatch(
                spec=entry.spec,
                first_slot=entry.due,
                now=now,
                policy=entry.policy,
                grace_seconds=entry.grace,
                run_all_limit=self.run_all_limit,
            )
            if entry.expires is not None:
                plan = type(plan)(
                    send=tuple(slot for slot in plan.send if slot <= entry.expires),
                    consumed=plan.consumed,
                    skipped=plan.skipped,
                )
            if plan.skipped:
                logger.warning(
                    "PulseScheduler: periodic task %s missed %d slot(s) (policy %s); sending %d",
                    entry.id,
                    plan.skipped,
                    entry.policy,
                    len(plan.send),
                )
            plans.append((entry, plan))

        claim_requests = [(entry.id, slot) for entry, plan in plans for slot in plan.send]
        try:
            claim_answers = iter(self.coordinator.claim_slots(claim_requests))
        except redis.RedisError:
            logger.exception("PulseScheduler: cannot claim slots in Redis; retrying")
            for entry in due_entries:
                self.heap.reschedule(entry, now + SEND_RETRY_SECONDS)
            return False

        records, claimed_by_id, conflicts = [], {}, []
        for entry, plan in plans:
            claimed = [slot for slot in plan.send if next(claim_answers)]
            if plan.send and not claimed:
                if self._claim_conflicts.get(entry.id) != entry.last_run_us:
                    # Another beat holds these slots and should record the run; look again soon.
                    self._claim_conflicts[entry.id] = entry.last_run_us
                    conflicts.append(entry)
                    continue
                # Still unrecorded after the recheck: the holder died between claiming and
                # recording. Its slot may or may not have gone out; never risk sending it twice.
                logger.warning(
                    "PulseScheduler: periodic task %s slot was claimed by a beat that never recorded it; "
                    "skipping the slot",
                    entry.id,
                )
            self._claim_conflicts.pop(entry.id, None)
            claimed_by_id[entry.id] = claimed
            records.append(
                RunRecord(
                    id=entry.id,
                    expected=from_microseconds(entry.last_run_us),
                    consumed=from_epoch(plan.consumed),
                    sent=len(claimed),
                    disable=entry.one_off,
                )
            )

        outcomes: dict[int, tuple[list[float], bool]] = {}
        try:
            with transaction.atomic():
                matched = beat_store.record_runs(records)
                for record in records:
                    message = matched.get(record.id)
                    if message is not None:
                        outcomes[record.id] = self._send_slots(message, claimed_by_id[record.id], record)
        except (DatabaseError, InterfaceError):
            # The records rolled back. If nothing was sent, free the claims so the slots go out on
            # retry; if something was, keep them: the claim is what stops a second send.
            if not any(sent for sent, _ in outcomes.values()):
                self.coordinator.unclaim_slots(claim_requests)
            for entry in due_entries:
                self.heap.reschedule(entry, now + SEND_RETRY_SECONDS)
            raise

        for entry, plan in plans:
            if entry in conflicts:
                self.heap.reschedule(entry, now + CLAIM_CONFLICT_RECHECK_SECONDS)
            elif entry.id not in outcomes:
                # Deleted, disabled or recorded by another beat since we last looked: re-read it.
                self._refresh_entries([entry.id])
            else:
                sent, failed = outcomes[entry.id]
                self._after_dispatch(entry, plan, sent, failed, now)
        return len(due_entries) >= self.dispatch_batch

    def _send_slots(self, message: dict, slots: list[float], record: RunRecord) -> tuple[list[float], bool]:
        """Send each claimed slot; on the first failure undo the record of the unsent ones.

        Returns the slots sent and whether a send failed.
        """
        sent: list[float] = []
        for slot in slots:
            try:
                self.apply_entry(self._message_entry(message, slot), producer=self.producer)
            except Exception:
                logger.exception("PulseScheduler: could not send %s; retrying shortly", message["name"])
                unsent = slots[len(sent) :]
                self.coordinator.unclaim_slots([(record.id, unsent_slot) for unsent_slot in unsent])
                beat_store.restore_run(
                    id=record.id,
                    expected=from_epoch(sent[-1]) if sent else record.expected,
                    consumed=record.consumed,
                    unsent=len(unsent),
                    enable=record.disable and not sent,
                )
                return sent, True
            sent.append(slot)
        return sent, False

    def _after_dispatch(self, entry: CompactEntry, plan, sent: list[float], failed: bool, now: float) -> None:
        if failed and not sent:
            # Nothing went out and the record was undone: try the same slot again soon.
            self.heap.reschedule(entry, now + SEND_RETRY_SECONDS)
            return
        if entry.one_off and not failed:
            self.heap.remove(entry.id)
            return
        consumed = sent[-1] if failed else plan.consumed
        consumed_at = from_epoch(consumed)
        entry.last_run_us = to_microseconds(consumed_at)
        entry.baseline = consumed
        self.heap.reschedule(entry, now + SEND_RETRY_SECONDS if failed else self._first_due(entry))

    def _refresh_entries(self, ids: list[int]) -> None:
        rows = {row[ID]: row for row in beat_store.rows_by_id(ids)}
        for entry_id in ids:
            row = rows.get(entry_id)
            if row is None or not row[ENABLED]:
                self.heap.remove(entry_id)
                continue
            entry = self._entry_from_row(row, runtime_change=False)
            if entry is None:
                self.heap.remove(entry_id)
                continue
            entry.due = self._first_due(entry)
            self.heap.put(entry)

    def _message_entry(self, message: dict, slot: float) -> ScheduleEntry:
        options = {
            option: message[option]
            for option in ("queue", "exchange", "routing_key", "priority")
            if message[option] is not None
        }
        expires = message["expires"] or message["expire_seconds"]
        if expires:
            options["expires"] = expires
        headers = loads(message["headers"] or "{}")
        headers["periodic_task_name"] = message["name"]
        headers[SCHEDULED_FOR_HEADER] = from_epoch(slot).isoformat()
        options["headers"] = headers
        return ScheduleEntry(
            name=message["name"],
            task=message["task"],
            args=loads(message["args"] or "[]"),
            kwargs=loads(message["kwargs"] or "{}"),
            options=options,
            last_run_at=from_epoch(slot),
            app=self.app,
        )
