"""The read-only FHIR API under /fhir/r4/ (docs/fhir.md).

Same sign-in as /api/v1/ (token or session), same scoping: anything outside the user's
reach is a 404, and every read of a patient's record goes through patients.selectors
(patient_for / patients_visible_to), so the audit trail (patients/audit.py) records it as
it records the JSON API. Every answer, errors included, is `application/fhir+json`; an
error is an OperationOutcome.
"""

from __future__ import annotations

from django.http import Http404, HttpResponse
from django.utils import timezone
from rest_framework import exceptions
from rest_framework.views import APIView

from medications.models import (
    Drug,
    ExpectedDose,
    InfusionAppointment,
    InfusionCourse,
    Prescription,
    SymptomReport,
)
from notifications.models import Alert
from patients.selectors import care_teams_visible_to, patient_for, patients_visible_to

from . import codes, core, records, search
from .medication import medication_resource
from .search import BadSearch

READ_TYPES = set(core.PATIENT_TYPES)


def fhir_response(resource, status: int = 200, headers: dict | None = None) -> HttpResponse:
    response = HttpResponse(
        resource.model_dump_json(), status=status, content_type=f"{codes.JSON}; charset=utf-8"
    )
    for name, value in (headers or {}).items():
        response[name] = value
    return response


def outcome_response(status: int, code: str, diagnostics: str, headers=None) -> HttpResponse:
    return fhir_response(core.operation_outcome(code, diagnostics), status, headers)


def base_url(request) -> str:
    return request.build_absolute_uri("/fhir/r4").rstrip("/")


_ACCEPTED = ("application/fhir+json", "application/json", "application/*", "*/*", "json")


class FHIRView(APIView):
    """Signed in (token or session) and answering FHIR JSON, errors as OperationOutcome."""

    # Not in the OpenAPI schema of /api/v1/: the FHIR API describes itself (GET metadata).
    schema = None

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        wanted = request.query_params.get("_format") or request.headers.get("Accept") or ""
        if wanted and not any(kind in wanted for kind in (*_ACCEPTED, "ndjson")):
            raise exceptions.NotAcceptable("This server speaks application/fhir+json only.")

    def perform_content_negotiation(self, request, force=False):
        # We answer FHIR JSON ourselves; DRF's renderers are never used.
        from rest_framework.renderers import JSONRenderer

        return (JSONRenderer(), "application/json")

    def handle_exception(self, exc):
        if isinstance(exc, exceptions.NotAuthenticated | exceptions.AuthenticationFailed):
            return outcome_response(
                401,
                "login",
                "Sign in: send Authorization: Token <token>.",
                {"WWW-Authenticate": "Token"},
            )
        if isinstance(exc, Http404 | exceptions.NotFound):
            return outcome_response(404, "not-found", "Not found, or not in your care.")
        if isinstance(exc, BadSearch):
            return outcome_response(400, "invalid", str(exc))
        if isinstance(exc, exceptions.PermissionDenied):
            return outcome_response(403, "forbidden", str(exc.detail))
        if isinstance(exc, exceptions.Throttled):
            headers = {"Retry-After": str(int(exc.wait or 1))}
            return outcome_response(429, "throttled", "Too many requests.", headers)
        if isinstance(exc, exceptions.MethodNotAllowed):
            return outcome_response(405, "not-supported", "This API is read-only.")
        if isinstance(exc, exceptions.NotAcceptable):
            return outcome_response(406, "not-supported", str(exc.detail))
        if isinstance(exc, exceptions.APIException):
            return outcome_response(exc.status_code, "processing", str(exc.detail))
        return super().handle_exception(exc)


class MetadataView(FHIRView):
    def get(self, request):
        return fhir_response(core.capability_statement(base_url(request), timezone.now()))


# --- which patient a resource id belongs to --------------------------------------------------


def _pk(text: str) -> int:
    if not text.isdigit() or not 0 < int(text) < 2**63:
        raise Http404("No such resource.")
    return int(text)


def _owner(model_or_queryset, pk: int) -> int:
    rows = getattr(model_or_queryset, "objects", model_or_queryset)
    patient_id = rows.filter(pk=pk).values_list("patient_id", flat=True).first()
    if patient_id is None:
        raise Http404("No such resource.")
    return patient_id


def patient_of(resource_type: str, resource_id: str) -> int:
    """The patient whose record holds this resource (404 if there is none)."""
    if not search.resource_id(resource_id):
        raise Http404("No such resource.")
    head = resource_id.split("-", 1)[0]
    if resource_type == "Patient":
        return _pk(resource_id)
    if resource_type == "MedicationRequest":
        if head.startswith("rx"):
            return _owner(Prescription, _pk(head[2:]))
        if head.startswith("course"):
            return _owner(InfusionCourse, _pk(head[6:]))
        raise Http404("No such resource.")
    if resource_type == "MedicationStatement":
        return _owner(ExpectedDose, _pk(resource_id))
    if resource_type == "MedicationAdministration":
        return _owner(InfusionAppointment, _pk(head))
    if resource_type in ("QuestionnaireResponse", "Observation"):
        return _owner(SymptomReport, _pk(head))
    if resource_type == "Flag":
        return _owner(Alert.objects.unresolved(), _pk(resource_id))
    raise Http404("No such resource.")


