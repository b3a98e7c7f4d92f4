"""API routes of this app, mounted under /api/v1/ by tracker/urls.py."""

from rest_framework.routers import SimpleRouter

from .api import AlertViewSet

router = SimpleRouter(trailing_slash=True)
router.register("alerts", AlertViewSet, basename="alert")

urlpatterns = [*router.urls]
