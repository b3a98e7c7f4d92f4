"""Patient, Organization, the catalogue of every resource a patient's record makes, Bundles,
OperationOutcome and the CapabilityStatement (docs/fhir.md).

Resources are listed first as `Entry`s (type, id, last updated, a builder) so that a search
filters and pages on cheap facts and builds only the page it returns; `$everything` and the
bulk export build them all.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.capabilitystatement import CapabilityStatement
from fhir.resources.R4B.operationoutcome import OperationOutcome
from fhir.resources.R4B.organization import Organization
from fhir.resources.R4B.patient import Patient as FHIRPatient
from fhir.resources.R4B.resource import Resource

from patients.models import CareTeam, Patient

from . import clinical, codes, medication
from .records import PatientRecord, Records

# Every type a patient's record makes, in the order $everything lists them.
PATIENT_TYPES = (
    "Patient",
    "Organization",
    "Medication",
    "MedicationRequest",
    "MedicationStatement",
    "MedicationAdministration",
    "Questionnaire",
    "QuestionnaireResponse",
    "Observation",
    "Flag",
)
# Types with a search by patient (the rest are read by id).
SEARCH_TYPES = (
    "Patient",
    "MedicationRequest",
    "MedicationStatement",
    "MedicationAdministration",
    "QuestionnaireResponse",
    "Observation",
    "Flag",
)
# What the bulk export may write.
EXPORT_TYPES = PATIENT_TYPES
# Shared by many patients: written once per Bundle or export, not once per patient.
SHARED_TYPES = ("Organization", "Medication", "Questionnaire")


@dataclass
class Entry:
    type: str
    id: str
    last_updated: datetime
    patient_id: int | None
    build: Callable[[], Resource]
    tokens: list[str] = field(default_factory=list)  # Observation codes, for ?code=
    _built: Resource | None = None

    def resource(self) -> Resource:
        if self._built is None:
            self._built = self.build()
        return self._built


def patient_resource(patient: Patient) -> FHIRPatient:
    telecom = []
    if patient.mobile_phone:
        telecom.append({"system": "phone", "value": patient.mobile_phone, "use": "mobile"})
    email = getattr(patient.user, "email", "")
    if email:
        telecom.append({"system": "email", "value": email})
    resource: dict[str, Any] = {
        "id": str(patient.pk),
        "meta": medication.meta(patient.updated_at),
        "identifier": [{"system": codes.NHS_NUMBER, "value": patient.nhs_number}],
        "active": patient.user.is_active,
        "name": [
            {
                "use": "official",
                "family": patient.family_name,
                "given": [patient.given_name],
                "text": patient.full_name,
            }
        ],
        "birthDate": patient.date_of_birth.isoformat(),
        "managingOrganization": {
            "reference": f"Organization/{patient.care_team_id}",
            "display": patient.care_team.name,
        },
    }
    if telecom:
        resource["telecom"] = telecom
    return FHIRPatient(**resource)


def organization_resource(team: CareTeam) -> Organization:
    telecom = [{"system": "phone", "value": team.advice_line_phone, "use": "work"}]
    if team.advice_line_email:
        telecom.append({"system": "email", "value": team.advice_line_email, "use": "work"})
    return Organization(
        id=str(team.pk),
        meta=medication.meta(team.created_at),
        active=True,
        type=[{"text": "Oncology advice-line team"}],
        name=team.name,
        telecom=telecom,
    )


def _typed(type_name: str, rows, patient_id: int) -> list[Entry]:
    out = []
    for row in rows:
        obs_id, updated, build, *rest = row
        out.append(Entry(type_name, obs_id, updated, patient_id, build, rest[0] if rest else []))
    return out


def patient_entries(
    record: PatientRecord, records: Records, types: Iterable[str] | None = None
) -> list[Entry]:
    """Every resource of one patient's record (Organization and Questionnaire included,
    so every reference resolves inside a Bundle of these)."""
    wanted = set(types or PATIENT_TYPES)
    patient = record.patient
    pid = patient.pk
    out: list[Entry] = []
    if "Patient" in wanted:
        out.append(
            Entry("Patient", str(pid), patient.updated_at, pid, lambda: patient_resource(patient))
        )
    if "Organization" in wanted:
        team = patient.care_team
        out.append(
            Entry(
                "Organization",
                str(team.pk),
                team.created_at,
                None,
                lambda: organization_resource(team),
            )
        )
    if "Medication" in wanted:
        out.extend(medication_entries(drug_codes(record), records))
    makers = (
        ("MedicationRequest", medication.medication_requests),
        ("MedicationStatement", medication.medication_statements),
        ("MedicationAdministration", medication.medication_administrations),
    )
    for type_name, maker in makers:
        if type_name in wanted:
            out.extend(_typed(type_name, maker(record, records), pid))
    if "Questionnaire" in wanted and record.reports:
        out.append(questionnaire_entry(records))
    more = (
        ("QuestionnaireResponse", clinical.questionnaire_responses),
        ("Observation", clinical.observations),
        ("Flag", clinical.flags),
    )
    for type_name, maker in more:
        if type_name in wanted:
            out.extend(_typed(type_name, maker(record, records), pid))
    return out


def drug_codes(record: PatientRecord) -> list[str]:
    """Catalogue drugs a record refers to, in first-use order."""
    found = [p.drug.code for p in record.prescriptions]
    found += [code for course in record.courses for code in course.drugs or []]
    return list(dict.fromkeys(found))


def medication_entries(codes_used: list[str], records: Records) -> list[Entry]:
    return [
        Entry(
            "Medication",
            code,
            records.now,  # catalogue rows carry no change time: always current
            None,
            lambda drug=records.drugs[code]: medication.medication_resource(drug),
        )
        for code in codes_used
        if code in records.drugs
    ]


def questionnaire_entry(records: Records) -> Entry:
    return Entry(
        "Questionnaire",
        clinical.QUESTIONNAIRE_ID,
        records.ruleset_created_at,
        None,
        lambda: clinical.questionnaire(records),
    )


# --- answers --------------------------------------------------------------------------------


def full_url(base: str, entry: Entry) -> str:
    return f"{base}/{entry.type}/{entry.id}"


def bundle(
    entries: Iterable[Entry],
    *,
    base: str,
    kind: str = "searchset",
    total: int | None = None,
    links: list[dict] | None = None,
    match_type: str | None = None,
) -> Bundle:
    items = []
    for entry in entries:
        item: dict[str, Any] = {"fullUrl": full_url(base, entry), "resource": entry.resource()}
        if kind == "searchset":
            mode = "match" if match_type is None or entry.type == match_type else "include"
            item["search"] = {"mode": mode}
        items.append(item)
    data: dict[str, Any] = {"type": kind, "entry": items or None}
    if total is not None:
        data["total"] = total
    if links:
        data["link"] = links
    return Bundle(**data)


def operation_outcome(code: str, diagnostics: str, severity: str = "error") -> OperationOutcome:
    """code: an IssueType (not-found, invalid, login, forbidden, not-supported, exception,
    processing, too-costly...)."""
    return OperationOutcome(
        issue=[{"severity": severity, "code": code, "diagnostics": diagnostics}]
    )


SEARCH_PARAMS = {
    "patient": ("reference", "The patient (Patient/123 or 123). Required, except for Patient."),
    "_lastUpdated": ("date", "When the resource last changed: ge, gt, le, lt, eq prefixes."),
    "_count": ("number", "Page size (default 50, at most 500)."),
}


def capability_statement(base: str, now: datetime) -> CapabilityStatement:
    def search_params(type_name: str) -> list[dict]:
        names = ["_lastUpdated", "_count"]
        first = ["_id", "identifier"] if type_name == "Patient" else ["patient"]
        names = [*first, *names]
        if type_name == "Observation":
            names.append("code")
        docs = {
            **SEARCH_PARAMS,
            "_id": ("token", "The patient's id."),
            "identifier": ("token", f"NHS number: {codes.NHS_NUMBER}|9990000018."),
            "code": ("token", "LOINC 8310-5, 85354-9, or a symptom code (system|code or code)."),
        }
        return [
            {"name": name, "type": docs[name][0], "documentation": docs[name][1]} for name in names
        ]

    resources = []
    for type_name in PATIENT_TYPES:
        interactions = [{"code": "read"}]
        if type_name in SEARCH_TYPES:
            interactions.append({"code": "search-type"})
        resource: dict[str, Any] = {"type": type_name, "interaction": interactions}
        if type_name in SEARCH_TYPES:
            resource["searchParam"] = search_params(type_name)
        if type_name == "Patient":
            resource["operation"] = [
                {
                    "name": "everything",
                    "definition": "http://hl7.org/fhir/OperationDefinition/Patient-everything",
                }
            ]
        if type_name == "Questionnaire":
            resource["documentation"] = "Only Questionnaire/symptom-report (the active version)."
        if type_name == "Medication":
            resource["documentation"] = "The drug catalogue: Medication/{drug code}."
        resources.append(resource)
    resources.append(
        {
            "type": "Group",
            "documentation": "A care team's patients, for bulk export only (Group/{team id}).",
            "operation": [
                {
                    "name": "export",
                    "definition": "http://hl7.org/fhir/uv/bulkdata/OperationDefinition/group-export",
                }
            ],
        }
    )
    return CapabilityStatement(
        id="tracker",
        status="active",
        date=now.isoformat(),
        publisher="HCC treatment tracker",
        kind="instance",
        software={"name": "HCC treatment tracker"},
        implementation={"description": "Read-only FHIR API", "url": base},
        fhirVersion=codes.FHIR_VERSION,
        format=["json"],
        rest=[
            {
                "mode": "server",
                "documentation": "Read-only. Sign in as for /api/v1/ (Authorization: Token "
                "<token>, or a session); a patient sees only their own record, a nurse the "
                "patients of their care teams, an admin everyone; anything else is 404.",
                "security": {
                    "cors": False,
                    "description": "Token or session authentication (see /api/v1/auth/token/).",
                },
                "resource": resources,
            }
        ],
    )
