from django import forms
from django.contrib import admin, messages
from django.utils import timezone

from pulse.models import ApiKey
from pulse.services import api_key_create, api_key_revoke


class ApiKeyForm(forms.ModelForm):
    class Meta:
        model = ApiKey
        fields = ("name", "user", "expires_at")

    def clean_expires_at(self):
        expires_at = self.cleaned_data.get("expires_at")
        if expires_at is not None and self.instance.pk is None and expires_at <= timezone.now():
            raise forms.ValidationError("The expiry is in the past; choose a future time or leave it empty.")
        return expires_at


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    form = ApiKeyForm
    list_display = (
        "name", "prefix", "user", "created_at", "last_used_at", "expires_at", "revoked_at", "usable",
    )  # fmt: skip
    list_filter = ("revoked_at", "user")
    search_fields = ("name", "prefix", "user__username")
    readonly_fields = ("prefix", "created_at", "last_used_at", "revoked_at")
    actions = ["revoke"]

    def get_fields(self, request, obj=None):
        if obj is None:
            return ("name", "user", "expires_at")
        return ("name", "user", "prefix", "created_at", "last_used_at", "expires_at", "revoked_at")

    def get_readonly_fields(self, request, obj=None):
        # The user of an existing key is fixed: moving a key to another user would silently
        # change what its holder may do.
        if obj is None:
            return self.readonly_fields
        return (*self.readonly_fields, "user")

    @admin.display(boolean=True, description="Usable")
    def usable(self, obj: ApiKey) -> bool:
        return obj.is_usable()

    def save_model(self, request, obj, form, change):
        if change:
            super().save_model(request, obj, form, change)
            return
        created, plain_key = api_key_create(user=obj.user, name=obj.name, expires_at=obj.expires_at)
        # The admin continues with ``obj`` (messages, redirect), so it becomes the created row.
        obj.pk = created.pk
        obj.prefix = created.prefix
        obj.key_hash = created.key_hash
        obj.created_at = created.created_at
        obj._state.adding = False
        obj._state.db = created._state.db
        self.message_user(
            request,
            f"The new API key is: {plain_key} — copy it now; it is shown only this once and cannot be "
            "recovered (create a new key if it is lost). Send it as 'Authorization: Bearer <key>' or "
            "'X-API-Key: <key>'.",
            messages.WARNING,
        )

    @admin.action(description="Revoke selected API keys", permissions=["change"])
    def revoke(self, request, queryset):
        count = 0
        for api_key in queryset.filter(revoked_at__isnull=True):
            api_key_revoke(api_key=api_key)
            count += 1
        self.message_user(request, f"Revoked {count} API key(s). Requests using them now get 401.")
