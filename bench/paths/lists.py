"""Path 4: the lists sales work from, against the same 50 rows fetched with `.values()`.

- `/inbox/` of a rep with 40,000 open leads (scale 1), the page as the browser gets it;
- `GET /api/leads/?owner=me` of that rep;
- `GET /api/leads/` of the sales manager of a 200,000-lead team.

In process, through Django's test client (the page logged in with `force_login`, the
API with the person's token), DEBUG off. The reference is the plainest ORM query for
the same rows: the same visibility, the same order (the earliest running clock first),
the first 50, `.values()` of the columns shown; no status, counts, pagination,
serializer or template. The two take turns, --samples times each. Targets: p95 at
most 3x the reference's and under 100 ms.
"""

from __future__ import annotations

import json
import re
from contextlib import contextmanager

from bench.common import alternate, ms, p95, ratio, row
from bench.common import median as median_of

NAME = "lists"
ROWS = {
    "inbox_rep": ("ms", "p95 <= 3x values() and < 100 ms"),
    "api_leads_rep": ("ms", "p95 <= 3x values() and < 100 ms"),
    "api_leads_manager": ("ms", "p95 <= 3x values() and < 100 ms"),
}
RATIO_TARGET = 3.0
ABSOLUTE_MS = 100.0
PAGE = 50
LEAD_LINK = re.compile(r'href="/leads/(\d+)/"')


def _next_due_at():
    """The earliest running due time: the stored one where the schema keeps it on the
    lead, else a subquery over the running clocks (the plainest query either way)."""
    from django.db.models import F, OuterRef, Subquery

    from leads.models import Lead
    from sla.models import Clock

    if "sla_due_at" in {f.name for f in Lead._meta.concrete_fields}:
        return F("sla_due_at")
    running = Clock.objects.filter(lead=OuterRef("pk"), state="running").order_by("due_at")
    return Subquery(running.values("due_at")[:1])


def _api_columns() -> list[str]:
    from leads.models import Lead

    own = [f.attname for f in Lead._meta.concrete_fields]
    return [*own, "stage__slug", "owner__username", "terms__agreement_id", "next_due_at"]


INBOX_COLUMNS = [
    "id",
    "first_name",
    "last_name",
    "email",
    "company",
    "score",
    "received_at",
    "stage__name",
    "owner__username",
    "next_due_at",
]


@contextmanager
def without_jit():
    """A transaction with JIT off: a reference pays no compiler (the app gets the server's)."""
    from django.db import connection, transaction

    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL jit = off")
        yield


def references(ctx) -> dict:
    """The three reference queries, each a function returning the 50 ids it fetched."""
    from django.db.models import F, Q

    from leads.models import Lead

    rep, manager = ctx.dataset.rep_id, ctx.dataset.manager_id
    teams = [t["team"] for t in ctx.dataset.teams if t["manager"] == manager]
    urgent = (F("next_due_at").asc(nulls_last=True), "-received_at", "-id")

    def inbox():
        rows = (
            Lead.objects.filter(owner_id=rep, closed_at__isnull=True, qualifies=True)
            .annotate(next_due_at=_next_due_at())
            .order_by(*urgent)
            .values(*INBOX_COLUMNS)[:PAGE]
        )
        with without_jit():
            return [r["id"] for r in rows]

    def api(scope: Q):
        def fetch():
            rows = (
                Lead.objects.filter(scope)
                .annotate(next_due_at=_next_due_at())
                .order_by(*urgent)
                .values(*_api_columns())[:PAGE]
            )
            with without_jit():
                return [r["id"] for r in rows]

        return fetch

    return {
        "inbox_rep": inbox,
        "api_leads_rep": api(Q(owner_id=rep)),
        "api_leads_manager": api(Q(team_id__in=teams) | Q(owner_id=manager)),
    }


def scope_sizes(ctx) -> dict:
    """How many leads each list chooses its 50 from."""
    from django.db.models import Q

    from leads.models import Lead

    rep, manager = ctx.dataset.rep_id, ctx.dataset.manager_id
    teams = [t["team"] for t in ctx.dataset.teams if t["manager"] == manager]
    return {
        "inbox_rep": Lead.objects.filter(
            owner_id=rep, closed_at__isnull=True, qualifies=True
        ).count(),
        "api_leads_rep": Lead.objects.filter(owner_id=rep).count(),
        "api_leads_manager": Lead.objects.filter(
            Q(team_id__in=teams) | Q(owner_id=manager)
        ).count(),
    }


def clients(ctx) -> dict:
    """(client, url, ids from the answer) for each list, logged in as its reader."""
    from django.test import Client
    from rest_framework.authtoken.models import Token

    from accounts.models import User

    rep = User.objects.get(pk=ctx.dataset.rep_id)
    manager = User.objects.get(pk=ctx.dataset.manager_id)
    page = Client()
    page.force_login(rep)

    def api_client(user):
        key = Token.objects.get(user=user).key
        return Client(headers={"Authorization": f"Token {key}", "Accept": "application/json"})

    def page_ids(response):
        return [int(i) for i in dict.fromkeys(LEAD_LINK.findall(response.content.decode()))]

    def api_ids(response):
        return [item["id"] for item in json.loads(response.content)["results"]]

    return {
        "inbox_rep": (page, "/inbox/", page_ids),
        "api_leads_rep": (api_client(rep), "/api/leads/?owner=me", api_ids),
        "api_leads_manager": (api_client(manager), "/api/leads/", api_ids),
    }


def run(ctx) -> list[dict]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext, override_settings

    plain_static = {
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    rows = []
    # The page names static files; without collectstatic the manifest storage of DEBUG
    # off would refuse them, so the plain storage serves the names (as the tests do).
    with override_settings(STORAGES=plain_static):
        readers = clients(ctx)
        sizes = scope_sizes(ctx)
        for name, reference in references(ctx).items():
            client, url, ids_of = readers[name]
            answers = {}

            def app(client=client, url=url, answers=answers):
                response = client.get(url)
                if response.status_code != 200:
                    raise RuntimeError(f"GET {url} answered {response.status_code}")
                answers["last"] = response

            seconds = alternate({"app": app, "reference": reference}, ctx.samples, warm_up=2)
            with CaptureQueriesContext(connection) as queries:
                app()
            app_ids, reference_ids = ids_of(answers["last"]), reference()
            app_ms, ref_ms = ms(seconds["app"]), ms(seconds["reference"])
            value = p95(app_ms)
            list_ratio = ratio(value, p95(ref_ms))
            ctx.log(
                f"  {url}: p95 {value:.1f} ms, values() p95 {p95(ref_ms):.1f} ms "
                f"({len(queries)} queries)"
            )
            rows.append(
                row(
                    name,
                    unit="ms",
                    samples=app_ms,
                    reference=p95(ref_ms),
                    ratio_value=list_ratio,
                    target=ROWS[name][1],
                    passed=list_ratio is not None
                    and list_ratio <= RATIO_TARGET
                    and value < ABSOLUTE_MS,
                    detail={
                        "url": url,
                        "leads_in_scope": sizes[name],
                        "queries": len(queries),
                        "rows": len(app_ids),
                        "same_rows_as_reference": app_ids == reference_ids,
                        "reference_median_ms": round(median_of(ref_ms), 2),
                        "ratio_of": "p95 / reference p95",
                    },
                )
            )
    return rows
