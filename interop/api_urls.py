"""API routes of this app, mounted under /api/v1/ by tracker/urls.py."""

from django.urls import path

from .api import PatientExportView

urlpatterns = [
    # Any segment, so a malformed id is a JSON 404 from the view (not an HTML one).
    path("patients/<str:patient_id>/export/", PatientExportView.as_view(), name="patient-export"),
]
