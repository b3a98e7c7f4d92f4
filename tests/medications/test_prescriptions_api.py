"""Prescriptions API: creating with prescribing checks, bad input, scope, holds, dose
changes and stops (API.md; clinical/drugs.md)."""

import pytest
import time_machine

from medications.models import (
    ExpectedDose,
    Prescription,
    PrescriptionEvent,
    PrescriptionHold,
)
from tests.factories import PatientFactory

from .conftest import prescribe, utc

pytestmark = pytest.mark.django_db
URL = "/api/v1/prescriptions/"
NOW = utc(2026, 3, 2, 7)


def body(who, **overrides):
    data = {
        "patient": who.pk,
        "drug": "sorafenib",
        "dose_mg": "400",
        "times": ["08:00", "20:00"],
        "start_date": "2026-03-02",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def post(client, url, data, when=NOW):
    with time_machine.travel(when, tick=False):
        return client.post(url, data, format="json")


def nothing_stored():
    return not (
        Prescription.objects.exists()
        or ExpectedDose.objects.exists()
        or PrescriptionEvent.objects.exists()
    )


def test_nurse_prescribes_sorafenib(api, nurse, patient):
    response = post(api(nurse), URL, body(patient))
    assert response.status_code == 201, response.json()
    data = response.json()
    assert data["drug"] == "sorafenib" and data["status"] == "active"
    assert data["warnings"] == [] and data["times"] == ["08:00", "20:00"]
    assert data["events"][0]["kind"] == "created"
    assert ExpectedDose.objects.filter(prescription_id=data["id"]).count() == 28


def test_lenvatinib_dose_proposed_from_weight_when_left_out(api, nurse, team):
    light = PatientFactory(care_team=team, weight_kg="55.0")
    response = post(api(nurse), URL, body(light, drug="lenvatinib", dose_mg=None, times=["09:00"]))
    assert response.status_code == 201, response.json()
    assert response.json()["dose_mg"] == "8.00"


def test_regorafenib_defaults_to_21_7(api, nurse, team):
    patient = PatientFactory(
        care_team=team, prior_systemic_therapies=["sorafenib"], sorafenib_tolerated=True
    )
    data = post(api(nurse), URL, body(patient, drug="regorafenib", dose_mg="160", times=["09:00"]))
    assert (data.json()["cycle_days_on"], data.json()["cycle_days_off"]) == (21, 7)


@pytest.mark.parametrize(
    ("overrides", "field", "text"),
    [
        ({"drug": "aspirin"}, "drug", "Unknown drug"),
        ({"drug": "atezolizumab"}, "drug", "infusion"),
        ({"times": ["8am"]}, "times", "HH:MM"),
        ({"times": ["08:00", "25:00"]}, "times", "HH:MM"),
        ({"times": []}, "times", "at least 1"),
        ({"times": ["08:00", "08:00"]}, "times", "only once"),
        ({"times": "08:00"}, "times", "list"),
        ({"end_date": "2026-03-01"}, "end_date", "before the start date"),
        ({"cycle_days_on": 0, "cycle_days_off": 0}, "cycle_days_on", "at least 1 day on"),
        ({"cycle_days_on": 21}, "cycle_days_on", "both"),
        ({"dose_mg": "0"}, "dose_mg", "greater than or equal to 0.01"),
        ({"dose_mg": "lots"}, "dose_mg", "valid number"),
        ({"start_date": "02/03/2026"}, "start_date", "wrong format"),
        ({"patient": 999999}, "patient", "No patient"),
        ({"patient": "abc"}, "patient", "whole number"),
        ({"colour": "blue"}, "colour", "Unknown field"),
    ],
)
def test_bad_input_is_400_naming_the_field_and_stores_nothing(
    api, nurse, patient, overrides, field, text
):
    response = post(api(nurse), URL, body(patient, **overrides))
    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    assert text in " ".join(map(str, response.json()[field]))
    assert nothing_stored()


def test_patient_outside_the_nurses_teams_reads_as_unknown(api, nurse, other_patient):
    response = post(api(nurse), URL, body(other_patient))
    assert response.status_code == 400 and "patient" in response.json()
    assert nothing_stored()


def test_patients_cannot_prescribe(api, patient):
    assert post(api(patient.user), URL, body(patient)).status_code == 403
    assert nothing_stored()


def test_unmet_checks_are_listed_and_refused_without_an_override(api, nurse, team):
    patient = PatientFactory(
        care_team=team, child_pugh_class="B", performance_status=2, weight_kg="55.0"
    )
    response = post(
        api(nurse), URL, body(patient, drug="lenvatinib", dose_mg="12", times=["09:00"])
    )
    assert response.status_code == 400
    data = response.json()
    codes = [check["code"] for check in data["prescribing_checks"]]
    assert sorted(codes) == sorted(
        [
            "child_pugh_not_a",
            "performance_status",
            "dose_differs_from_weight_based",
            "dose_not_on_ladder",
        ]
    )
    assert all(check["message"] for check in data["prescribing_checks"])
    assert "override_reason" in data["override_reason"][0]
    assert nothing_stored()


def test_dose_off_the_ladder_needs_an_override(api, nurse, patient):
    response = post(api(nurse), URL, body(patient, dose_mg="300"))
    assert response.status_code == 400
    (check,) = response.json()["prescribing_checks"]
    assert check["code"] == "dose_not_on_ladder"
    assert "400 mg twice daily" in check["message"]
    assert nothing_stored()
    allowed = post(api(nurse), URL, body(patient, dose_mg="300", override_reason="Trial dose"))
    assert allowed.status_code == 201
    assert allowed.json()["warnings"][0]["code"] == "dose_not_on_ladder"


def test_override_reason_stores_the_warnings(api, nurse, team):
    patient = PatientFactory(care_team=team, child_pugh_class="B")
    response = post(
        api(nurse),
        URL,
        body(patient, override_reason="MDT agreed: borderline Child-Pugh B7, fit"),
    )
    assert response.status_code == 201, response.json()
    data = response.json()
    assert [w["code"] for w in data["warnings"]] == ["child_pugh_not_a"]
    prescription = Prescription.objects.get(pk=data["id"])
    assert prescription.override_reason == "MDT agreed: borderline Child-Pugh B7, fit"
    assert prescription.warnings[0]["message"].startswith("Sorafenib is for people")
    assert prescription.events.get().override_reason == prescription.override_reason


def test_two_oral_targeted_drugs_are_refused_even_with_a_reason(api, nurse, patient):
    prescribe(patient, now=NOW)
    response = post(
        api(nurse),
        URL,
        body(patient, drug="cabozantinib", dose_mg="60", times=["09:00"], override_reason="x"),
    )
    assert response.status_code == 400
    assert response.json()["prescribing_checks"][0]["code"] == "other_oral_drug_active"
    assert "never taken together" in response.json()["non_field_errors"][0]
    assert Prescription.objects.count() == 1


def test_list_and_detail_are_scoped(api, nurse, other_nurse, patient, other_patient, admin_user):
    mine = prescribe(patient, now=NOW)
    theirs = prescribe(other_patient, now=NOW)
    assert [p["id"] for p in api(patient.user).get(URL).json()["results"]] == [mine.pk]
    assert [p["id"] for p in api(nurse).get(URL).json()["results"]] == [mine.pk]
    assert {p["id"] for p in api(admin_user).get(URL).json()["results"]} == {mine.pk, theirs.pk}
    assert api(patient.user).get(f"{URL}{theirs.pk}/").status_code == 404
    assert api(other_nurse).get(f"{URL}{mine.pk}/").status_code == 404
    assert api(nurse).get(f"{URL}{mine.pk}/").json()["drug"] == "sorafenib"
    for bad in ("abc", "99999999999999999999999", "0"):
        response = api(nurse).get(f"{URL}{bad}/")
        assert response.status_code == 404 and response["Content-Type"] == "application/json"
    assert api(admin_user).get(f"{URL}?patient={other_patient.pk}").json()["count"] == 1


def test_hold_resume_change_stop_through_the_api(api, nurse, patient):
    prescription = prescribe(patient, now=NOW)
    client = api(nurse)
    base = f"{URL}{prescription.pk}"

    held = post(client, f"{base}/hold/", {"reason": "Grade 3 rash"}, utc(2026, 3, 3, 9))
    assert held.status_code == 200, held.json()
    assert held.json()["status"] == "held" and len(held.json()["holds"]) == 1
    assert ExpectedDose.objects.filter(state="held").count() > 0
    again = post(client, f"{base}/hold/", {"reason": "again"}, utc(2026, 3, 3, 10))
    assert again.status_code == 400 and "already on hold" in again.json()["from"][0]

    resumed = post(client, f"{base}/resume/", {"reason": "Rash better"}, utc(2026, 3, 5, 9))
    assert resumed.json()["status"] == "active"
    assert PrescriptionHold.objects.get().ends_at == utc(2026, 3, 5, 9)
    not_held = post(client, f"{base}/resume/", {"reason": "x"}, utc(2026, 3, 5, 10))
    assert not_held.status_code == 400

    off_ladder = post(client, f"{base}/change-dose/", {"dose_mg": "300", "reason": "x"})
    assert off_ladder.status_code == 400 and "override_reason" in off_ladder.json()["dose_mg"][0]
    changed = post(
        client, f"{base}/change-dose/", {"dose_mg": "400", "reason": "Diarrhoea"}, utc(2026, 3, 6)
    )
    assert changed.status_code == 200, changed.json()
    assert changed.json()["times"] == ["08:00"]
    assert changed.json()["events"][-1]["data"]["ladder_step"] == "400-once-daily"

    no_reason = post(client, f"{base}/stop/", {})
    assert no_reason.status_code == 400 and "reason" in no_reason.json()
    stopped = post(client, f"{base}/stop/", {"reason": "Progression"}, utc(2026, 3, 7, 9))
    assert stopped.json()["status"] == "stopped"
    assert not ExpectedDose.objects.filter(due_at__gt=utc(2026, 3, 7, 9)).exists()
    late = post(client, f"{base}/hold/", {"reason": "x"}, utc(2026, 3, 8))
    assert late.status_code == 400 and "stopped" in late.json()["non_field_errors"][0]


def test_actions_are_staff_only_and_scoped(api, patient, other_nurse):
    prescription = prescribe(patient, now=NOW)
    base = f"{URL}{prescription.pk}"
    assert post(api(patient.user), f"{base}/hold/", {"reason": "x"}).status_code == 403
    assert post(api(other_nurse), f"{base}/hold/", {"reason": "x"}).status_code == 404
    assert not PrescriptionHold.objects.exists()


def test_drug_catalogue(api, patient):
    data = api(patient.user).get("/api/v1/drugs/").json()
    by_code = {d["code"]: d for d in data}
    assert set(by_code) == {
        "sorafenib",
        "lenvatinib",
        "regorafenib",
        "cabozantinib",
        "atezolizumab",
        "bevacizumab",
    }
    assert by_code["regorafenib"]["late_window_rule"] == "same_day"
    assert by_code["sorafenib"]["late_window_hours"] == "6.00"
    assert by_code["atezolizumab"]["interval_days"] == 21
    assert by_code["cabozantinib"]["atc_code"] == "L01EX07"
    assert "Cabometyx" in by_code["cabozantinib"]["brand"]
    assert len(by_code["lenvatinib"]["dose_ladder"]) == 2
    assert api(patient.user).get("/api/v1/drugs/sorafenib/").json()["snomed_code"] == "422042001"
    assert api(None).get("/api/v1/drugs/").status_code in (401, 403)
