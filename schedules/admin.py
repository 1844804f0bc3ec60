"""Admin for scheduled searches: one form with real fields (no JSON), previews, actions with permissions.

Also replaces django-celery-beat's PeriodicTask admin form with one that validates Pulse's tasks,
so a row edited there cannot point ``pulse.scheduled_search`` at nothing.
"""

from __future__ import annotations

import json
import re
from datetime import timedelta

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.urls import NoReverseMatch, reverse
from django.utils.html import format_html, format_html_join
from django_celery_beat.admin import PeriodicTaskAdmin as BeatPeriodicTaskAdmin
from django_celery_beat.admin import PeriodicTaskForm as BeatPeriodicTaskForm
from django_celery_beat.models import PeriodicTask

from schedules import selectors, services, validation
from schedules.models import ScheduledSearch
from schedules.timing import PERIODS, SOLAR_EVENTS
from scraping.models import Search

DEFAULT_TIMEZONE = "Asia/Kuala_Lumpur"
KIND_CHOICES = [
    ("cron", "Cron expression"),
    ("every", "Every N minutes / hours / days"),
    ("once", "Once, at a date and time"),
    ("solar", "At a solar event (sunrise, sunset, …)"),
]
TIMEZONE_CHOICES = [(name, name) for name in sorted(validation.timezone_names())]


def split_keywords(text: str) -> list[str]:
    """One keyword per line, or comma-separated on a line."""
    return [part for part in re.split(r"[\n,]", text or "") if part.strip()]


