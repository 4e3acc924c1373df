"""REST routes of this app, mounted under /api/."""

from django.urls import path  # noqa: F401
from rest_framework.routers import SimpleRouter

router = SimpleRouter()

urlpatterns = [
    *router.urls,
]
