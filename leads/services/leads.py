"""A lead's record, with no clocks: building one from delivered data, touches, verdicts,
closing, its owner and the round robin that picks one.

Each takes the instant it happens; none reads the clock. The agreement's actions
(`sla.actions`) call these inside their transactions, together with the clock and flag
services, so every interface records a lead the same way.
"""

from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import connection

from accounts.access import may_assign_to
from accounts.models import Role, Team, User
from core.bulk import instance_of, select_columns
from funnel.models import Stage, StageChange
from leads.models import AssignmentCursor, Lead, LeadDefinitionVersion, ReasonCode, Touch
from leads.scoring import LEAD_FIELDS as SCORED_FIELDS

# What marketing may deliver: the fields criteria can name, and the free attributes.
LEAD_FIELDS = (*SCORED_FIELDS, "attributes")
ENTRY_STAGE = "interacting"


def entry_stage() -> Stage:
    """Where a delivered lead enters the funnel: `interacting`, else the first open stage."""
    if connection.vendor == "postgresql":  # one hand-written query: asked on every delivery
        with connection.cursor() as cursor:
            cursor.execute(*entry_stage_query())
            found = cursor.fetchone()
        if found is None:
            raise IndexError("There is no open stage for a delivered lead to enter.")
        return instance_of(Stage, found)
    stage = Stage.objects.filter(slug=ENTRY_STAGE).first()
    return (
        stage or Stage.objects.filter(kind=Stage.Kind.OPEN, is_active=True).order_by("position")[0]
    )


def entry_stage_query() -> tuple[str, list]:
    """(sql, params) selecting the entry stage's row (`entry_stage`'s rule; PostgreSQL),
    for `entry_stage` or as part of a delivery's one lookup."""
    sql = (
        f"SELECT {', '.join(select_columns(Stage, 's'))}"  # noqa: S608
        f" FROM {connection.ops.quote_name(Stage._meta.db_table)} s"
        " WHERE s.slug = %s OR (s.kind = %s AND s.is_active)"
        " ORDER BY s.slug = %s DESC, s.position, s.id LIMIT 1"
    )
    return sql, [ENTRY_STAGE, Stage.Kind.OPEN, ENTRY_STAGE]


def lead_build(
    *,
    data: dict,
    version: LeadDefinitionVersion,
    received_at: datetime,
    stage: Stage,
    team: Team | None,
    by: User | None,
    external_id: str | None,
    idempotency_key: str | None,
) -> Lead:
    """An unsaved, validated lead, scored under `version`; its owner is not yet set."""
    fields = {name: data[name] for name in LEAD_FIELDS if name in data and data[name] is not None}
    fields["external_id"] = external_id
    fields.setdefault("attributes", {})
    result = version.score(fields)
    lead = Lead(
        **fields,
        idempotency_key=idempotency_key or None,
        received_at=received_at,
        definition_version=version,
        score=result.score,
        qualifies=result.qualifies,
        score_explanation=result.explanation,
        disqualified_by=result.disqualified_by,
        stage=stage,
        team=team,
        created_by=by,
    )
    # Uniqueness is left to the database: a concurrent duplicate committed after the
    # lookup must surface as IntegrityError (answered with the first lead), not 400.
    lead.full_clean(
        exclude=["definition_version", "stage", "team", "owner", "created_by"],
        validate_unique=False,
        validate_constraints=False,
    )
    return lead


def rep_next(*, team: Team) -> User | None:
    """The next active sales rep of the team, round robin, under a lock on the team's cursor."""
    return reps_take(team=team, count=1)[0]


def lead_check_instant(*, lead: Lead, at: datetime, now: datetime, field: str = "at") -> None:
    """An action's instant may be neither in the future nor before the lead arrived."""
    if at > now:
        raise ValidationError({field: "may not be in the future."})
    if at < lead.received_at:
        raise ValidationError(
            {field: f"may not be before the lead was received ({lead.received_at.isoformat()})."}
        )


def touch_create(
    *, lead: Lead, by: User, kind: str, outcome: str, at: datetime, note: str = ""
) -> Touch:
    touch = Touch(lead=lead, kind=kind, outcome=outcome, at=at, note=note, by=by)
    touch.full_clean()
    touch.save()
    return touch


def reason_code_active(code: str) -> ReasonCode:
    """The active reason code named `code`, or a 400 listing the ones to choose from."""
    found = ReasonCode.objects.filter(code=code, is_active=True).first()
    if found is None:
        known = ", ".join(ReasonCode.objects.filter(is_active=True).values_list("code", flat=True))
        raise ValidationError({"reason": f"Unknown reason {code!r}; use one of: {known}."})
    return found


def verdict_accept(*, lead: Lead, by: User, at: datetime) -> bool:
    """Sales accepts the lead as meeting the definition; False when it already was."""
    if lead.verdict == Lead.Verdict.ACCEPTED:
        return False
    lead.verdict, lead.verdict_at, lead.verdict_by = Lead.Verdict.ACCEPTED, at, by
    lead.verdict_reason, lead.verdict_note = None, ""
    lead.save(
        update_fields=["verdict", "verdict_at", "verdict_by", "verdict_reason", "verdict_note"]
    )
    return True


