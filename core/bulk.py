"""One INSERT for many rows, without building a model instance per row.

The checks write thousands of flags and outbox rows in a catch-up pass. On PostgreSQL
the rows go as one array per column through `unnest` (one statement, a handful of
parameters, no per-value preparation in Python); elsewhere through `bulk_create`. Plain
columns (text, numbers, booleans, datetimes, foreign key ids) and JSON are supported.

`copy_insert` is the intake's path: COPY FROM STDIN, with the new ids reserved from the
table's sequence first when the caller needs them (leads, whose terms and clocks follow).
"""

from __future__ import annotations

import io
import json
from collections.abc import Sequence
from operator import itemgetter

from django.db import connection


def _columns(model, row: dict | None = None) -> dict:
    """Every column the INSERT may name: all but an auto-incremented primary key (unless
    the row gives it: an id reserved from the sequence)."""
    auto = ("AutoField", "BigAutoField", "SmallAutoField")
    return {
        f.attname: f
        for f in model._meta.concrete_fields
        if not (f.primary_key and f.get_internal_type() in auto and f.attname not in (row or ()))
    }


class Sql(str):
    """A value written as SQL, not sent as a parameter (our own text, never user input):
    `currval(...)`, the id of the lead just inserted by the statement before."""


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
    if connection.vendor != "postgresql":
        fields = _columns(model)
        defaults = {name: f.get_default() for name, f in fields.items() if name not in rows[0]}
        objects = [model(**{**defaults, **row}) for row in rows]
        model.objects.bulk_create(objects, ignore_conflicts=ignore_conflicts)
        return [obj.pk for obj in objects] if returning_ids else []
    sql, params = insert_statement(
        model, rows, ignore_conflicts=ignore_conflicts, returning_ids=returning_ids
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [row[0] for row in cursor.fetchall()] if returning_ids else []


def insert_statement(
    model,
    rows: Sequence[dict],
    *,
    ignore_conflicts: bool = False,
    returning_ids: bool = False,
    returning: Sequence[str] = (),
) -> tuple[str, list]:
    """The PostgreSQL `INSERT ... SELECT ... FROM unnest(...)` of `bulk_insert`; a `Sql`
    value (the same in every row) is written into the statement."""
    fields = _columns(model, rows[0])
    defaults = {name: f.get_default() for name, f in fields.items() if name not in rows[0]}
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
        first = next(name for name in values if not isinstance(constants[name], Sql))
        arrays[first] = values[first]
        del constants[first]
    quote = connection.ops.quote_name

    def db_type(name: str) -> str:
        return "text" if name in json_columns else fields[name].db_type(connection)

    def cast(name: str) -> str:
        return "::jsonb" if name in json_columns else ""

    def constant(name: str) -> str:
        value = constants[name]
        written = f"({value})" if isinstance(value, Sql) else "%s"
        return f"{written}::{db_type(name)}{cast(name)}"

    selected = [
        *(f"u.{quote(name)}{cast(name)}" for name in arrays),
        *(constant(name) for name in constants),
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
    params = [*(v for v in constants.values() if not isinstance(v, Sql)), *arrays.values()]
    if ignore_conflicts:
        sql += " ON CONFLICT DO NOTHING"
    if returning_ids:
        returning = [model._meta.pk.attname, *returning]
    if returning:
        column = {f.attname: f.column for f in model._meta.concrete_fields}
        sql += " RETURNING " + ", ".join(quote(column[name]) for name in returning)
    return sql, params


def insert_together(statements: Sequence[tuple], *, returning: Sequence[str] = ()) -> list[tuple]:
    """Several (model, rows) inserts sent in one round trip (PostgreSQL); the `returning`
    columns of the last one's rows come back."""
    statements = [(model, rows) for model, rows in statements if rows]
    sql, params = [], []
    for index, (model, rows) in enumerate(statements):
        last = index == len(statements) - 1
        build = _values_statement if len(rows) == 1 else insert_statement
        text, values = build(model, rows, returning=returning if last else ())
        sql.append(text)
        params.extend(values)
    with connection.cursor() as cursor:
        cursor.execute(";\n".join(sql), params)
        return cursor.fetchall() if returning else []


def _values_statement(model, rows: Sequence[dict], *, returning: Sequence[str] = ()):
    """`INSERT ... VALUES (...)` of one row: PostgreSQL types each value by its column.

    The statement's text depends only on the row's shape (its model, whether it names
    the primary key, its `Sql` values, what it returns): written once per shape, as an
    API delivery inserts the same four shapes on every request."""
    [row] = rows
    written = tuple((name, value) for name, value in row.items() if isinstance(value, Sql))
    key = (model, connection.vendor, model._meta.pk.attname in row, written, tuple(returning))
    shape = _VALUES_SHAPES.get(key)
    if shape is None:
        shape = _VALUES_SHAPES[key] = _values_shape(model, row, returning)
    sql, parameters = shape
    params = []
    for name, field, is_json in parameters:
        value = row.get(name, _UNSET)
        if value is _UNSET:
            value = field.get_default()
        params.append(json.dumps(value) if is_json and value is not None else value)
    return sql, params


_VALUES_SHAPES: dict = {}


def _values_shape(model, row: dict, returning: Sequence[str]) -> tuple[str, list]:
    """(the INSERT's text, [(attname, field, is JSON)] of each value sent as a parameter)."""
    fields = _columns(model, row)
    quote = connection.ops.quote_name
    columns, written, parameters = [], [], []
    for name, field in fields.items():
        columns.append(quote(field.column))
        value = row.get(name, _UNSET)
        if isinstance(value, Sql):
            written.append(f"({value})")
        else:
            written.append("%s")
            parameters.append((name, field, field.get_internal_type() == "JSONField"))
    column = {f.attname: f.column for f in model._meta.concrete_fields}
    sql = (
        f"INSERT INTO {quote(model._meta.db_table)} ({', '.join(columns)})"  # noqa: S608
        f" VALUES ({', '.join(written)})"
    )
    if returning:
        sql += " RETURNING " + ", ".join(quote(column[name]) for name in returning)
    return sql, parameters


def sequence_current(model) -> Sql:
    """The id this session's last INSERT into the model's table took (PostgreSQL)."""
    table, column = model._meta.db_table, model._meta.pk.column
    return Sql(f"currval(pg_get_serial_sequence('{table}', '{column}'))")


# --- COPY: the intake's path for thousands of rows ---------------------------------------------


_UNSET = object()


def _copy_text(value) -> str:
    """One value in COPY's text format (NULL is \\N; backslash, tab and newlines escaped)."""
    if value is None:
        return "\\N"
    if value is True:
        return "t"
    if value is False:
        return "f"
    if isinstance(value, str):
        text = value
    elif hasattr(value, "isoformat"):
        return value.isoformat()
    else:
        text = str(value)
    if "\\" in text or "\t" in text or "\n" in text or "\r" in text:
        text = text.replace("\\", "\\\\").replace("\t", "\\t")
        text = text.replace("\n", "\\n").replace("\r", "\\r")
    return text


def _json_encoder():
    """JSON as COPY text; one object shared by many rows (a batch's score explanation)
    is encoded once."""
    seen: dict[int, tuple[object, str]] = {}

    def encode(value) -> str:
        if value is None:
            return "\\N"
        found = seen.get(id(value))
        if found is not None and found[0] is value:
            return found[1]
        text = _copy_text(json.dumps(value))
        seen[id(value)] = (value, text)  # the value is kept, so its id is not reused
        return text

    return encode


def reserve_ids(model, count: int) -> list[int]:
    """`count` new primary keys from the table's sequence (PostgreSQL), in one query."""
    if count <= 0:
        return []
    table, column = model._meta.db_table, model._meta.pk.column
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
            [table, column, count],
        )
        return [row[0] for row in cursor.fetchall()]


def _text_cell(value) -> str:
    return "\\N" if value is None else _copy_text(value)


def _instant_cell(value) -> str:
    return "\\N" if value is None else value.isoformat()


def _number_cell(value) -> str:
    return "\\N" if value is None else str(value)


_NUMBERS = {"AutoField", "BigAutoField", "IntegerField", "BigIntegerField", "SmallIntegerField"}
_NUMBERS |= {"PositiveIntegerField", "PositiveSmallIntegerField", "PositiveBigIntegerField"}
_NUMBERS |= {"ForeignKey", "OneToOneField"}


def _cell_encoder(field):
    """How one column's values are written for COPY, chosen once per column."""
    kind = field.get_internal_type()
    if kind == "JSONField":
        return _json_encoder()
    if kind == "DateTimeField":
        return _instant_cell
    target = getattr(field, "target_field", field)
    if kind in _NUMBERS and target.get_internal_type() in _NUMBERS:
        return _number_cell
    return _text_cell


def copy_insert(model, rows: Sequence[dict], *, returning_ids: bool = False) -> list[int]:
    """Insert `rows` (dicts of attname → value, every row the same keys) with COPY on
    PostgreSQL: the fastest way in, one round trip however many rows. Missing columns
    take the field default. Elsewhere, `bulk_insert`.

    With `returning_ids` the ids are taken from the sequence first (one more query) and
    returned in row order.
    """
    if not rows:
        return []
    if connection.vendor != "postgresql":
        return bulk_insert(model, rows, returning_ids=returning_ids)
    fields = _columns(model)
    names = list(rows[0])
    defaults = {name: f.get_default() for name, f in fields.items() if name not in rows[0]}
    ids = reserve_ids(model, len(rows)) if returning_ids else []
    # Column by column: one holding the same object in every row (the instant of the
    # delivery, its stage, None) is written once, into a suffix every line shares.
    varying, fixed, cells = [], {}, []
    for name in names:
        column = list(map(itemgetter(name), rows))
        encode = _cell_encoder(fields[name])
        if len(set(map(id, column))) == 1:
            fixed[name] = encode(column[0])
        else:
            varying.append(name)
            cells.append(list(map(encode, column)))
    for name, value in defaults.items():
        fixed[name] = _cell_encoder(fields[name])(value)
    if returning_ids:
        cells.append(list(map(str, ids)))
    if fixed:
        cells.append(["\t".join(fixed.values())] * len(rows))
    data = "\n".join(map("\t".join, zip(*cells, strict=True))) + "\n"
    quote = connection.ops.quote_name
    columns = [fields[name].column for name in varying]
    if returning_ids:
        columns.append(model._meta.pk.column)
    columns += [fields[name].column for name in fixed]
    sql = f"COPY {quote(model._meta.db_table)} ({', '.join(quote(c) for c in columns)}) FROM STDIN"
    # Django's errors (IntegrityError for a unique key), as for any other statement.
    with connection.cursor() as cursor, connection.wrap_database_errors:
        cursor.copy_expert(sql, io.StringIO(data))
    return ids


def select_columns(model, alias: str) -> list[str]:
    """`alias."column"` of each of the model's concrete fields, in field order: the
    select list `instance_of` reads back (a hand-written query names the row once).
    Written once per model and alias (asked on every API delivery)."""
    key = (model, alias, connection.vendor)
    found = _SELECTED.get(key)
    if found is None:
        quote = connection.ops.quote_name
        found = _SELECTED[key] = [f"{alias}.{quote(f.column)}" for f in model._meta.concrete_fields]
    return list(found)


_SELECTED: dict = {}


def instance_of(model, values: Sequence):
    """A saved instance of `model` from one row of its concrete columns in field order,
    as a queryset would build it (JSON decoded), without compiling a query (PostgreSQL:
    its driver already gives datetimes, dates and numbers as Python values)."""
    reader = _READERS.get(model)
    if reader is None:
        fields = model._meta.concrete_fields
        converted = [(i, f) for i, f in enumerate(fields) if hasattr(f, "from_db_value")]
        reader = _READERS[model] = ([f.attname for f in fields], converted)
    names, converted = reader
    if len(values) != len(names):
        raise ValueError(f"{model.__name__} has {len(names)} columns, not {len(values)}")
    values = list(values)
    for index, field in converted:
        values[index] = field.from_db_value(values[index], None, connection)
    return model.from_db("default", names, values)


_READERS: dict = {}  # model -> (its attnames, [(index, field) of each converted column])
