"""Export and import of scheduled searches in the documented JSON format (a contract: see docs/SCHEDULES.md).

Import is all-or-nothing:
1. parse the file and check every entry's shape (keys, types, duplicate names);
2. validate every entry with the same rules as the services, against the existing row of that name;
3. check follow-up names (an entry may follow up with another entry of the same file);
4. only when nothing is wrong, write every entry in one transaction (create or update by name),
   then the follow-ups, then (with --prune) delete what the file does not name.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import timedelta

from django.core.exceptions import ValidationError
from django.db import transaction

from schedules import selectors, services
from schedules.models import ScheduledSearch

REQUIRED_KEYS = ("name", "keywords", "platforms", "schedule")
OPTIONAL_KEYS = (
    "max_results", "timezone", "enabled", "lookback_hours", "misfire_policy", "misfire_grace_seconds",
    "on_success", "on_failure",
)


class ImportRejected(Exception):
    def __init__(self, errors: list[str]):
        super().__init__("\n".join(errors))
        self.errors = errors


class _DryRunRollback(Exception):
    pass


@dataclass
class ImportReport:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        return (
            [f"create {name!r}" for name in self.created]
            + [f"update {name!r}" for name in self.updated]
            + [f"delete {name!r}" for name in self.deleted]
        )


def schedules_dump() -> str:
    """The export file's text; exporting twice without changes gives the same bytes."""
    return json.dumps(selectors.schedules_export(), indent=2, ensure_ascii=False) + "\n"


def _label(index: int, entry) -> str:
    name = entry.get("name") if isinstance(entry, dict) else None
    return f"entry {index} ({name!r})" if isinstance(name, str) else f"entry {index}"


def _service_fields(entry: dict) -> dict:
    """The entry as schedule_create/schedule_update arguments, without follow-ups (set in a second pass)."""
    fields = {key: entry[key] for key in (*REQUIRED_KEYS, "max_results", "timezone", "enabled",
                                          "misfire_policy", "misfire_grace_seconds") if key in entry}
    if "lookback_hours" in entry:
        hours = entry["lookback_hours"]
        if hours is None:
            fields["lookback"] = None
        elif isinstance(hours, bool) or not isinstance(hours, (int, float)):
            raise ValidationError({"lookback_hours": [f"lookback_hours must be a number of hours or null, got {hours!r}."]})
        else:
            fields["lookback"] = timedelta(hours=hours)
    return fields


def _follow_up_fields(entry: dict) -> dict:
    fields = {}
    if "on_success" in entry:
        fields["on_success"] = entry["on_success"]
    if "on_failure" in entry:
        failure = entry["on_failure"]
        if failure is None:
            fields.update(on_failure_action="", on_failure_run=None)
        elif failure == "alert":
            fields.update(on_failure_action="alert", on_failure_run=None)
        elif isinstance(failure, dict) and set(failure) == {"run"}:
            fields.update(on_failure_action="run", on_failure_run=failure["run"])
        else:
            raise ValidationError(
                {"on_failure": [f'on_failure must be null, "alert" or {{"run": "<name>"}}, got {failure!r}.']}
            )
    return fields


def _shape_errors(entries) -> list[str]:
    if not isinstance(entries, list):
        return ["The file must hold a JSON list of scheduled searches ([{...}, ...])."]
    errors, names = [], {}
    for index, entry in enumerate(entries):
        label = _label(index, entry)
        if not isinstance(entry, dict):
            errors.append(f"{label}: must be an object with name, keywords, platforms and schedule.")
            continue
        missing = [key for key in REQUIRED_KEYS if key not in entry]
        unknown = sorted(set(entry) - set(REQUIRED_KEYS) - set(OPTIONAL_KEYS))
        if missing:
            errors.append(f"{label}: missing {', '.join(missing)}.")
        if unknown:
            errors.append(f"{label}: unknown key(s) {', '.join(unknown)}; allowed: "
                          f"{', '.join(REQUIRED_KEYS + OPTIONAL_KEYS)}.")
        name = entry.get("name")
        if isinstance(name, str):
            key = " ".join(name.split())
            if key in names:
                errors.append(f"{label}: the name is used again by entry {names[key]}; names must be unique.")
            names.setdefault(key, index)
    return errors


