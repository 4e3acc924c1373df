"""Admin for the funnel: stages are configured here; the stage history is read-only."""

from django.contrib import admin

from funnel.models import Stage, StageChange
from funnel.services import STAGE_FIELDS, stage_create, stage_update


@admin.register(Stage)
class StageAdmin(admin.ModelAdmin):
    list_display = ["position", "name", "slug", "kind", "is_active", "reopenable"]
    list_display_links = ["name"]
    list_filter = ["kind", "is_active"]
    search_fields = ["slug", "name"]
    ordering = ["position", "id"]

    def save_model(self, request, obj, form, change):
        values = {
            name: form.cleaned_data[name] for name in STAGE_FIELDS if name in form.cleaned_data
        }
        if change:
            stage_update(stage=obj, **values)
        else:
            obj.pk = stage_create(**values).pk


@admin.register(StageChange)
class StageChangeAdmin(admin.ModelAdmin):
    """The history of every lead's moves: kept as it happened, never edited here."""

    list_display = ["at", "lead", "from_stage", "to_stage", "by"]
    list_filter = ["to_stage"]
    list_select_related = ["lead", "from_stage", "to_stage", "by"]
    date_hierarchy = "at"
    search_fields = ["lead__email", "lead__company", "note"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
