"""CSV of leads: reading an upload (limits, decoding, per-row type conversion) and
writing cells a spreadsheet will not run as formulas.

Pure parsing, no ORM: rows come out typed (the dict `lead_deliver` takes) or as
errors `{"row", "field", "message"}`, numbered as a spreadsheet shows them (the
header is row 1). Whether a row may be delivered (agreement, duplicates, the future)
is the delivery service's business, not this module's.
"""

import csv
import io
import itertools
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.core.validators import validate_email

from core.timeparse import parse_instant

MAX_BYTES = 5 * 1024 * 1024
MAX_ROWS = 10_000
MAX_INT = 2_147_483_647
TEXT_FIELDS = {  # column: longest value the lead keeps
    "first_name": 100,
    "last_name": 100,
    "company": 200,
    "title": 200,
    "country": 100,
    "source": 100,
    "external_id": 200,
}
COLUMNS = ("email", *TEXT_FIELDS, "company_size", "received_at", "agreement", "attributes")
ATTRIBUTE_PREFIX = "attributes."
_WHOLE = re.compile(r"^\d+$")
# A query string's unencoded "+" arrives as a space: "...T16:30:00 05:00".


class CsvFileError(ValueError):
    """The file as a whole is refused (too big, not UTF-8, no header)."""


@dataclass(frozen=True)
class CsvRow:
    row: int
    data: dict
    agreement: int | None = None


@dataclass
class ParsedCsv:
    rows: list[CsvRow] = field(default_factory=list)
    errors: list[dict] = field(default_factory=list)


def read_upload(upload, *, max_bytes: int = MAX_BYTES) -> bytes:
    """The uploaded file's bytes, refused beyond `max_bytes`."""
    size = getattr(upload, "size", None)
    content = b"" if size is not None and size > max_bytes else upload.read(max_bytes + 1)
    if (size is not None and size > max_bytes) or len(content) > max_bytes:
        raise CsvFileError(f"The file is larger than {max_bytes // (1024 * 1024)} MB; split it.")
    return content


def parse_leads_csv(content: bytes, *, max_rows: int = MAX_ROWS) -> ParsedCsv:
    """Typed rows and row-numbered errors from a CSV file's bytes (a small upload).

    1. Decode UTF-8, dropping a byte-order mark; pick `;` when the header has no `,`.
    2. Read the header: known lead fields, `agreement`, `attributes` and
       `attributes.<key>`; an unknown or repeated column refuses the whole file.
    3. Convert each non-blank row, collecting every error of every row.
    """
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise CsvFileError(
            f"The file is not UTF-8 text (byte {exc.start}); save it as 'CSV UTF-8'."
        ) from exc
    result = ParsedCsv()
    for row, errors in iter_leads_csv(io.StringIO(text, newline=""), max_rows=max_rows):
        result.errors.extend(errors)
        if row is not None and not errors:
            result.rows.append(row)
    return result


def open_text(stream) -> io.TextIOBase:
    """A binary upload as UTF-8 text, read as it goes (memory stays flat however big)."""
    return io.TextIOWrapper(stream, encoding="utf-8-sig", newline="")


def iter_leads_csv(
    text: Iterable[str], *, max_rows: int = MAX_ROWS
) -> Iterator[tuple[CsvRow | None, list[dict]]]:
    """(row, errors) for each lead row of CSV text, read line by line.

    The header's errors come first, with no row (and nothing follows them); then one
    pair per non-blank row. Raises CsvFileError for a file refused as a whole.
    """
    lines = iter(text)
    try:
        first_line = next(lines, "")
    except UnicodeDecodeError as exc:
        raise CsvFileError("The file is not UTF-8 text; save it as 'CSV UTF-8'.") from exc
    delimiter = ";" if "," not in first_line and ";" in first_line else ","
    records = csv.reader(itertools.chain([first_line], lines), delimiter=delimiter)
    try:
        header = next(records)
    except StopIteration:
        raise CsvFileError(
            "The file is empty: expected a header row naming the lead fields."
        ) from None
    except csv.Error as exc:
        raise CsvFileError(f"Row 1 is not valid CSV: {exc}.") from exc
    columns, errors = _read_header(header)
    if errors:
        yield None, errors
        return
    plan = _plan(columns)
    count = 0
    number = 1
    try:
        for number, cells in enumerate(records, start=2):
            if not any(cell.strip() for cell in cells):
                continue  # a blank line is no lead
            count += 1
            if count > max_rows:
                raise CsvFileError(f"The file has more than {max_rows:,} rows; split it.")
            yield _convert(number, plan, cells)
    except csv.Error as exc:
        yield None, [_error(number + 1, "file", f"not valid CSV: {exc}.")]
        count += 1
    except UnicodeDecodeError as exc:
        raise CsvFileError(
            f"The file is not UTF-8 text (after row {number}); save it as 'CSV UTF-8'."
        ) from exc
    if count == 0:
        raise CsvFileError("The file has a header but no lead rows.")


