"""A lead's page, read in one go: everything that happened to the lead in time order,
and its score explained rule by rule.

Read-only and set-based: the timeline costs one query per kind of history (clocks,
touches, stage changes, flags) whatever the length of each; the lead itself comes with
its owner, definition version and verdict already joined.
"""

from dataclasses import dataclass, field
from datetime import datetime

from core.timeparse import local_text
from funnel.models import StageChange
from leads.models import Lead
from leads.scoring import LEAD_FIELDS, _describe, matches
from sla.models import Callback, Clock, Flag

# The order of events that happened at the same instant: cause before effect.
ORDER = {
    "delivered": 0,
    "scored": 1,
    "assigned": 2,
    "clock_started": 3,
    "touch": 4,
    "clock_stopped": 5,
    "stage": 6,
    "verdict": 7,
    "abandoned": 8,
    "flag_raised": 9,
    "clock_breached": 10,
    "flag_resolved": 11,
    "callback": 12,
    "callback_paused": 13,
}


@dataclass
class Event:
    at: datetime
    kind: str
    title: str
    detail: str = ""
    by: str = ""
    due_at: datetime | None = None  # a clock's due time, shown beside the event
    tone: str = "secondary"  # the Bootstrap colour of its marker
    extra: dict = field(default_factory=dict)

    @property
    def sort_key(self):
        return (self.at, ORDER.get(self.kind, 99))


def _name(user) -> str:
    return (user.get_full_name() or user.username) if user else ""


def _clock_events(clocks: list[Clock], callbacks: list[Callback]) -> list[Event]:
    """Each clock's start and stop. A clock a callback paused keeps one row whose start
    moved: its first start is read back from its first callback (`previous_*`), and its
    start now is the restart."""
    first_pause = {}
    for callback in callbacks:
        first_pause.setdefault(callback.clock_id, callback)
    events = []
    for clock in clocks:
        label = clock.get_kind_display()
        paused = first_pause.get(clock.pk)
        started = "started"
        if paused is not None:
            started = (
                "restarted after a callback"
                if paused.previous_started_at
                else "started for a callback"
            )
        if paused is not None and paused.previous_started_at is not None:
            events.append(
                Event(
                    at=paused.previous_started_at,
                    kind="clock_started",
                    title=f"{label} clock started",
                    due_at=paused.previous_due_at,
                    tone="primary",
                )
            )
        events.append(
            Event(
                at=clock.started_at,
                kind="clock_started",
                title=f"{label} clock {started}",
                detail=f"{clock.business_minutes} business minutes",
                due_at=clock.due_at,
                tone="primary",
                extra={"clock": clock},
            )
        )
        if clock.stopped_at is not None:
            late = clock.stopped_at > clock.due_at
            reason = (clock.stop_reason or "stopped").replace("_", " ")
            events.append(
                Event(
                    at=clock.stopped_at,
                    kind="clock_stopped",
                    title=f"{label} clock stopped {'late' if late else 'in time'}",
                    detail=f"by {reason}",
                    due_at=clock.due_at,
                    tone="danger" if late else "success",
                )
            )
    return events


def _touch_event(touch) -> Event:
    return Event(
        at=touch.at,
        kind="touch",
        title=f"{touch.get_kind_display()}: {touch.get_outcome_display()}",
        detail=touch.note,
        by=_name(touch.by),
        tone="info",
    )


def _stage_event(change: StageChange) -> Event:
    origin = change.from_stage.name if change.from_stage else "—"
    return Event(
        at=change.at,
        kind="stage",
        title=f"Stage {origin} → {change.to_stage.name}",
        detail=change.note,
        by=_name(change.by) or "system",
        tone="dark",
    )


def _flag_events(flags: list[Flag]) -> list[Event]:
    events = []
    for flag in flags:
        events.append(
            Event(
                at=flag.raised_at,
                kind="flag_raised",
                title=f"Flag raised: {flag.get_kind_display()}",
                detail=flag.detail,
                by=_name(flag.owner),
                due_at=flag.due_at,
                tone="danger" if flag.kind in Flag.BREACH_KINDS else "warning",
                extra={"flag": flag},
            )
        )
        if flag.resolved_at is not None:
            events.append(
                Event(
                    at=flag.resolved_at,
                    kind="flag_resolved",
                    title=f"Flag resolved: {flag.get_kind_display()}",
                    detail=flag.resolution_note,
                    by=_name(flag.resolved_by),
                    tone="success",
                )
            )
    return events


def _callback_events(callback: Callback, zone: str) -> list[Event]:
    """A callback's two events: "Callback asked for Tue 8 Dec 10:00 EST", who set it and
    why; then which clock it paused and its due time now (in the calendar's zone, as
    flags say their times)."""
    what = Clock.Kind(callback.kind).label.lower()
    until = local_text(callback.at, zone)
    due = f"due now {local_text(callback.due_at, zone)}"
    if callback.previous_due_at is not None:
        paused = f"Paused the {what} clock until {until}"
        due = f"was due {local_text(callback.previous_due_at, zone)}; {due}"
    else:  # the lead was connected: no clock ran
        paused = f"Started a {what} clock at {until}"
    if callback.approved_by is not None:
        due += f"; beyond the agreement's limits, approved by {_name(callback.approved_by)}"
    return [
        Event(
            at=callback.set_at,
            kind="callback",
            title=f"Callback asked for {local_text(callback.at, zone)}",
            detail=callback.note,
            by=_name(callback.set_by),
            tone="info",
            extra={"callback": callback},
        ),
        Event(
            at=callback.set_at,
            kind="callback_paused",
            title=paused,
            detail=due,  # said here, in the calendar's zone, rather than as a second "Due"
            tone="info",
        ),
    ]


