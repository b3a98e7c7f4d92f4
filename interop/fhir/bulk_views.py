"""Bulk export endpoints (HL7 FHIR Bulk Data Access v2, group level; docs/fhir.md).

    GET    /fhir/r4/Group/{care team id}/$export   Prefer: respond-async -> 202, Content-Location
    GET    /fhir/r4/bulk-status/{job}              202 + X-Progress while running, 200 manifest
    DELETE /fhir/r4/bulk-status/{job}              cancel (files deleted) -> 202
    GET    /fhir/r4/bulk-files/{job}/{Type}.ndjson the NDJSON file (requiresAccessToken: true)

Nurses of the team and admins may export a team; only the requester sees the job and its
files. The kick-off and each file download are audited for every patient in the export.
"""

from __future__ import annotations

from django.http import FileResponse, Http404, HttpResponse, JsonResponse
from django.utils import timezone

from patients import audit
from patients.roles import is_staff_member
from patients.selectors import care_teams_visible_to

from .. import bulk
from ..models import BulkExportJob, ExportStatus
from . import codes, core, search
from .search import BadSearch
from .views import FHIRView, base_url, outcome_response

OUTPUT_FORMATS = ("application/fhir+ndjson", "application/ndjson", "ndjson")


def _pk(text: str) -> int:
    if not text.isdigit() or not 0 < int(text) < 2**63:
        raise Http404("No such group.")
    return int(text)


class ExportKickOffView(FHIRView):
    def get(self, request, group_id: str):
        if not is_staff_member(request.user):
            raise Http404("No such group.")
        team = care_teams_visible_to(request.user).filter(pk=_pk(group_id)).first()
        if team is None:
            raise Http404("No such group.")
        if "respond-async" not in request.headers.get("Prefer", ""):
            raise BadSearch("Prefer", "a bulk export needs the header Prefer: respond-async")
        query = request.query_params
        fmt = query.get("_outputFormat")
        if fmt and fmt not in OUTPUT_FORMATS:
            raise BadSearch("_outputFormat", "only application/fhir+ndjson is produced")
        unknown = sorted(set(query) - {"_type", "_since", "_outputFormat", "_format"})
        if unknown:
            raise BadSearch(unknown[0], "this export parameter is not supported")
        types = search.types(query.get("_type"), core.EXPORT_TYPES)
        since = search.since(query.get("_since"))
        job = bulk.bulk_export_start(
            user=request.user,
            team=team,
            resource_types=types,
            since=since,
            request_url=request.build_absolute_uri(),
            base_url=base_url(request),
        )
        for patient_id in team.patients.values_list("pk", flat=True):
            audit.touch(request, patient_id, f"fhir bulk export {job.pk}")
        response = HttpResponse(status=202)
        response["Content-Location"] = f"{base_url(request)}/bulk-status/{job.pk}"
        return response


def _job_for(request, job_id) -> BulkExportJob:
    job = BulkExportJob.objects.filter(pk=job_id, requested_by=request.user).first()
    if job is None or job.status == ExportStatus.EXPIRED:
        raise Http404("No such export.")
    return job


class ExportStatusView(FHIRView):
    def get(self, request, job_id):
        job = _job_for(request, job_id)
        if job.status == ExportStatus.CANCELLED:
            raise Http404("That export was cancelled.")
        if job.status in (ExportStatus.ACCEPTED, ExportStatus.IN_PROGRESS):
            response = HttpResponse(status=202)
            response["X-Progress"] = job.progress or "waiting for a worker"
            response["Retry-After"] = "5"
            return response
        if job.status == ExportStatus.FAILED:
            return outcome_response(500, "exception", job.error or "The export failed.")
        manifest = {
            "transactionTime": job.transaction_time.isoformat(),
            "request": job.request_url,
            "requiresAccessToken": True,
            "output": [
                {
                    "type": item["type"],
                    "url": f"{job.base_url}/bulk-files/{job.pk}/{item['file']}",
                    "count": item["count"],
                }
                for item in job.output
            ],
            "error": [],
        }
        response = JsonResponse(manifest)
        response["Expires"] = job.expires_at.strftime("%a, %d %b %Y %H:%M:%S GMT")
        return response

    def delete(self, request, job_id):
        job = _job_for(request, job_id)
        bulk.bulk_export_cancel(job=job)
        return HttpResponse(status=202)


class ExportFileView(FHIRView):
    def get(self, request, job_id, file_name: str):
        job = _job_for(request, job_id)
        if job.status != ExportStatus.COMPLETED or (
            job.expires_at is not None and job.expires_at <= timezone.now()
        ):
            raise Http404("No such file.")
        item = next((o for o in job.output if o["file"] == file_name), None)
        path = job.directory / file_name
        if item is None or not path.is_file():
            raise Http404("No such file.")
        for patient_id in job.patient_ids:
            audit.touch(request, patient_id, f"fhir bulk file {item['type']}")
        response = FileResponse(path.open("rb"), content_type=codes.NDJSON)
        response["Content-Disposition"] = f'attachment; filename="{file_name}"'
        return response
