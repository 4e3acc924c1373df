"""Who may do what, in one place. DRF permission classes and role predicates.

Lists are scoped by queryset (an object the caller may not see answers 404); these
classes only decide whether a role may act at all (403).
"""

from rest_framework.permissions import SAFE_METHODS, BasePermission

from accounts.models import Role

SALES_ROLES = frozenset({Role.SALES, Role.SALES_MANAGER})


def has_role(user, *roles: str) -> bool:
    if not (user and user.is_authenticated):
        return False
    return user.is_superuser or user.role == Role.ADMIN or user.role in roles


def is_admin(user) -> bool:
    return has_role(user)


class AdminWritesOthersRead(BasePermission):
    """Configuration: every signed-in person reads it, only the admin role changes it."""

    message = "Only the admin role may change configuration."

    def has_permission(self, request, view):
        if request.method in SAFE_METHODS:
            return bool(request.user and request.user.is_authenticated)
        return is_admin(request.user)


class MarketingOrAdminWrites(BasePermission):
    """Lead definitions and commitments: marketing and admin change them, everyone reads."""

    message = "Only marketing managers and admins may change this."

    def has_permission(self, request, view):
        if request.method in SAFE_METHODS:
            return bool(request.user and request.user.is_authenticated)
        return has_role(request.user, Role.MARKETING)


class SalesManagerOrAdmin(BasePermission):
    message = "Only sales managers and admins may do this."

    def has_permission(self, request, view):
        return has_role(request.user, Role.SALES_MANAGER)
