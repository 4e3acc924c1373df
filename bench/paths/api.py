"""Paths 2 and 3: delivering leads over HTTP, one at a time and 500 at a time.

Two gunicorn servers on free ports of 127.0.0.1 (`--workers 2`, DEBUG off, the bench
database): the application (`slaops.wsgi`) and the reference (`bench.reference_wsgi`,
the same settings plus `POST /bench/bare-insert/`, a bare view inserting the same row).
Eight client threads post the same bodies to each, the two taking turns; the marketing
manager authenticates with a token (`Authorization: Token ...`).

- `POST /api/leads/`: throughput at least half the bare view's, p95 at most twice.
- `POST /api/leads/batch/` of 500 leads: rows per second at least ten times the
  single-lead endpoint's. Answering 404 (not built yet) makes the row "not available".

Every lead these requests create is deleted afterwards: the data set stays as generated.
"""

from __future__ import annotations

import json
import math
import uuid

from bench.common import (
    ERROR,
    NOT_AVAILABLE,
    Load,
    gunicorn,
    missing_row,
    ms,
    p95,
    post_load,
    ratio,
    row,
)
from bench.common import median as median_of
from bench.data import LEAD_SHAPE

NAME = "api"
ROWS = {
    "api_create_latency": ("ms", "p95 <= 2x bare view"),
    "api_create_throughput": ("req/s", ">= 0.5x bare view"),
    "api_batch": ("rows/s", ">= 10x single-lead rows/s"),
}
THREADS = 8
REQUESTS_AT_SCALE_1 = 2_000
BATCH_SIZE = 500
BATCHES_AT_SCALE_1 = 16
WARM_UP = 16


def request_count(scale: float) -> int:
    """2,000 at scale 1, fewer (with the square root of the scale) below, at least 40."""
    return max(40, min(REQUESTS_AT_SCALE_1, round(REQUESTS_AT_SCALE_1 * math.sqrt(scale))))


def batch_count(scale: float) -> int:
    return max(2, min(BATCHES_AT_SCALE_1, round(BATCHES_AT_SCALE_1 * math.sqrt(scale))))


def lead_body(prefix: str, index: int, agreement: int) -> dict:
    return {
        **LEAD_SHAPE,
        "email": f"{prefix}-{index}@example.com",
        "last_name": f"Api{index}",
        "external_id": f"{prefix}-{index}",
        "agreement": agreement,
    }


def bodies(prefix: str, count: int, agreement: int) -> list[bytes]:
    return [json.dumps(lead_body(prefix, i, agreement)).encode() for i in range(count)]


def _check(load: Load, what: str) -> str | None:
    bad = {status: n for status, n in load.statuses.items() if status not in (200, 201)}
    if bad:
        return f"{what}: unexpected answers {bad}; first: {load.failures[:2]}"
    return None


def settle() -> None:
    """Back to a settled database: no autovacuum of the writes above during later paths."""
    from django.db import connection

    with connection.cursor() as cursor:
        for table in ("leads_lead", "funnel_stagechange", "sla_leadterms", "sla_clock"):
            cursor.execute(f"VACUUM ANALYZE {table}")


def run(ctx) -> list[dict]:
    from rest_framework.authtoken.models import Token

    from leads.models import Lead

    dataset = ctx.dataset
    agreement = dataset.intake["agreement"]
    token = Token.objects.get(user_id=dataset.marketing_user_id).key
    headers = {"Authorization": f"Token {token}"}
    count = request_count(ctx.scale)
    before = Lead.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    run_id = uuid.uuid4().hex[:8]
    rows: list[dict] = []
    try:
        with (
            gunicorn("slaops.wsgi:application", settings_module="slaops.settings") as app_port,
            gunicorn(
                "bench.reference_wsgi:application", settings_module="bench.reference_settings"
            ) as ref_port,
        ):
            ctx.log(f"  servers: application on :{app_port}, reference on :{ref_port}")
            rows += _single(ctx, app_port, ref_port, headers, agreement, count, run_id)
            single_rate = rows[1]["median"] if rows[1]["status"] != ERROR else None
            rows.append(_batch(ctx, app_port, headers, agreement, run_id, single_rate))
    finally:
        deleted, _ = Lead.objects.filter(pk__gt=before).delete()
        settle()
        ctx.log(f"  removed what the requests delivered ({deleted:,} rows with their clocks)")
    return rows


