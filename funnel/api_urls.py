"""REST routes of this app, mounted under /api/."""

from django.urls import path  # noqa: F401
from rest_framework.routers import SimpleRouter

from funnel.api import StageViewSet

router = SimpleRouter()
router.register("stages", StageViewSet, basename="stage")

urlpatterns = [
    *router.urls,
]
