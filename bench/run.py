"""Benchmark: every measured path of slaops at real volumes, each against its reference.

Run from the repository root, on PostgreSQL only (SQLite is refused):

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/slaops_bench \\
        python bench/run.py [--scale 1] [--json bench/results.json] [--only lists,checks]

The harness creates and migrates its own database (the one DATABASE_URL names), builds
the data set of bench/data.py (1,000,000 leads at --scale 1), then measures each path
of bench/paths/ against a reference measured in the same run, prints one table (path,
median, p95, reference, ratio, target, result) and writes the same rows as JSON. See
docs/performance.md for what each path measures and how to read the figures.

Exit status: 0 when every path was measured (a missed target is a FAIL in the table,
not a crash; --strict makes it exit 1), 1 when a path could not be measured, 2 when the
database is not PostgreSQL.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import sys
import time
import traceback
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import data  # noqa: E402
from bench.common import ERROR, FAIL, missing_row  # noqa: E402
from bench.paths import api, checks, compliance, csv_import, lists, whatif  # noqa: E402

PATHS = [csv_import, api, lists, compliance, checks, whatif]
DEFAULT_JSON = Path(__file__).resolve().parent / "results.json"


@dataclass
class Context:
    """What every path's `run` gets."""

    scale: float
    dataset: data.Dataset
    repeats: int
    samples: int
    log: object = print


def selected(only: str | None) -> list:
    if not only:
        return PATHS
    names = {name.strip() for name in only.split(",") if name.strip()}
    chosen = [p for p in PATHS if p.NAME in names or names & set(p.ROWS)]
    known = {p.NAME for p in PATHS} | {r for p in PATHS for r in p.ROWS}
    unknown = names - known
    if unknown:
        choices = ", ".join(sorted(known))
        raise SystemExit(f"--only: unknown {', '.join(sorted(unknown))}; use {choices}")
    return chosen


def dataset_for(scale: float, *, reuse: bool) -> data.Dataset:
    from leads.models import Lead

    if reuse:
        found = data.load_meta()
        if found and found.scale == scale and Lead.objects.count() == found.leads:
            print(f"reusing the data set generated at {found.at.isoformat()} (--reuse)")
            return found
        print("--reuse: no data set of this scale in the database; generating one")
    print(f"generating the data set at scale {scale:g}:")
    return data.generate(scale)


def environment() -> dict:
    from django.db import connection

    found = {"python": platform.python_version(), "cpus": os.cpu_count()}
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        found["postgresql"] = cursor.fetchone()[0]
        for name in ("shared_buffers", "work_mem", "jit", "max_connections", "synchronous_commit"):
            cursor.execute(f"SHOW {name}")
            found[name] = cursor.fetchone()[0]
    return found


def measure(paths: list, ctx: Context) -> list[dict]:
    rows = []
    for path in paths:
        print(f"\n[{path.NAME}]")
        # What the harness itself holds (the data set's objects, an import's rows) is set
        # aside, so a full collection of it does not land in a request measured in process.
        gc.collect()
        gc.freeze()
        began = time.perf_counter()
        try:
            rows += path.run(ctx)
        except Exception as exc:  # one path's failure must not hide the others' figures
            traceback.print_exc()
            why = f"{exc.__class__.__name__}: {exc}"
            rows += [
                missing_row(name, unit=unit, target=target, status=ERROR, why=why[:2000])
                for name, (unit, target) in path.ROWS.items()
            ]
        print(f"  ({time.perf_counter() - began:.1f} s)")
    return rows


def _figure(value) -> str:
    if value is None:
        return "-"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:.2f}" if abs(value) < 10 else f"{value:.1f}"


def table(rows: list[dict]) -> str:
    header = ("path", "unit", "median", "p95", "reference", "ratio", "target", "result")
    lines = []
    for r in rows:
        ratio = "-" if r["ratio"] is None else f"{r['ratio']:.2f}x"
        lines.append(
            (
                r["path"],
                r["unit"],
                _figure(r["median"]),
                _figure(r["p95"]),
                _figure(r["reference"]),
                ratio,
                r["target"],
                r["status"],
            )
        )
    widths = [max(len(str(line[i])) for line in [header, *lines]) for i in range(len(header))]
    right = {2, 3, 4, 5}

    def render(line):
        cells = [
            str(cell).rjust(widths[i]) if i in right else str(cell).ljust(widths[i])
            for i, cell in enumerate(line)
        ]
        return "  ".join(cells).rstrip()

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([render(header), rule, *(render(line) for line in lines)])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0, help="1 = 1,000,000 leads")
    parser.add_argument("--json", type=Path, default=DEFAULT_JSON, help="where to write rows")
    parser.add_argument("--only", help="comma-separated paths or rows (e.g. lists,checks_due)")
    parser.add_argument("--repeats", type=int, default=3, help="rolled-back runs of a write")
    parser.add_argument("--samples", type=int, default=20, help="requests per list measured")
    parser.add_argument("--reuse", action="store_true", help="keep a data set of this scale")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    parser.add_argument(
        "--pg-set",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a PostgreSQL setting for the bench database during the run (jit=off), repeatable",
    )
    args = parser.parse_args(argv)
    if args.scale <= 0:
        parser.error("--scale must be above 0")
    paths = selected(args.only)
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        print("bench/run.py needs PostgreSQL: set DATABASE_URL=postgres://...", file=sys.stderr)
        return 2

    data.ensure_database(url)
    with data.database_settings(url, args.pg_set) as pg_set:
        return _run(args, paths, url, pg_set)


def _run(args, paths: list, url: str, pg_set: dict) -> int:
    started = datetime.now(UTC)
    began = time.perf_counter()
    data.setup_django(url)
    dataset = dataset_for(args.scale, reuse=args.reuse)
    print(
        f"data set: {dataset.leads:,} leads, {dataset.running:,} running clocks, "
        f"{dataset.due:,} due, as of {dataset.at.isoformat()} "
        f"(generated in {dataset.generated_seconds:.0f} s)"
    )
    ctx = Context(
        scale=args.scale,
        dataset=dataset,
        repeats=max(1, args.repeats),
        samples=max(3, args.samples),
    )
    rows = measure(paths, ctx)

    settings = f", {', '.join(f'{k}={v}' for k, v in pg_set.items())}" if pg_set else ""
    print(f"\nslaops at scale {args.scale:g} ({dataset.leads:,} leads{settings}):\n")
    print(table(rows))
    result = {
        "scale": args.scale,
        "started_at": started.isoformat(),
        "seconds": round(time.perf_counter() - began, 1),
        "dataset": dataset.to_json(),
        "environment": {**environment(), "pg_set": pg_set},
        "rows": rows,
    }
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=2, default=str) + "\n")
    print(f"\nwritten to {args.json} in {result['seconds']:.0f} s")
    if any(r["status"] == ERROR for r in rows):
        return 1
    if args.strict and any(r["status"] == FAIL for r in rows):
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
