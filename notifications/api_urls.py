"""API routes of this app, mounted under /api/v1/ by tracker/urls.py."""

from django.urls import path
from rest_framework.routers import SimpleRouter

from .api import AlertViewSet
from .taken_api import DoseTakenByLinkView

router = SimpleRouter(trailing_slash=True)
router.register("alerts", AlertViewSet, basename="alert")

urlpatterns = [
    *router.urls,
    path("push/taken/<int:dose_id>/", DoseTakenByLinkView.as_view(), name="push-taken"),
]
