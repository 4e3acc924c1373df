"""Path 5: `GET /api/compliance/` for a month of 100,000 leads, against one SQL statement.

The marketing manager asks for the last whole month of the first agreement (about
100,000 leads at scale 1), in process through Django's test client with a token. The
reference is one hand-written statement computing the same aggregate: marketing's
counts, sales' kept and breached first touches per rep, the median and p90 of the
first-touch minutes, the committed quota and the flag counts. It measures minutes as
elapsed time, where the application converts each touched lead's minutes to business
minutes of the calendar in Python, so the reference is the cheaper of the two by that
conversion. Target: at most 1.5x the reference + 30 ms (median against median).

`detail.trend` measures the dashboard's 12-month trend (`sla.compliance.compliance_trend`,
in process) the same way, against HAND_TREND_SQL, with the same target.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

from bench.common import alternate, ms, p95, row
from bench.common import median as median_of

NAME = "compliance"
ROWS = {"compliance": ("ms", "<= 1.5x SQL + 30 ms")}

HAND_SQL = """
WITH month_leads AS (
    SELECT l.id, l.owner_id, l.qualifies, l.verdict
    FROM leads_lead l JOIN sla_leadterms t ON t.lead_id = l.id
    WHERE t.agreement_id = %(agreement)s
      AND l.received_at >= %(start)s AND l.received_at < %(end)s
), clocks AS (
    SELECT m.owner_id, c.state, c.started_at, c.stopped_at, c.due_at, c.stop_reason
    FROM month_leads m
    -- An index lookup per lead of the month, not a hash of every clock (OFFSET 0 keeps it).
    CROSS JOIN LATERAL (SELECT state, started_at, stopped_at, due_at, stop_reason
                        FROM sla_clock WHERE lead_id = m.id AND kind = 'first_touch'
                        OFFSET 0) c
    WHERE m.qualifies
), judged AS (
    SELECT owner_id,
           state = 'stopped' AND stopped_at <= due_at AND stopped_at <= %(at)s AS within,
           due_at <= %(at)s AND ((state = 'running' AND due_at <= %(at)s)
                                 OR (state = 'stopped' AND stopped_at > due_at)) AS breached,
           CASE WHEN stop_reason IN ('touch', 'connected') AND stopped_at <= %(at)s
                THEN floor(extract(epoch FROM stopped_at - started_at) / 60) END AS minutes
    FROM clocks
), per_owner AS (
    SELECT owner_id, GROUPING(owner_id) AS total,
           count(*) FILTER (WHERE within) AS within,
           count(*) FILTER (WHERE breached) AS breached,
           percentile_disc(0.5) WITHIN GROUP (ORDER BY minutes) AS median_minutes,
           percentile_disc(0.9) WITHIN GROUP (ORDER BY minutes) AS p90_minutes
    FROM judged GROUP BY GROUPING SETS ((owner_id), ())
), leads_per_owner AS (
    SELECT owner_id, GROUPING(owner_id) AS total, count(*) FILTER (WHERE qualifies) AS leads
    FROM month_leads GROUP BY GROUPING SETS ((owner_id), ())
), marketing AS (
    SELECT count(*) AS delivered,
           count(*) FILTER (WHERE qualifies) AS delivered_qualified,
           count(*) FILTER (WHERE verdict = 'accepted') AS accepted,
           count(*) FILTER (WHERE verdict = 'rejected') AS rejected
    FROM month_leads
), flags AS (
    SELECT count(*) FILTER (WHERE kind IN ('first_touch_breached', 'next_touch_breached')
                            AND state = 'open') AS open_breaches,
           count(*) FILTER (WHERE kind = 'premature_abandon') AS premature_abandons
    FROM sla_flag WHERE agreement_id = %(agreement)s AND month = %(month)s
), committed AS (
    SELECT COALESCE((SELECT quota FROM sla_monthlycommitment
                     WHERE agreement_id = %(agreement)s AND month = %(month)s),
                    a.monthly_quota) AS committed
    FROM sla_agreement a WHERE a.id = %(agreement)s
)
SELECT json_build_object(
    'marketing', (SELECT row_to_json(m) FROM marketing m),
    'committed', (SELECT committed FROM committed),
    'flags', (SELECT row_to_json(f) FROM flags f),
    'sales', (SELECT json_build_object('leads', lo.leads, 'within', po.within,
                                       'breached', po.breached, 'median', po.median_minutes,
                                       'p90', po.p90_minutes)
              FROM leads_per_owner lo LEFT JOIN per_owner po ON po.total = 1
              WHERE lo.total = 1),
    'by_rep', (SELECT json_agg(json_build_object('owner', u.username, 'leads', lo.leads,
                                                 'within', po.within, 'breached', po.breached,
                                                 'median', po.median_minutes,
                                                 'p90', po.p90_minutes) ORDER BY u.username)
               FROM leads_per_owner lo
               LEFT JOIN per_owner po
                 ON po.total = 0 AND po.owner_id IS NOT DISTINCT FROM lo.owner_id
               LEFT JOIN accounts_user u ON u.id = lo.owner_id
               WHERE lo.total = 0)
)
"""


# The 12-month trend of both sides, the same way: one pass over the months' leads, each
# lead's first touch by index, counts and percentiles per month (`detail.trend`).
HAND_TREND_SQL = """
WITH months AS (
    SELECT * FROM unnest(%(starts)s::timestamptz[], %(ends)s::timestamptz[])
                  WITH ORDINALITY AS m(lo, hi, idx)
), month_leads AS (
    SELECT m.idx, l.id, l.qualifies, l.verdict
    FROM leads_lead l JOIN sla_leadterms t ON t.lead_id = l.id
    JOIN months m ON l.received_at >= m.lo AND l.received_at < m.hi
    WHERE t.agreement_id = %(agreement)s
      AND l.received_at >= %(start)s AND l.received_at < %(end)s
), judged AS (
    SELECT m.idx,
           c.state = 'stopped' AND c.stopped_at <= c.due_at AND c.stopped_at <= %(at)s AS within,
           c.due_at <= %(at)s AND (c.state = 'running' OR c.stopped_at > c.due_at) AS breached,
           CASE WHEN c.stop_reason IN ('touch', 'connected') AND c.stopped_at <= %(at)s
                THEN floor(extract(epoch FROM c.stopped_at - c.started_at) / 60) END AS minutes
    FROM month_leads m
    CROSS JOIN LATERAL (SELECT state, started_at, stopped_at, due_at, stop_reason
                        FROM sla_clock WHERE lead_id = m.id AND kind = 'first_touch'
                        OFFSET 0) c
    WHERE m.qualifies
), marketing AS (
    SELECT idx, count(*) AS delivered, count(*) FILTER (WHERE qualifies) AS qualified,
           count(*) FILTER (WHERE verdict = 'accepted') AS accepted,
           count(*) FILTER (WHERE verdict = 'rejected') AS rejected
    FROM month_leads GROUP BY idx
), sales AS (
    SELECT idx, count(*) FILTER (WHERE within) AS within,
           count(*) FILTER (WHERE breached) AS breached,
           percentile_disc(0.5) WITHIN GROUP (ORDER BY minutes) AS median_minutes,
           percentile_disc(0.9) WITHIN GROUP (ORDER BY minutes) AS p90_minutes
    FROM judged GROUP BY idx
)
SELECT json_agg(json_build_object('idx', m.idx, 'delivered', COALESCE(k.delivered, 0),
                                  'qualified', COALESCE(k.qualified, 0),
                                  'within', COALESCE(s.within, 0),
                                  'breached', COALESCE(s.breached, 0),
                                  'median', s.median_minutes) ORDER BY m.idx)
