"""The dashboard's tables: every figure as a cell with the filtered list behind it (the
lead list or the flags, with the API's filter names), the same cells the page shows and
the CSV export writes."""

from __future__ import annotations

from datetime import datetime

from django.urls import reverse
from django.utils.http import urlencode

from sla.compliance import MARKETING_STATUSES
from sla.figures.charts import BREACH_COLUMNS, BREACH_LABELS
from sla.models import Flag


def status_words(code: str | None) -> str:
    """A marketing status as sla.compliance words it (any other code made readable)."""
    if not code:
        return "—"
    return MARKETING_STATUSES.get(code, str(code).replace("_", " ").capitalize())


def _iso(instant: datetime) -> str:
    return instant.isoformat().replace("+00:00", "Z")


def leads_url(scope, agreement=None, **extra) -> str:
    params = {"agreement": agreement.id} if agreement else {}
    bounds = scope.bounds(agreement)
    if bounds:
        params["received_after"], params["received_before"] = map(_iso, bounds)
    params.update(extra)
    return f"{reverse('lead-list')}?{urlencode(params)}"


def flags_url(scope, *, kind: str, agreement=None, state: str = "", **extra) -> str:
    params = {"kind": kind, "month": scope.month}
    if agreement:
        params["agreement"] = agreement.id
    params.update(extra)
    params["state"] = state  # empty: every state
    return f"{reverse('flag-list')}?{urlencode(params)}"


def cell(value, url: str | None = None, unit: str = "") -> dict:
    text = "—" if value is None else f"{value}{unit}"
    return {"value": value, "text": text, "url": url}


STATUS_BADGES = {"met": "success", "on_track": "success", "at_risk": "warning", "missed": "danger"}


def status_cell(code: str | None) -> dict:
    """The status in words, with the badge colour the inbox uses for the same meaning."""
    found = cell(status_words(code) if code else None)
    found["badge"] = STATUS_BADGES.get(code, "secondary") if code else None
    return found


# --- scorecards ---------------------------------------------------------------------------


def marketing_metrics(card: dict, scope, agreement) -> list[tuple[str, dict]]:
    return [
        ("Status", status_cell(card["status"])),
        ("Committed", cell(card["committed"], reverse("commitment-list"))),
        ("Delivered", cell(card["delivered"], leads_url(scope, agreement))),
        (
            "Qualified",
            cell(card["delivered_qualified"], leads_url(scope, agreement, qualifies="true")),
        ),
        # Delivered again while the first lead was open (sla.duplicates): not qualified.
        (
            "Duplicates",
            cell(card.get("duplicates", 0), leads_url(scope, agreement, duplicate="true")),
        ),
        # The commitment's pace: its page shows the chart it is read from.
        ("Expected to date", cell(card["expected_to_date"], reverse("commitment-list"))),
        (
            "Attainment",
            cell(
                card["attainment_percent"],
                leads_url(scope, agreement, qualifies="true"),
                unit=" %",
            ),
        ),
        ("Accepted", cell(card["accepted"], leads_url(scope, agreement, verdict="accepted"))),
        # A rejection counts once final (its dispute window over, or upheld): while some
        # are pending the list of rejected leads holds more than the count, so no link.
        (
            "Rejected",
            cell(
                card["rejected"],
                None
                if card.get("rejections_pending")
                else leads_url(scope, agreement, verdict="rejected"),
            ),
        ),
        ("Open disputes", cell(card.get("disputes_open", 0))),
        (
            "Acceptance",
            cell(
                card["acceptance_percent"],
                None
                if card.get("rejections_pending")
                else leads_url(scope, agreement, verdict_given="true"),
                unit=" %",
            ),
        ),
    ]


