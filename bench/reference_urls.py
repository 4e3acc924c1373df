"""The reference of `POST /api/leads/`: a bare Django view inserting the same row.

It parses the same JSON body and inserts one lead row with the values delivery would
store (score, stage, team, an owner), looked up once per worker. No authentication, no
validation, no round robin, no terms or clock, no answer beyond the id: what any
Django endpoint that stores a lead pays at least. The slaops URLs stay mounted.
"""

import json

from django.http import HttpResponseNotAllowed, JsonResponse
from django.urls import path
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from accounts.models import Role
from funnel.models import Stage
from leads.models import Lead
from sla.models import Agreement
from slaops.urls import urlpatterns as slaops_urlpatterns

_CONSTANTS: dict = {}
FIELDS = ("email", "first_name", "last_name", "company", "title", "country", "company_size")
FIELDS += ("source", "external_id")


def _constants(agreement_id: int, data: dict) -> dict:
    found = _CONSTANTS.get(agreement_id)
    if found is None:
        agreement = Agreement.objects.select_related("definition", "sales_team").get(
            pk=agreement_id
        )
        version = agreement.definition.current_version
        result = version.score(data)
        stage = (
            Stage.objects.filter(slug="interacting").first()
            or Stage.objects.order_by("position").first()
        )
        owner = agreement.sales_team.members.filter(role=Role.SALES).order_by("username").first()
        found = _CONSTANTS[agreement_id] = {
            "definition_version_id": version.pk,
            "score": result.score,
            "qualifies": result.qualifies,
            "score_explanation": result.explanation,
            "stage_id": stage.pk,
            "team_id": agreement.sales_team_id,
            "owner_id": owner.pk if owner else None,
        }
    return found


@csrf_exempt
def bare_insert(request):
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    data = json.loads(request.body)
    now = timezone.now()
    lead = Lead.objects.create(
        **{name: data[name] for name in FIELDS if name in data},
        attributes=data.get("attributes") or {},
        received_at=now,
        assigned_at=now,
        **_constants(int(data["agreement"]), data),
    )
    return JsonResponse({"id": lead.pk}, status=201)


urlpatterns = [path("bench/bare-insert/", bare_insert), *slaops_urlpatterns]
