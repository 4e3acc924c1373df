"""`/api/webhooks/`, `/api/event-sources/` (admin role only) and `/api/events/` (signed,
no session or token)."""

from django.conf import settings
from django.http.request import RawPostDataException
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import BaseParser
from rest_framework.permissions import AllowAny, BasePermission
from rest_framework.response import Response
from rest_framework.views import APIView

from core.permissions import is_admin
from integrations.api.serializers import (
    EventSourceCreatedSerializer,
    EventSourceSerializer,
    InboundAnswerSerializer,
    InboundBatchSerializer,
    SecretSerializer,
    WebhookDeliverySerializer,
    WebhookEndpointCreatedSerializer,
    WebhookEndpointSerializer,
    WebhookEventSerializer,
)
from integrations.inbound import Refused, events_receive
from integrations.models import EventSource, WebhookDelivery, WebhookEndpoint
from integrations.services import (
    PREVIOUS_SECRET_VALID,
    endpoint_create,
    endpoint_test,
    endpoint_update,
    secret_rotate,
    source_create,
)


class AdminRole(BasePermission):
    message = "Only the admin role manages integrations."

    def has_permission(self, request, view):
        return is_admin(request.user)


def _described(*codes: int) -> dict:
    said = {
        400: "Bad input: `{field: [messages]}`.",
        401: "No credentials.",
        403: "Not the admin role.",
        404: "No such object.",
    }
    return {code: OpenApiResponse(description=said[code]) for code in codes}


def _rotated(secret: str, now) -> Response:
    answer = {"secret": secret, "previous_valid_until": now + PREVIOUS_SECRET_VALID}
    return Response(SecretSerializer(answer).data)


@extend_schema(tags=["integrations"])
class WebhookEndpointViewSet(viewsets.ModelViewSet):
    """Outbound webhooks: where slaops posts events, signed the Standard Webhooks way. The
    secret is shown once, when created and when rotated. Every POST carries the
    envelope documented as `WebhookEvent`."""

    serializer_class = WebhookEndpointSerializer
    permission_classes = [AdminRole]
    queryset = WebhookEndpoint.objects.all()
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    @extend_schema(
        responses={201: WebhookEndpointCreatedSerializer, **_described(400, 401, 403)},
    )
    def create(self, request):
        body = WebhookEndpointSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        endpoint, secret = endpoint_create(
            **body.validated_data, by=request.user, at=timezone.now()
        )
        endpoint.secret = secret
        return Response(WebhookEndpointCreatedSerializer(endpoint).data, status=201)

    def perform_update(self, serializer):
        endpoint_update(
            endpoint=serializer.instance, changes=serializer.validated_data, at=timezone.now()
        )

    def partial_update(self, request, *args, **kwargs):
        body = WebhookEndpointSerializer(self.get_object(), data=request.data, partial=True)
        body.is_valid(raise_exception=True)
        self.perform_update(body)
        return Response(WebhookEndpointSerializer(body.instance).data)

    @extend_schema(request=None, responses={200: SecretSerializer, **_described(401, 403, 404)})
    @action(detail=True, methods=["post"], url_path="rotate-secret")
    def rotate_secret(self, request, pk=None):
        """A new secret, shown this once; the old one still signs for 24 hours."""
        now = timezone.now()
        return _rotated(secret_rotate(owner=self.get_object(), at=now), now)

    @extend_schema(responses={200: WebhookDeliverySerializer(many=True)})
    @action(detail=True, methods=["get"])
    def deliveries(self, request, pk=None):
        """The endpoint's delivery log, newest first: state, attempts, response code, time."""
        rows = WebhookDelivery.objects.filter(endpoint=self.get_object()).select_related("event")
        page = self.paginate_queryset(rows)
        return self.get_paginated_response(WebhookDeliverySerializer(page, many=True).data)

    @extend_schema(
        request=None, responses={200: WebhookDeliverySerializer, **_described(401, 403, 404)}
    )
    @action(detail=True, methods=["post"])
    def test(self, request, pk=None):
        """Send a `webhook.test` event now and answer its delivery (state, response code)."""
        delivery = endpoint_test(endpoint=self.get_object(), by=request.user, at=timezone.now())
        return Response(WebhookDeliverySerializer(delivery).data)

    @extend_schema(
        responses={200: WebhookEventSerializer},
        description="Documentation only: the body slaops POSTs to an endpoint, per event type.",
    )
    @action(detail=False, methods=["get"], url_path="payloads")
    def payloads(self, request):
        return Response(
            {
                "id": "evt_webhook.test_0",
                "type": "webhook.test",
                "timestamp": timezone.now().isoformat(),
                "data": {"endpoint": None, "by": request.user.username},
            }
        )