def sales_metrics(card: dict, scope, agreement) -> list[tuple[str, dict]]:
    kinds = Flag.Kind
    return [
        (
            "First-touch compliance",
            cell(
                card["compliance_percent"],
                leads_url(scope, agreement, qualifies="true", first_touch="decided"),
                unit=" %",
            ),
        ),
        (
            "Touched within SLA",
            cell(card["within"], leads_url(scope, agreement, qualifies="true", first_touch="kept")),
        ),
        (
            "First touch breached",
            cell(
                card["breached"],
                flags_url(scope, kind=kinds.FIRST_TOUCH_BREACHED, agreement=agreement),
            ),
        ),
        (
            "Median first touch",
            cell(
                card["median_first_touch_minutes"],
                leads_url(scope, agreement, qualifies="true", first_touch="touched"),
                unit=" min",
            ),
        ),
        (
            "p90 first touch",
            cell(
                card["p90_first_touch_minutes"],
                leads_url(scope, agreement, qualifies="true", first_touch="touched"),
                unit=" min",
            ),
        ),
        (
            "Open breaches: first touch",
            cell(
                card["open_first"],
                flags_url(
                    scope, kind=kinds.FIRST_TOUCH_BREACHED, agreement=agreement, state="open"
                ),
            ),
        ),
        (
            "Open breaches: next touch",
            cell(
                card["open_next"],
                flags_url(scope, kind=kinds.NEXT_TOUCH_BREACHED, agreement=agreement, state="open"),
            ),
        ),
        (
            "Premature abandons",
            cell(
                card["premature_abandons"],
                flags_url(scope, kind=kinds.PREMATURE_ABANDON, agreement=agreement),
            ),
        ),
    ]


def scorecard_blocks(current, previous, cards_now, cards_before) -> list[dict]:
    """One block per agreement, all together first: each side's metrics, both months."""
    blocks = []
    for agreement in (None, *current.agreements):
        now, before = (
            cards_now.get(agreement and agreement.id),
            cards_before.get(agreement and agreement.id),
        )
        sides = []
        for side, metrics in (("Marketing", marketing_metrics), ("Sales", sales_metrics)):
            rows_now = metrics(now, current, agreement)
            rows_before = metrics(before, previous, agreement)
            sides.append(
                {
                    "side": side,
                    "rows": [
                        {"label": label, "now": a, "before": b}
                        for (label, a), (_, b) in zip(rows_now, rows_before, strict=True)
                    ],
                }
            )
        blocks.append({"agreement": agreement, "sides": sides, "card": now})
    return blocks


def scorecard_table(blocks, current, previous) -> dict:
    rows = []
    for block in blocks:
        name = block["agreement"].name if block["agreement"] else "All agreements"
        for side in block["sides"]:
            for row in side["rows"]:
                for month, key in ((current.month, "now"), (previous.month, "before")):
                    rows.append(
                        [cell(name), cell(month), cell(side["side"]), cell(row["label"]), row[key]]
                    )
    return {
        "name": "scorecard",
        "title": "Scorecards",
        "header": ["Agreement", "Month", "Side", "Figure", "Value"],
        "rows": rows,
    }


# --- chart tables -------------------------------------------------------------------------


def pacing_table(series) -> dict:
    rows = []
    for item in series:
        for index, point in enumerate(item["points"], start=1):
            rows.append(
                [
                    cell(item["agreement"].name),
                    cell(index),
                    cell(point["day"].isoformat()),
                    cell(point["qualified"]),
                    cell(point["expected"]),
                    cell(item["committed"]),
                ]
            )
    header = [
        "Agreement",
        "Business day",
        "Date",
        "Qualified to date",
        "Expected pace",
        "Committed",
    ]
    return {"name": "pacing", "title": "Quota pacing", "header": header, "rows": rows}


def distribution_table(bands) -> dict:
    rows = [[cell(band["band"]), cell(band["leads"])] for band in bands]
    header = ["Business minutes to first touch", "Leads"]
    return {"name": "first_touch", "title": "Time to first touch", "header": header, "rows": rows}


def _breach_rows(groups, key, link) -> list[list[dict]]:
    """One row per key (label, filter params), one column per breach kind. A flag with
    no owner or team has no filter that lists it: its count is shown, not linked."""
    totals: dict = {}
    for group in groups:
        entry = totals.setdefault(key(group), {})
        entry[group["kind"]] = entry.get(group["kind"], 0) + group["n"]
    return [
        [cell(label)]
        + [
            cell(counts.get(kind, 0), link(kind, dict(params)) if params else None)
            for kind in BREACH_COLUMNS
        ]
        for (label, params), counts in totals.items()
    ]


