from django.contrib import admin
from django.contrib.auth.admin import UserAdmin

from accounts.models import Absence, Team, User


@admin.register(User)
class SlaopsUserAdmin(UserAdmin):
    list_display = ["username", "email", "first_name", "last_name", "role", "is_active"]
    list_filter = ["role", "is_active", "teams"]
    fieldsets = UserAdmin.fieldsets + (("slaops", {"fields": ("role", "max_open_leads")}),)
    add_fieldsets = UserAdmin.add_fieldsets + (("slaops", {"fields": ("role",)}),)


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ["name", "kind", "calendar"]
    list_filter = ["kind"]
    filter_horizontal = ["members"]
    search_fields = ["name"]


@admin.register(Absence)
class AbsenceAdmin(admin.ModelAdmin):
    """Read and remove only: absences are recorded on the team page or the API, where
    `accounts.absences` refuses overlaps under a lock on the person."""

    list_display = ["user", "starts_at", "ends_at", "reason", "created_by"]
    list_filter = ["user__teams"]
    search_fields = ["user__username", "reason"]
    readonly_fields = ["user", "starts_at", "ends_at", "reason", "created_by", "created_at"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
