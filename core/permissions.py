"""DRF permission classes for configuration, which every app to the left of accounts serves.

"Is an admin" is one property, `User.is_admin_role` (accounts/models.py); this module only
reads it, so the calendar app can guard its writes without importing accounts.
"""

from rest_framework.permissions import SAFE_METHODS, BasePermission


def is_admin(user) -> bool:
    return bool(user and user.is_authenticated and getattr(user, "is_admin_role", False))


class AdminWritesOthersRead(BasePermission):
    """Configuration: every signed-in person reads it, only the admin role changes it."""

    message = "Only the admin role may change configuration."

    def has_permission(self, request, view):
        if request.method in SAFE_METHODS:
            return bool(request.user and request.user.is_authenticated)
        return is_admin(request.user)
