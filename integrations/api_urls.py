"""REST routes of this app, mounted under /api/."""

from django.urls import path
from rest_framework.routers import SimpleRouter

from integrations.api.views import EventSourceViewSet, InboundEventsView, WebhookEndpointViewSet

router = SimpleRouter()
router.register("webhooks", WebhookEndpointViewSet, basename="webhook")
router.register("event-sources", EventSourceViewSet, basename="event-source")

urlpatterns = [
    path("events/", InboundEventsView.as_view(), name="events"),
    *router.urls,
]
