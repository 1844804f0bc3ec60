"""Writes for scheduled searches. Each keeps the ScheduledSearch and its PeriodicTask in step.

Every change happens inside one transaction: either both rows change, or neither does. Saving a
PeriodicTask bumps django-celery-beat's change marker through its own signals, so a running beat
reloads the timing without a restart; bulk ``update()`` calls bump it by hand.
"""

from __future__ import annotations

import json
import logging
from datetime import timedelta
from zoneinfo import ZoneInfo

from celery import Signature, signature
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone as django_timezone
from django_celery_beat.models import PeriodicTask, PeriodicTasks

from schedules import searching, validation
from schedules.models import SCHEDULED_SEARCH_TASK, ScheduledSearch
from schedules.timing import Timing, apply_timing, parse_schedule, timing_of
from scraping.models import Search

logger = logging.getLogger(__name__)

DEFAULT_TIMEZONE = "Asia/Kuala_Lumpur"
FOLLOW_UP_TASK = "pulse.scheduled_search_follow_up"
FOLLOW_UP_FAILED_TASK = "pulse.scheduled_search_follow_up_failed"

# Fields schedule_update accepts; the same names as schedule_create's arguments.
UPDATABLE_FIELDS = (
    "name", "keywords", "platforms", "schedule", "timezone", "max_results", "lookback", "enabled",
    "misfire_policy", "misfire_grace_seconds", "on_success", "on_failure_action", "on_failure_run",
)


# --- validation -------------------------------------------------------------------------------------

def _resolve_follow_up(value, field: str) -> ScheduledSearch | None:
    """A follow-up may be given as the row, its id or its name (the import format uses names)."""
    if value is None or value == "":
        return None
    if isinstance(value, ScheduledSearch):
        return value
    lookup = {"pk": value} if isinstance(value, int) and not isinstance(value, bool) else {"name": value}
    try:
        return ScheduledSearch.objects.get(**lookup)
    except (ScheduledSearch.DoesNotExist, ValueError, TypeError):
        raise ValidationError(
            {field: [f"There is no scheduled search {value!r} to run as a follow-up; create it first."]}
        ) from None


def _follow_up_targets(scheduled_search: ScheduledSearch, overrides: dict) -> list[ScheduledSearch]:
    targets = [overrides.get("on_success", scheduled_search.on_success)]
    if overrides.get("on_failure_action", scheduled_search.on_failure_action) == ScheduledSearch.FailureAction.RUN:
        targets.append(overrides.get("on_failure_run", scheduled_search.on_failure_run))
    return [target for target in targets if target is not None]


def _check_no_follow_up_loop(*, instance: ScheduledSearch | None, cleaned: dict) -> None:
    """Refuse follow-ups that lead back to this search: they would run each other forever."""
    if instance is None or instance.pk is None:
        return
    visited: set[int] = set()
    pending = _follow_up_targets(instance, cleaned)
    while pending:
        target = pending.pop()
        if target.pk == instance.pk:
            raise ValidationError(
                {"on_success": [f"These follow-ups lead back to {instance.name!r} and would run in a loop "
                                "forever. Choose another follow-up."]}
            )
        if target.pk in visited:
            continue
        visited.add(target.pk)
        pending.extend(_follow_up_targets(target, {}))


