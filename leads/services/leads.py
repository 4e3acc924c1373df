"""A lead's record, with no clocks: building one from delivered data, touches, verdicts,
closing, its owner and the round robin that picks one.

Each takes the instant it happens; none reads the clock. The agreement's actions
(`sla.actions`) call these inside their transactions, together with the clock and flag
services, so every interface records a lead the same way.
"""

from collections.abc import Collection, Sequence
from datetime import UTC, datetime

from django.core.exceptions import ValidationError
from django.db import connection
from django.db.models import Count

from accounts.absences import away_at, is_away
from accounts.access import may_assign_to
from accounts.models import Absence, Role, Team, User
from core.bulk import instance_of, select_columns
from funnel.models import Stage, StageChange
from leads.models import (
    AssignmentCursor,
    Lead,
    LeadDefinitionVersion,
    OwnerChange,
    ReasonCode,
    Touch,
)
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


def rep_next(*, team: Team, at: datetime) -> User | None:
    """The next free sales rep of the team for a lead received at `at`, round robin,
    under a lock on the team's cursor (see `reps_take`)."""
    return reps_take(team=team, received_at=[at])[0]


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


def owner_set(
    *,
    lead: Lead,
    username: str,
    at: datetime,
    by: User | None = None,
    reason: str = OwnerChange.Reason.MANUAL,
) -> User:
    """Give the lead to an active sales rep or manager of its team, and record the change
    (who had it, who has it, when, by whom, why): flags read it to name the owner at the
    time of a miss. Giving a lead to its owner changes nothing and records nothing."""
    user = User.objects.filter(username=username, is_active=True).first()
    if user is None or not may_assign_to(user):
        raise ValidationError({"owner": f"{username!r} is not an active sales rep or manager."})
    if lead.team_id and not user.teams.filter(pk=lead.team_id).exists():
        raise ValidationError({"owner": f"{username!r} is not a member of {lead.team}."})
    if lead.owner_id == user.pk:
        return user
    OwnerChange.objects.create(
        lead=lead, from_owner_id=lead.owner_id, to_owner=user, at=at, by=by, reason=reason
    )
    lead.owner, lead.assigned_at = user, at
    lead.save(update_fields=["owner", "assigned_at"])
    return user


def reps_take(
    *,
    team: Team,
    received_at: Sequence[datetime] | None = None,
    count: int | None = None,
    skip: Collection[int] = (),
) -> list[User | None]:
    """The reps of the team for leads received at `received_at` (in delivery order),
    round robin, under one lock on the team's cursor; None for a lead no rep was free
    to take.

    A rep is free for a lead when they are active, not away at that lead's instant
    (accounts.Absence) and hold fewer open leads than their `max_open_leads`, counting
    the leads this call hands out. The turn passes over the others without moving: the
    cursor rests on the last rep actually given a lead, so among the free reps no one
    gets more than one lead ahead of another. `skip`: ids of reps to pass by as well.
    `count` without instants (older callers, tests) checks capacity but no absence.

    Constant queries per call: the cursor, the reps, their open counts (one grouped
    query) and their absences (one query), whatever the number of leads.
    """
    instants: list[datetime | None] = (
        list(received_at) if received_at is not None else [None] * (count or 0)
    )
    if not instants:
        return []
    if len(instants) == 1 and connection.vendor == "postgresql" and not skip:
        rep = _rep_take_at_once(team_id=team.pk, at=instants[0])
        if rep is not None:
            return [rep]
    cursor = AssignmentCursor.objects.select_for_update().filter(team=team).first()
    if cursor is None:  # the team's first delivery
        AssignmentCursor.objects.get_or_create(team=team)
        cursor = AssignmentCursor.objects.select_for_update().get(team=team)
    # Read after the lock: a concurrent delivery's leads count against the caps.
    reps = list(team.members.filter(is_active=True, role=Role.SALES).order_by("username"))
    if not reps:
        return [None] * len(instants)
    ids = [rep.pk for rep in reps]
    if cursor.last_user_id in ids:
        position = ids.index(cursor.last_user_id)
    else:
        # The last one left the team or was deactivated: continue after their name.
        last = cursor.last_user.username if cursor.last_user_id else ""
        position = next((i for i, rep in enumerate(reps) if rep.username > last), 0) - 1
    capped = [rep.pk for rep in reps if rep.max_open_leads is not None]
    held = _open_counts(capped)
    known = [t for t in instants if t is not None]
    spans = away_at(user_ids=ids, instants=known) if known else {}

    def free(rep: User, at: datetime | None) -> bool:
        if rep.pk in skip or (at is not None and is_away(spans.get(rep.pk), at)):
            return False
        return rep.max_open_leads is None or held.get(rep.pk, 0) < rep.max_open_leads

    chosen: list[User | None] = []
    given = None
    for at in instants:
        rep = None
        for step in range(1, len(reps) + 1):
            candidate = reps[(position + step) % len(reps)]
            if free(candidate, at):
                rep, position = candidate, (position + step) % len(reps)
                break
        if rep is not None:
            held[rep.pk] = held.get(rep.pk, 0) + 1
            given = rep
        chosen.append(rep)
    if given is not None:
        cursor.last_user = given
        cursor.save(update_fields=["last_user"])
    return chosen