def _single(ctx, app_port, ref_port, headers, agreement, count, run_id) -> list[dict]:
    post_load(
        app_port,
        "/api/leads/",
        bodies(f"w{run_id}a", WARM_UP, agreement),
        headers=headers,
        threads=THREADS,
    )
    post_load(
        ref_port,
        "/bench/bare-insert/",
        bodies(f"w{run_id}r", WARM_UP, agreement),
        headers={},
        threads=THREADS,
    )
    app, ref = Load(), Load()
    half = count // 2
    for turn in range(2):  # app, reference, app, reference
        part = bodies(f"s{run_id}{turn}", half, agreement)
        app.merge(post_load(app_port, "/api/leads/", part, headers=headers, threads=THREADS))
        part = bodies(f"r{run_id}{turn}", half, agreement)
        ref.merge(post_load(ref_port, "/bench/bare-insert/", part, headers={}, threads=THREADS))
    problem = _check(app, "POST /api/leads/") or _check(ref, "POST /bench/bare-insert/")
    if problem:
        return [
            missing_row(name, unit=ROWS[name][0], target=ROWS[name][1], status=ERROR, why=problem)
            for name in ("api_create_latency", "api_create_throughput")
        ]
    app_ms, ref_ms = ms(app.latencies), ms(ref.latencies)
    p95_ratio = ratio(p95(app_ms), p95(ref_ms))
    rate_ratio = ratio(app.per_second, ref.per_second)
    ctx.log(
        f"  POST /api/leads/: {app.per_second:.0f} req/s, p95 {p95(app_ms):.0f} ms; "
        f"bare view {ref.per_second:.0f} req/s, p95 {p95(ref_ms):.0f} ms"
    )
    common = {"requests": app.count, "threads": THREADS, "gunicorn_workers": 2}
    return [
        row(
            "api_create_latency",
            unit="ms",
            samples=app_ms,
            reference=p95(ref_ms),
            ratio_value=p95_ratio,
            target=ROWS["api_create_latency"][1],
            passed=p95_ratio is not None and p95_ratio <= 2.0,
            detail={
                **common,
                "reference_median_ms": round(median_of(ref_ms), 2),
                "ratio_of": "p95 / reference p95",
            },
        ),
        row(
            "api_create_throughput",
            unit="req/s",
            median_value=app.per_second,
            p95_value=None,
            reference=ref.per_second,
            ratio_value=rate_ratio,
            target=ROWS["api_create_throughput"][1],
            passed=rate_ratio is not None and rate_ratio >= 0.5,
            detail={**common, "ratio_of": "requests per second / reference's"},
        ),
    ]


def _batch(ctx, port, headers, agreement, run_id, single_rate) -> dict:
    unit, target = ROWS["api_batch"]

    def batch_body(number: int) -> bytes:
        leads = [lead_body(f"b{run_id}-{number}", i, agreement) for i in range(BATCH_SIZE)]
        return json.dumps({"leads": leads}).encode()

    probe = post_load(
        port, "/api/leads/batch/", [batch_body(0)], headers=headers, threads=1, keep_bodies=True
    )
    status = next(iter(probe.statuses))
    if status == 404:
        ctx.log("  POST /api/leads/batch/: 404, not available")
        return missing_row(
            "api_batch",
            unit=unit,
            target=target,
            status=NOT_AVAILABLE,
            why="POST /api/leads/batch/ answered 404",
        )
    if status != 200:
        return missing_row(
            "api_batch",
            unit=unit,
            target=target,
            status=ERROR,
            why=f"the probe batch answered {probe.failures[:1]}",
        )
    count = batch_count(ctx.scale)
    load = post_load(
        port,
        "/api/leads/batch/",
        [batch_body(n) for n in range(1, count + 1)],
        headers=headers,
        threads=min(THREADS, count),
        keep_bodies=True,
    )
    problem = _check(load, "POST /api/leads/batch/")
    created = 0
    for answer in load.bodies:
        try:
            results = json.loads(answer)["results"]
        except (ValueError, KeyError, TypeError):
            problem = problem or f"an answer without results: {answer[:200]!r}"
            continue
        created += sum(1 for item in results if item.get("status") == "created")
    if not problem and created != count * BATCH_SIZE:
        problem = f"{created:,} of {count * BATCH_SIZE:,} leads created"
    if problem:
        return missing_row("api_batch", unit=unit, target=target, status=ERROR, why=problem)
    rows_per_second = created / load.wall
    batch_ratio = ratio(rows_per_second, single_rate)
    latencies = ms(load.latencies)
    ctx.log(
        f"  POST /api/leads/batch/: {rows_per_second:,.0f} rows/s "
        f"({count} batches of {BATCH_SIZE}, p95 {p95(latencies):.0f} ms per batch)"
    )
    return row(
        "api_batch",
        unit=unit,
        median_value=rows_per_second,
        p95_value=None,
        reference=single_rate,
        ratio_value=batch_ratio,
        target=target,
        passed=batch_ratio is not None and batch_ratio >= 10.0,
        detail={
            "batches": count,
            "batch_size": BATCH_SIZE,
            "threads": min(THREADS, count),
            "batch_median_ms": round(median_of(latencies), 1),
            "batch_p95_ms": round(p95(latencies), 1),
            "ratio_of": "rows per second / single-lead requests per second",
        },
    )