class ReadView(FHIRView):
    def get(self, request, resource_type: str, resource_id: str):
        if resource_type not in READ_TYPES:
            raise Http404("No such resource type.")
        what = f"fhir {resource_type}"
        if resource_type == "Questionnaire":
            if resource_id != "symptom-report":
                raise Http404("No such questionnaire.")
            return fhir_response(core.questionnaire_entry(records.load([])).resource())
        if resource_type == "Medication":
            drug = Drug.objects.filter(code=resource_id).first()
            if drug is None:
                raise Http404("No such medication.")
            return fhir_response(medication_resource(drug))
        if resource_type == "Organization":
            teams = care_teams_visible_to(request.user)
            if getattr(request.user, "patient", None) is not None:
                teams = teams.model.objects.filter(pk=request.user.patient.care_team_id)
            team = teams.filter(pk=_pk(resource_id)).first()
            if team is None:
                raise Http404("No such organization.")
            return fhir_response(core.organization_resource(team))
        patient = patient_for(request.user, patient_of(resource_type, resource_id), request, what)
        if resource_type == "Patient":
            return fhir_response(core.patient_resource(patient))
        loaded = records.load([patient])
        entries = core.patient_entries(loaded.patients[patient.pk], loaded, [resource_type])
        entry = next((e for e in entries if e.id == resource_id), None)
        if entry is None:
            raise Http404("No such resource.")
        return fhir_response(entry.resource())


def _page_links(request, page: search.Page) -> list[dict]:
    params = request.query_params.copy()
    url = request.build_absolute_uri(request.path)

    def link(relation: str, number: int) -> dict:
        params["_page"] = str(number)
        params["_count"] = str(page.size)
        return {"relation": relation, "url": f"{url}?{params.urlencode()}"}

    links = [link("self", page.number)]
    if page.has_next:
        links.append(link("next", page.number + 1))
    if page.number > 1:
        links.append(link("previous", page.number - 1))
    return links


class SearchView(FHIRView):
    def get(self, request, resource_type: str):
        if resource_type not in core.SEARCH_TYPES:
            if resource_type in READ_TYPES:
                raise BadSearch("type", f"{resource_type} is read by id only")
            raise Http404("No such resource type.")
        query = request.query_params
        known = {"patient", "_lastUpdated", "_count", "_page", "_format", "code", "_id"}
        known |= {"identifier"}
        unknown = sorted(set(query) - known)
        if unknown:
            raise BadSearch(unknown[0], "this search parameter is not supported")
        size, number = search.count(query.get("_count")), search.page(query.get("_page"))
        updated = search.last_updated_filter(query.getlist("_lastUpdated"))
        if resource_type == "Patient":
            return self._patients(request, size, number, updated)
        if "_id" in query or "identifier" in query:
            raise BadSearch("_id" if "_id" in query else "identifier", "only for Patient")
        patient = patient_for(
            request.user, search.patient_id(query.get("patient")), request, f"fhir {resource_type}"
        )
        loaded = records.load([patient])
        entries = [
            e
            for e in core.patient_entries(loaded.patients[patient.pk], loaded, [resource_type])
            if updated(e.last_updated)
        ]
        if codes_wanted := query.getlist("code"):
            wanted = {c for value in codes_wanted for c in value.split(",") if c}
            if resource_type != "Observation":
                raise BadSearch("code", "only for Observation")
            entries = [e for e in entries if wanted & set(e.tokens)]
        page = search.Page(number, size, len(entries))
        shown = entries[(number - 1) * size : number * size]
        answer = core.bundle(
            shown, base=base_url(request), total=page.total, links=_page_links(request, page)
        )
        return fhir_response(answer)

    def _patients(self, request, size: int, number: int, updated) -> HttpResponse:
        query = request.query_params
        patients = patients_visible_to(request.user).order_by("pk")
        if query.get("_id"):
            patients = patients.filter(pk=_pk_or_none(query["_id"]))
        if identifier := query.get("identifier"):
            system, _, value = identifier.rpartition("|")
            if system and system != codes.NHS_NUMBER:
                raise BadSearch("identifier", f"only {codes.NHS_NUMBER} is searchable")
            patients = patients.filter(nhs_number=value.replace(" ", ""))
        rows = list(
            patients.values_list("pk", "updated_at")
        )  # ids only: the page's rows are loaded (and audited) below
        ids = [pk for pk, moment in rows if updated(moment)]
        page = search.Page(number, size, len(ids))
        shown_ids = ids[(number - 1) * size : number * size]
        shown = patients_visible_to(request.user).filter(pk__in=shown_ids).order_by("pk")
        entries = [
            core.Entry(
                "Patient", str(p.pk), p.updated_at, p.pk, lambda p=p: core.patient_resource(p)
            )
            for p in shown
        ]
        answer = core.bundle(
            entries, base=base_url(request), total=page.total, links=_page_links(request, page)
        )
        return fhir_response(answer)


def _pk_or_none(value: str) -> int | None:
    return int(value) if value.isdigit() and 0 < int(value) < 2**63 else None


class EverythingView(FHIRView):
    """Patient/{id}/$everything: the whole record as one searchset Bundle."""

    def get(self, request, patient_id: str):
        types = search.types(request.query_params.get("_type"), core.PATIENT_TYPES)
        since = search.since(request.query_params.get("_since"))
        patient = patient_for(request.user, _pk(patient_id), request, "fhir $everything")
        answer = everything(patient, base=base_url(request), types=types, since=since)
        return fhir_response(answer)


def everything(patient, *, base: str, types=None, since=None):
    loaded = records.load([patient])
    entries = core.patient_entries(loaded.patients[patient.pk], loaded, types)
    if since is not None:
        entries = [e for e in entries if e.last_updated >= since]
    return core.bundle(entries, base=base, total=len(entries), match_type="Patient")


class NotFoundView(FHIRView):
    """Anything else under /fhir/r4/: a FHIR 404, not an HTML page."""

    def get(self, request, *args, **kwargs):
        raise Http404("No such endpoint.")

    post = put = patch = delete = get
