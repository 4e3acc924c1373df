"""CSV import of leads: every row is delivered by `lead_deliver`, like any other lead.

All or nothing by default: one transaction, rolled back when any row has an error.
With `partial`, each row runs in its own savepoint, so the good rows stay.
"""

from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import transaction

from accounts.models import User
from leads.intake import CsvFileError, CsvRow, parse_leads_csv, read_upload
from sla.models import Agreement
from sla.services.leads import lead_deliver


def leads_import(
    *, by: User, file, agreement: Agreement | None, partial: bool, now: datetime
) -> dict:
    """Deliver every row of the CSV. Returns {"created", "duplicates", "errors"}.

    Raises ValidationError naming `file` when the file as a whole is refused.
    """
    try:
        parsed = parse_leads_csv(read_upload(file))
    except CsvFileError as exc:
        raise ValidationError({"file": str(exc)}) from exc
    errors = list(parsed.errors)
    named = Agreement.objects.in_bulk({row.agreement for row in parsed.rows if row.agreement})
    created = duplicates = 0
    with transaction.atomic():
        for row in parsed.rows:
            try:
                was_created = _row_deliver(
                    by=by, row=row, agreement=agreement, named=named, now=now
                )
            except ValidationError as exc:
                errors.extend(_row_errors(row.row, exc))
                continue
            created += was_created
            duplicates += not was_created
        if errors and not partial:
            transaction.set_rollback(True)
            created = 0
    errors.sort(key=lambda error: error["row"])
    return {"created": created, "duplicates": duplicates, "errors": errors}


def _row_deliver(
    *, by: User, row: CsvRow, agreement: Agreement | None, named: dict, now: datetime
) -> bool:
    if row.agreement is not None:
        agreement = named.get(row.agreement)
        if agreement is None:
            raise ValidationError({"agreement": f"There is no agreement {row.agreement}."})
    # A savepoint per row: a refused row leaves the transaction usable for the next.
    with transaction.atomic():
        _, created = lead_deliver(by=by, data=row.data, agreement=agreement, now=now)
    return created


def _row_errors(row: int, exc: ValidationError) -> list[dict]:
    if not hasattr(exc, "error_dict"):
        return [{"row": row, "field": "row", "message": " ".join(exc.messages)}]
    return [
        {"row": row, "field": "row" if name == "__all__" else name, "message": " ".join(messages)}
        for name, messages in exc.message_dict.items()
    ]