def breach_tables(groups, scope) -> tuple[dict, dict]:
    agreements = {a.id: a for a in scope.agreements}

    def by_rep(group):
        agreement, owner = agreements[group["agreement_id"]], group["owner__username"]
        params = (("agreement", agreement), ("owner", owner)) if owner else None
        return f"{owner or 'unassigned'} · {agreement.name}", params

    def by_team(group):
        team = group["team_id"]
        return group["team__name"] or "no team", (("team", team),) if team else None

    def link(kind, params):
        return flags_url(scope, kind=kind, **params)

    kinds = list(BREACH_LABELS)
    return (
        {
            "name": "breaches_by_rep",
            "title": "Breaches by rep",
            "header": ["Rep · agreement", *kinds],
            "rows": _breach_rows(groups, by_rep, link),
        },
        {
            "name": "breaches_by_team",
            "title": "Breaches by team",
            "header": ["Team", *kinds],
            "rows": _breach_rows(groups, by_team, link),
        },
    )


def rep_table(reps, scope) -> dict:
    agreements = {a.id: a for a in scope.agreements}
    rows = []
    for rep in reps:
        agreement, owner = agreements[rep["agreement_id"]], rep["owner"]
        breached_url = None
        if owner:
            breached_url = flags_url(
                scope, kind=Flag.Kind.FIRST_TOUCH_BREACHED, agreement=agreement, owner=owner
            )
        rows.append(
            [
                cell(owner or "unassigned"),
                cell(agreement.name),
                cell(rep["leads"], leads_url(scope, agreement, owner=owner) if owner else None),
                cell(rep["touched_within_sla"]),
                cell(rep["breached"], breached_url),
                cell(rep["compliance_percent"], unit=" %"),
                cell(rep["median_first_touch_minutes"], unit=" min"),
                cell(rep["p90_first_touch_minutes"], unit=" min"),
            ]
        )
    header = [
        "Rep",
        "Agreement",
        "Leads",
        "Within SLA",
        "Breached",
        "Compliance",
        "Median first touch",
        "p90 first touch",
    ]
    return {"name": "sales_by_rep", "title": "First touch by rep", "header": header, "rows": rows}


def tier_table(tiers, scope) -> dict:
    """First touch by tier (compliance's `by_tier`); `shown` once any agreement in view
    has tiers or a lead of the month was delivered under one."""
    agreements = {a.id: a for a in scope.agreements}
    rows = [
        [
            cell(row["tier"] or "default terms"),
            cell(agreements[row["agreement_id"]].name),
            cell(row["leads"]),
            cell(row["touched_within_sla"]),
            cell(row["breached"]),
            cell(row["compliance_percent"], unit=" %"),
            cell(row["median_first_touch_minutes"], unit=" min"),
            cell(row["p90_first_touch_minutes"], unit=" min"),
        ]
        for row in tiers
    ]
    header = [
        "Tier",
        "Agreement",
        "Leads",
        "Within SLA",
        "Breached",
        "Compliance",
        "Median first touch",
        "p90 first touch",
    ]
    shown = any(a.tiers for a in scope.agreements) or any(row["tier"] for row in tiers)
    return {
        "name": "sales_by_tier",
        "title": "First touch by tier",
        "header": header,
        "rows": rows,
        "shown": shown,
    }


def funnel_table(stages, scope) -> dict:
    rows = [
        [
            cell(row["stage"].name),
            cell(row["now"], leads_url(scope, stage=row["stage"].slug)),
            cell(row["reached"]),
            cell(row["conversion_percent"], unit=" %"),
            cell(row["median_minutes"], unit=" min"),
        ]
        for row in stages
    ]
    header = ["Stage", "Now in it", "Reached it", "Went on", "Median time in it"]
    return {"name": "funnel", "title": "Funnel", "header": header, "rows": rows}


def trend_table(months) -> dict:
    rows = [
        [
            cell(row["month"]),
            cell(row["committed"]),
            cell(row["qualified"]),
            cell(row["attainment_percent"], unit=" %"),
            cell(row["acceptance_percent"], unit=" %"),
            cell(row["compliance_percent"], unit=" %"),
        ]
        for row in months
    ]
    header = [
        "Month",
        "Committed",
        "Qualified",
        "Attainment",
        "Acceptance",
        "First-touch compliance",
    ]
    return {"name": "trend", "title": "12-month trend", "header": header, "rows": rows}
