from django.contrib import admin, messages
from django.http import HttpResponse
from django.utils import timezone

from patients import audit

from .models import BulkExportJob, SubjectAccessRequest
from .patient_export import as_json, patient_export


@admin.register(SubjectAccessRequest)
class SubjectAccessRequestAdmin(admin.ModelAdmin):
    """Record a subject access request, then produce the complete export (JSON with the FHIR
    Bundle) with the action; each production is in the audit trail of the patient."""

    list_display = [
        "id",
        "patient",
        "received_on",
        "respond_by",
        "requester",
        "last_produced_at",
        "last_produced_by",
    ]
    list_select_related = ["patient", "last_produced_by"]
    search_fields = ["=patient__nhs_number", "patient__family_name", "requester"]
    autocomplete_fields = ["patient"]
    readonly_fields = ["recorded_by", "created_at", "last_produced_at", "last_produced_by"]
    actions = ["produce_export"]

    def save_model(self, request, obj, form, change):
        if not change:
            obj.recorded_by = request.user
        super().save_model(request, obj, form, change)

    @admin.display(description="respond by")
    def respond_by(self, obj):
        return obj.respond_by

    @admin.action(description="Produce the export (one request at a time)")
    def produce_export(self, request, queryset):
        if queryset.count() != 1:
            self.message_user(request, "Choose exactly one request.", messages.ERROR)
            return None
        sar = queryset.select_related("patient__care_team", "patient__user").get()
        patient = sar.patient
        document = patient_export(
            patient, for_staff=True, base_url=request.build_absolute_uri("/fhir/r4").rstrip("/")
        )
        document["subject_access_request"] = {
            "id": sar.pk,
            "received_on": sar.received_on,
            "requester": sar.requester,
        }
        audit.touch(request, patient, f"subject access request {sar.pk}")
        SubjectAccessRequest.objects.filter(pk=sar.pk).update(
            last_produced_at=timezone.now(), last_produced_by=request.user
        )
        response = HttpResponse(as_json(document), content_type="application/json; charset=utf-8")
        name = f"subject-access-request-{sar.pk}-patient-{patient.pk}.json"
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        return response


@admin.register(BulkExportJob)
class BulkExportJobAdmin(admin.ModelAdmin):
    """FHIR bulk exports: visible for support, never edited here (the API and the sweep own
    them)."""

    list_display = ["id", "care_team", "requested_by", "status", "created_at", "expires_at"]
    list_filter = ["status"]
    list_select_related = ["care_team", "requested_by"]
    readonly_fields = [f.name for f in BulkExportJob._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