def verdict_reject(*, lead: Lead, by: User, reason: ReasonCode, note: str, at: datetime) -> None:
    """Sales' verdict that the lead does not meet the definition (saved by the caller)."""
    lead.verdict, lead.verdict_at, lead.verdict_by = Lead.Verdict.REJECTED, at, by
    lead.verdict_reason, lead.verdict_note = reason, note


def abandon_record(*, lead: Lead, by: User, reason: str, note: str, at: datetime) -> None:
    """Why and when sales stopped working the lead (saved by the caller)."""
    if not (reason or "").strip():
        raise ValidationError({"reason": "Say why the lead is abandoned."})
    lead.abandoned_at, lead.abandoned_by = at, by
    lead.abandon_reason, lead.abandon_note = reason.strip(), note


def stage_move(*, lead: Lead, stage: Stage, by: User | None, at: datetime, note: str) -> bool:
    """Put the lead in `stage`, recorded in its history; False when it was there already."""
    if lead.stage_id == stage.pk:
        return False
    StageChange.objects.create(
        lead=lead, from_stage_id=lead.stage_id, to_stage=stage, at=at, by=by, note=note
    )
    lead.stage = stage
    return True


def stage_by_slug(slug: str) -> Stage | None:
    return Stage.objects.filter(slug=slug, is_active=True).first()


def owner_set(*, lead: Lead, username: str, at: datetime) -> User:
    """Give the lead to an active sales rep or manager of its team."""
    user = User.objects.filter(username=username, is_active=True).first()
    if user is None or not may_assign_to(user):
        raise ValidationError({"owner": f"{username!r} is not an active sales rep or manager."})
    if lead.team_id and not user.teams.filter(pk=lead.team_id).exists():
        raise ValidationError({"owner": f"{username!r} is not a member of {lead.team}."})
    lead.owner, lead.assigned_at = user, at
    lead.save(update_fields=["owner", "assigned_at"])
    return user


def reps_take(*, team: Team, count: int) -> list[User | None]:
    """The next `count` reps of the team, round robin, under one lock on its cursor.

    Fair exactly as `rep_next` called `count` times: each delivery moves the cursor on.
    """
    if count <= 0:
        return []
    if count == 1 and connection.vendor == "postgresql":
        rep = _rep_take_at_once(team_id=team.pk)
        if rep is not None:
            return [rep]
    cursor = AssignmentCursor.objects.select_for_update().filter(team=team).first()
    if cursor is None:  # the team's first delivery
        AssignmentCursor.objects.get_or_create(team=team)
        cursor = AssignmentCursor.objects.select_for_update().get(team=team)
    reps = list(team.members.filter(is_active=True, role=Role.SALES).order_by("username"))
    if not reps:
        return [None] * count
    ids = [rep.pk for rep in reps]
    if cursor.last_user_id in ids:
        start = (ids.index(cursor.last_user_id) + 1) % len(reps)
    else:
        # The last one left the team or was deactivated: continue after their name.
        last = cursor.last_user.username if cursor.last_user_id else ""
        start = next((i for i, rep in enumerate(reps) if rep.username > last), 0)
    chosen = [reps[(start + i) % len(reps)] for i in range(count)]
    cursor.last_user = chosen[-1]
    cursor.save(update_fields=["last_user"])
    return chosen


def _rep_take_at_once(*, team_id: int) -> User | None:
    """`reps_take(count=1)` as ONE statement: lock the team's cursor, pick the first
    active sales rep whose username sorts after the last one's (wrapping round), move
    the cursor on, and return the rep's row. None when there is no cursor yet or no rep
    (the caller then takes the general path, which creates the cursor or says None).

    After the last rep in username order comes the first; a last rep who left or was
    deactivated is passed by name, exactly as the general path does.
    """
    quote = connection.ops.quote_name
    users, cursors = quote(User._meta.db_table), quote(AssignmentCursor._meta.db_table)
    members = quote(Team.members.through._meta.db_table)
    sql = (
        # The cursor row is locked first and read as it stands once the lock is held
        # (a concurrent delivery's move included); the last rep's name is read after.
        f"WITH locked AS (SELECT team_id, last_user_id FROM {cursors}"  # noqa: S608
        " WHERE team_id = %s FOR UPDATE),"
        " last AS (SELECT locked.team_id, COALESCE("
        f"(SELECT l.username FROM {users} l WHERE l.id = locked.last_user_id), '') AS name"
        " FROM locked),"
        f" rep AS (SELECT u.* FROM {users} u JOIN {members} m ON m.user_id = u.id, last"
        " WHERE m.team_id = last.team_id AND u.is_active AND u.role = %s"
        " ORDER BY u.username <= last.name, u.username LIMIT 1)"
        f" UPDATE {cursors} c SET last_user_id = rep.id FROM rep WHERE c.team_id = %s"
        f" RETURNING {', '.join(select_columns(User, 'rep'))}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [team_id, Role.SALES, team_id])
        found = cursor.fetchone()
    if found is None:
        return None
    return instance_of(User, found)
