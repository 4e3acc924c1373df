"""Who may see and do what: every rule, in one place.

The API, the pages, the navigation, the exports and the admin all ask here. Scopes are
returned as `Q` objects over the field paths of the objects they filter (a lead's
`owner`, `team`, `terms__agreement`...), so this module imports no app to its right;
the selectors of `leads` and `sla` apply them. A list is scoped by its query: an object
the caller may not see answers 404, and a role that may not act at all gets 403.
"""

from django.db.models import Q
from rest_framework.permissions import SAFE_METHODS, BasePermission

from accounts.models import Role, Team
from core.permissions import AdminWritesOthersRead, is_admin

__all__ = [
    "AdminWritesOthersRead",
    "MarketingOrAdminWrites",
    "SalesManagerOrAdmin",
    "agreement_scope",
    "flag_scope",
    "has_role",
    "is_admin",
    "lead_scope",
    "may_act_on_lead",
    "may_deliver_to",
    "may_edit_definition",
    "may_edit_definitions",
    "may_log_commitment",
    "may_move_out_of_closed_stage",
    "may_manage_member",
    "may_manage_teams",
    "may_open_admin",
    "may_read_audit",
    "may_reopen_month",
    "may_override_abandon",
    "may_resolve_flag",
    "may_see_page",
    "may_work_inbox",
    "sees_everything",
    "team_scope",
]

SALES_ROLES = frozenset({Role.SALES, Role.SALES_MANAGER})
# Flags about marketing's month (quota and quality): marketing managers resolve them too.
MONTH_FLAG_KINDS = frozenset({"quota_at_risk", "quota_shortfall", "quality_shortfall"})


def has_role(user, *roles: str) -> bool:
    """The user holds one of `roles`; an admin holds every role."""
    if not (user and user.is_authenticated):
        return False
    return is_admin(user) or user.role in roles


def sees_everything(user) -> bool:
    """Executives read everything; admins see and change everything."""
    return has_role(user, Role.EXECUTIVE)


# --- scopes (what a person sees) -----------------------------------------------------------


def lead_scope(user) -> Q | None:
    """The leads the person sees, as a filter on Lead; None means every lead.

    A rep sees their own leads, a sales manager their teams' (and any they own),
    marketing the leads of their teams' agreements, executives and admins all.
    """
    if sees_everything(user):
        return None
    if user.role == Role.SALES:
        return Q(owner=user)
    if user.role == Role.SALES_MANAGER:
        return manager_lead_scope(user)
    if user.role == Role.MARKETING:
        return Q(terms__agreement__marketing_team__in=user.teams.values("id"))
    return Q(pk__in=[])


def manager_lead_scope(user) -> Q:
    """A sales manager's leads: their teams' and any they own.

    The team ids are read once, and the "or their own" is left out when the manager owns
    no lead outside those teams (the usual case), so the list is one index range on the
    team instead of the union of two sets sorted afterwards.
    """
    team_ids = list(user.teams.values_list("id", flat=True))
    if user.owned_leads.exclude(team_id__in=team_ids).exists():
        return Q(team_id__in=team_ids) | Q(owner=user)
    return Q(team_id__in=team_ids)


def agreement_scope(user) -> Q | None:
    """The agreements the person sees: those of their teams, on either side."""
    if sees_everything(user):
        return None
    teams = user.teams.values("id")
    return Q(marketing_team__in=teams) | Q(sales_team__in=teams)


def flag_scope(user) -> Q | None:
    """A rep sees their own flags, a sales manager their teams' (the flag's team or its
    lead's), marketing their teams' agreements', executives and admins every flag."""
    if sees_everything(user):
        return None
    teams = user.teams.values("id")
    if user.role == Role.SALES:
        return Q(owner=user)
    if user.role == Role.SALES_MANAGER:
        return Q(team__in=teams) | Q(lead__team__in=teams) | Q(owner=user)
    if user.role == Role.MARKETING:
        return Q(agreement__marketing_team__in=teams)
    return Q(pk__in=[])


# --- actions (what a person may do) --------------------------------------------------------


def may_act_on_lead(user, lead, *, action: str) -> bool:
    """Sales actions (touch, acknowledge, reject, stage, abandon, callback) belong to the
    owner, a sales manager of the lead's team, or an admin; `assign` to managers and
    admins. `lead` is anything with `owner_id` and `team_id`."""
    if is_admin(user):
        return True
    if user.role == Role.SALES_MANAGER:
        in_team = lead.team_id is not None and user.teams.filter(pk=lead.team_id).exists()
        return in_team or lead.owner_id == user.pk
    if user.role == Role.SALES:
        return action != "assign" and lead.owner_id == user.pk
    return False


def may_assign_to(user) -> bool:
    """Who may hold a lead: an active sales rep or sales manager."""
    return bool(user and user.is_active and user.role in SALES_ROLES)


