"""REST routes of the accounts app, mounted under /api/."""

from rest_framework.routers import SimpleRouter

from accounts.absences_api import AbsenceViewSet
from accounts.teams_api import TeamViewSet

router = SimpleRouter()
router.register("teams", TeamViewSet, basename="team")
router.register("absences", AbsenceViewSet, basename="absence")

urlpatterns = router.urls
