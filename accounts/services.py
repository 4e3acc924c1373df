"""Writes on people and teams."""

from django.db import transaction

from accounts.models import Role, Team, User


@transaction.atomic
def user_create_or_update(
    *,
    username: str,
    role: str,
    password: str | None = None,
    team_name: str | None = None,
    email: str = "",
    first_name: str = "",
    last_name: str = "",
) -> tuple[User, bool]:
    """Create the user, or update the role/team/password of an existing one.

    The admin role is also a Django superuser so that the admin site works for it.
    """
    if role not in Role.values:
        raise ValueError(f"role must be one of {', '.join(Role.values)}, not {role!r}")
    user, created = User.objects.get_or_create(username=username)
    user.role = role
    user.is_staff = user.is_superuser = role == Role.ADMIN
    user.email = email or user.email
    user.first_name = first_name or user.first_name
    user.last_name = last_name or user.last_name
    if password:
        user.set_password(password)
    elif created:
        user.set_unusable_password()
    user.full_clean(exclude=["password"])
    user.save()
    if team_name:
        kind = Team.Kind.MARKETING if role == Role.MARKETING else Team.Kind.SALES
        team, _ = Team.objects.get_or_create(name=team_name, defaults={"kind": kind})
        team.members.add(user)
    return user, created