@extend_schema(tags=["integrations"])
class EventSourceViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """Systems that post signed events to /api/events/; the secret is shown once."""

    serializer_class = EventSourceSerializer
    permission_classes = [AdminRole]
    queryset = EventSource.objects.select_related("user")
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    @extend_schema(responses={201: EventSourceCreatedSerializer, **_described(400, 401, 403)})
    def create(self, request):
        body = EventSourceSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        source, secret = source_create(
            name=data["name"], agreement=data.get("agreement"), user=data["user"], at=timezone.now()
        )
        if not data.get("active", True):
            source.active = False
            source.save(update_fields=["active"])
        source.secret = secret
        return Response(EventSourceCreatedSerializer(source).data, status=201)

    @extend_schema(request=None, responses={200: SecretSerializer, **_described(401, 403, 404)})
    @action(detail=True, methods=["post"], url_path="rotate-secret")
    def rotate_secret(self, request, pk=None):
        """A new secret, shown this once; the old one still verifies for 24 hours."""
        now = timezone.now()
        return _rotated(secret_rotate(owner=self.get_object(), at=now), now)


class _RawBody(BaseParser):
    """Any body, as bytes: the signature covers the exact bytes sent."""

    media_type = "application/json"

    def parse(self, stream, media_type=None, parser_context=None):
        return stream.read() if stream is not None else b""


@extend_schema(tags=["integrations"])
class InboundEventsView(APIView):
    """A signed batch of events from another system (a CRM, a dialer, a form tool)."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    parser_classes = [_RawBody]

    @extend_schema(
        operation_id="events_receive",
        auth=[],
        request=InboundBatchSerializer,
        parameters=[
            OpenApiParameter(
                "webhook-id", OpenApiTypes.STR, OpenApiParameter.HEADER, required=True
            ),
            OpenApiParameter(
                "webhook-timestamp",
                OpenApiTypes.INT,
                OpenApiParameter.HEADER,
                required=True,
                description="Unix seconds; refused (400) more than 5 minutes from now.",
            ),
            OpenApiParameter(
                "webhook-signature",
                OpenApiTypes.STR,
                OpenApiParameter.HEADER,
                required=True,
                description="`v1,<base64 HMAC-SHA256 of id.timestamp.body>` by the source's "
                "secret (the base64-decoded part after `whsec_`); several space-separated.",
            ),
        ],
        responses={
            200: InboundAnswerSerializer,
            400: OpenApiResponse(
                description='Not JSON, not `{"events": [...]}`, over 1,000 events, or a '
                "webhook-timestamp more than 5 minutes from now. Nothing written."
            ),
            401: OpenApiResponse(description="Unsigned, or signed by no active source."),
            409: OpenApiResponse(description="This webhook-id was already sent (a replay)."),
            413: OpenApiResponse(description="The body is over INBOUND_EVENTS_MAX_KB."),
            415: OpenApiResponse(description="Not `Content-Type: application/json`."),
        },
    )
    def post(self, request):
        """Each event is applied on its own and answered `applied`, `duplicate` (its `id`
        was applied before) or `error` with `{field: [messages]}`, in the order sent."""
        limit = settings.INBOUND_EVENTS_MAX_BYTES
        declared = request.META.get("CONTENT_LENGTH") or "0"
        if declared.isdigit() and int(declared) > limit:
            return Response({"detail": f"The body is over {limit} bytes."}, status=413)
        if request.content_type.split(";")[0].strip().lower() != "application/json":
            return Response({"detail": "Send Content-Type: application/json."}, status=415)
        try:
            body = request.body
        except RawPostDataException:  # already read as a form by a middleware
            return Response({"detail": "Send Content-Type: application/json."}, status=415)
        if len(body) > limit:
            return Response({"detail": f"The body is over {limit} bytes."}, status=413)
        try:
            results = events_receive(headers=request.headers, body=body, at=timezone.now())
        except Refused as refused:
            return Response({"detail": refused.detail}, status=refused.status)
        return Response({"results": results}, status=status.HTTP_200_OK)
