"""FHIR routes, mounted at /fhir/r4/ by tracker/urls.py (no trailing slashes: FHIR style)."""

from django.urls import path, re_path

from .bulk_views import ExportFileView, ExportKickOffView, ExportStatusView
from .views import EverythingView, MetadataView, NotFoundView, ReadView, SearchView

urlpatterns = [
    path("metadata", MetadataView.as_view(), name="fhir-metadata"),
    path("Patient/<str:patient_id>/$everything", EverythingView.as_view(), name="fhir-everything"),
    path("Group/<str:group_id>/$export", ExportKickOffView.as_view(), name="fhir-group-export"),
    path("bulk-status/<uuid:job_id>", ExportStatusView.as_view(), name="fhir-bulk-status"),
    path(
        "bulk-files/<uuid:job_id>/<str:file_name>",
        ExportFileView.as_view(),
        name="fhir-bulk-file",
    ),
    path("<str:resource_type>/<str:resource_id>", ReadView.as_view(), name="fhir-read"),
    path("<str:resource_type>", SearchView.as_view(), name="fhir-search"),
    re_path(r"^.*$", NotFoundView.as_view(), name="fhir-not-found"),
]