class ScheduledSearchForm(forms.ModelForm):
    keywords = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 4, "cols": 60}),
        help_text="One keyword or phrase per line (or separated by commas); up to 20.",
    )
    platforms = forms.MultipleChoiceField(
        widget=forms.CheckboxSelectMultiple, choices=(), help_text="Where to look."
    )
    lookback_hours = forms.DecimalField(
        label="Look back (hours)", required=False, min_value=0, decimal_places=2, initial=24,
        help_text="Only content published this many hours before each run. Empty: no limit.",
    )
    timezone = forms.ChoiceField(choices=TIMEZONE_CHOICES, initial=DEFAULT_TIMEZONE,
                                 help_text="Cron and one-off times are read in this zone.")
    schedule_kind = forms.ChoiceField(label="When", choices=KIND_CHOICES, initial="cron", widget=forms.RadioSelect)
    cron = forms.CharField(
        label="Cron expression", required=False,
        help_text='Five fields: minute hour day-of-month month day-of-week, e.g. "0 9 * * 1-5" = 09:00 on weekdays.',
    )
    every = forms.IntegerField(label="Every", required=False, min_value=1)
    period = forms.ChoiceField(label="Period", required=False, choices=[(p, p) for p in PERIODS], initial="hours")
    once = forms.CharField(
        label="Once at", required=False, widget=forms.DateTimeInput(attrs={"type": "datetime-local", "step": "1"}),
        help_text="Date and time in the schedule's timezone.",
    )
    solar_event = forms.ChoiceField(label="Solar event", required=False,
                                    choices=[("", "—")] + [(e, e.replace("_", " ")) for e in SOLAR_EVENTS])
    latitude = forms.DecimalField(required=False, min_value=-90, max_value=90, decimal_places=6)
    longitude = forms.DecimalField(required=False, min_value=-180, max_value=180, decimal_places=6)

    class Meta:
        model = ScheduledSearch
        fields = [
            "name", "enabled", "max_results", "misfire_policy", "misfire_grace_seconds",
            "on_success", "on_failure_action", "on_failure_run",
        ]

    class Media:
        js = ("schedules/schedule_kind.js",)

    # Service error keys → the form field that shows them.
    ERROR_FIELDS = {"lookback": "lookback_hours"}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["platforms"].choices = [(name, name) for name in validation.known_platform_names()]
        self.fields["max_results"].max_value = validation.max_results_limit()
        for field in ("on_success", "on_failure_run"):
            queryset = ScheduledSearch.objects.all()
            if self.instance.pk:
                queryset = queryset.exclude(pk=self.instance.pk)
            self.fields[field].queryset = queryset
        if self.instance.pk:
            self._fill_initial_from(self.instance)

    def _fill_initial_from(self, scheduled_search: ScheduledSearch) -> None:
        initial = self.initial
        initial["keywords"] = "\n".join(scheduled_search.keywords or [])
        initial["platforms"] = scheduled_search.platforms
        lookback = scheduled_search.lookback
        initial["lookback_hours"] = None if lookback is None else round(lookback.total_seconds() / 3600, 2)
        initial["timezone"] = scheduled_search.timezone.key
        timing = selectors.schedule_timing(scheduled_search=scheduled_search)
        if timing is not None:
            initial["schedule_kind"] = timing.kind
            initial.update({"cron": timing.cron, "every": timing.every or None, "period": timing.period or "hours",
                            "solar_event": timing.solar, "latitude": timing.latitude,
                            "longitude": timing.longitude})
            if timing.once:
                # Keep seconds when there are any, so re-saving an unrelated field does not move the time.
                initial["once"] = timing.once.replace(tzinfo=None).isoformat(
                    timespec="minutes" if timing.once.second == 0 else "seconds"
                )

    def schedule_dict(self) -> dict:
        data = self.cleaned_data
        kind = data.get("schedule_kind")
        if kind == "cron":
            return {"cron": data.get("cron") or ""}
        if kind == "every":
            return {"every": data.get("every"), "period": data.get("period")}
        if kind == "once":
            return {"once": data.get("once") or ""}
        return {"solar": data.get("solar_event"), "latitude": data.get("latitude"),
                "longitude": data.get("longitude")}

    def service_fields(self) -> dict:
        data = self.cleaned_data
        hours = data.get("lookback_hours")
        return {
            "name": data.get("name"),
            "keywords": split_keywords(data.get("keywords", "")),
            "platforms": data.get("platforms") or [],
            "schedule": self.schedule_dict(),
            "timezone": data.get("timezone"),
            "max_results": data.get("max_results"),
            "lookback": None if hours in (None, "") else timedelta(hours=float(hours)),
            "enabled": data.get("enabled", False),
            "misfire_policy": data.get("misfire_policy"),
            "misfire_grace_seconds": data.get("misfire_grace_seconds"),
            "on_success": data.get("on_success"),
            "on_failure_action": data.get("on_failure_action") or "",
            "on_failure_run": data.get("on_failure_run"),
        }

    def _kind_field(self) -> str:
        return {"cron": "cron", "every": "every", "once": "once", "solar": "solar_event"}.get(
            self.cleaned_data.get("schedule_kind"), "schedule_kind"
        )

    def clean(self):
        cleaned = super().clean()
        if self.errors:
            return cleaned
        try:
            services.schedule_validate(
                scheduled_search=self.instance if self.instance.pk else None, **self.service_fields()
            )
        except ValidationError as error:
            for key, messages_ in error.message_dict.items():
                field = self._kind_field() if key == "schedule" else self.ERROR_FIELDS.get(key, key)
                if field not in self.fields:
                    field = None
                for message in messages_:
                    self.add_error(field, message)
        return cleaned


def _admin_link(search) -> str:
    try:
        url = reverse("admin:scraping_search_change", args=[search.pk])
    except NoReverseMatch:
        return format_html("{}", str(search.pk)[:8])
    return format_html('<a href="{}">{}</a>', url, str(search.pk)[:8])


def _local(moment, zone) -> str:
    return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M %Z") if moment else "—"


