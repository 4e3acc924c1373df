"""Admin pages of the sla app. The admin's ModelForm runs full_clean(), hence each
model's clean(): the admin enforces the same rules as the API."""

from django import forms
from django.contrib import admin
from django.utils import timezone
from simple_history.admin import SimpleHistoryAdmin

from leads.admin import ReadOnlyAdminMixin
from sla.agreements import (
    CALLBACK_LIMITS,
    VERSIONED_FIELDS,
    agreement_create,
    agreement_update,
    commitment_log,
)
from sla.models import Agreement, AgreementVersion, Clock, Flag, MonthlyCommitment, Notification
from sla.terms import tiers_clean, tiers_errors


class AgreementVersionInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = AgreementVersion
    fields = ["version", "created_at", "created_by", "terms"]
    readonly_fields = fields
    extra = 0


class AgreementForm(forms.ModelForm):
    """The rules the services refuse beyond the model's own (sla.terms for the tiers),
    said on the form's fields instead of an error page."""

    class Meta:
        model = Agreement
        fields = list(VERSIONED_FIELDS)

    def clean_tiers(self):
        tiers = self.cleaned_data.get("tiers")
        tiers = [] if tiers is None else tiers
        errors = tiers_errors(tiers)
        if errors:
            raise forms.ValidationError(errors)
        return tiers_clean(tiers)

    def _limit(self, name: str):
        value = self.cleaned_data.get(name)
        if value is not None and not 0 <= value <= CALLBACK_LIMITS[name]:
            raise forms.ValidationError(
                f"must be a whole number from 0 to {CALLBACK_LIMITS[name]}."
            )
        return value

    def clean_max_callback_business_days(self):
        return self._limit("max_callback_business_days")

    def clean_max_callbacks(self):
        return self._limit("max_callbacks")


@admin.register(Agreement)
class AgreementAdmin(admin.ModelAdmin):
    """Saving goes through the agreement services, so every edit writes a new version."""

    form = AgreementForm

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