def may_manage_member(user, member) -> bool:
    """Absences, caps and moving open leads: admins for everyone, a sales manager for the
    members of their own sales teams (themselves included). A rep only reads their own
    absences: whether a rep takes leads is the manager's call."""
    if is_admin(user):
        return True
    if not has_role(user, Role.SALES_MANAGER):
        return False
    return Team.members.through.objects.filter(
        team__kind=Team.Kind.SALES, team__members=user, user_id=member.pk
    ).exists()


def may_manage_teams(user) -> bool:
    """The team pages: sales managers (their teams) and admins (every team)."""
    return has_role(user, Role.SALES_MANAGER)


def team_scope(user) -> Q | None:
    """The teams whose page the person opens, as a filter on Team; None: every team."""
    if is_admin(user):
        return None
    if has_role(user, Role.SALES_MANAGER):
        return Q(kind="sales", members=user)
    return Q(pk__in=[])


def may_override_abandon(user) -> bool:
    """Only a sales manager (or an admin) may abandon before the attempts are logged."""
    return has_role(user, Role.SALES_MANAGER)


def may_reopen_month(user) -> bool:
    """Reopening a closed month's books (sla.books.month_reopen): admins only."""
    return is_admin(user)


def may_read_audit(user) -> bool:
    """The audit history (who changed what): admins and executives."""
    return has_role(user, Role.EXECUTIVE)


def may_move_out_of_closed_stage(user) -> bool:
    """Only a sales manager (or an admin) moves a lead out of a won or lost stage."""
    return has_role(user, Role.SALES_MANAGER)


def may_deliver_to(user, *, marketing_team_id: int, member: bool | None = None) -> bool:
    """Marketing delivers only to their own team's agreements; admins (and services
    acting for no one) to any. `member`: whether the user is of that team, when the
    caller has already read it."""
    if user is None or is_admin(user):
        return True
    if user.role == Role.MARKETING:
        if member is not None:
            return member
        return user.teams.filter(pk=marketing_team_id).exists()
    return False


def may_choose_owner(user) -> bool:
    """Naming a lead's owner or team at delivery, instead of round robin: admins only."""
    return is_admin(user)


def may_resolve_flag(user, flag) -> bool:
    """Sales managers and admins resolve the flags they see; marketing managers only the
    quota and quality flags of their agreements."""
    if has_role(user, Role.SALES_MANAGER):
        return True
    return has_role(user, Role.MARKETING) and flag.kind in MONTH_FLAG_KINDS


def may_resolve_flags(user) -> bool:
    """Whether the person may resolve any flag at all (else 403 before the lookup)."""
    return has_role(user, Role.SALES_MANAGER, Role.MARKETING)


def may_log_commitment(user, agreement) -> bool:
    """Marketing managers of the agreement's marketing team, and admins."""
    if is_admin(user):
        return True
    return (
        user.role == Role.MARKETING and user.teams.filter(pk=agreement.marketing_team_id).exists()
    )


def may_edit_definitions(user) -> bool:
    """Whether the person may write definitions at all (create; edit those they own)."""
    return has_role(user, Role.MARKETING)


def definition_owner_teams(definition) -> set[int]:
    """The marketing teams that own a definition: its own `team`, or, when it has none, the
    marketing teams of the agreements that use it (none: nobody's yet)."""
    if definition.team_id:
        return {definition.team_id}
    return set(definition.agreements.values_list("marketing_team_id", flat=True))


def may_edit_definition(user, definition) -> bool:
    """Admins edit every definition; a marketing manager those of their own teams, and one
    that no team owns yet (no `team`, no agreement using it)."""
    if is_admin(user):
        return True
    if not has_role(user, Role.MARKETING):
        return False
    owners = definition_owner_teams(definition)
    return not owners or bool(owners & set(user.teams.values_list("pk", flat=True)))


def may_import(user) -> bool:
    """Marketing managers and admins deliver leads, so they import CSV files."""
    return has_role(user, Role.MARKETING)


def may_work_inbox(user) -> bool:
    return has_role(user, *SALES_ROLES)


def inbox_is_own_only(user) -> bool:
    """A rep's inbox holds their own leads; a manager's the team's."""
    return user.role == Role.SALES


def is_urgency_first(user) -> bool:
    """Sales read lists most urgent first; everyone else newest first."""
    return user.role in SALES_ROLES


def may_open_admin(user) -> bool:
    """Django's admin site lets in active staff (`AdminSite.has_permission`)."""
    return bool(user and user.is_active and user.is_staff)


# The pages whose views refuse some roles, by url name, with the predicate the view applies;
# every other page in the navigation opens for anyone signed in.
PAGES = {
    "lead-inbox": may_work_inbox,
    "import-list": may_import,
    "team-list": may_manage_teams,
    "admin:index": may_open_admin,
    "audit-log": may_read_audit,
    "integrations": is_admin,
}


def may_see_page(user, url_name: str) -> bool:
    """Whether the navigation shows the page to `user`: exactly when its view answers 200
    (tests/slaops/test_navigation.py requests every page as every role)."""
    if not (user and user.is_authenticated):
        return False
    rule = PAGES.get(url_name)
    return True if rule is None else bool(rule(user))


# --- DRF permission classes ----------------------------------------------------------------


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