def _clean(fields: dict, *, instance: ScheduledSearch | None) -> tuple[dict, Timing | None]:
    """Validate every given field, collecting all errors into one ValidationError."""
    errors: dict[str, list[str]] = {}
    cleaned: dict = {}

    def attempt(field, cleaner, value):
        try:
            cleaned[field] = cleaner(value)
        except ValidationError as error:
            for key, messages in error.message_dict.items():
                errors.setdefault(key, []).extend(messages)

    simple = {
        "name": validation.clean_name, "keywords": validation.clean_keywords,
        "platforms": validation.clean_platforms, "max_results": validation.clean_max_results,
        "lookback": validation.clean_lookback, "timezone": validation.clean_timezone,
    }
    for field, cleaner in simple.items():
        if field in fields:
            attempt(field, cleaner, fields[field])
    if "enabled" in fields:
        if not isinstance(fields["enabled"], bool):
            errors["enabled"] = [f"enabled must be true or false, got {fields['enabled']!r}."]
        else:
            cleaned["enabled"] = fields["enabled"]
    if "misfire_policy" in fields:
        if fields["misfire_policy"] not in ScheduledSearch.MisfirePolicy.values:
            errors["misfire_policy"] = [
                f"Unknown misfire policy {fields['misfire_policy']!r}; use one of "
                f"{', '.join(ScheduledSearch.MisfirePolicy.values)}."
            ]
        else:
            cleaned["misfire_policy"] = fields["misfire_policy"]
    if "misfire_grace_seconds" in fields:
        grace = fields["misfire_grace_seconds"]
        if isinstance(grace, bool) or not isinstance(grace, int) or not 0 <= grace <= 7 * 24 * 3600:
            errors["misfire_grace_seconds"] = [
                f"misfire_grace_seconds must be whole seconds from 0 to 604800 (a week), got {grace!r}."
            ]
        else:
            cleaned["misfire_grace_seconds"] = grace
    if "on_failure_action" in fields:
        action = fields["on_failure_action"] or ""
        if action not in ScheduledSearch.FailureAction.values:
            errors["on_failure_action"] = [
                f"Unknown failure action {action!r}; use \"run\", \"alert\" or leave it empty."
            ]
        else:
            cleaned["on_failure_action"] = action
    for field in ("on_success", "on_failure_run"):
        if field in fields:
            attempt(field, lambda value, field=field: _resolve_follow_up(value, field), fields[field])

    if "name" in cleaned:
        clash = ScheduledSearch.objects.filter(name=cleaned["name"])
        task_clash = PeriodicTask.objects.filter(name=cleaned["name"])
        if instance is not None and instance.pk:
            clash = clash.exclude(pk=instance.pk)
            task_clash = task_clash.exclude(pk=instance.periodic_task_id)
        if clash.exists():
            errors.setdefault("name", []).append(
                f"A scheduled search named {cleaned['name']!r} already exists; choose another name."
            )
        elif task_clash.exists():
            errors.setdefault("name", []).append(
                f"A periodic task named {cleaned['name']!r} already exists; choose another name."
            )

    action = cleaned.get("on_failure_action", instance.on_failure_action if instance else "")
    failure_run = cleaned["on_failure_run"] if "on_failure_run" in cleaned else (
        instance.on_failure_run if instance else None
    )
    if action == ScheduledSearch.FailureAction.RUN and failure_run is None and "on_failure_run" not in errors:
        errors.setdefault("on_failure_run", []).append(
            "Choose the scheduled search to run after a failure, or pick another failure action."
        )
    if instance is not None and instance.pk:
        for field in ("on_success", "on_failure_run"):
            if cleaned.get(field) is not None and cleaned[field].pk == instance.pk:
                errors.setdefault(field, []).append("A scheduled search cannot follow up with itself.")

    timing = None
    zone = cleaned.get("timezone") or (instance.timezone if instance else ZoneInfo(DEFAULT_TIMEZONE))
    if "schedule" in fields:
        current = _current_timing(instance)
        try:
            timing = parse_schedule(fields["schedule"], zone=zone, require_future=False)
            # A new one-off time must lie ahead; an unchanged one may already have passed.
            if timing.kind == "once" and (current is None or current.as_dict() != timing.as_dict()):
                timing = parse_schedule(fields["schedule"], zone=zone, require_future=True)
        except ValidationError as error:
            errors.setdefault("schedule", []).extend(error.message_dict["schedule"])
    elif "timezone" in cleaned and instance is not None:
        # The timing stays the same wall-clock time in the new zone.
        current = _current_timing(instance)
        if current is not None:
            timing = parse_schedule(current.as_dict(), zone=cleaned["timezone"], require_future=False)

    if errors:
        raise ValidationError(errors)
    _check_no_follow_up_loop(instance=instance, cleaned=cleaned)
    return cleaned, timing


def _current_timing(instance: ScheduledSearch | None) -> Timing | None:
    if instance is None or instance.pk is None or instance.periodic_task is None:
        return None
    return timing_of(instance.periodic_task, zone=instance.timezone)


def _task_kwargs(scheduled_search: ScheduledSearch) -> str:
    return json.dumps({"scheduled_search_id": scheduled_search.pk})


