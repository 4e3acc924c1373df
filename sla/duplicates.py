"""Duplicate leads by e-mail: the rule, found for a whole batch at once, and telling the
owner of the first lead.

A qualifying lead whose e-mail (case aside) matches an open, qualifying lead of the same
agreement delivered within the agreement's `duplicate_window_days` before it is a
duplicate of that lead (the earliest such): it is linked to it (`Lead.duplicate_of`),
no longer qualifies (so it starts no clock and takes no round-robin turn), and the
figures count it in `duplicates`, not among the qualified leads. A window of 0 days
turns the rule off.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import connection
from django.db.models.functions import Lower

from accounts.models import User
from leads.models import Lead
from sla.models import Notification

# How a duplicate reads among the reasons a lead does not qualify.
DUPLICATE_REASON = "duplicate of an open lead with this e-mail"


@dataclass
class Candidate:
    """A lead about to be delivered, as the rule reads it."""

    agreement_id: int
    window_days: int
    email: str
    received_at: datetime
    # Set by `duplicates_find`: the id of the first lead, or the earlier Candidate of the
    # same batch it repeats (whose lead id is known only once the batch is inserted).
    duplicate_of: int | Candidate | None = None


def duplicates_find(candidates: Sequence[Candidate]) -> None:
    """Mark each candidate that is a duplicate (`duplicate_of`), in delivery order; an
    earlier candidate of the batch counts as an open lead. One query for the batch."""
    wanted = [c for c in candidates if c.window_days]
    if not wanted:
        return
    since = min(c.received_at - timedelta(days=c.window_days) for c in wanted)
    addresses = sorted({c.email.lower() for c in wanted})
    agreements = sorted({c.agreement_id for c in wanted})
    found: dict[tuple, list[tuple]] = defaultdict(list)
    for agreement_id, address, received_at, pk in _open_leads(addresses, agreements, since):
        found[(agreement_id, address)].append((received_at, pk))
    for candidate in wanted:
        key = (candidate.agreement_id, candidate.email.lower())
        start = candidate.received_at - timedelta(days=candidate.window_days)
        earlier = [f for f in found[key] if start <= f[0] <= candidate.received_at]
        if earlier:
            candidate.duplicate_of = min(earlier, key=lambda f: f[0])[1]
        else:
            found[key].append((candidate.received_at, candidate))


# The open leads with these addresses (the partial index lead_open_email), by hand on
# PostgreSQL: asked on every API delivery, where compiling the queryset cost more than
# running it. The same rows as the queryset below.
OPEN_LEADS_SQL = """
SELECT t.agreement_id, lower(l.email), l.received_at, l.id
FROM leads_lead l JOIN sla_leadterms t ON t.lead_id = l.id
WHERE lower(l.email) = ANY(%s) AND l.closed_at IS NULL AND l.duplicate_of_id IS NULL
  AND l.qualifies AND l.received_at >= %s AND t.agreement_id = ANY(%s)
"""


def _open_leads(addresses: list[str], agreements: list[int], since: datetime):
    """(agreement id, lower-case e-mail, received_at, id) of the open, qualifying leads
    that are no duplicate themselves, of these addresses and agreements, since `since`."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(OPEN_LEADS_SQL, [addresses, since, agreements])
            return cursor.fetchall()
    return (
        Lead.objects.annotate(address=Lower("email"))
        .filter(
            address__in=addresses,
            closed_at__isnull=True,
            duplicate_of__isnull=True,
            qualifies=True,
            received_at__gte=since,
            terms__agreement_id__in=agreements,
        )
        .values_list("terms__agreement_id", "address", "received_at", "id")
    )


def duplicates_notify(pairs: Sequence[tuple[int, int]], *, at: datetime) -> int:
    """Tell the owner of each first lead that it was delivered again: one e-mail outbox
    row per (duplicate id, first lead id), once (its key). Returns the rows queued."""
    if not pairs:
        return 0
    firsts = {
        row["id"]: row
        for row in Lead.objects.filter(pk__in={first for _, first in pairs}).values(
            "id", "email", "first_name", "last_name", "company", "owner_id"
        )
    }
    owners = dict(
        User.objects.filter(
            pk__in={row["owner_id"] for row in firsts.values()} - {None}, is_active=True
        )
        .exclude(email="")
        .values_list("pk", "email")
    )
    rows = []
    for duplicate_id, first_id in pairs:
        first = firsts.get(first_id)
        address = owners.get(first["owner_id"]) if first else None
        if address is None:
            continue
        name = f"{first['first_name']} {first['last_name']}".strip() or first["email"]
        about = f"{name} ({first['company']})" if first["company"] else name
        rows.append(
            Notification(
                key=f"duplicate:{duplicate_id}:email:{first['owner_id']}",
                channel=Notification.Channel.EMAIL,
                recipient_id=first["owner_id"],
                address=address,
                subject=f"[slaops] Delivered again: lead #{first_id} {about}"[:300],
                body=(
                    f"Lead #{first_id} {about}, yours, was delivered again as lead"
                    f" #{duplicate_id}. The new lead is recorded as its duplicate: it starts"
                    " no clock and counts as a duplicate in marketing's figures."
                ),
                not_before=at,
                created_at=at,
            )
        )
    Notification.objects.bulk_create(rows, ignore_conflicts=True)
    return len(rows)
