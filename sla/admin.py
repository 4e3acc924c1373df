"""Admin pages of the sla app. The admin's ModelForm runs full_clean(), hence each
model's clean(): the admin enforces the same rules as the API."""

from django.contrib import admin
from django.utils import timezone
from simple_history.admin import SimpleHistoryAdmin

from leads.admin import ReadOnlyAdminMixin
from sla.agreements import (
    VERSIONED_FIELDS,
    agreement_create,
    agreement_update,
    commitment_log,
)
from sla.models import Agreement, AgreementVersion, Clock, Flag, MonthlyCommitment, Notification


class AgreementVersionInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = AgreementVersion
    fields = ["version", "created_at", "created_by", "terms"]
    readonly_fields = fields
    extra = 0


@admin.register(Agreement)
class AgreementAdmin(admin.ModelAdmin):
    """Saving goes through the agreement services, so every edit writes a new version."""

    list_display = ["name", "marketing_team", "sales_team", "calendar", "version", "effective_from"]
    list_filter = ["marketing_team", "sales_team"]
    search_fields = ["name"]
    readonly_fields = ["version", "created_at", "updated_at"]
    inlines = [AgreementVersionInline]

    def save_model(self, request, obj, form, change):
        fields = {name: form.cleaned_data[name] for name in VERSIONED_FIELDS}
        now = timezone.now()
        if change:
            saved = agreement_update(agreement=obj, by=request.user, now=now, **fields)
        else:
            saved = agreement_create(by=request.user, now=now, **fields)
        obj.pk = saved.pk
        obj.refresh_from_db()

    def has_delete_permission(self, request, obj=None):
        return False  # leads keep the version they were delivered under


@admin.register(MonthlyCommitment)
class MonthlyCommitmentAdmin(SimpleHistoryAdmin):
    list_display = ["agreement", "month", "quota", "logged_by", "logged_at"]
    list_filter = ["agreement"]
    readonly_fields = ["logged_by", "logged_at"]

    def save_model(self, request, obj, form, change):
        commitment_log(
            agreement=form.cleaned_data["agreement"],
            month=form.cleaned_data["month"],
            quota=form.cleaned_data["quota"],
            note=form.cleaned_data["note"],
            by=request.user,
            now=timezone.now(),
        )
        obj.pk = MonthlyCommitment.objects.get(agreement=obj.agreement, month=obj.month).pk


@admin.register(Clock)
class ClockAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["lead", "kind", "state", "started_at", "due_at", "stopped_at", "breached_at"]
    list_filter = ["kind", "state"]
    date_hierarchy = "due_at"


@admin.register(Flag)
class FlagAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Flags are raised by the checks and resolved with a note on the flags page."""

    list_display = ["kind", "state", "raised_at", "lead", "owner", "agreement", "month"]
    list_filter = ["kind", "state", "agreement", "month"]
    date_hierarchy = "raised_at"


@admin.register(Notification)
class NotificationAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["channel", "address", "subject", "state", "attempts", "not_before", "sent_at"]
    list_filter = ["channel", "state"]