def _lead_events(lead: Lead) -> list[Event]:
    version = lead.definition_version
    events = [
        Event(
            at=lead.received_at,
            kind="delivered",
            title="Delivered by marketing",
            detail=f"source: {lead.source}" if lead.source else "",
            by=_name(lead.created_by),
            tone="secondary",
        ),
        Event(
            at=lead.received_at,
            kind="scored",
            title=f"Scored {lead.score} under {version.name} v{version.version}",
            detail=(
                f"qualifies (at {version.qualify_at})"
                if lead.qualifies
                else f"does not qualify (needs {version.qualify_at})"
            ),
            tone="success" if lead.qualifies else "secondary",
        ),
    ]
    if lead.assigned_at is not None and lead.owner is not None:
        events.append(
            Event(
                at=lead.assigned_at,
                kind="assigned",
                title=f"Assigned to {_name(lead.owner)}",
                detail=f"team {lead.team.name}" if lead.team else "",
                tone="secondary",
            )
        )
    if lead.verdict_at is not None:
        accepted = lead.verdict == Lead.Verdict.ACCEPTED
        reason = lead.verdict_reason.label if lead.verdict_reason else ""
        events.append(
            Event(
                at=lead.verdict_at,
                kind="verdict",
                title="Accepted by sales" if accepted else f"Rejected: {reason}",
                detail=lead.verdict_note,
                by=_name(lead.verdict_by),
                tone="success" if accepted else "danger",
            )
        )
    if lead.abandoned_at is not None:
        events.append(
            Event(
                at=lead.abandoned_at,
                kind="abandoned",
                title=f"Abandoned: {lead.abandon_reason}",
                detail=lead.abandon_note,
                by=_name(lead.abandoned_by),
                tone="dark",
            )
        )
    return events


def lead_timeline(lead: Lead, *, now: datetime) -> list[Event]:
    """Every event of the lead, oldest first, in five queries (clocks, callbacks, touches,
    stage changes, flags) whatever their number. `lead` should come with its owner, team,
    definition version, verdict reason and the people who acted joined."""
    clocks = list(Clock.objects.filter(lead=lead).order_by("started_at", "id"))
    callbacks = list(
        Callback.objects.filter(lead=lead)
        .select_related("set_by", "approved_by")
        .order_by("set_at", "id")
    )
    terms = getattr(lead, "terms", None)
    zone = terms.agreement.calendar.timezone if terms else "UTC"
    touches = lead.touches.select_related("by").order_by("at", "id")
    changes = StageChange.objects.filter(lead=lead).select_related("from_stage", "to_stage", "by")
    flags = Flag.objects.filter(lead=lead).select_related("owner", "resolved_by")
    events = _lead_events(lead) + _clock_events(clocks, callbacks)
    events += [event for callback in callbacks for event in _callback_events(callback, zone)]
    events += [_touch_event(touch) for touch in touches]
    events += [_stage_event(change) for change in changes.order_by("at", "id")]
    events += _flag_events(list(flags))
    # A running clock past due is part of the story even before a check flagged it.
    flagged = {event.extra["flag"].clock_id for event in events if "flag" in event.extra}
    events += [
        Event(
            at=clock.due_at,
            kind="clock_breached",
            title=f"{clock.get_kind_display()} clock ran out",
            detail="no touch by its due time",
            due_at=clock.due_at,
            tone="danger",
        )
        for clock in clocks
        if clock.state == Clock.State.RUNNING and clock.due_at <= now and clock.pk not in flagged
    ]
    return sorted(events, key=lambda event: event.sort_key)


def lead_data(lead: Lead) -> dict:
    """The lead as the scoring rules read it (fields and attributes)."""
    data = {name: getattr(lead, name) for name in LEAD_FIELDS}
    data["attributes"] = lead.attributes or {}
    return data


def score_breakdown(lead: Lead) -> dict:
    """Every rule of the definition version that judged the lead, matched or not: the
    criteria with their points, and the disqualifiers. The stored score is what counts;
    the rules are re-read here only to show which gave it."""
    version = lead.definition_version
    data = lead_data(lead)
    criteria = [
        {
            "label": rule.get("label") or _describe(rule),
            "points": int(rule.get("points", 0)),
            "matched": matches(data, rule),
        }
        for rule in version.criteria or []
    ]
    disqualifiers = [
        {
            "label": rule.get("label") or _describe(rule),
            "matched": matches(data, rule),
        }
        for rule in version.disqualifiers or []
    ]
    return {
        "version": version,
        "criteria": criteria,
        "disqualifiers": disqualifiers,
        "score": lead.score,
        "qualifies": lead.qualifies,
    }
