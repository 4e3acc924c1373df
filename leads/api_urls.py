"""REST routes of this app, mounted under /api/."""

from django.urls import path  # noqa: F401
from rest_framework.routers import SimpleRouter

from leads.api import DefinitionViewSet, ReasonCodeViewSet

router = SimpleRouter()
router.register("definitions", DefinitionViewSet, basename="definition")
router.register("reason-codes", ReasonCodeViewSet, basename="reason-code")

urlpatterns = [
    *router.urls,
]
