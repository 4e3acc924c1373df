"""One INSERT for many rows, without building a model instance per row.

The checks write thousands of flags and outbox rows in a catch-up pass. On PostgreSQL
the rows go as one array per column through `unnest` (one statement, a handful of
parameters, no per-value preparation in Python); elsewhere through `bulk_create`. Plain
columns (text, numbers, booleans, datetimes, foreign key ids) and JSON are supported.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from django.db import connection


def _columns(model) -> dict:
    """Every column the INSERT may name: all but an auto-incremented primary key."""
    auto = ("AutoField", "BigAutoField", "SmallAutoField")
    return {
        f.attname: f
        for f in model._meta.concrete_fields
        if not (f.primary_key and f.get_internal_type() in auto)
    }


def _same(column: list) -> bool:
    first = column[0]
    return all(value == first and type(value) is type(first) for value in column)


def bulk_insert(
    model, rows: Sequence[dict], *, ignore_conflicts: bool = False, returning_ids: bool = False
) -> list[int]:
    """Insert `rows` (dicts of attname → value); missing columns take the field default.

    Returns the new ids in row order when `returning_ids` (not with `ignore_conflicts`).
    """
    if not rows:
        return []
    if returning_ids and ignore_conflicts:
        raise ValueError("ids of rows a conflict may have skipped cannot be matched to rows")
    fields = _columns(model)
    defaults = {name: f.get_default() for name, f in fields.items() if name not in rows[0]}
    if connection.vendor != "postgresql":
        objects = [model(**{**defaults, **row}) for row in rows]
        model.objects.bulk_create(objects, ignore_conflicts=ignore_conflicts)
        return [obj.pk for obj in objects] if returning_ids else []
    # A column with one value for every row (a state, the instant of the pass) goes as
    # one parameter, not an array: the statement PostgreSQL parses stays small.
    values = {name: [row[name] for row in rows] for name in rows[0]}
    # JSON travels as text and is cast back in the SELECT: psycopg2 adapts no dict.
    json_columns = {name for name in fields if fields[name].get_internal_type() == "JSONField"}
    for name in json_columns & set(values):
        values[name] = [None if v is None else json.dumps(v) for v in values[name]]
    for name in json_columns & set(defaults):
        defaults[name] = None if defaults[name] is None else json.dumps(defaults[name])
    constants = {name: column[0] for name, column in values.items() if _same(column)}
    constants.update(defaults)
    arrays = {name: column for name, column in values.items() if name not in constants}
    if not arrays:  # unnest needs one array to count the rows by
        first = next(iter(values))
        arrays[first] = values[first]
        del constants[first]
    quote = connection.ops.quote_name

    def db_type(name: str) -> str:
        return "text" if name in json_columns else fields[name].db_type(connection)

    def cast(name: str) -> str:
        return "::jsonb" if name in json_columns else ""

    selected = [
        *(f"u.{quote(name)}{cast(name)}" for name in arrays),
        *(f"%s::{db_type(name)}{cast(name)}" for name in constants),
    ]
    unnested = ", ".join(f"%s::{db_type(name)}[]" for name in arrays)
    aliases = ", ".join(quote(name) for name in arrays)
    # Only identifiers of our own models and their column types go into the text; every
    # value travels as a parameter.
    table = quote(model._meta.db_table)
    columns = ", ".join(quote(fields[name].column) for name in [*arrays, *constants])
    sql = (
        f"INSERT INTO {table} ({columns}) SELECT {', '.join(selected)}"  # noqa: S608
        f" FROM unnest({unnested}) AS u({aliases})"
    )
    params = [*constants.values(), *arrays.values()]
    if ignore_conflicts:
        sql += " ON CONFLICT DO NOTHING"
    if returning_ids:
        sql += f" RETURNING {quote(model._meta.pk.column)}"
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [row[0] for row in cursor.fetchall()] if returning_ids else []