FROM months m LEFT JOIN marketing k ON k.idx = m.idx LEFT JOIN sales s ON s.idx = m.idx
"""
TREND_MONTHS = 12


def hand_compliance(ctx, at: datetime) -> dict:
    from django.db import connection, transaction

    dataset = ctx.dataset
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL jit = off")  # a reference pays no compiler
        cursor.execute(
            HAND_SQL,
            {
                "agreement": dataset.agreement_id,
                "start": dataset.month_start,
                "end": dataset.month_end,
                "month": dataset.month,
                "at": at,
            },
        )
        found = cursor.fetchone()[0]
    return found if isinstance(found, dict) else json.loads(found)


def hand_trend(ctx, windows, at: datetime) -> list:
    from django.db import connection, transaction

    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL jit = off")
        cursor.execute(
            HAND_TREND_SQL,
            {
                "agreement": ctx.dataset.agreement_id,
                "starts": [w.start for w in windows],
                "ends": [w.end for w in windows],
                "start": min(w.start for w in windows),
                "end": max(w.end for w in windows),
                "at": at,
            },
        )
        found = cursor.fetchone()[0]
    return found if isinstance(found, list) else json.loads(found)


def measure_trend(ctx) -> dict:
    """`sla.compliance.compliance_trend` of the 12 months ending with this one (what the
    dashboard draws), in process, against HAND_TREND_SQL; the same target."""
    from calendars.months import month_of
    from core.timeparse import month_add, month_name
    from sla.compliance import compliance_trend, month_window
    from sla.models import Agreement

    agreement = Agreement.objects.select_related("calendar").get(pk=ctx.dataset.agreement_id)
    calendar = agreement.calendar.as_work_calendar()
    at = datetime.now(UTC)
    year, month = month_of(calendar, at)
    named = [month_add(year, month, -back) for back in range(TREND_MONTHS - 1, -1, -1)]
    months = [month_name(*pair) for pair in named]
    windows = [month_window(calendar, *pair, at) for pair in named]
    answers = {}

    def app():
        answers["app"] = compliance_trend(agreement=agreement, months=months, at=at)

    def reference():
        answers["reference"] = hand_trend(ctx, windows, at)

    seconds = alternate({"app": app, "reference": reference}, ctx.samples, warm_up=1)
    app_ms, ref_ms = ms(seconds["app"]), ms(seconds["reference"])
    value, floor = median_of(app_ms), median_of(ref_ms)
    mine, hand = answers["app"], answers["reference"]
    same = all(
        (m["marketing"]["delivered"], m["sales"]["touched_within_sla"], m["sales"]["breached"])
        == (h["delivered"], h["within"], h["breached"])
        for m, h in zip(mine, hand, strict=True)
    )
    ctx.log(
        f"  compliance_trend, {months[0]}..{months[-1]}: median {value:.0f} ms, SQL {floor:.0f} ms"
    )
    limit = 1.5 * floor + 30
    return {
        "months": f"{months[0]}..{months[-1]}",
        "median_ms": round(value, 1),
        "p95_ms": round(p95(app_ms), 1),
        "reference_ms": round(floor, 1),
        "ratio": round(value / floor, 2) if floor else None,
        "limit_ms": round(limit, 1),
        "pass": value <= limit,
        "same_counts": same,
    }


def run(ctx) -> list[dict]:
    from django.test import Client
    from rest_framework.authtoken.models import Token

    dataset = ctx.dataset
    key = Token.objects.get(user_id=dataset.marketing_user_id).key
    client = Client(headers={"Authorization": f"Token {key}", "Accept": "application/json"})
    url = f"/api/compliance/?month={dataset.month}&agreement={dataset.agreement_id}"
    answers = {}

    def app():
        response = client.get(url)
        if response.status_code != 200:
            answer = response.content[:300]
            raise RuntimeError(f"GET {url} answered {response.status_code}: {answer}")
        answers["app"] = json.loads(response.content)

    def reference():
        answers["reference"] = hand_compliance(ctx, datetime.now(UTC))

    seconds = alternate({"app": app, "reference": reference}, ctx.samples, warm_up=1)
    app_ms, ref_ms = ms(seconds["app"]), ms(seconds["reference"])
    value, floor = median_of(app_ms), median_of(ref_ms)
    mine, hand = answers["app"], answers["reference"]
    same = {
        "delivered": mine["marketing"]["delivered"] == hand["marketing"]["delivered"],
        "accepted": mine["marketing"]["accepted"] == hand["marketing"]["accepted"],
        "leads": mine["sales"]["leads"] == hand["sales"]["leads"],
        "touched_within_sla": mine["sales"]["touched_within_sla"] == hand["sales"]["within"],
        "breached": mine["sales"]["breached"] == hand["sales"]["breached"],
        "reps": len(mine["by_rep"]) == len(hand["by_rep"] or []),
    }
    ctx.log(
        f"  {url}: median {value:.0f} ms ({mine['marketing']['delivered']:,} leads), "
        f"one SQL statement {floor:.0f} ms"
    )
    limit = 1.5 * floor + 30
    return [
        row(
            "compliance",
            unit="ms",
            samples=app_ms,
            reference=floor,
            ratio_value=value / floor if floor else None,
            target=ROWS["compliance"][1],
            passed=value <= limit,
            detail={
                "url": url,
                "month": dataset.month,
                "leads_in_month": mine["marketing"]["delivered"],
                "limit_ms": round(limit, 1),
                "reference_p95_ms": round(p95(ref_ms), 2),
                "same_figures": same,
                "ratio_of": "median / median",
                "trend": measure_trend(ctx),
            },
        )
    ]
