"""Admin for alert channels (with a "send test alert" action) and the alert history."""

from __future__ import annotations

from django.contrib import admin, messages

from pulse.alert_models import AlertChannel, AlertEvent
from pulse.alerts import alert_send_test


@admin.register(AlertChannel)
class AlertChannelAdmin(admin.ModelAdmin):
    list_display = ("name", "kind", "enabled", "target")
    list_filter = ("kind", "enabled")
    search_fields = ("name", "target")
    actions = ["send_test_alert"]
    fieldsets = [
        (None, {"fields": ("name", "kind", "enabled", "target")}),
        (
            "Webhook signing",
            {
                "fields": ("secret",),
                "description": (
                    "Receivers verify the X-Pulse-Signature header: sha256= then the hex HMAC-SHA256 of "
                    "the raw request body with this secret."
                ),
            },
        ),
    ]

    @admin.action(description="Send a test alert to the selected channels")
    def send_test_alert(self, request, queryset):
        for channel in queryset:
            result = alert_send_test(channel=channel)
            if result["ok"]:
                self.message_user(request, f"Test alert sent to {channel.name}.", messages.SUCCESS)
            else:
                self.message_user(
                    request, f"Test alert to {channel.name} failed: {result['error']}", messages.ERROR
                )


@admin.register(AlertEvent)
class AlertEventAdmin(admin.ModelAdmin):
    list_display = ("sent_at", "rule", "key", "subject", "outcome")
    list_filter = ("rule", "outcome")
    search_fields = ("key", "subject", "message")
    date_hierarchy = "sent_at"
    readonly_fields = [field.name for field in AlertEvent._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
