"""Pages of interop, mounted at the root by tracker/urls.py: the clinic summary sits in the
nurse dashboard's URL space, the patient's downloads in the patient pages' (/me/)."""

from django.urls import path

from . import views

app_name = "interop"
urlpatterns = [
    path(
        "nurse/patients/<int:patient_id>/summary/",
        views.clinic_summary_page,
        name="clinic_summary",
    ),
    path(
        "nurse/patients/<int:patient_id>/summary/pdf/",
        views.clinic_summary_pdf,
        name="clinic_summary_pdf",
    ),
    path("me/export/", views.my_export, name="my_export"),
    path("me/export/fhir/", views.my_export_fhir, name="my_export_fhir"),
]
