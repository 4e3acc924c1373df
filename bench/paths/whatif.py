"""Path: the what-if of a proposal over a year of a busy team, against the live figures.

The first agreement's last 12 closed months (about 100,000 leads a month at scale 1) are
replayed under a proposal that halves the first-touch window and raises the quota
(`sla.whatif.whatif`, in process): every lead and first-touch clock read once, each due
time computed again with the business-time engine. The reference is what the dashboard
already pays for the same months as measured: `sla.compliance.compliance_trend` of those
12 months (one SQL statement). The replay computes in Python what the statement counts in
the database, so it is the dearer of the two; the target says by how much at most.
Target: at most 10x the live figures + 500 ms (median against median).
"""

from __future__ import annotations

from datetime import UTC, datetime

from bench.common import alternate, ms, p95, row
from bench.common import median as median_of

NAME = "whatif"
ROWS = {"whatif": ("ms", "<= 10x live trend + 500 ms")}
MONTHS = 12


def run(ctx) -> list[dict]:
    from sla.compliance import compliance_trend
    from sla.models import Agreement
    from sla.proposals import terms_with
    from sla.whatif import whatif

    agreement = Agreement.objects.select_related("calendar").get(pk=ctx.dataset.agreement_id)
    at = datetime.now(UTC)
    candidate = terms_with(
        agreement,
        {
            "first_touch_minutes": max(1, agreement.first_touch_minutes // 2),
            "monthly_quota": agreement.monthly_quota + 50,
        },
    )
    answers = {}

    def app():
        answers["app"] = whatif(agreement=agreement, candidate=candidate, months=MONTHS, at=at)

    def reference():
        months = [entry["month"] for entry in answers.get("app", {}).get("months", [])]
        answers["reference"] = compliance_trend(agreement=agreement, months=months, at=at)

    app()  # the months the reference measures are the replay's
    seconds = alternate({"app": app, "reference": reference}, ctx.samples, warm_up=1)
    app_ms, ref_ms = ms(seconds["app"]), ms(seconds["reference"])
    value, floor = median_of(app_ms), median_of(ref_ms)
    replayed = answers["app"]["months"]
    leads = sum(entry["measured"]["marketing"]["delivered"] for entry in replayed)
    same = all(
        entry["measured"]["sales"] == live["sales"]
        for entry, live in zip(replayed, answers["reference"], strict=True)
    )
    ctx.log(
        f"  what-if of {len(replayed)} closed months ({leads:,} leads): median {value:.0f} ms, "
        f"live figures of the same months {floor:.0f} ms"
    )
    limit = 10 * floor + 500
    return [
        row(
            "whatif",
            unit="ms",
            samples=app_ms,
            reference=floor,
            ratio_value=value / floor if floor else None,
            target=ROWS["whatif"][1],
            passed=value <= limit,
            detail={
                "months": len(replayed),
                "leads": leads,
                "limit_ms": round(limit, 1),
                "reference_p95_ms": round(p95(ref_ms), 2),
                "measured_equals_live": same,
                "ratio_of": "median / median",
            },
        )
    ]