def _messages(label: str, error: ValidationError) -> list[str]:
    return [f"{label}: {key}: {message}" for key, messages in error.message_dict.items() for message in messages]


def _validate(entries: list[dict]) -> list[str]:
    errors: list[str] = []
    file_names = {" ".join(entry["name"].split()) for entry in entries if isinstance(entry.get("name"), str)}
    existing = {row.name: row for row in ScheduledSearch.objects.select_related("periodic_task")}
    for index, entry in enumerate(entries):
        label = _label(index, entry)
        try:
            fields = _service_fields(entry)
            follow_ups = _follow_up_fields(entry)
        except ValidationError as error:
            errors.extend(_messages(label, error))
            continue
        name = " ".join(entry["name"].split()) if isinstance(entry["name"], str) else entry["name"]
        try:
            services.schedule_validate(scheduled_search=existing.get(name), **fields)
        except ValidationError as error:
            errors.extend(_messages(label, error))
        for key in ("on_success", "on_failure_run"):
            target = follow_ups.get(key)
            if target is None:
                continue
            if not isinstance(target, str):
                errors.append(f"{label}: {key}: give the follow-up's name as text, got {target!r}.")
            elif target not in file_names and target not in existing:
                errors.append(f"{label}: {key}: no scheduled search named {target!r} in the file or the database.")
            elif target == name:
                errors.append(f"{label}: {key}: a scheduled search cannot follow up with itself.")
    return errors


def _write(entries: list[dict], *, prune: bool, report: ImportReport) -> None:
    rows = {row.name: row for row in selectors.schedules_export_queryset()}
    before = {name: selectors.schedule_as_dict(scheduled_search=row) for name, row in rows.items()}
    written: dict[str, ScheduledSearch] = {}
    for entry in entries:
        fields = _service_fields(entry)
        name = " ".join(entry["name"].split())
        row = rows.get(name)
        if row is None:
            written[name] = services.schedule_create(**fields)
            report.created.append(name)
        elif all(before[name].get(key) == value for key, value in entry.items()):
            # Already exactly as the file says: no write, so re-importing a backup churns nothing.
            written[name] = row
        else:
            written[name] = services.schedule_update(scheduled_search=row, **fields)
    for entry in entries:
        name = " ".join(entry["name"].split())
        follow_ups = _follow_up_fields(entry)
        if follow_ups and not (name in before and all(before[name].get(key) == entry[key]
                                                       for key in ("on_success", "on_failure") if key in entry)):
            services.schedule_update(scheduled_search=written[name], **follow_ups)
    for name, row in written.items():
        if name in before:
            row.refresh_from_db()
            after = selectors.schedule_as_dict(scheduled_search=row)
            (report.unchanged if after == before[name] else report.updated).append(name)
    if prune:
        for row in ScheduledSearch.objects.exclude(name__in=list(written)):
            report.deleted.append(row.name)
            services.schedule_delete(scheduled_search=row)


def schedules_import(*, text: str, dry_run: bool = False, prune: bool = False) -> ImportReport:
    """Validate the whole file, then write it in one transaction (rolled back for a dry run)."""
    try:
        entries = json.loads(text)
    except ValueError as error:
        raise ImportRejected([f"The file is not valid JSON ({error})."]) from None
    errors = _shape_errors(entries)
    if not errors:
        errors = _validate(entries)
    if errors:
        raise ImportRejected(errors)
    report = ImportReport()
    try:
        with transaction.atomic():
            _write(entries, prune=prune, report=report)
            if dry_run:
                raise _DryRunRollback
    except _DryRunRollback:
        pass
    except ValidationError as error:
        # Rules that span entries (e.g. follow-ups that loop) show up only while writing; nothing is kept.
        raise ImportRejected(_messages("the file", error)) from None
    return report
