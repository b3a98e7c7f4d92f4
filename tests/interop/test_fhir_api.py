"""The FHIR API's rules: scoping as the JSON API (404 outside reach), the audit trail,
OperationOutcome errors, searches (patient, _lastUpdated, code, paging), and how
prescriptions, holds, dose changes, cycles and dose outcomes are expressed."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
import time_machine

from medications import services
from medications.models import DoseState, Drug, ExpectedDose
from medications.symptoms.services import symptom_report_create
from patients.models import AuditEvent

from .helpers import FHIR, fhir_client, parse

pytestmark = pytest.mark.django_db
NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def prescribe(
    patient, code="sorafenib", *, times=("08:00", "20:00"), dose="400", start=None, now=NOW, **kw
):
    return services.prescription_create(
        patient=patient,
        drug=Drug.objects.get(code=code),
        dose_mg=Decimal(dose),
        times=list(times),
        start_date=start or now.date(),
        now=now,
        **kw,
    )


def report(patient, at, **body):
    body.setdefault("symptoms", [])
    return symptom_report_create(
        patient=patient, data=body, entered_by=patient.user, reported_at=at
    )


def outcome(response) -> dict:
    body = response.json()
    assert body["resourceType"] == "OperationOutcome", body
    parse(body)
    return body["issue"][0]


# --- who sees what ---------------------------------------------------------------------------


def test_scoping_is_the_json_apis(patient, other_patient, nurse, other_nurse, admin_user):
    report(patient, NOW, symptoms=[{"code": "fatigue", "grade": 1}])
    path = f"{FHIR}/Patient/{patient.pk}/$everything"
    assert fhir_client(patient.user).get(path).status_code == 200
    assert fhir_client(nurse).get(path).status_code == 200
    assert fhir_client(admin_user).get(path).status_code == 200
    for outsider in (other_patient.user, other_nurse):
        response = fhir_client(outsider).get(path)
        assert response.status_code == 404
        assert outcome(response)["code"] == "not-found"
        for search in ("QuestionnaireResponse", "Observation", "MedicationStatement"):
            assert (
                fhir_client(outsider).get(f"{FHIR}/{search}", {"patient": patient.pk}).status_code
                == 404
            )
        assert fhir_client(outsider).get(f"{FHIR}/Patient/{patient.pk}").status_code == 404
    anonymous = fhir_client(None).get(path)
    assert anonymous.status_code == 401 and outcome(anonymous)["code"] == "login"
    assert anonymous["WWW-Authenticate"] == "Token"


def test_patient_search_lists_only_patients_in_reach(patient, other_patient, nurse, admin_user):
    def ids(user, **params):
        body = fhir_client(user).get(f"{FHIR}/Patient", params).json()
        return {int(e["resource"]["id"]) for e in body.get("entry", [])}

    assert ids(patient.user) == {patient.pk}
    assert ids(nurse) == {patient.pk}
    assert ids(admin_user) == {patient.pk, other_patient.pk}
    nhs = f"https://fhir.nhs.uk/Id/nhs-number|{other_patient.nhs_number}"
    assert ids(admin_user, identifier=nhs) == {other_patient.pk}
    assert ids(nurse, identifier=nhs) == set()


def test_reads_are_audited_as_the_json_apis_and_refusals_are_not(patient, other_nurse, nurse):
    item = report(patient, NOW, temperature_c=38.1)
    assert fhir_client(nurse).get(f"{FHIR}/Observation/{item.pk}-temperature").status_code == 200
    [event] = AuditEvent.objects.all()
    assert event.patient == patient and event.actor == nurse and event.action == "read"
    assert event.what.startswith("fhir-read") and "fhir Observation" in event.what
    assert fhir_client(nurse).get(f"{FHIR}/Patient/{patient.pk}/$everything").status_code == 200
    assert AuditEvent.objects.filter(what__contains="$everything", patient=patient).count() == 1
    before = AuditEvent.objects.count()
    assert (
        fhir_client(other_nurse).get(f"{FHIR}/Patient/{patient.pk}/$everything").status_code == 404
    )
    assert (
        fhir_client(other_nurse).get(f"{FHIR}/Observation/{item.pk}-temperature").status_code == 404
    )
    assert AuditEvent.objects.count() == before
    # Nothing identifying in the trail.
    assert all(patient.family_name not in e.what + e.path for e in AuditEvent.objects.all())


# --- errors ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "params", "status", "code"),
    [
        ("/Condition", {}, 404, "not-found"),
        ("/Observation", {}, 400, "invalid"),
        ("/Observation", {"patient": "Practitioner/1"}, 400, "invalid"),
        ("/Observation", {"patient": "{p}", "_lastUpdated": "yesterday"}, 400, "invalid"),
        ("/Observation", {"patient": "{p}", "_lastUpdated": "2026-03-01T10:00"}, 400, "invalid"),
        ("/Observation", {"patient": "{p}", "_sort": "date"}, 400, "invalid"),
        ("/Observation", {"patient": "{p}", "_count": "many"}, 400, "invalid"),
        ("/Flag", {"patient": "{p}", "code": "x"}, 400, "invalid"),
        ("/Questionnaire", {}, 400, "invalid"),
        ("/Questionnaire/other", {}, 404, "not-found"),
        ("/MedicationRequest/rx999999-1", {}, 404, "not-found"),
        ("/Medication/aspirin", {}, 404, "not-found"),
        ("/MedicationStatement/not an id", {}, 404, "not-found"),
        ("/Patient/99999999999999999999999/$everything", {}, 404, "not-found"),
        ("/Patient/{p}/$everything", {"_type": "Condition"}, 400, "invalid"),
        ("/no/such/thing/here", {}, 404, "not-found"),
    ],
)
def test_errors_are_operation_outcomes(patient, path, params, status, code):
    path = path.replace("{p}", str(patient.pk))
    params = {k: v.replace("{p}", str(patient.pk)) for k, v in params.items()}
    response = fhir_client(patient.user).get(FHIR + path, params)
    assert response.status_code == status
    assert response["Content-Type"].startswith("application/fhir+json")
    assert outcome(response)["code"] == code


def test_the_api_is_read_only_and_json_only(patient):
    client = fhir_client(patient.user)
    response = client.post(f"{FHIR}/Patient/{patient.pk}", {}, format="json")
    assert response.status_code == 405 and outcome(response)["code"] == "not-supported"
    refused = client.get(f"{FHIR}/metadata", HTTP_ACCEPT="application/fhir+xml")
    assert refused.status_code == 406


def test_capability_statement_lists_exactly_what_is_served(patient):
    body = fhir_client(patient.user).get(f"{FHIR}/metadata").json()
    parse(body)
    assert body["fhirVersion"] == "4.3.0" and body["format"] == ["json"]
    resources = {r["type"]: r for r in body["rest"][0]["resource"]}
    assert set(resources) == {
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
        "Group",
    }
    assert [o["name"] for o in resources["Patient"]["operation"]] == ["everything"]
    assert [o["name"] for o in resources["Group"]["operation"]] == ["export"]
    assert {p["name"] for p in resources["Observation"]["searchParam"]} == {
        "patient",
        "_lastUpdated",
        "_count",
        "code",
    }
    assert "searchParam" not in resources["Questionnaire"]
    # Every advertised read and search answers.
    client = fhir_client(patient.user)
    for type_name, resource in resources.items():
        codes = {i["code"] for i in resource.get("interaction", [])}
        if "search-type" in codes:
            params = {} if type_name == "Patient" else {"patient": patient.pk}
            assert client.get(f"{FHIR}/{type_name}", params).status_code == 200, type_name


# --- searches --------------------------------------------------------------------------------


def test_last_updated_and_paging(patient):
    with time_machine.travel(utc(2026, 3, 1, 9), tick=False):
        first = report(patient, utc(2026, 3, 1, 9), symptoms=[{"code": "fatigue", "grade": 1}])
    with time_machine.travel(utc(2026, 3, 3, 9), tick=False):
        second = report(patient, utc(2026, 3, 3, 9), symptoms=[{"code": "rash", "grade": 1}])
    client = fhir_client(patient.user)

    def ids(**params):
        body = client.get(f"{FHIR}/QuestionnaireResponse", {"patient": patient.pk, **params}).json()
        return [int(e["resource"]["id"]) for e in body.get("entry", [])], body

    assert ids()[0] == [first.pk, second.pk]
    assert ids(_lastUpdated="ge2026-03-02")[0] == [second.pk]
    assert ids(_lastUpdated="lt2026-03-02")[0] == [first.pk]
    assert ids(_lastUpdated="2026-03-01")[0] == [first.pk]
    assert ids(_lastUpdated="gt2026-03-03T09:00:00+00:00")[0] == []
    page_one, body = ids(_count=1)
    assert page_one == [first.pk] and body["total"] == 2
    next_url = next(link["url"] for link in body["link"] if link["relation"] == "next")
    page_two = client.get(next_url).json()
    assert [int(e["resource"]["id"]) for e in page_two["entry"]] == [second.pk]
    assert not any(link["relation"] == "next" for link in page_two["link"])


def test_observations_carry_grades_and_triage_levels(patient):
    item = report(
        patient,
        NOW,
        symptoms=[{"code": "diarrhoea", "grade": 2}, {"code": "jaundice", "grade": 1}],
        temperature_c=38.2,
    )
    client = fhir_client(patient.user)
    body = client.get(f"{FHIR}/Observation", {"patient": patient.pk}).json()
    observations = {e["resource"]["id"]: e["resource"] for e in body["entry"]}
    assert set(observations) == {
        f"{item.pk}-temperature",
        f"{item.pk}-diarrhoea",
        f"{item.pk}-jaundice",
    }
    diarrhoea = observations[f"{item.pk}-diarrhoea"]
    assert diarrhoea["valueCodeableConcept"]["coding"][0]["code"] == "2"
    assert diarrhoea["interpretation"][0]["coding"][0]["code"] == "amber"
    assert observations[f"{item.pk}-jaundice"]["valueBoolean"] is True
    assert observations[f"{item.pk}-jaundice"]["interpretation"][0]["coding"][0]["code"] == "red"
    assert observations[f"{item.pk}-temperature"]["interpretation"][0]["coding"][1]["code"] == "AA"
    response = client.get(f"{FHIR}/QuestionnaireResponse/{item.pk}").json()
    assert response["questionnaire"].endswith("/Questionnaire/symptom-report|1")
    assert response["author"] == {"reference": f"Patient/{patient.pk}"}
    questionnaire = client.get(f"{FHIR}/Questionnaire/symptom-report").json()
    parse(questionnaire)
    symptoms = questionnaire["item"][0]["item"]
    assert {i["linkId"] for i in symptoms} >= {"diarrhoea", "jaundice", "hand_foot"}
    assert [o["valueCoding"]["code"] for o in symptoms[0]["answerOption"]] == ["0", "1", "2", "3"]
    # The red report raised an alert: an active Flag, high priority.
    [flag] = client.get(f"{FHIR}/Flag", {"patient": patient.pk}).json()["entry"]
    assert flag["resource"]["status"] == "active"
    assert flag["resource"]["extension"][0]["valueCodeableConcept"]["coding"][0]["code"] == "PH"


# --- prescriptions ---------------------------------------------------------------------------


def _requests(client, patient) -> list[dict]:
    body = client.get(f"{FHIR}/MedicationRequest", {"patient": patient.pk, "_count": 500}).json()
    return [e["resource"] for e in body.get("entry", [])]


def test_regorafenib_is_one_request_per_cycle_of_21_days(patient):
    patient.prior_systemic_therapies = ["sorafenib"]
    patient.sorafenib_tolerated = True
    patient.save()
    start = date(2026, 1, 5)
    prescribe(
        patient, "regorafenib", times=["09:00"], dose="160", start=start, now=utc(2026, 1, 5, 7)
    )
    with time_machine.travel(utc(2026, 2, 20, 12), tick=False):
        client = fhir_client(patient.user)
        requests = _requests(client, patient)
        # same moment: the token was last used now, so it has not expired (API_TOKEN_TTL_DAYS)
        medication = client.get(f"{FHIR}/Medication/regorafenib").json()
    bounds = [r["dosageInstruction"][0]["timing"]["repeat"]["boundsPeriod"] for r in requests]
    assert bounds == [
        {"start": "2026-01-05", "end": "2026-01-25"},
        {"start": "2026-02-02", "end": "2026-02-22"},
    ]
    assert [r["status"] for r in requests] == ["completed", "active"]
    assert len({r["groupIdentifier"]["value"] for r in requests}) == 1
    assert requests[1]["dosageInstruction"][0]["text"] == (
        "160 mg once daily at 09:00, days 1-21 of cycle 2"
    )
    assert requests[0]["medicationReference"] == {"reference": "Medication/regorafenib"}
    assert medication["code"]["coding"][0] == {
        "system": "http://snomed.info/sct",
        "code": "702804006",
        "display": "Regorafenib",
    }


def test_dose_changes_chain_requests_and_a_hold_is_on_hold(patient, nurse):
    prescription = prescribe(patient, now=utc(2026, 3, 1, 7))
    services.prescription_change_dose(
        prescription=prescription,
        dose_mg=Decimal(400),
        times=["08:00"],
        reason="Hand-foot grade 2",
        recorded_by=nurse,
        now=utc(2026, 3, 5, 12),
    )
    services.prescription_hold(
        prescription=prescription,
        reason="BP 170/105",
        starts_at=utc(2026, 3, 6, 7),
        recorded_by=nurse,
        now=utc(2026, 3, 6, 7),
    )
    with time_machine.travel(utc(2026, 3, 7, 12), tick=False):
        first, second = _requests(fhir_client(nurse), patient)
    assert first["status"] == "stopped"
    assert first["statusReason"]["text"] == "Dose changed: Hand-foot grade 2"
    assert first["dosageInstruction"][0]["timing"]["repeat"]["frequency"] == 2
    assert second["priorPrescription"] == {"reference": f"MedicationRequest/{first['id']}"}
    assert second["status"] == "on-hold" and second["statusReason"]["text"] == "BP 170/105"
    assert second["dosageInstruction"][0]["timing"]["repeat"]["timeOfDay"] == ["08:00:00"]
    assert second["note"][0]["text"].startswith("Held")


def test_dose_outcomes_are_statements(patient):
    prescription = prescribe(patient, now=utc(2026, 3, 1, 7))
    doses = list(ExpectedDose.objects.filter(prescription=prescription).order_by("due_at")[:4])
    services.dose_log(
        dose=doses[0],
        action="taken",
        at=doses[0].due_at,
        recorded_by=patient.user,
        now=doses[0].due_at + timedelta(minutes=5),
    )
    services.dose_log(
        dose=doses[1],
        action="skipped",
        reason="vomited",
        note="Sick after lunch",
        recorded_by=patient.user,
        now=doses[1].due_at,
    )
    ExpectedDose.objects.filter(pk=doses[2].pk).update(
        state=DoseState.MISSED, state_changed_at=doses[2].late_until
    )
    # doses[3]: pending with its window closed at the time of asking: missed too.
    with time_machine.travel(doses[3].late_until + timedelta(minutes=1), tick=False):
        body = (
            fhir_client(patient.user)
            .get(f"{FHIR}/MedicationStatement", {"patient": patient.pk})
            .json()
        )
    statements = {int(e["resource"]["id"]): e["resource"] for e in body["entry"]}
    assert set(statements) == {d.pk for d in doses}
    taken, skipped, missed, overdue = (statements[d.pk] for d in doses)
    assert (
        taken["status"] == "completed"
        and taken["informationSource"]["reference"] == f"Patient/{patient.pk}"
    )
    assert skipped["status"] == "not-taken"
    assert {c["code"] for c in skipped["statusReason"][0]["coding"]} == {"skipped", "vomited"}
    assert skipped["note"] == [{"text": "Sick after lunch"}]
    assert missed["status"] == overdue["status"] == "not-taken"
    assert missed["statusReason"][0]["coding"][0]["code"] == "missed"
    assert taken["basedOn"][0]["reference"].startswith("MedicationRequest/rx")