_TASK_FIELDS = ("name", "task", "args", "kwargs", "description", "interval_id", "crontab_id", "solar_id",
                "clocked_id", "one_off", "enabled", "last_run_at")


def _sync_periodic_task(scheduled_search: ScheduledSearch, timing: Timing | None) -> None:
    """Write the PeriodicTask from the ScheduledSearch: name, kwargs, enabled and (if given) timing.

    The PeriodicTask is saved only when one of its fields changes: every save makes a running beat
    reload all its entries, and a keyword edit needs no beat change at all.
    """
    periodic_task = scheduled_search.periodic_task or PeriodicTask(task=SCHEDULED_SEARCH_TASK)
    before = tuple(getattr(periodic_task, field) for field in _TASK_FIELDS)
    periodic_task.name = scheduled_search.name
    periodic_task.task = SCHEDULED_SEARCH_TASK
    periodic_task.args = "[]"
    periodic_task.kwargs = _task_kwargs(scheduled_search)
    periodic_task.description = f"Scheduled search {scheduled_search.name!r}; edit it under Scheduled searches."
    previous_clocked_id = periodic_task.clocked_id
    if timing is not None:
        apply_timing(periodic_task, timing, zone=scheduled_search.timezone)
    periodic_task.enabled = scheduled_search.enabled
    if periodic_task.one_off and periodic_task.clocked_id != previous_clocked_id:
        # A new one-off time is a new run: forget the previous one so beat runs it again.
        periodic_task.last_run_at = None
    if periodic_task.pk is None or tuple(getattr(periodic_task, field) for field in _TASK_FIELDS) != before:
        periodic_task.save()
    if scheduled_search.periodic_task_id != periodic_task.pk:
        scheduled_search.periodic_task = periodic_task
        scheduled_search.save(update_fields=["periodic_task", "updated_at"])


# --- create / update / delete -------------------------------------------------------------------------

def schedule_create(
    *,
    name: str,
    keywords: list[str],
    platforms: list[str],
    schedule: dict,
    timezone: str = "Asia/Kuala_Lumpur",
    max_results: int = 50,
    lookback: timedelta | None = timedelta(hours=24),
    enabled: bool = True,
    misfire_policy: str = "coalesce",
    misfire_grace_seconds: int = 300,
    on_success: ScheduledSearch | int | str | None = None,
    on_failure_action: str = "",
    on_failure_run: ScheduledSearch | int | str | None = None,
) -> ScheduledSearch:
    """Create a scheduled search and its PeriodicTask (task ``pulse.scheduled_search``)."""
    fields = dict(
        name=name, keywords=keywords, platforms=platforms, schedule=schedule, timezone=timezone,
        max_results=max_results, lookback=lookback, enabled=enabled, misfire_policy=misfire_policy,
        misfire_grace_seconds=misfire_grace_seconds, on_success=on_success,
        on_failure_action=on_failure_action, on_failure_run=on_failure_run,
    )
    cleaned, timing = _clean(fields, instance=None)
    with transaction.atomic():
        scheduled_search = ScheduledSearch.objects.create(**cleaned)
        _sync_periodic_task(scheduled_search, timing)
    logger.info("Created scheduled search %r (%s)", scheduled_search.name, timing.as_dict())
    return scheduled_search


def schedule_validate(*, scheduled_search: ScheduledSearch | None = None, **fields) -> None:
    """Check fields as schedule_create (or schedule_update, given the row) would, writing nothing."""
    if scheduled_search is None:
        missing = [name for name in ("name", "keywords", "platforms", "schedule") if name not in fields]
        if missing:
            raise ValidationError({name: ["This field is required."] for name in missing})
        _clean(fields, instance=None)
        return
    instance = ScheduledSearch.objects.select_related("periodic_task").get(pk=scheduled_search.pk)
    _clean(fields, instance=instance)


