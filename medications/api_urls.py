"""API routes of this app, mounted under /api/v1/ by tracker/urls.py."""

from django.urls import path
from rest_framework.routers import SimpleRouter

from .api import (
    DoseViewSet,
    DrugViewSet,
    InfusionAppointmentViewSet,
    InfusionCourseViewSet,
    PatientAdherenceView,
    PrescriptionViewSet,
)
from .symptoms.api import SymptomReportViewSet
from .symptoms.baselines_api import ExpectedSymptomView, PatientExpectedSymptomsView
from .symptoms.checkins_api import CheckInViewSet

router = SimpleRouter(trailing_slash=True)
router.register("drugs", DrugViewSet, basename="drug")
router.register("prescriptions", PrescriptionViewSet, basename="prescription")
router.register("infusion-courses", InfusionCourseViewSet, basename="infusion-course")
router.register("infusions", InfusionAppointmentViewSet, basename="infusion")
router.register("doses", DoseViewSet, basename="dose")
router.register("symptom-reports", SymptomReportViewSet, basename="symptom-report")
router.register("check-ins", CheckInViewSet, basename="check-in")

urlpatterns = [
    path(
        # Any segment, so a malformed id is a JSON 404 from the view (not an HTML one).
        "patients/<str:patient_id>/adherence/",
        PatientAdherenceView.as_view(),
        name="patient-adherence",
    ),
    path(
        "patients/<str:patient_id>/expected-symptoms/",
        PatientExpectedSymptomsView.as_view(),
        name="patient-expected-symptoms",
    ),
    path(
        "expected-symptoms/<str:baseline_id>/",
        ExpectedSymptomView.as_view(),
        name="expected-symptom",
    ),
    *router.urls,
]
