"""API routes of this app, mounted under /api/v1/ by tracker/urls.py."""

from rest_framework.routers import SimpleRouter

router = SimpleRouter(trailing_slash=True)

urlpatterns = [*router.urls]