def schedule_update(*, scheduled_search: ScheduledSearch, **fields) -> ScheduledSearch:
    """Change any of schedule_create's fields; timing changes reach a running beat, keyword edits need none."""
    unknown = sorted(set(fields) - set(UPDATABLE_FIELDS))
    if unknown:
        raise ValidationError({field: [f"{field!r} cannot be changed; known fields: {', '.join(UPDATABLE_FIELDS)}."]
                               for field in unknown})
    with transaction.atomic():
        # Lock the row so two simultaneous edits cannot leave the PeriodicTask from one and the row from the other.
        locked = ScheduledSearch.objects.select_for_update(of=("self",)).select_related("periodic_task").get(
            pk=scheduled_search.pk
        )
        cleaned, timing = _clean(fields, instance=locked)
        if cleaned.get("enabled") and not locked.enabled:
            _refuse_resuming_a_finished_one_off(locked, timing=timing)
        for field, value in cleaned.items():
            setattr(locked, field, value)
        locked.save()
        if locked.periodic_task is None and timing is None:
            raise ValidationError({"schedule": ["This scheduled search has no timing yet; give it a schedule."]})
        _sync_periodic_task(locked, timing)
    scheduled_search.refresh_from_db()
    return scheduled_search


def schedule_delete(*, scheduled_search: ScheduledSearch) -> None:
    """Delete the scheduled search and its PeriodicTask together (the searches it ran are kept)."""
    with transaction.atomic():
        periodic_task_id = scheduled_search.periodic_task_id
        scheduled_search.delete()
        # The post_delete signal removes the PeriodicTask too; this covers a caller that disconnected it.
        PeriodicTask.objects.filter(pk=periodic_task_id).delete()


def periodic_task_delete_for(*, scheduled_search: ScheduledSearch) -> None:
    """Remove a deleted scheduled search's PeriodicTask (admin bulk deletes come through the signal)."""
    if scheduled_search.periodic_task_id:
        PeriodicTask.objects.filter(pk=scheduled_search.periodic_task_id).delete()


# --- pause / resume / duplicate -----------------------------------------------------------------------

def _refuse_resuming_a_finished_one_off(scheduled_search: ScheduledSearch, *, timing: Timing | None = None) -> None:
    """Enabling a one-off whose time has passed would make beat run it again at once: refuse."""
    timing = timing or _current_timing(scheduled_search)
    if timing is not None and timing.kind == "once" and timing.once <= django_timezone.now():
        raise ValidationError(
            {"schedule": [f"This one-off run was due at {timing.once:%Y-%m-%d %H:%M} ({timing.once.tzinfo}) "
                          "and cannot be resumed; set a new date and time instead."]}
        )


def schedule_pause(*, scheduled_search: ScheduledSearch) -> ScheduledSearch:
    return schedule_update(scheduled_search=scheduled_search, enabled=False)


def schedule_resume(*, scheduled_search: ScheduledSearch) -> ScheduledSearch:
    return schedule_update(scheduled_search=scheduled_search, enabled=True)


def schedules_set_enabled(*, scheduled_search_ids: list[int], enabled: bool) -> int:
    """Pause or resume many at once (admin actions): two UPDATEs and one change marker for beat."""
    with transaction.atomic():
        rows = ScheduledSearch.objects.select_for_update(of=("self",)).filter(pk__in=scheduled_search_ids)
        if enabled:
            for scheduled_search in rows.select_related("periodic_task"):
                _refuse_resuming_a_finished_one_off(scheduled_search)
        count = rows.update(enabled=enabled, updated_at=django_timezone.now())
        PeriodicTask.objects.filter(scheduled_search__pk__in=scheduled_search_ids).update(enabled=enabled)
        # QuerySet.update() sends no signals, so beat would not notice without this.
        PeriodicTasks.update_changed()
    return count


def _copy_name(name: str) -> str:
    for number in range(1, 1000):
        suffix = " (copy)" if number == 1 else f" (copy {number})"
        candidate = f"{name[: validation.MAX_NAME_LENGTH - len(suffix)]}{suffix}"
        if not ScheduledSearch.objects.filter(name=candidate).exists() and not PeriodicTask.objects.filter(
            name=candidate
        ).exists():
            return candidate
    raise ValidationError({"name": [f"Too many copies of {name!r} exist already; rename some of them."]})


