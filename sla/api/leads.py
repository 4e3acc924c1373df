"""`/api/leads/`: delivery, the lists sales and marketing read, and sales' actions.

Each endpoint checks who may act, validates the body's shape, and calls one service of
sla/actions.py, which holds the rules. A lead the caller cannot see answers 404;
one they can see but may not act on, 403.
"""

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import AuthenticationFailed, PermissionDenied, ValidationError
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from accounts.access import MarketingOrAdminWrites, may_act_on_lead
from accounts.auth import ExpiringTokenAuthentication, token_check
from accounts.models import User
from core.bulk import instance_of, select_columns
from core.errors import RuleRefused
from leads.models import Lead
from leads.selectors import leads_visible_to
from sla.actions import (
    lead_abandon,
    lead_acknowledge,
    lead_assign,
    lead_deliver,
    lead_move_stage,
    lead_reject,
    lead_touch,
)
from sla.api.callback_serializers import (
    CallbackRefusedSerializer,
    LeadCallbackInputSerializer,
    LeadCallbackSerializer,
)
from sla.api.lead_rows import lead_row, lead_rows, lead_values
from sla.api.lead_serializers import (
    LeadAbandonInputSerializer,
    LeadAssignInputSerializer,
    LeadBatchInputSerializer,
    LeadBatchItemSerializer,
    LeadBatchOutputSerializer,
    LeadCreateSerializer,
    LeadDetailSerializer,
    LeadRejectInputSerializer,
    LeadSerializer,
    LeadStageInputSerializer,
    LeadTouchCreatedSerializer,
    LeadTouchInputSerializer,
    LeadTouchSerializer,
    batch_item_checked,
    create_body_checked,
)
from sla.callbacks import CallbackRefused, lead_callback
from sla.delivery import CREATED, ERROR, agreement_for_delivery, leads_deliver
from sla.filters import LeadFilter
from sla.selectors import lead_list, lead_sla, leads_with_terms

IDEMPOTENCY_KEY_MAX = 200


class _TokenAuthentication(ExpiringTokenAuthentication):
    """DRF's token check, the token and its user read by one hand-written query on
    PostgreSQL: on every delivery, compiling the queryset cost more than running it."""

    def authenticate_credentials(self, key):
        if connection.vendor != "postgresql":
            return super().authenticate_credentials(key)
        model = self.get_model()
        quote = connection.ops.quote_name
        sql = (
            f"SELECT {', '.join([*select_columns(model, 't'), *select_columns(User, 'u')])}"  # noqa: S608
            f" FROM {quote(model._meta.db_table)} t JOIN {quote(User._meta.db_table)} u"
            f" ON u.id = t.{quote(model._meta.get_field('user').column)}"
            f" WHERE t.{quote(model._meta.pk.column)} = %s"
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, [key])
            found = cursor.fetchone()
        if found is None:
            raise AuthenticationFailed(gettext_lazy("Invalid token."))
        width = len(model._meta.concrete_fields)
        token, user = instance_of(model, found[:width]), instance_of(User, found[width:])
        token.user = user
        token_check(token, user)
        return (user, token)


def _errors(*codes: int) -> dict:
    described = {
        400: "Bad input: `{field: [messages]}` naming each field at fault.",
        401: "No credentials.",
        403: "This role may not do this to the lead.",
        404: "No such lead, or not visible to the caller.",
        409: "A rule of the agreement refuses the action; `detail` says which.",
    }
    return {code: OpenApiResponse(description=described[code]) for code in codes}


