from django.contrib import admin
from django.contrib.auth.admin import UserAdmin

from accounts.models import Team, User


@admin.register(User)
class SlaopsUserAdmin(UserAdmin):
    list_display = ["username", "email", "first_name", "last_name", "role", "is_active"]
    list_filter = ["role", "is_active", "teams"]
    fieldsets = UserAdmin.fieldsets + (("slaops", {"fields": ("role",)}),)
    add_fieldsets = UserAdmin.add_fieldsets + (("slaops", {"fields": ("role",)}),)


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ["name", "kind", "calendar"]
    list_filter = ["kind"]
    filter_horizontal = ["members"]
    search_fields = ["name"]