def schedule_duplicate(*, scheduled_search: ScheduledSearch) -> ScheduledSearch:
    """Copy a scheduled search, paused, named "<name> (copy)", so it never doubles runs by surprise."""
    timing = _current_timing(scheduled_search)
    if timing is None:
        raise ValidationError({"schedule": ["This scheduled search has no timing to copy."]})
    fields = dict(
        name=_copy_name(scheduled_search.name), keywords=scheduled_search.keywords,
        platforms=scheduled_search.platforms, timezone=scheduled_search.timezone,
        max_results=scheduled_search.max_results, lookback=scheduled_search.lookback, enabled=False,
        misfire_policy=scheduled_search.misfire_policy,
        misfire_grace_seconds=scheduled_search.misfire_grace_seconds, on_success=scheduled_search.on_success,
        on_failure_action=scheduled_search.on_failure_action, on_failure_run=scheduled_search.on_failure_run,
    )
    cleaned, _ = _clean(fields, instance=None)
    with transaction.atomic():
        copy = ScheduledSearch.objects.create(**cleaned)
        _sync_periodic_task(copy, timing)
    return copy


# --- running ----------------------------------------------------------------------------------------

def with_follow_ups(*, canvas: Signature, scheduled_search: ScheduledSearch, search: Search) -> Signature:
    """Chain the follow-up task after ``canvas`` (a search's canvas) when the schedule has follow-ups.

    The success path passes the canvas result to ``pulse.scheduled_search_follow_up``; an exception
    anywhere in the canvas calls ``pulse.scheduled_search_follow_up_failed`` through link_error.
    """
    if not (scheduled_search.on_success_id or scheduled_search.on_failure_action):
        return canvas
    follow_up_kwargs = {"scheduled_search_id": scheduled_search.pk, "search_id": str(search.pk)}
    chained = canvas | signature(FOLLOW_UP_TASK, kwargs=follow_up_kwargs)
    # link_error on a chain reaches every task in it, so a crash anywhere still gets its follow-up.
    chained.link_error(signature(FOLLOW_UP_FAILED_TASK, kwargs=follow_up_kwargs))
    return chained


def _search_start(*, scheduled_search: ScheduledSearch, trigger: str, parent: Search | None = None) -> Search:
    """Create the Search for one run and enqueue its canvas, chained to the follow-up task, on commit.

    1. ``since`` is now minus the look-back window, so recurring runs see only recent content.
    2. The canvas is the pipeline's signature for the search; its result (the summary) is passed to
       ``pulse.scheduled_search_follow_up``, and an unexpected crash calls
       ``pulse.scheduled_search_follow_up_failed``. Both are added only when follow-ups are set.
    """
    now = django_timezone.now()
    since = now - scheduled_search.lookback if scheduled_search.lookback else None
    with transaction.atomic():
        search = searching.search_create_for_schedule(
            keywords=scheduled_search.keywords, platforms=scheduled_search.platforms, since=since,
            max_results=scheduled_search.max_results, trigger=trigger, scheduled_search=scheduled_search,
            parent=parent,
        )
        canvas = with_follow_ups(
            canvas=searching.search_canvas(search=search), scheduled_search=scheduled_search, search=search
        )
        searching.enqueue_on_commit(canvas)
    logger.info("Scheduled search %r started search %s (%s)", scheduled_search.name, search.pk, trigger)
    return search


def schedule_run_now(*, scheduled_search: ScheduledSearch, trigger: str = "admin") -> Search:
    """Start one run now, whatever the timing and even when paused (a person asked for it)."""
    if trigger not in Search.Trigger.values:
        raise ValidationError({"trigger": [f"Unknown trigger {trigger!r}; use one of {Search.Trigger.values}."]})
    return _search_start(scheduled_search=scheduled_search, trigger=trigger)


