"""The executive dashboard: the same figures as compliance_for, all agreements together
recomputed from the data, months it cannot show explained, a CSV of every table, a
link behind every number, and a query count that does not grow with what it shows."""

import csv
import io
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from sla.actions import lead_acknowledge, lead_deliver, lead_move_stage, lead_reject, lead_touch
from sla.checks import run_all_checks
from sla.compliance import compliance_for, compliance_trend, percent
from sla.figures import month_scope, sales_by_rep, scorecards, scorecards_of, trend
from sla.models import Agreement, Flag
from tests.factories import (
    AgreementFactory,
    CalendarFactory,
    FlagFactory,
    TeamFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

NEW_YORK = ZoneInfo("America/New_York")
NOW = datetime(2026, 12, 8, 20, 0, tzinfo=UTC)  # Tue 8 Dec, 15:00 in New York
# Minutes after arrival of each lead's first touch, by position: in time, in time,
# late (the next day), never (breached by now when due).
TOUCH_AFTER = (timedelta(minutes=20), timedelta(hours=2), timedelta(days=1, hours=3), None)


def business_mornings(year: int, month: int, until: datetime):
    """10:00 New York on each weekday of the month before `until`."""
    day = datetime(year, month, 1, 10, 0, tzinfo=NEW_YORK)
    while day.month == month and day < until:
        if day.weekday() < 5:
            yield day
        day += timedelta(days=1)


def seed_agreement(
    name: str,
    reps: list,
    *,
    now: datetime,
    months=((2026, 10), (2026, 11), (2026, 12)),
    per_day: int = 1,
    calendar=None,
):
    """An agreement whose reps work `per_day` leads each weekday of the months: some
    touched in time, some late, some never; verdicts and stage moves on the way."""
    sales = TeamFactory(name=f"{name} sales")
    agreement = AgreementFactory(
        name=name,
        sales_team=sales,
        marketing_team=TeamFactory(name=f"{name} marketing", kind="marketing"),
        monthly_quota=30,
        effective_from=datetime(2026, 9, 1).date(),
        **({"calendar": calendar} if calendar else {}),
    )
    people = [UserFactory(username=rep, role="sales") for rep in reps]
    sales.members.add(*people)
    n = 0
    for year, month in months:
        for morning in business_mornings(year, month, now):
            for slot in range(per_day):
                received = morning + timedelta(minutes=7 * slot)
                lead, _ = lead_deliver(
                    by=None,
                    data={
                        "email": f"{name.lower()}{n}@acme.test",
                        "first_name": "Lee",
                        "last_name": f"{name} {n}",
                        "company_size": 20 if n % 9 == 8 else 150,  # every ninth does not qualify
                        "received_at": received,
                    },
                    agreement=agreement,
                    now=received,
                )
                rep = lead.owner or people[0]
                after = TOUCH_AFTER[n % len(TOUCH_AFTER)]
                if after is not None and received + after < now:
                    lead_touch(
                        lead=lead,
                        by=rep,
                        kind="call",
                        outcome="no_answer",
                        at=received + after,
                        now=now,
                    )
                    if n % 3 == 0:
                        lead_acknowledge(lead=lead, by=rep, now=received + after)
                        lead_move_stage(
                            lead=lead,
                            by=rep,
                            stage="engaged",
                            now=received + after + timedelta(hours=5),
                        )
                    elif n % 5 == 1:
                        lead_reject(lead=lead, by=rep, reason="no_budget", now=received + after)
                n += 1
    return agreement


@pytest.fixture
def world():
    with time_machine.travel(NOW, tick=False):
        inbound = seed_agreement("Inbound", ["sam", "sofia"], now=NOW)
        partners = seed_agreement("Partners", ["olga"], now=NOW, months=((2026, 11), (2026, 12)))
        run_all_checks(at=NOW)
    return inbound, partners


@pytest.fixture
def erin(client, make_user):
    client.force_login(make_user("erin", "executive"))
    return client


@time_machine.travel(NOW, tick=False)
@pytest.mark.parametrize("month", ["2026-12", "2026-11", "2026-10"])
def test_each_agreement_card_equals_compliance_for(world, month):
    agreements = list(Agreement.objects.select_related("calendar"))
    cards = scorecards(
        month_scope(agreements=agreements, year=2026, month=int(month[5:]), at=NOW), NOW
    )
    for agreement in agreements:
        api = compliance_for(agreement=agreement, month=month, at=NOW)
        card = cards[agreement.id]
        for key, value in api["marketing"].items():
            assert card[key] == value, (agreement.name, month, key)
        for key, value in api["sales"].items():
            if key == "touched_within_sla":
                key = "within"
            assert card[key] == value, (agreement.name, month, key)


@time_machine.travel(NOW, tick=False)
def test_all_together_sums_counts_and_recomputes_percentages_and_minutes(world):
    agreements = list(Agreement.objects.select_related("calendar"))
    cards = scorecards(month_scope(agreements=agreements, year=2026, month=11, at=NOW), NOW)
    every = [compliance_for(agreement=a, month="2026-11", at=NOW) for a in agreements]
    total = cards[None]
    assert total["delivered"] == sum(f["marketing"]["delivered"] for f in every)
    assert total["breached"] == sum(f["sales"]["breached"] for f in every)
    within = sum(f["sales"]["touched_within_sla"] for f in every)
    assert total["compliance_percent"] == round(100 * within / (within + total["breached"]), 1)
    committed = sum(f["marketing"]["committed"] for f in every)
    assert total["attainment_percent"] == round(100 * total["delivered_qualified"] / committed, 1)


@time_machine.travel(NOW, tick=False)
def test_the_median_of_all_together_comes_from_the_data_not_from_the_medians():
    # Inbound: touches after 10, 20, 30 minutes (median 20); Partners: 200 (median 200).
    # The median of the medians would be 110; of the four touches it is 25.
    def touched(agreement, rep, minutes):
        for n, after in enumerate(minutes):
            received = datetime(2026, 12, 7, 10, n, tzinfo=NEW_YORK)
            lead, _ = lead_deliver(
                by=None,
                data={
                    "email": f"{agreement.pk}-{n}@acme.test",
                    "company_size": 150,
                    "received_at": received,
                },
                agreement=agreement,
                now=received,
            )
            lead_touch(
                lead=lead,
                by=rep,
                kind="call",
                outcome="no_answer",
                at=received + timedelta(minutes=after),
                now=NOW,
            )

    for name, minutes in (("Inbound", (10, 20, 30)), ("Partners", (200,))):
        agreement = AgreementFactory(name=name)
        rep = UserFactory(username=f"rep-{name}", role="sales")
        agreement.sales_team.members.add(rep)
        touched(agreement, rep, minutes)
    agreements = list(Agreement.objects.select_related("calendar"))
    cards = scorecards(month_scope(agreements=agreements, year=2026, month=12, at=NOW), NOW)
    assert [cards[a.id]["median_first_touch_minutes"] for a in agreements] == [20, 200]
    assert cards[None]["median_first_touch_minutes"] == 25
    assert cards[None]["p90_first_touch_minutes"] == 200


@time_machine.travel(NOW, tick=False)
def test_all_together_counts_the_quota_of_the_agreements_in_effect_and_splits_open_breaches(
    world,
):
    inbound, partners = world
    Agreement.objects.filter(pk=partners.pk).update(effective_from=datetime(2026, 12, 1).date())
    agreements = list(Agreement.objects.select_related("calendar"))
    current = month_scope(agreements=agreements, year=2026, month=12, at=NOW)
    previous = month_scope(agreements=agreements, year=2026, month=11, at=NOW)
    cards_now, cards_before = scorecards_of([current, previous], NOW)
    assert cards_before[partners.id]["status"] == "not_in_effect"
    assert cards_before[None]["committed"] == cards_before[inbound.id]["committed"]
    assert cards_before[None]["expected_to_date"] == cards_before[inbound.id]["expected_to_date"]
    both = cards_now[inbound.id]["expected_to_date"] + cards_now[partners.id]["expected_to_date"]
    assert cards_now[None]["expected_to_date"] == pytest.approx(both, abs=0.1)
    for cards, month in ((cards_now, "2026-12"), (cards_before, "2026-11")):
        for agreement in (inbound, partners):
            card = cards[agreement.id]
            assert card["open_first"] + card["open_next"] == card["open_breaches"]
            assert (
                card["open_first"]
                == Flag.objects.filter(
                    agreement=agreement, month=month, kind="first_touch_breached", state="open"
                ).count()
            )
        assert cards[None]["open_first"] + cards[None]["open_next"] == cards[None]["open_breaches"]
    assert cards_now[None]["open_first"] > 0
    assert cards_now == scorecards(current, NOW)


@pytest.mark.parametrize("month", ["0000-01", "9999-12", "2026-13", "abc"])
def test_an_impossible_month_is_explained_never_a_server_error(erin, world, month):
    response = erin.get("/compliance/", {"month": month})
    assert response.status_code == 200
    html = response.content.decode()
    assert (
        'data-testid="month-error"' in html and "Month:" in html and "Showing this month." in html
    )
    assert erin.get("/compliance/panel/", {"month": month}).status_code == 200


@time_machine.travel(NOW, tick=False)
def test_a_month_before_the_agreement_is_not_in_effect_and_a_future_one_not_started(erin, world):
    before = erin.get("/compliance/", {"month": "2026-08"}).content.decode()
    assert "Not in effect" in before and "Missed" not in before
    future = erin.get("/compliance/", {"month": "2027-02"}).content.decode()
    assert "Not started" in future and "On track" not in future


@time_machine.travel(NOW, tick=False)
def test_the_page_shows_both_months_the_charts_data_and_when_it_was_updated(erin, world):
    response = erin.get("/compliance/", {"month": "2026-12"})
    html = response.content.decode()
    assert "2026-12" in html and "2026-11" in html
    assert 'id="dashboard-data"' in html and "echarts.min.js" in html and "js/dashboard.js" in html
    assert 'hx-trigger="slaops:poll, dashboard:refresh" data-poll="60"' in html
    assert 'data-testid="last-updated"' in html and 'datetime="2026-12-08T20:00:00Z"' in html
    data = response.context["chart_data"]
    assert [p["agreement"] for p in data["pacing"]] == ["Inbound", "Partners"]
    assert len(data["trend"]["months"]) == 12 and data["trend"]["months"][-1] == "2026-12"


@time_machine.travel(NOW, tick=False)
def test_the_panel_is_a_fragment_for_the_minute_refresh(erin, world):
    html = erin.get("/compliance/panel/", {"month": "2026-12"}).content.decode()
    assert "<html" not in html and 'id="dashboard-data"' in html and "Inbound" in html


@time_machine.travel(NOW, tick=False)
def test_a_breach_count_by_rep_links_to_exactly_those_flags(erin, world):
    inbound, _ = world
    table = erin.get("/compliance/", {"month": "2026-12"}).context["tables"]["breaches_by_rep"]
    row = next(r for r in table["rows"] if r[0]["value"] == "sam · Inbound")
    count = row[1]
    assert count["value"] > 0
    listed = erin.get(count["url"]).context["page"].object_list
    expected = Flag.objects.filter(
        agreement=inbound, month="2026-12", owner__username="sam", kind="first_touch_breached"
    )
    assert {f.pk for f in listed} == set(expected.values_list("pk", flat=True))


@time_machine.travel(NOW, tick=False)
def test_every_table_exports_as_csv_with_its_header_and_rows(erin, world):
    context = erin.get("/compliance/", {"month": "2026-12"}).context
    for name, table in context["tables"].items():
        response = erin.get(f"/compliance/export/{name}.csv", {"month": "2026-12"})
        assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
        text = b"".join(response.streaming_content).decode("utf-8")
        assert text.startswith("\ufeff")
        rows = list(csv.reader(io.StringIO(text[1:])))
        assert rows[0] == table["header"], name
        assert len(rows) - 1 == len(table["rows"]), name
    assert erin.get("/compliance/export/nothing.csv").status_code == 404


@time_machine.travel(NOW, tick=False)
def test_an_agreement_name_that_looks_like_a_formula_is_exported_as_text(erin, world):
    Agreement.objects.filter(name="Inbound").update(name="=HYPERLINK(1)")
    response = erin.get("/compliance/export/trend.csv")
    assert response.status_code == 200
    text = b"".join(erin.get("/compliance/export/scorecard.csv").streaming_content).decode()
    assert "'=HYPERLINK(1)" in text


def test_a_rep_outside_the_agreements_sees_none(client, world, make_user):
    client.force_login(make_user("zed", "sales"))
    html = client.get("/compliance/").content.decode()
    assert "No agreement in view." in html and "Inbound" not in html


def _dashboard_queries(client) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get("/compliance/", {"month": "2026-12"}).status_code == 200
    return len(queries)


@time_machine.travel(NOW, tick=False)
def test_the_query_count_does_not_grow_with_leads_or_agreements(erin):
    seed_agreement("Inbound", ["sam"], now=NOW, months=((2026, 12),))
    run_all_checks(at=NOW)
    small = _dashboard_queries(erin)
    calendar = CalendarFactory(name="Berlin", timezone="Europe/Berlin")
    seed_agreement(
        "Partners", ["olga", "otto"], now=NOW, months=((2026, 11), (2026, 12)), per_day=3
    )
    seed_agreement("Europe", ["eva"], now=NOW, months=((2026, 12),), per_day=2, calendar=calendar)
    run_all_checks(at=NOW)
    large = _dashboard_queries(erin)
    assert large == small
    # About 16 on PostgreSQL: the scorecards of both months are one tally statement and
    # one of flags, the by-rep table one more, and the closed months of the trend read the
    # agreements' versions and reopenings once each (sla.books.MarketingTerms); sla.tallies
    # takes five queries elsewhere.
    assert small <= (18 if connection.vendor == "postgresql" else 32)


@time_machine.travel(NOW, tick=False)
def test_the_trend_of_all_together_adds_up_compliance_trend_of_each_agreement(world):
    agreements = list(Agreement.objects.select_related("calendar"))
    rows = trend(agreements=agreements, year=2026, month=12, at=NOW)
    names = [row["month"] for row in rows]
    assert names == [f"2026-{m:02d}" for m in range(1, 13)]
    each = [compliance_trend(agreement=a, months=names, at=NOW) for a in agreements]
    for index, row in enumerate(rows):
        months = [months_of[index] for months_of in each]
        in_effect = [m for m in months if m["marketing"]["status"] != "not_in_effect"]
        assert row["committed"] == sum(m["marketing"]["committed"] for m in in_effect)
        assert row["qualified"] == sum(m["marketing"]["delivered_qualified"] for m in months)
        within = sum(m["sales"]["touched_within_sla"] for m in months)
        breached = sum(m["sales"]["breached"] for m in months)
        assert row["compliance_percent"] == percent(within, within + breached), row["month"]
        accepted = sum(m["marketing"]["accepted"] for m in months)
        judged = accepted + sum(m["marketing"]["rejected"] for m in months)
        assert row["acceptance_percent"] == percent(accepted, judged), row["month"]


@time_machine.travel(NOW, tick=False)
def test_a_breach_with_no_owner_or_team_is_counted_but_not_linked(erin):
    agreement = AgreementFactory(name="Inbound")
    FlagFactory(agreement=agreement, lead=None, owner=None, team=None, month="2026-12")
    tables = erin.get("/compliance/", {"month": "2026-12"}).context["tables"]
    [rep] = tables["breaches_by_rep"]["rows"]
    [team] = tables["breaches_by_team"]["rows"]
    assert rep[0]["value"] == "unassigned · Inbound" and team[0]["value"] == "no team"
    assert rep[1]["value"] == team[1]["value"] == 1
    assert rep[1]["url"] is None and team[1]["url"] is None


@time_machine.travel(NOW, tick=False)
def test_first_touch_by_rep_equals_the_by_rep_of_compliance_for(world):
    agreements = list(Agreement.objects.select_related("calendar"))
    reps = sales_by_rep(month_scope(agreements=agreements, year=2026, month=11, at=NOW), NOW)
    for agreement in agreements:
        api = compliance_for(agreement=agreement, month="2026-11", at=NOW)["by_rep"]
        mine = [r for r in reps if r["agreement_id"] == agreement.id]
        assert mine and [r["owner"] for r in mine] == [r["owner"] for r in api]
        assert mine == [{"agreement_id": agreement.id, **r} for r in api]


def touched_leads(url: str) -> int:
    """How many qualified leads of the link's agreement and span had a first touch."""
    from urllib.parse import parse_qs, urlparse

    from sla.models import Clock

    query = {key: values[0] for key, values in parse_qs(urlparse(url).query).items()}

    def instant(text):
        return datetime.fromisoformat(text.replace("Z", "+00:00"))

    return Clock.objects.filter(
        kind=Clock.Kind.FIRST_TOUCH,
        stop_reason__in=Clock.TOUCH_STOPS,
        touch_minutes__isnull=False,
        lead__qualifies=True,
        lead__terms__agreement_id=query["agreement"],
        lead__received_at__gte=instant(query["received_after"]),
        lead__received_at__lt=instant(query["received_before"]),
    ).count()


@time_machine.travel(NOW, tick=False)
def test_each_lead_count_of_an_agreement_links_to_exactly_that_many_leads(erin, world):
    blocks = erin.get("/compliance/", {"month": "2026-12"}).context["blocks"]
    checked = set()
    for block in blocks[1:]:  # per agreement (all together spans several zones)
        for side in block["sides"]:
            for row in side["rows"]:
                for month in ("now", "before"):
                    found = row[month]
                    if not (found["url"] and found["url"].startswith("/leads/")):
                        continue
                    listed = erin.get(found["url"]).context["page"].paginator.count
                    card = block["card"] if month == "now" else None
                    behind = {  # a percentage links to the leads it is a share of
                        "Attainment": "delivered_qualified",
                        "Acceptance": ("accepted", "rejected"),
                        "First-touch compliance": ("within", "breached"),
                        "Median first touch": (),  # the touched leads: checked below
                        "p90 first touch": (),
                    }.get(row["label"])
                    if behind is None:
                        assert listed == found["value"], (row["label"], month, found["url"])
                    elif behind == ():
                        assert listed == touched_leads(found["url"]) > 0, row["label"]
                    elif card is not None:
                        keys = (behind,) if isinstance(behind, str) else behind
                        assert listed == sum(card[key] for key in keys), row["label"]
                    checked.add(row["label"])
    assert {
        "Delivered",
        "Qualified",
        "Accepted",
        "Rejected",
        "Touched within SLA",
        "Attainment",
        "Acceptance",
        "First-touch compliance",
        "Median first touch",
        "p90 first touch",
    } <= checked
