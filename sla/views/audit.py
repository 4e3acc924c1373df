"""The audit page: who changed what and when, for admins and executives; read only."""

from datetime import datetime, timedelta

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import render
from django.utils import timezone

from accounts.access import may_read_audit
from accounts.models import User
from core.timeparse import instant_field
from sla.audit import KINDS, audit_entries

PAGE = 50


def _instant(text: str) -> datetime | None:
    try:
        return instant_field(text) if text else None
    except ValidationError:  # a hand-edited cursor: start from the newest
        return None


@login_required
def audit_log(request):
    if not may_read_audit(request.user):
        raise PermissionDenied("Only admins and executives read the audit history.")
    kind = request.GET.get("kind") or None
    if kind not in KINDS:
        kind = None
    who_name = (request.GET.get("who") or "").strip()
    who = User.objects.filter(username=who_name).first() if who_name else None
    days = request.GET.get("days", "")
    since = timezone.now() - timedelta(days=int(days)) if days in ("1", "7", "30", "90") else None
    before = _instant(request.GET.get("before", ""))
    entries = (
        []
        if who_name and who is None
        else audit_entries(kind=kind, who=who, since=since, before=before, limit=PAGE + 1)
    )
    more = len(entries) > PAGE
    entries = entries[:PAGE]
    query = request.GET.copy()
    if more:
        query["before"] = entries[-1].at.isoformat()
    return render(
        request,
        "sla/audit_log.html",
        {
            "entries": entries,
            "kinds": KINDS,
            "kind": kind,
            "who": who_name,
            "unknown_who": bool(who_name and who is None),
            "days": days,
            "older": query.urlencode() if more else None,
            "paged": before is not None,
        },
    )