def scheduled_search_execute(*, scheduled_search_id: int) -> Search | None:
    """What beat's ``pulse.scheduled_search`` does: run the search unless it was deleted or paused."""
    scheduled_search = ScheduledSearch.objects.filter(pk=scheduled_search_id).first()
    if scheduled_search is None:
        logger.warning("Scheduled search %s no longer exists; nothing to run", scheduled_search_id)
        return None
    if not scheduled_search.enabled:
        logger.info("Scheduled search %r is paused; not running it", scheduled_search.name)
        return None
    try:
        search = _search_start(scheduled_search=scheduled_search, trigger=Search.Trigger.SCHEDULE)
    except ValidationError as error:
        # E.g. a platform was removed from the registry after the schedule was saved: nobody is
        # watching beat's runs, so say it loudly instead of failing quietly every time.
        reason = "; ".join(f"{field}: {' '.join(messages)}" for field, messages in error.message_dict.items())
        logger.error("Scheduled search %r cannot run: %s. Edit it in the admin.", scheduled_search.name, reason)
        if scheduled_search.on_failure_action == ScheduledSearch.FailureAction.ALERT:
            notify_failure(scheduled_search=scheduled_search, search=None, reason=f"it cannot run: {reason}")
        return None
    if scheduled_search.periodic_task_id and PeriodicTask.objects.filter(
        pk=scheduled_search.periodic_task_id, one_off=True
    ).exists():
        # Beat disables a one-off PeriodicTask after sending it; show the scheduled search as done too.
        ScheduledSearch.objects.filter(pk=scheduled_search.pk).update(enabled=False)
    return search


# --- follow-ups -------------------------------------------------------------------------------------

FAILED_FOR_FOLLOW_UPS = (Search.Status.FAILED, Search.Status.PARTIAL)


def notify_failure(*, scheduled_search: ScheduledSearch, search: Search | None, reason: str) -> None:
    """Tell a person that a scheduled search failed: the log, and every alert channel (with cool-down)."""
    subject = f"Scheduled search {scheduled_search.name!r} failed"
    message = f"{subject}: {reason}" + (f" (search {search.pk})" if search else "")
    # Always in the log too: it is where an operator looks first, channels or not.
    logger.error("ALERT %s. Check the search in the admin and the platform errors.", message)
    from pulse.alerts import alert_raise

    alert_raise(rule="scheduled_search_failed", key=str(scheduled_search.pk), subject=subject, message=message)


def follow_up_after(*, scheduled_search_id: int, search_id: str, crashed: str = "") -> Search | None:
    """Act on the outcome of one scheduled run.

    1. The Search row's status decides (not the message passed along the chain): ``succeeded`` runs
       ``on_success``; ``failed`` and ``partial`` count as failures (a partial search missed at least
       one platform, which a person should hear about); ``cancelled`` does nothing.
    2. ``crashed`` (from the error callback) counts as a failure whatever the status says.
    3. A follow-up search records this one as its ``parent``.
    """
    scheduled_search = ScheduledSearch.objects.filter(pk=scheduled_search_id).first()
    search = Search.objects.filter(pk=search_id).first()
    if scheduled_search is None:
        logger.warning("Scheduled search %s was deleted before its follow-ups ran", scheduled_search_id)
        return None
    if crashed:
        failed, reason = True, f"the search crashed: {crashed}"
    elif search is None:
        failed, reason = True, f"search {search_id} no longer exists"
    elif search.status == Search.Status.SUCCEEDED:
        failed, reason = False, ""
    elif search.status in FAILED_FOR_FOLLOW_UPS:
        failed, reason = True, f"the search ended {search.status}" + (f": {search.error}" if search.error else "")
    else:
        logger.info("Search %s ended %s; no follow-up", search_id, search.status)
        return None
    if not failed:
        if scheduled_search.on_success is None:
            return None
        return _search_start(scheduled_search=scheduled_search.on_success, trigger=Search.Trigger.SCHEDULE,
                             parent=search)
    if scheduled_search.on_failure_action == ScheduledSearch.FailureAction.RUN and scheduled_search.on_failure_run:
        return _search_start(scheduled_search=scheduled_search.on_failure_run, trigger=Search.Trigger.SCHEDULE,
                             parent=search)
    if scheduled_search.on_failure_action == ScheduledSearch.FailureAction.ALERT:
        notify_failure(scheduled_search=scheduled_search, search=search, reason=reason)
    return None


def follow_up_claim(*, search_id: str) -> bool:
    """Claim the follow-up of one search exactly once.

    The success callback and the error callback can both fire for one run, and a redelivered
    message (acks_late) can fire one twice; only the first claimer acts.
    """
    import redis
    from django.conf import settings

    client = redis.Redis.from_url(settings.REDIS_URL)
    try:
        return bool(client.set(f"pulse:schedules:follow-up:{search_id}", "1", nx=True, ex=7 * 24 * 3600))
    finally:
        client.close()