def _error(row: int, name: str, message: str) -> dict:
    return {"row": row, "field": name, "message": message}


def _read_header(header: list[str]) -> tuple[list[str], list[dict]]:
    columns, errors, seen = [], [], set()
    for cell in header:
        name = cell.strip()
        if not name.startswith(ATTRIBUTE_PREFIX):
            name = name.lower().replace(" ", "_")
        if name in seen:
            errors.append(_error(1, name, "This column appears twice."))
        elif name not in COLUMNS and not (
            name.startswith(ATTRIBUTE_PREFIX) and len(name) > len(ATTRIBUTE_PREFIX)
        ):
            errors.append(
                _error(
                    1,
                    name or "(blank)",
                    f"Unknown column; use {', '.join(COLUMNS)} or attributes.<key>.",
                )
            )
        seen.add(name)
        columns.append(name)
    if "email" not in seen:
        errors.append(_error(1, "email", "The header has no email column."))
    return columns, errors


_ATTRIBUTE, _ATTRIBUTES, _AGREEMENT = "attribute", "attributes", "agreement"


def _plan(columns: list[str]) -> list[tuple[str, str, object]]:
    """(column, kind, parser) of each header column, decided once per file."""
    plan = []
    for name in columns:
        if name.startswith(ATTRIBUTE_PREFIX):
            plan.append((name, _ATTRIBUTE, name.removeprefix(ATTRIBUTE_PREFIX)))
        elif name in (_ATTRIBUTES, _AGREEMENT):
            plan.append((name, name, None))
        else:
            plan.append((name, "field", _FIELD_PARSERS.get(name) or _text(name)))
    return plan


def _convert(number: int, plan: list[tuple], cells: list[str]) -> tuple[CsvRow, list[dict]]:
    errors: list[dict] = []
    if len(cells) > len(plan) and any(c.strip() for c in cells[len(plan) :]):
        errors.append(
            _error(number, "row", f"{len(cells)} cells, but the header names {len(plan)}.")
        )
    attributes: dict = {}
    data: dict = {"attributes": attributes}
    agreement = None
    for (name, kind, parse), cell in zip(plan, cells, strict=False):
        value = cell.strip()
        try:
            if kind == "field":
                if value:
                    data[name] = parse(value)
            elif kind == _ATTRIBUTE:
                if value:
                    data["attributes"][parse] = _attribute(value)
            elif kind == _ATTRIBUTES:
                data["attributes"] = {**attributes_json(value), **data["attributes"]}
            elif value:  # the agreement
                agreement = _whole(value)
        except ValueError as exc:
            errors.append(_error(number, name, str(exc)))
    if "email" not in data and not any(e["field"] == "email" for e in errors):
        errors.append(_error(number, "email", "An email address is required."))
    return CsvRow(row=number, data=data, agreement=agreement), errors


class CheckedEmail(str):
    """An address this module has validated: delivery need not validate it again."""

    __slots__ = ()


def _email(value: str) -> str:
    try:
        validate_email(value)
    except ValidationError as exc:
        raise ValueError(f"{value!r} is not a valid email address.") from exc
    return CheckedEmail(value)


def _whole(value: str) -> int:
    digits = value.replace(",", "").replace("_", "")
    if not _WHOLE.match(digits) or int(digits) > MAX_INT:
        raise ValueError(f"{value!r} is not a whole number, 0 or more.")
    return int(digits)


def _text(name: str):
    def parse(value: str) -> str:
        if len(value) > TEXT_FIELDS[name]:
            raise ValueError(f"At most {TEXT_FIELDS[name]} characters.")
        return value

    return parse


def _attribute(value: str):
    # Booleans, so that a rule such as `attributes.student eq true` matches a CSV cell.
    lowered = value.casefold()
    return {"true": True, "false": False}.get(lowered, value)


def attributes_json(value: str) -> dict:
    """A lead's `attributes` typed as JSON text (a CSV cell, the lead form's box): an
    object, or ValueError saying what is wrong."""
    if not value:
        return {}
    try:
        parsed = json.loads(value)
    except json.JSONDecodeError as exc:
        raise ValueError(f"Not JSON: {exc.msg} (line {exc.lineno}).") from exc
    if not isinstance(parsed, dict):
        raise ValueError('Give a JSON object such as {"industry": "retail"}.')
    return parsed


_FIELD_PARSERS = {
    "email": _email,
    "company_size": _whole,
    "received_at": parse_instant,
}


# --- writing ---------------------------------------------------------------------------------

# A spreadsheet runs a cell that starts with one of these as a formula.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_safe(value):
    """The cell as text, prefixed with ' when a spreadsheet would read it as a formula."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


class _Echo:
    def write(self, value):
        return value


def csv_stream(rows: Iterable[Iterable]) -> Iterator[str]:
    writer = csv.writer(_Echo())
    yield "\ufeff"  # the byte-order mark that makes spreadsheets read UTF-8
    for row in rows:
        yield writer.writerow([csv_safe(cell) for cell in row])
