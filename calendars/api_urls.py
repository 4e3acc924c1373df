"""REST routes of the calendars app, mounted under /api/."""

from rest_framework.routers import SimpleRouter

from calendars.api import CalendarViewSet

router = SimpleRouter()
router.register("calendars", CalendarViewSet, basename="calendar")

urlpatterns = router.urls
