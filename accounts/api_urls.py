"""REST routes of the accounts app, mounted under /api/."""

from rest_framework.routers import SimpleRouter

from accounts.teams_api import TeamViewSet

router = SimpleRouter()
router.register("teams", TeamViewSet, basename="team")

urlpatterns = router.urls