def _open_counts(user_ids: list[int]) -> dict[int, int]:
    """{rep id: open leads they own}, one grouped query; "open" as the inbox counts it
    (not closed, qualifying)."""
    if not user_ids:
        return {}
    rows = (
        Lead.objects.filter(owner_id__in=user_ids, closed_at__isnull=True, qualifies=True)
        .order_by()
        .values("owner_id")
        .annotate(n=Count("id"))
        .values_list("owner_id", "n")
    )
    return dict(rows)


def _rep_take_at_once(*, team_id: int, at: datetime | None) -> User | None:
    """`reps_take` of one lead as ONE statement: lock the team's cursor, pick the first
    active sales rep whose username sorts after the last one's (wrapping round) who is
    neither away at `at` nor at their cap, move the cursor on, and return the rep's row.
    None when there is no cursor yet or no rep free (the caller then takes the general
    path, which creates the cursor or says None).

    After the last rep in username order comes the first; a last rep who left or was
    deactivated is passed by name, exactly as the general path does.

    The statement reads the leads as they stood when it began, before the lock was
    held: a concurrent delivery that committed meanwhile is not counted. So a rep picked
    who has a cap is not trusted; the cursor is left alone and the general path, which
    counts after the lock, decides. A team without caps never needs it.
    """
    quote = connection.ops.quote_name
    users, cursors = quote(User._meta.db_table), quote(AssignmentCursor._meta.db_table)
    members = quote(Team.members.through._meta.db_table)
    absences, leads = quote(Absence._meta.db_table), quote(Lead._meta.db_table)
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
        # away at the lead's instant (the (user, starts_at, ends_at) index)
        f" AND NOT EXISTS (SELECT 1 FROM {absences} a WHERE a.user_id = u.id"
        " AND a.starts_at <= %s AND a.ends_at > %s)"
        # at the cap: count no further than the cap (the open-leads partial index)
        " AND (u.max_open_leads IS NULL OR (SELECT count(*) FROM ("
        f"SELECT 1 FROM {leads} o WHERE o.owner_id = u.id AND o.closed_at IS NULL"
        " AND o.qualifies LIMIT u.max_open_leads) held) < u.max_open_leads)"
        " ORDER BY u.username <= last.name, u.username LIMIT 1)"
        f" UPDATE {cursors} c SET last_user_id = rep.id FROM rep WHERE c.team_id = %s"
        " AND rep.max_open_leads IS NULL"
        f" RETURNING {', '.join(select_columns(User, 'rep'))}"
    )
    # No instant (an older caller): nobody is away at "no time".
    at_param = at if at is not None else datetime.min.replace(tzinfo=UTC)
    with connection.cursor() as cursor:
        cursor.execute(sql, [team_id, Role.SALES, at_param, at_param, team_id])
        found = cursor.fetchone()
    if found is None:
        return None
    return instance_of(User, found)
