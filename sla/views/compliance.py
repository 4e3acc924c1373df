"""The executive dashboard: both sides of every agreement the viewer can see, for a month
and the one before, with charts, drill-down links and a CSV of every table.

The figures, tables and chart data come from `sla.figures.dashboard_figures` (set-based
reads, equal to `compliance_for`); these views choose the month and render them.
"""

from django.contrib.auth.decorators import login_required
from django.http import Http404, StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone

from core.timeparse import month_name, parse_month
from leads.csvfile import csv_stream
from sla.compliance import current_month
from sla.figures import dashboard_figures
from sla.selectors import agreements_visible_to


def chosen_month(request, agreements, now) -> tuple[tuple[int, int], str | None]:
    """The month asked for, else this month (in the first agreement's calendar), with
    the reason when the one asked for cannot be shown."""
    requested = request.GET.get("month", "").strip()
    error = None
    if requested:
        try:
            return parse_month(requested), None
        except ValueError as exc:
            error = f"Month: {exc} Showing this month."
    if agreements:
        name = current_month(agreements[0].calendar.as_work_calendar(), now)
    else:
        name = month_name(now.year, now.month)
    return parse_month(name), error


def dashboard_context(request) -> dict:
    now = timezone.now()
    agreements = list(
        agreements_visible_to(request.user).select_related(
            "calendar", "marketing_team", "sales_team"
        )
    )
    (year, month), error = chosen_month(request, agreements, now)
    figures = dashboard_figures(agreements=agreements, year=year, month=month, now=now)
    return {**figures, "error": error}


@login_required
def dashboard(request):
    return render(request, "sla/dashboard.html", dashboard_context(request))


@login_required
def dashboard_panel(request):
    """The fragment the page polls every minute while the tab is visible."""
    return render(request, "sla/_dashboard_panel.html", dashboard_context(request))


@login_required
def dashboard_export(request, table: str):
    context = dashboard_context(request)
    found = context["tables"].get(table)
    if found is None:
        raise Http404(f"No table named {table!r}.")
    rows = [found["header"], *([cell["value"] for cell in row] for row in found["rows"])]
    response = StreamingHttpResponse(csv_stream(rows), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{table}-{context["month"]}.csv"'
    return response