@admin.register(ScheduledSearch)
class ScheduledSearchAdmin(admin.ModelAdmin):
    form = ScheduledSearchForm
    list_display = ("name", "schedule_words", "next_run", "last_run", "mentions_last_24h", "enabled")
    list_filter = ("enabled",)
    search_fields = ("name",)
    actions = ["run_now", "pause", "resume", "duplicate"]
    readonly_fields = ("schedule_words", "next_runs_preview", "recent_searches")
    fieldsets = (
        (None, {"fields": ("name", "keywords", "platforms", "max_results", "lookback_hours", "enabled")}),
        ("When", {"fields": ("timezone", "schedule_kind", "cron", ("every", "period"), "once",
                             "solar_event", ("latitude", "longitude"))}),
        ("Missed runs", {"fields": ("misfire_policy", "misfire_grace_seconds"), "classes": ("collapse",)}),
        ("Follow-ups", {"fields": ("on_success", "on_failure_action", "on_failure_run")}),
    )
    change_fieldsets_extra = (
        ("Preview", {"fields": ("schedule_words", "next_runs_preview")}),
        ("Searches it started", {"fields": ("recent_searches",)}),
    )

    def get_fieldsets(self, request, obj=None):
        if obj is None:
            return self.fieldsets
        return self.change_fieldsets_extra[:1] + self.fieldsets + self.change_fieldsets_extra[1:]

    def get_queryset(self, request):
        # The list's last-run and mention columns come from subqueries, not one query per row.
        return selectors.schedules_with_activity(queryset=super().get_queryset(request))

    # --- columns / read-only fields -----------------------------------------------------------------
    @admin.display(description="Schedule")
    def schedule_words(self, obj: ScheduledSearch) -> str:
        return selectors.schedule_in_words(scheduled_search=obj)

    @admin.display(description="Next run")
    def next_run(self, obj: ScheduledSearch) -> str:
        runs = selectors.schedule_next_runs(scheduled_search=obj, count=1)
        return _local(runs[0], obj.timezone) if runs else "—"

    @admin.display(description="Last run")
    def last_run(self, obj: ScheduledSearch) -> str:
        if obj.last_search_at is None:
            return "never"
        return f"{Search.Status(obj.last_search_status).label} at {_local(obj.last_search_at, obj.timezone)}"

    @admin.display(description="Mentions (24 h)")
    def mentions_last_24h(self, obj: ScheduledSearch) -> int:
        return obj.mentions_last_24h

    @admin.display(description="Next 5 runs")
    def next_runs_preview(self, obj: ScheduledSearch) -> str:
        runs = selectors.schedule_next_runs(scheduled_search=obj, count=5)
        if not runs:
            return "None: paused, or a one-off that has run."
        return format_html(
            '<ol class="next-runs">{}</ol>',
            format_html_join("", "<li>{}</li>", ((_local(run, obj.timezone),) for run in runs)),
        )

    @admin.display(description="Recent searches")
    def recent_searches(self, obj: ScheduledSearch) -> str:
        searches = list(selectors.schedule_searches(scheduled_search=obj)[:20])
        if not searches:
            return "None yet."
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            ((_admin_link(s), _local(s.created_at, obj.timezone), s.get_trigger_display(),
              s.get_status_display(), s.mentions_new) for s in searches),
        )
        return format_html(
            '<table class="recent-searches"><thead><tr><th>Search</th><th>Started</th><th>Trigger</th>'
            "<th>Status</th><th>New mentions</th></tr></thead><tbody>{}</tbody></table>",
            rows,
        )

    # --- saving goes through the services ---------------------------------------------------------------
    def save_model(self, request, obj, form, change):
        fields = form.service_fields()
        if change:
            saved = services.schedule_update(scheduled_search=ScheduledSearch.objects.get(pk=obj.pk), **fields)
        else:
            saved = services.schedule_create(**fields)
        obj.pk = saved.pk
        obj.refresh_from_db()

    def save_related(self, request, form, formsets, change):
        # Follow-ups were saved by the service; nothing else relates to this model.
        pass

    def delete_model(self, request, obj):
        services.schedule_delete(scheduled_search=obj)

    # --- permissions for the actions ----------------------------------------------------------------------
    def has_run_permission(self, request) -> bool:
        return request.user.has_perm("schedules.run_scheduledsearch")

    def has_pause_permission(self, request) -> bool:
        return request.user.has_perm("schedules.pause_scheduledsearch")

    # --- actions --------------------------------------------------------------------------------------------
    @admin.action(description="Run now", permissions=["run"])
    def run_now(self, request, queryset: QuerySet[ScheduledSearch]):
        started = [services.schedule_run_now(scheduled_search=row, trigger="admin") for row in queryset]
        self.message_user(request, f"Started {len(started)} search(es).", messages.SUCCESS)

    @admin.action(description="Pause", permissions=["pause"])
    def pause(self, request, queryset: QuerySet[ScheduledSearch]):
        count = services.schedules_set_enabled(scheduled_search_ids=list(queryset.values_list("pk", flat=True)),
                                               enabled=False)
        self.message_user(request, f"Paused {count} scheduled search(es).", messages.SUCCESS)

    @admin.action(description="Resume", permissions=["pause"])
    def resume(self, request, queryset: QuerySet[ScheduledSearch]):
        try:
            count = services.schedules_set_enabled(
                scheduled_search_ids=list(queryset.values_list("pk", flat=True)), enabled=True
            )
        except ValidationError as error:
            self.message_user(request, " ".join(error.messages), messages.ERROR)
            return
        self.message_user(request, f"Resumed {count} scheduled search(es).", messages.SUCCESS)

    @admin.action(description="Duplicate (the copy starts paused)", permissions=["add"])
    def duplicate(self, request, queryset: QuerySet[ScheduledSearch]):
        copies = []
        for row in queryset:
            try:
                copies.append(services.schedule_duplicate(scheduled_search=row).name)
            except ValidationError as error:
                self.message_user(request, f"{row.name}: {' '.join(error.messages)}", messages.ERROR)
        if copies:
            self.message_user(request, f"Created {', '.join(copies)} (paused).", messages.SUCCESS)


