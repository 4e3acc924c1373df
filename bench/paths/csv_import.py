"""Path 1: a CSV import of N qualifying rows, against PostgreSQL's COPY of the same rows.

The import goes through the application's service, `sla.actions.leads_import` (parse,
score, dedupe by external_id, round robin, terms, first-touch clocks with their due
times), as `POST /api/leads/import/` calls it, for the intake agreement. The reference
is `COPY leads_lead FROM STDIN` of the same rows with the columns the import stores.
Both run in a transaction that is rolled back, --repeats times. Targets: 5x COPY or
less; peak memory within 100 MB of the process before the import (the first run's).

When the service refuses a file that large (its size or row limit), the rows are split
into files at the limit, as a user would, and the row says so.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta

from bench.common import ERROR, median, missing_row, p95, peak_memory, ratio, rolled_back, row
from bench.data import LEAD_SHAPE

NAME = "csv_import"
ROWS = {
    "csv_import": ("s", "<= 5x COPY"),
    "csv_import_memory": ("MB", "<= 100 MB over idle"),
}
ROWS_AT_SCALE_1 = 100_000
RATIO_TARGET = 5.0
MEMORY_TARGET_MB = 100.0
HEADER = [
    "email",
    "first_name",
    "last_name",
    "company",
    "title",
    "country",
    "company_size",
    "source",
    "external_id",
    "received_at",
    "attributes.industry",
]


class Upload(io.BytesIO):
    """What the import reads: a file-like object with `.read()` and `.size`."""

    def __init__(self, content: bytes, name: str = "leads.csv"):
        super().__init__(content)
        self.size = len(content)
        self.name = name


def lead_rows(count: int, now: datetime) -> list[dict]:
    return [
        {
            "email": f"import{i}@example.com",
            "first_name": LEAD_SHAPE["first_name"],
            "last_name": f"Import{i}",
            "company": f"{LEAD_SHAPE['company']} {i % 997}",
            "title": LEAD_SHAPE["title"],
            "country": LEAD_SHAPE["country"],
            "company_size": LEAD_SHAPE["company_size"],
            "source": LEAD_SHAPE["source"],
            "external_id": f"imp-{i}",
            "received_at": now - timedelta(seconds=count - i),
            "industry": LEAD_SHAPE["attributes"]["industry"],
        }
        for i in range(count)
    ]


def csv_lines(rows: list[dict]) -> list[bytes]:
    out = []
    for item in rows:
        buffer = io.StringIO()
        values = [item[name] for name in HEADER[:-2]]
        values += [item["received_at"].isoformat(), item["industry"]]
        csv.writer(buffer, lineterminator="\n").writerow(values)
        out.append(buffer.getvalue().encode())
    return out


def split_files(lines: list[bytes], header: bytes) -> tuple[list[bytes], str]:
    """The file, or the files at the service's limits when it would refuse it whole."""
    from leads import csvfile

    max_rows = getattr(csvfile, "MAX_ROWS", None) or len(lines)
    max_bytes = getattr(csvfile, "MAX_BYTES", None)
    size = len(header) + sum(len(line) for line in lines)
    if len(lines) <= max_rows and (max_bytes is None or size <= max_bytes):
        return [header + b"".join(lines)], ""
    per_file = max_rows
    if max_bytes is not None:
        longest = max(len(line) for line in lines)
        per_file = min(per_file, (max_bytes - len(header)) // longest)
    files = [
        header + b"".join(lines[start : start + per_file])
        for start in range(0, len(lines), per_file)
    ]
    why = (
        f"leads_import refuses more than {max_rows:,} rows or {max_bytes or 0:,} bytes per file: "
        f"{len(lines):,} rows ({size:,} bytes) imported as {len(files)} files"
    )
    return files, why


# --- the reference ----------------------------------------------------------------------------


def _copy_columns(values: dict) -> list[str]:
    """The COPY column list: what the import stores, plus any other NOT NULL column."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            """SELECT column_name, data_type FROM information_schema.columns
               WHERE table_name = 'leads_lead' AND is_nullable = 'NO'
                 AND column_default IS NULL AND is_identity = 'NO' AND column_name <> 'id'"""
        )
        for column, data_type in cursor.fetchall():
            if column not in values:
                values[column] = _python_filler(data_type)
    return list(values)


def _python_filler(data_type: str):
    if data_type in ("jsonb", "json"):
        return "[]"
    if data_type == "boolean":
        return "f"
    if data_type in ("integer", "bigint", "smallint", "numeric"):
        return 0
    if data_type.startswith("timestamp"):
        return datetime.now(UTC).isoformat()
    return ""


def copy_payload(rows: list[dict], ctx, now: datetime) -> tuple[str, bytes]:
    """COPY statement and CSV data for the rows as the import would store them."""
    from bench.data import score_of

    dataset = ctx.dataset
    result = score_of(dataset)
    reps = dataset.intake["reps"]
    constant = {
        "definition_version_id": dataset.definition_version_id,
        "score": result.score,
        "qualifies": "t" if result.qualifies else "f",
        "score_explanation": json.dumps(result.explanation),
        "disqualified_by": "[]",
        "stage_id": dataset.stage_id,
        "team_id": dataset.intake["team"],
        "verdict": "pending",
        "verdict_note": "",
        "abandon_reason": "",
        "abandon_note": "",
        "created_by_id": dataset.marketing_user_id,
        "created_at": now.isoformat(),
        "updated_at": now.isoformat(),
    }
    sample = {
        **{name: "" for name in HEADER[:-2]},
        "attributes": "",
        "received_at": "",
        "owner_id": 0,
        "assigned_at": "",
        **constant,
    }
    columns = _copy_columns(sample)
    buffer = io.StringIO()
    # Every text quoted: an unquoted empty field is NULL to COPY, a quoted one is "".
    writer = csv.writer(buffer, lineterminator="\n", quoting=csv.QUOTE_NONNUMERIC)
    for index, item in enumerate(rows):
        received = item["received_at"].isoformat()
        values = {
            **sample,
            **{name: item[name] for name in HEADER[:-2]},
            "attributes": json.dumps({"industry": item["industry"]}),
            "received_at": received,
            "owner_id": reps[index % len(reps)],
            "assigned_at": received,
        }
        writer.writerow([values[name] for name in columns])
    sql = f"COPY leads_lead ({', '.join(columns)}) FROM STDIN WITH (FORMAT csv)"
    return sql, buffer.getvalue().encode()


def copy_rows(sql: str, data: bytes) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.copy_expert(sql, io.BytesIO(data))


# --- the path -----------------------------------------------------------------------------------


def run(ctx) -> list[dict]:
    from accounts.models import User
    from sla.actions import leads_import
    from sla.models import Agreement

    count = max(100, round(ROWS_AT_SCALE_1 * ctx.scale))
    now = datetime.now(UTC)
    rows = lead_rows(count, now - timedelta(seconds=1))
    lines = csv_lines(rows)
    header = (",".join(HEADER) + "\n").encode()
    files, why = split_files(lines, header)
    by = User.objects.get(pk=ctx.dataset.marketing_user_id)
    agreement = Agreement.objects.get(pk=ctx.dataset.intake["agreement"])
    copy_sql, copy_data = copy_payload(rows, ctx, now)
    del rows, lines

    def app():
        totals = {"created": 0, "duplicates": 0, "errors": []}
        for content in files:
            result = leads_import(
                by=by, file=Upload(content), agreement=agreement, partial=False, now=now
            )
            totals["created"] += result["created"]
            totals["duplicates"] += result["duplicates"]
            totals["errors"] += result["errors"][:5]
        return totals

    seconds = []
    with peak_memory() as memory:  # the first run: nothing of an earlier import is reused
        elapsed, result = rolled_back(app)
    seconds.append(elapsed)
    if result["created"] != count or result["errors"]:
        why = f"the import created {result['created']:,} of {count:,}: {result['errors'][:3]}"
        return [
            missing_row(name, unit=unit, target=target, status=ERROR, why=why)
            for name, (unit, target) in ROWS.items()
        ]
    rolled_back(lambda: copy_rows(copy_sql, copy_data))  # warm-up, not counted
    reference = []
    for _ in range(ctx.repeats):
        reference.append(rolled_back(lambda: copy_rows(copy_sql, copy_data))[0])
        if len(seconds) < ctx.repeats:
            seconds.append(rolled_back(app)[0])
    value, floor = median(seconds), median(reference)
    ctx.log(
        f"  import: {count:,} rows in {value:.2f} s ({count / value:,.0f} rows/s), "
        f"COPY {floor:.3f} s; peak +{memory['delta_mb']} MB"
    )
    import_ratio = ratio(value, floor)
    detail = {
        "rows": count,
        "files": len(files),
        "split": why,
        "rows_per_second": round(count / value),
        "copy_rows_per_second": round(count / floor),
        "reference_p95_s": round(p95(reference), 3),
        "ratio_of": "median / median",
    }
    return [
        row(
            "csv_import",
            unit="s",
            samples=seconds,
            reference=floor,
            ratio_value=import_ratio,
            target=ROWS["csv_import"][1],
            passed=import_ratio is not None and import_ratio <= RATIO_TARGET,
            detail=detail,
        ),
        row(
            "csv_import_memory",
            unit="MB",
            median_value=memory["delta_mb"],
            p95_value=memory["delta_mb"],
            reference=memory["idle_mb"],
            ratio_value=None,
            target=ROWS["csv_import_memory"][1],
            passed=memory["delta_mb"] <= MEMORY_TARGET_MB,
            detail={
                **memory,
                "rows": count,
                "file_bytes": sum(len(f) for f in files),
                "measured": "the first import; reference = resident MB before it",
            },
        ),
    ]
