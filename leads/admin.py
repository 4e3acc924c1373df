"""Admin for lead definitions (saved through the service, so every edit is a version),
reason codes, and read-only views of leads and touches.
"""

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError

from leads.models import Lead, LeadDefinition, LeadDefinitionVersion, ReasonCode, Touch
from leads.services.definitions import (
    DEFINITION_TERMS,
    REASON_CODE_FIELDS,
    definition_create,
    definition_update,
    definition_validate,
    reason_code_create,
    reason_code_update,
)


class ReadOnlyAdminMixin:
    """History and deliveries are recorded by the services, never typed in here."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class VersionInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = LeadDefinitionVersion
    fields = ["version", "created_at", "created_by", "qualify_at", "criteria", "disqualifiers"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    ordering = ["-version"]


class DefinitionAdminForm(forms.ModelForm):
    class Meta:
        model = LeadDefinition
        fields = list(DEFINITION_TERMS)

    def _post_clean(self):
        super()._post_clean()
        # The service's rules (criteria, disqualifiers, a reachable qualify_at), so a bad
        # rule is a form error here instead of a failure on save.
        try:
            definition_validate(definition=self.instance)
        except ValidationError as exc:
            for name, messages in exc.message_dict.items():
                if name not in self.errors:
                    self.add_error(name if name in self.fields else None, messages)


@admin.register(LeadDefinition)
class LeadDefinitionAdmin(admin.ModelAdmin):
    form = DefinitionAdminForm
    list_display = ["name", "version", "qualify_at", "updated_at"]
    search_fields = ["name"]
    readonly_fields = ["version", "created_at", "updated_at"]
    inlines = [VersionInline]

    def save_model(self, request, obj, form, change):
        terms = {name: form.cleaned_data[name] for name in DEFINITION_TERMS}
        if change:
            saved = definition_update(definition=obj, by=request.user, **terms)
        else:
            saved = definition_create(by=request.user, **terms)
        obj.pk = saved.pk
        obj.refresh_from_db()

    def has_delete_permission(self, request, obj=None):
        return False  # leads point at its versions: history is never deleted


@admin.register(ReasonCode)
class ReasonCodeAdmin(admin.ModelAdmin):
    list_display = ["code", "label", "is_active", "position"]
    list_editable = ["is_active", "position"]
    list_filter = ["is_active"]
    search_fields = ["code", "label"]

    def save_model(self, request, obj, form, change):
        values = {name: getattr(obj, name) for name in REASON_CODE_FIELDS}
        if change:
            reason_code_update(reason_code=obj, **values)
        else:
            obj.pk = reason_code_create(**values).pk

    def has_delete_permission(self, request, obj=None):
        return False  # rejected leads name it: deactivate it instead


@admin.register(Lead)
class LeadAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = [
        "id",
        "email",
        "company",
        "received_at",
        "score",
        "qualifies",
        "stage",
        "owner",
        "team",
        "verdict",
    ]
    list_filter = ["qualifies", "verdict", "stage", "team", "received_at"]
    list_select_related = ["stage", "owner", "team"]
    search_fields = ["email", "first_name", "last_name", "company", "external_id"]
    date_hierarchy = "received_at"
    show_full_result_count = False  # a count(*) over every lead on each page is slow


@admin.register(Touch)
class TouchAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["at", "lead", "kind", "outcome", "by"]
    list_filter = ["kind", "outcome"]
    list_select_related = ["lead", "by"]
    search_fields = ["lead__email", "lead__company", "note"]
    date_hierarchy = "at"