class PulsePeriodicTaskForm(BeatPeriodicTaskForm):
    """django-celery-beat's form plus Pulse's rules for Pulse's own tasks."""

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        try:
            validation.validate_pulse_periodic_task(
                task=data.get("task"), args=json.loads(data.get("args") or "[]"),
                kwargs=json.loads(data.get("kwargs") or "{}"), periodic_task_id=self.instance.pk,
                name=data.get("name") or "",
            )
        except ValidationError as error:
            for field, messages_ in error.message_dict.items():
                for message in messages_:
                    self.add_error(field if field in self.fields else None, message)
        return data


class PulsePeriodicTaskAdmin(BeatPeriodicTaskAdmin):
    """django-celery-beat's admin, with its actions behind permissions.

    Its actions declare no permissions, so anyone who may merely *view* periodic tasks could pause
    or run them, and with them every scheduled search. Each action needs the change permission,
    and a row that belongs to a scheduled search also needs the permission the scheduled-search
    admin asks for (pause or run); such rows are skipped with a message otherwise.
    """

    form = PulsePeriodicTaskForm

    def _unlinked_unless_permitted(self, request, queryset, permission: str, verb: str):
        if request.user.has_perm(permission):
            return queryset
        linked = sorted(queryset.filter(scheduled_search__isnull=False).values_list("name", flat=True))
        if linked:
            self.message_user(
                request,
                f"Left unchanged: {', '.join(linked)}. These run scheduled searches; to {verb} them you need "
                f"the permission {permission!r} (ask an administrator).",
                level=messages.ERROR,
            )
        return queryset.filter(scheduled_search__isnull=True)

    @admin.action(description=BeatPeriodicTaskAdmin.enable_tasks.short_description, permissions=["change"])
    def enable_tasks(self, request, queryset):
        queryset = self._unlinked_unless_permitted(request, queryset, "schedules.pause_scheduledsearch", "resume")
        if queryset.exists():
            super().enable_tasks(request, queryset)

    @admin.action(description=BeatPeriodicTaskAdmin.disable_tasks.short_description, permissions=["change"])
    def disable_tasks(self, request, queryset):
        queryset = self._unlinked_unless_permitted(request, queryset, "schedules.pause_scheduledsearch", "pause")
        if queryset.exists():
            super().disable_tasks(request, queryset)

    @admin.action(description=BeatPeriodicTaskAdmin.toggle_tasks.short_description, permissions=["change"])
    def toggle_tasks(self, request, queryset):
        queryset = self._unlinked_unless_permitted(
            request, queryset, "schedules.pause_scheduledsearch", "pause or resume"
        )
        if queryset.exists():
            super().toggle_tasks(request, queryset)

    @admin.action(description=BeatPeriodicTaskAdmin.run_tasks.short_description, permissions=["change"])
    def run_tasks(self, request, queryset):
        queryset = self._unlinked_unless_permitted(request, queryset, "schedules.run_scheduledsearch", "run")
        if queryset.exists():
            super().run_tasks(request, queryset)


if admin.site.is_registered(PeriodicTask):
    admin.site.unregister(PeriodicTask)
admin.site.register(PeriodicTask, PulsePeriodicTaskAdmin)
