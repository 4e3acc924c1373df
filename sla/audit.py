"""One readable record of who changed what and when, read from the history each part keeps.

People and their roles (and that a password changed, never the hash), teams and their
members, calendars, agreements and definitions (their frozen versions), commitments,
stages, reason codes, absences, callbacks, owner changes and flag resolutions. Nothing here
writes: the history rows are the record and the page only reads them.

A page is keyset-paginated by time: each source gives at most `limit` entries before the
cursor, in one query, and one more for the rows their changes are measured against, so a
page costs a constant number of queries however long the history grows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from django.db.models import Q
from django.urls import NoReverseMatch, reverse

from accounts.models import Absence, Team, User
from calendars.models import BusinessCalendar
from funnel.models import Stage
from leads.models import LeadDefinitionVersion, OwnerChange, ReasonCode
from sla.models import AgreementVersion, Callback, Flag, MonthlyCommitment, MonthReopening

ACTIONS = {"+": "created", "~": "changed", "-": "deleted"}


@dataclass
class Entry:
    at: datetime
    who: str  # a username, or "slaops" for the checks and the system
    kind: str  # a key of KINDS
    subject: str
    action: str
    changes: list[tuple[str, str, str]] = field(default_factory=list)  # (field, before, after)
    note: str = ""
    url: str | None = None


def _text(value) -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, datetime):
        return value.isoformat(timespec="minutes")
    text = str(value)
    return text if len(text) <= 120 else text[:117] + "…"


# Fields whose value is a secret: the record says it changed, never what it is.
SECRET_FIELDS = frozenset({"chat_webhook_url"})


def _shown(name: str, value) -> str:
    if name in SECRET_FIELDS:
        return "(set)" if value else "—"
    return _text(value)


def _url(name: str, *args) -> str | None:
    try:
        return reverse(name, args=args)
    except NoReverseMatch:
        return None


def _username(user_id, names: dict[int, str]) -> str:
    return names.get(user_id, f"user {user_id}") if user_id else "slaops"


def _names(ids) -> dict[int, str]:
    ids = {i for i in ids if i}
    return dict(User.objects.filter(pk__in=ids).values_list("id", "username")) if ids else {}


def _window(rows, when: str, who: str, *, before, since, who_id):
    """The rows of a source in the page's window: before the cursor, since the period's
    start, by the person asked for (each filter only when given)."""
    if before is not None:
        rows = rows.filter(**{f"{when}__lt": before})
    if since is not None:
        rows = rows.filter(**{f"{when}__gte": since})
    if who_id is not None:
        rows = rows.filter(**{who: who_id})
    return rows


# --- sources kept by django-simple-history ---------------------------------------------------


@dataclass(frozen=True)
class HistorySource:
    kind: str
    model: type
    subject: callable
    fields: tuple[str, ...]
    url: callable = None


def _history_entries(source: HistorySource, *, before, since, who_id, limit) -> list[Entry]:
    history = source.model.history
    rows = history.all()
    rows = _window(
        rows, "history_date", "history_user_id", before=before, since=since, who_id=who_id
    )
    # Saves that changed no field worth reading are passed over: read three times the page
    # in the one query so that a page still fills.
    page = list(
        rows.select_related("history_user").order_by("-history_date", "-history_id")[: limit * 3]
    )
    if not page:
        return []
    # The row each change is measured against: the object's previous history row (one
    # query for the page's objects, bounded by their own history).
    newest = max(row.history_date for row in page)
    earlier: dict = {}
    for row in history.filter(id__in={r.id for r in page}, history_date__lte=newest).order_by(
        "id", "history_date", "history_id"
    ):
        earlier.setdefault(row.id, []).append(row)
    members = _members_of([r for rows in earlier.values() for r in rows], source)
    entries = []
    for row in page:
        if len(entries) == limit:
            break
        key = (row.history_date, row.history_id)
        previous = [r for r in earlier.get(row.id, []) if (r.history_date, r.history_id) < key]
        before_row = previous[-1] if previous else None
        changes = []
        if row.history_type == "~" and before_row is not None:
            for name in source.fields:
                old, new = getattr(before_row, name, None), getattr(row, name, None)
                if old != new:
                    changes.append((name, _shown(name, old), _shown(name, new)))
        elif row.history_type == "+":
            changes = [
                (name, "—", _shown(name, getattr(row, name, None)))
                for name in source.fields
                if getattr(row, name, None) not in (None, "", [], {})
            ]
        if members is not None:
            now_in = members.get(row.history_id, set())
            was_in = members.get(before_row.history_id, set()) if before_row else set()
            if now_in != was_in:
                joined, left = sorted(now_in - was_in), sorted(was_in - now_in)
                changes.append(
                    ("members", ", ".join(left) or "—", ", ".join(joined) or "—")
                    if row.history_type != "+"
                    else ("members", "—", ", ".join(joined))
                )
        note = row.history_change_reason or ""
        if row.history_type == "~" and not changes and not note:
            continue  # saved without a change worth reading
        entries.append(
            Entry(
                at=row.history_date,
                who=row.history_user.username if row.history_user else "slaops",
                kind=source.kind,
                subject=source.subject(row),
                action=ACTIONS.get(row.history_type, row.history_type),
                changes=changes,
                note=note,
                url=source.url(row) if source.url else None,
            )
        )
    return entries


HISTORIES = [
    HistorySource(
        "people",
        User,
        lambda r: f"{r.username} ({r.get_role_display()})",
        ("role", "is_active", "first_name", "last_name", "email", "is_staff", "max_open_leads"),
    ),
    HistorySource(
        "teams",
        Team,
        lambda r: f"team {r.name}",
        ("name", "kind", "calendar_id", "chat_webhook_url"),
        lambda r: _url("team-detail", r.id),
    ),
    HistorySource(
        "calendars",
        BusinessCalendar,
        lambda r: f"calendar {r.name}",
        ("name", "timezone", "working_hours", "holidays"),
        lambda r: _url("calendar-detail", r.id),
    ),
    HistorySource(
        "commitments",
        MonthlyCommitment,
        lambda r: f"commitment {r.month} of agreement {r.agreement_id}",
        ("quota", "note"),
    ),
    HistorySource(
        "stages",
        Stage,
        lambda r: f"stage {r.name}",
        ("name", "position", "kind", "is_active", "reopenable"),
    ),
    HistorySource(
        "reason codes", ReasonCode, lambda r: f"reason {r.code}", ("label", "is_active", "position")
    ),
    HistorySource(
        "absences",
        Absence,
        lambda r: f"absence of user {r.user_id}",
        ("starts_at", "ends_at", "reason"),
    ),
    HistorySource(
        "callbacks",
        Callback,
        lambda r: f"callback on lead {r.lead_id}",
        ("at", "due_at", "note", "approved_by_id"),
        lambda r: _url("lead-detail", r.lead_id),
    ),
]


def _members_of(rows, source: HistorySource) -> dict[int, set[str]] | None:
    """For a team's history rows, the usernames of its members as each row recorded them
    (simple_history keeps an m2m snapshot per row); None for the other sources."""
    if source.model is not Team or not rows:
        return None
    through = Team.history.model._meta.get_field("historicalteam_members").related_model
    found: dict[int, set[str]] = {}
    for history_id, username in through.objects.filter(
        history_id__in=[r.history_id for r in rows]
    ).values_list("history_id", "user__username"):
        found.setdefault(history_id, set()).add(username)
    return found


# --- sources that are their own record --------------------------------------------------------


def _version_entries(model, kind, *, before, since, who_id, limit) -> list[Entry]:
    rows = model.objects.all()
    rows = _window(rows, "created_at", "created_by_id", before=before, since=since, who_id=who_id)
    page = list(rows.select_related("created_by").order_by("-created_at", "-id")[:limit])
    if not page:
        return []
    parent = "agreement_id" if model is AgreementVersion else "definition_id"
    wanted = Q()
    for row in page:
        wanted |= Q(**{parent: getattr(row, parent)}, version=row.version - 1)
    previous = {(getattr(r, parent), r.version): r for r in model.objects.filter(wanted)}
    entries = []
    for row in page:
        before_row = previous.get((getattr(row, parent), row.version - 1))
        now_terms, old_terms = _terms_of(row), _terms_of(before_row) if before_row else {}
        changes = [
            (name, _text(old_terms.get(name)), _text(value))
            for name, value in now_terms.items()
            if old_terms.get(name) != value
        ]
        if model is AgreementVersion:
            subject = f"agreement {row.agreement_id} version {row.version}"
            url = _url("agreement-detail", row.agreement_id)
        else:
            subject = f"definition {row.name} version {row.version}"
            url = _url("definition-detail", row.definition_id)
        entries.append(
            Entry(
                at=row.created_at,
                who=row.created_by.username if row.created_by else "slaops",
                kind=kind,
                subject=subject,
                action="created" if row.version == 1 else "changed",
                changes=changes,
                url=url,
            )
        )
    return entries


def _terms_of(row) -> dict:
    if row is None:
        return {}
    if isinstance(row, AgreementVersion):
        return dict(row.terms or {})
    return {
        name: getattr(row, name)
        for name in ("name", "good_lead", "not_a_lead", "handling", "qualify_at", "criteria")
    } | {"disqualifiers": row.disqualifiers}


def _owner_entries(*, before, since, who_id, limit) -> list[Entry]:
    rows = OwnerChange.objects.all()
    rows = _window(rows, "at", "by_id", before=before, since=since, who_id=who_id)
    page = list(rows.order_by("-at", "-id")[:limit])
    names = _names(i for row in page for i in (row.by_id, row.from_owner_id, row.to_owner_id))
    return [
        Entry(
            at=row.at,
            who=_username(row.by_id, names),
            kind="assignments",
            subject=f"lead {row.lead_id}",
            action="reassigned",
            changes=[
                ("owner", _username(row.from_owner_id, names), _username(row.to_owner_id, names))
            ],
            note=row.get_reason_display(),
            url=_url("lead-detail", row.lead_id),
        )
        for row in page
    ]


def _flag_entries(*, before, since, who_id, limit) -> list[Entry]:
    rows = Flag.objects.filter(resolved_at__isnull=False, resolved_by__isnull=False)
    rows = _window(rows, "resolved_at", "resolved_by_id", before=before, since=since, who_id=who_id)
    page = list(rows.order_by("-resolved_at", "-id")[:limit])
    names = _names(row.resolved_by_id for row in page)
    return [
        Entry(
            at=row.resolved_at,
            who=_username(row.resolved_by_id, names),
            kind="flags",
            subject=f"{row.get_kind_display()} flag {row.id}"
            + (f" on lead {row.lead_id}" if row.lead_id else f" ({row.month})"),
            action="resolved",
            changes=[("state", "open", "resolved")],
            note=row.resolution_note,
            url=_url("lead-detail", row.lead_id) if row.lead_id else _url("flag-list"),
        )
        for row in page
    ]


def _reopening_entries(*, before, since, who_id, limit) -> list[Entry]:
    """Closed months an admin reopened (sla.books.month_reopen), with the reason."""
    rows = MonthReopening.objects.select_related("agreement")
    rows = _window(rows, "at", "by_id", before=before, since=since, who_id=who_id)
    page = list(rows.order_by("-at", "-id")[:limit])
    names = _names(row.by_id for row in page)
    return [
        Entry(
            at=row.at,
            who=_username(row.by_id, names),
            kind="closed months",
            subject=f"{row.month} of {row.agreement.name}",
            action="reopened",
            changes=[("period", "closed", "open")],
            note=row.reason,
            url=_url("month-reopen", row.agreement_id, row.month),
        )
        for row in page
    ]


KINDS = (
    "people",
    "teams",
    "calendars",
    "agreements",
    "definitions",
    "commitments",
    "stages",
    "reason codes",
    "assignments",
    "flags",
    "closed months",
    "absences",
    "callbacks",
)


def audit_entries(
    *,
    kind: str | None = None,
    who: User | None = None,
    since: datetime | None = None,
    before: datetime | None = None,
    limit: int = 50,
) -> list[Entry]:
    """The latest `limit` entries before `before` (newest first), of one kind or all."""
    who_id = who.pk if who is not None else None
    common = {"before": before, "since": since, "who_id": who_id, "limit": limit}
    entries: list[Entry] = []
    for source in HISTORIES:
        if kind in (None, source.kind):
            entries += _history_entries(source, **common)
    if kind in (None, "agreements"):
        entries += _version_entries(AgreementVersion, "agreements", **common)
    if kind in (None, "definitions"):
        entries += _version_entries(LeadDefinitionVersion, "definitions", **common)
    if kind in (None, "assignments"):
        entries += _owner_entries(**common)
    if kind in (None, "flags"):
        entries += _flag_entries(**common)
    if kind in (None, "closed months"):
        entries += _reopening_entries(**common)
    entries.sort(key=lambda e: e.at, reverse=True)
    return entries[:limit]