@extend_schema(tags=["leads"])
class LeadViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Leads. Marketing and admins deliver them; everyone reads the leads they may see
    (reps their own, managers their teams', marketing their agreements', executives
    and admins all); the owner, a manager of the team or an admin works them."""

    serializer_class = LeadSerializer
    filterset_class = LeadFilter
    lookup_value_regex = r"\d+"

    def get_authenticators(self):
        if getattr(self, "swagger_fake_view", False):  # the schema documents DRF's own
            return super().get_authenticators()
        return [
            _TokenAuthentication() if type(found) is ExpiringTokenAuthentication else found
            for found in super().get_authenticators()
        ]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation: no user
            return Lead.objects.none()
        return lead_list(self.request.user, now=timezone.now(), detail=self.action == "retrieve")

    def get_serializer_class(self):
        # The list's rows are built by hand (list(); the same JSON, documented as this).
        return LeadDetailSerializer if self.action == "retrieve" else LeadSerializer

    def get_serializer_context(self):
        return {**super().get_serializer_context(), "now": timezone.now()}

    def get_permissions(self):
        if self.action in ("create", "batch"):
            return [MarketingOrAdminWrites()]
        return [IsAuthenticated()]

    def filter_queryset(self, queryset):
        # Query parameters filter the list only; a lead's own URL finds it whatever they say.
        return super().filter_queryset(queryset) if self.action == "list" else queryset

    @extend_schema(
        description=(
            "Leads the caller may see, paginated. Sales reps and managers get the most "
            "urgent first (the earliest due time of a running clock, then the newest); "
            "others the newest first."
        ),
        responses={200: LeadSerializer(many=True), **_errors(400, 401)},
    )
    def list(self, request, *args, **kwargs):
        # Plain rows, not model instances: the same JSON as LeadSerializer (held equal by
        # tests/sla/test_lead_rows.py) at a fraction of the cost of fifty instances.
        queryset = self.filter_queryset(self.get_queryset())
        page = self.paginate_queryset(lead_values(queryset))
        return self.get_paginated_response(lead_rows(list(page)))

    @extend_schema(responses={200: LeadDetailSerializer, **_errors(401, 404)})
    def retrieve(self, request, *args, **kwargs):
        return super().retrieve(request, *args, **kwargs)

    @extend_schema(
        request=LeadCreateSerializer,
        parameters=[
            OpenApiParameter(
                "Idempotency-Key",
                str,
                OpenApiParameter.HEADER,
                description="Repeat the same key to get the first lead back (200).",
            )
        ],
        responses={
            201: LeadSerializer,
            200: OpenApiResponse(LeadSerializer, description="The lead already delivered."),
            **_errors(400, 401, 403, 409),
        },
    )
    def create(self, request):
        """Deliver a lead: scored, assigned round robin when it qualifies, clocks started."""
        key = request.headers.get("Idempotency-Key", "").strip() or None
        if key and len(key) > IDEMPOTENCY_KEY_MAX:
            raise ValidationError(
                {"Idempotency-Key": [f"At most {IDEMPOTENCY_KEY_MAX} characters."]}
            )
        data = self._create_body(request.data)
        agreement, owner, team = (data.pop(name, None) for name in ("agreement", "owner", "team"))
        now = timezone.now()
        delivered = None
        if owner or team is not None:  # an admin's choice, undone with the lead if refused
            with transaction.atomic():
                lead, created = lead_deliver(
                    by=request.user, data=data, agreement=agreement, idempotency_key=key, now=now
                )
                if created and team is not None and team != lead.team_id:
                    raise ValidationError({"team": ["Must be the agreement's sales team."]})
                if created and owner:
                    lead = lead_assign(lead=lead, by=request.user, owner=owner, now=now)
        else:  # a batch of one, as lead_deliver delivers it, answered without a read back
            [delivered] = leads_deliver(
                by=request.user, items=[data], agreement=agreement, keys=[key], now=now
            )
            if delivered.status == ERROR:
                if delivered.rule:  # a rule of state (a closed month): 409
                    message = " ".join(delivered.errors["received_at"])
                    raise RuleRefused(message, rule=delivered.rule)
                raise DjangoValidationError(delivered.errors)
            lead, created = delivered.lead, delivered.status == CREATED
        if not created and not leads_visible_to(request.user).filter(pk=lead.pk).exists():
            raise RuleRefused("This external_id or Idempotency-Key belongs to another team's lead.")
        fresh = delivered.as_delivered() if delivered is not None and created else None
        if fresh is not None:  # LeadSerializer's JSON, built by hand (sla/api/lead_rows.py)
            answer = lead_row(fresh, now=now)
        else:
            answer = self._answer(lead, LeadSerializer)
        return Response(answer, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)

    def _create_body(self, raw) -> dict:
        """The delivered lead's fields, its agreement as an instance: a plain body checked
        by hand (one lookup of the agreement), any other by LeadCreateSerializer."""
        data = create_body_checked(raw)
        wanted = data.get("agreement") if data is not None else None
        if wanted is not None:
            data["agreement"] = agreement_for_delivery(wanted, by=self.request.user)
        if data is None or (wanted is not None and data["agreement"] is None):
            body = LeadCreateSerializer(data=raw, context=self.get_serializer_context())
            body.is_valid(raise_exception=True)  # says what is wrong, as it always has
            data = dict(body.validated_data)
        return data

    @extend_schema(
        request=LeadBatchInputSerializer,
        responses={200: LeadBatchOutputSerializer, **_errors(400, 401, 403)},
    )
    @action(detail=False, methods=["post"])
    def batch(self, request):
        """Deliver up to 1,000 leads in one request; each answers on its own (`created`,
        `duplicate` of the first lead, or `error` with `{field: [messages]}`) and is
        idempotent by `external_id` or its `idempotency_key`, like a single delivery."""
        body = LeadBatchInputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        items, keys, refused = [], [], {}
        checker = LeadBatchItemSerializer()  # its fields built once, not once per lead
        for index, raw in enumerate(body.validated_data["leads"]):
            if not isinstance(raw, dict):
                item = LeadBatchItemSerializer(data=None)
                item.is_valid()
                refused[index] = dict(item.errors) or {"non_field_errors": ["Expected a lead."]}
                continue
            data = batch_item_checked(raw)
            if data is None:
                try:
                    data = dict(checker.run_validation(raw))
                except ValidationError as exc:  # what `is_valid()` would put in `.errors`
                    refused[index] = dict(exc.detail)
                    continue
            keys.append(data.pop("idempotency_key", None))
            items.append((index, data))
        delivered = leads_deliver(
            by=request.user, items=[d for _, d in items], keys=keys, now=timezone.now()
        )
        results = [None] * len(body.validated_data["leads"])
        for index, errors in refused.items():
            results[index] = {"index": index, "status": "error", "id": None, "errors": errors}
        visible = set(
            leads_visible_to(request.user)
            .filter(pk__in=[r.lead_id for r in delivered if r.status == "duplicate" and r.lead_id])
            .values_list("pk", flat=True)
        )
        for (index, _), result in zip(items, delivered, strict=True):
            answer = {"index": index, "status": result.status, "id": None, "errors": None}
            if result.status == "error":
                answer["errors"] = result.errors
            elif result.status == "duplicate" and result.lead_id not in visible:
                answer["status"] = "error"
                answer["errors"] = {
                    "external_id": ["This external_id or idempotency key is another team's lead."]
                }
            else:
                answer["id"] = result.lead_id
            results[index] = answer
        return Response({"results": results})

    # --- actions ----------------------------------------------------------------------------

    def _lead_for(self, action_name: str) -> Lead:
        lead = self.get_object()
        if not may_act_on_lead(self.request.user, lead, action=action_name):
            raise PermissionDenied(f"You may not {action_name} this lead.")
        return lead

    def _body(self, serializer_class):
        body = serializer_class(data=self.request.data)
        body.is_valid(raise_exception=True)
        return body.validated_data

    def _answer(self, lead: Lead, serializer_class=LeadDetailSerializer) -> dict:
        fresh = leads_with_terms(Lead.objects.filter(pk=lead.pk), detail=True).get()
        return serializer_class(fresh, context=self.get_serializer_context()).data

    @extend_schema(
        request=LeadAssignInputSerializer,
        responses={200: LeadDetailSerializer, **_errors(400, 401, 403, 404, 409)},
    )
    @action(detail=True, methods=["post"])
    def assign(self, request, pk=None):
        """Give the lead to another rep of its team; its clocks keep running."""
        lead = self._lead_for("assign")
        body = self._body(LeadAssignInputSerializer)
        lead = lead_assign(lead=lead, by=request.user, owner=body["owner"], now=timezone.now())
        return Response(self._answer(lead))

    @extend_schema(
        request=None, responses={200: LeadDetailSerializer, **_errors(401, 403, 404, 409)}
    )
    @action(detail=True, methods=["post"])
    def acknowledge(self, request, pk=None):
        """Sales accepts the lead as meeting the definition (verdict `accepted`)."""
        lead = lead_acknowledge(
            lead=self._lead_for("acknowledge"), by=request.user, now=timezone.now()
        )
        return Response(self._answer(lead))

    @extend_schema(
        request=LeadRejectInputSerializer,
        responses={200: LeadDetailSerializer, **_errors(400, 401, 403, 404, 409)},
    )
    @action(detail=True, methods=["post"])
    def reject(self, request, pk=None):
        """Sales' verdict that the lead does not meet the definition; its clocks close."""
        lead = self._lead_for("reject")
        body = self._body(LeadRejectInputSerializer)
        lead = lead_reject(
            lead=lead, by=request.user, reason=body["reason"], note=body["note"], now=timezone.now()
        )
        return Response(self._answer(lead))

    @extend_schema(
        methods=["get"], responses={200: LeadTouchSerializer(many=True), **_errors(401, 404)}
    )
    @extend_schema(
        methods=["post"],
        request=LeadTouchInputSerializer,
        responses={201: LeadTouchCreatedSerializer, **_errors(400, 401, 403, 404, 409)},
    )
    @action(detail=True, methods=["get", "post"])
    def touches(self, request, pk=None):
        """GET: the lead's contact attempts, oldest first. POST: log one; the first stops
        the first-touch clock, each restarts the next-touch clock (a connected one stops it)."""
        if request.method == "GET":
            touches = self.get_object().touches.select_related("by").order_by("at", "id")
            page = self.paginate_queryset(touches)
            return self.get_paginated_response(LeadTouchSerializer(page, many=True).data)
        lead = self._lead_for("touch")
        body = self._body(LeadTouchInputSerializer)
        now = timezone.now()
        touch = lead_touch(lead=lead, by=request.user, now=now, **body)
        fresh = leads_with_terms(Lead.objects.filter(pk=lead.pk)).get()
        touch.sla = lead_sla(fresh, now=now)
        return Response(LeadTouchCreatedSerializer(touch).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        request=LeadStageInputSerializer,
        responses={200: LeadDetailSerializer, **_errors(400, 401, 403, 404, 409)},
    )
    @action(detail=True, methods=["post"])
    def stage(self, request, pk=None):
        """Move the lead in the funnel (recorded in its stage history); won or lost closes it."""
        lead = self._lead_for("stage")
        body = self._body(LeadStageInputSerializer)
        lead = lead_move_stage(
            lead=lead, by=request.user, stage=body["stage"], note=body["note"], now=timezone.now()
        )
        return Response(self._answer(lead))

    @extend_schema(
        request=LeadAbandonInputSerializer,
        responses={200: LeadDetailSerializer, **_errors(400, 401, 403, 404, 409)},
    )
    @action(detail=True, methods=["post"])
    def abandon(self, request, pk=None):
        """Stop working the lead: 409 before the agreed attempts, unless a sales manager
        overrides (allowed, and flagged `premature_abandon`)."""
        lead = self._lead_for("abandon")
        body = self._body(LeadAbandonInputSerializer)
        lead = lead_abandon(lead=lead, by=request.user, now=timezone.now(), **body)
        return Response(self._answer(lead))

    @extend_schema(
        request=LeadCallbackInputSerializer,
        responses={
            201: LeadCallbackSerializer,
            **_errors(400, 401, 403, 404),
            409: OpenApiResponse(
                CallbackRefusedSerializer,
                description="A rule refuses the callback; `rule` names it (a limit of the "
                "agreement, a clock already missed, a closed lead).",
            ),
        },
    )
    @action(detail=True, methods=["post"])
    def callback(self, request, pk=None):
        """The prospect asked to be contacted later: the running next-touch clock (or the
        first-touch clock, before the first touch) pauses and restarts at `at` with a fresh
        window. Beyond the agreement's limits a rep gets 409; a sales manager's is allowed
        and recorded as approved by them."""
        lead = self._lead_for("callback")
        body = self._body(LeadCallbackInputSerializer)
        now = timezone.now()
        try:
            callback = lead_callback(lead=lead, by=request.user, now=now, **body)
        except CallbackRefused as refused:
            return Response(
                {"detail": refused.message, "rule": refused.rule}, status=status.HTTP_409_CONFLICT
            )
        fresh = leads_with_terms(Lead.objects.filter(pk=lead.pk)).get()
        callback.sla = lead_sla(fresh, now=now)
        return Response(LeadCallbackSerializer(callback).data, status=status.HTTP_201_CREATED)
