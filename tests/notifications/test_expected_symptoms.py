"""Expected symptom levels (baselines), clinical/checkins.md "Alert burden": the API
(API.md), the nurse's patient page, and what they change (through the API with the real
triage): an amber report of expected items only raises no alert; anything more still does."""

from datetime import timedelta

import pytest
from django.utils import timezone

from medications.models import ExpectedSymptom, SymptomReport
from notifications import services
from notifications.models import Alert
from patients.models import AuditEvent

pytestmark = pytest.mark.django_db

REPORTS = "/api/v1/symptom-reports/"


def baselines_url(patient):
    return f"/api/v1/patients/{patient.pk}/expected-symptoms/"


def today(patient):
    return timezone.now().astimezone(patient.zone).date()


def set_baseline(api, user, patient, **overrides):
    body = {
        "code": "hand_foot",
        "max_grade": 2,
        "until": (today(patient) + timedelta(days=14)).isoformat(),
        "reason": "grade 2 hand-foot on regorafenib, managed with creams",
        **overrides,
    }
    return api(user).post(baselines_url(patient), body, format="json")


def send(api, patient, *items):
    body = {"symptoms": [{"code": code, "grade": grade} for code, grade in items]}
    return api(patient.user).post(REPORTS, body, format="json")


def test_a_nurse_sets_lists_and_ends_a_baseline_and_it_stays_on_record(api, nurse, patient):
    made = set_baseline(api, nurse, patient)
    assert made.status_code == 201
    row = made.json()
    assert row["code"] == "hand_foot" and row["max_grade"] == 2 and row["active"] is True
    listed = api(nurse).get(baselines_url(patient)).json()
    assert [r["id"] for r in listed] == [row["id"]]

    assert api(nurse).delete(f"/api/v1/expected-symptoms/{row['id']}/").status_code == 204
    (after,) = api(nurse).get(baselines_url(patient)).json()
    assert after["active"] is False and after["ended_at"] and after["ended_by"] == nurse.pk
    assert ExpectedSymptom.objects.count() == 1  # kept, not deleted
    # Every request was audited against the patient.
    assert AuditEvent.objects.filter(patient=patient, actor=nurse).count() >= 4


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"code": "chest_pain"}, "code"),  # a red flag can never be expected
        ({"code": "temperature"}, "code"),
        ({"code": "no_such_code"}, "code"),
        ({"max_grade": 3}, "max_grade"),
        ({"max_grade": 0}, "max_grade"),
        ({"until": "2000-01-01"}, "until"),
        ({"reason": ""}, "reason"),
        ({"extra": 1}, "extra"),
    ],
)
def test_bad_input_is_a_400_naming_the_field_and_stores_nothing(
    api, nurse, patient, overrides, field
):
    answer = set_baseline(api, nurse, patient, **overrides)
    assert answer.status_code == 400 and field in answer.json()
    assert not ExpectedSymptom.objects.exists()


def test_until_is_at_most_30_days_ahead(api, nurse, patient):
    day_30 = today(patient) + timedelta(days=30)
    assert set_baseline(api, nurse, patient, until=day_30.isoformat()).status_code == 201
    late = set_baseline(api, nurse, patient, until=(day_30 + timedelta(days=1)).isoformat())
    assert late.status_code == 400 and "until" in late.json()


def test_a_new_baseline_for_the_same_symptom_replaces_the_active_one(api, nurse, patient):
    set_baseline(api, nurse, patient, max_grade=1)
    set_baseline(api, nurse, patient, max_grade=2)
    active = ExpectedSymptom.objects.filter(ended_at__isnull=True)
    assert [row.max_grade for row in active] == [2]


def test_only_the_patients_own_team_and_admins(api, patient, other_nurse, admin_user):
    assert set_baseline(api, other_nurse, patient).status_code == 404
    assert api(other_nurse).get(baselines_url(patient)).status_code == 404
    made = set_baseline(api, admin_user, patient).json()
    assert api(other_nurse).delete(f"/api/v1/expected-symptoms/{made['id']}/").status_code == 404
    assert api(patient.user).get(baselines_url(patient)).status_code == 403
    assert api(patient.user).delete(f"/api/v1/expected-symptoms/{made['id']}/").status_code == 403
    assert ExpectedSymptom.objects.get().ended_at is None


# --- what a baseline changes ----------------------------------------------------------------------


def test_an_expected_amber_gets_the_amber_answer_and_raises_no_alert(api, nurse, patient):
    set_baseline(api, nurse, patient)
    answer = send(api, patient, ("hand_foot", 2))
    assert answer.status_code == 201
    body = answer.json()
    assert body["triage"]["level"] == "amber"  # the patient's answer is unchanged
    assert body["expected_codes"] == ["hand_foot"] and body["alert_raised"] is False
    assert not Alert.objects.exists()
    # Nor does the back-up sweep raise it later.
    assert services.unraised_symptom_alerts_sweep()["reports"] == 0
    assert not Alert.objects.exists()


def test_an_expected_amber_with_another_amber_is_red_and_alerts(api, nurse, patient):
    set_baseline(api, nurse, patient)
    answer = send(api, patient, ("hand_foot", 2), ("fatigue", 2))
    assert answer.json()["triage"]["level"] == "red"
    assert answer.json()["expected_codes"] == []
    assert Alert.objects.get().level == "red"


def test_an_expected_symptom_above_its_grade_alerts(api, nurse, patient):
    set_baseline(api, nurse, patient, max_grade=1)
    send(api, patient, ("hand_foot", 2))
    assert Alert.objects.get().level == "amber"


def test_an_ended_or_lapsed_baseline_no_longer_silences(api, nurse, patient):
    made = set_baseline(api, nurse, patient).json()
    api(nurse).delete(f"/api/v1/expected-symptoms/{made['id']}/")
    send(api, patient, ("hand_foot", 2))
    assert Alert.objects.count() == 1


def test_an_unexpected_amber_still_alerts(api, nurse, patient):
    set_baseline(api, nurse, patient)
    send(api, patient, ("rash", 2))
    assert Alert.objects.get().level == "amber"
    assert SymptomReport.objects.get().expected_only is False


# --- the nurse's patient page ---------------------------------------------------------------------


def test_the_nurse_sets_and_ends_a_baseline_from_the_patient_page(client, nurse, patient):
    client.force_login(nurse)
    page = f"/nurse/patients/{patient.pk}/"
    until = today(patient) + timedelta(days=10)
    answer = client.post(
        f"{page}expected-symptoms/",
        {"code": "hand_foot", "max_grade": "2", "until": until.isoformat(), "reason": "creams"},
    )
    assert answer.status_code == 302
    baseline = ExpectedSymptom.objects.get()
    assert baseline.created_by == nurse and baseline.until == until
    shown = client.get(page).content.decode()
    assert "Expected symptoms" in shown and "up to grade 2" in shown and "creams" in shown

    answer = client.post(f"{page}expected-symptoms/{baseline.pk}/end/")
    assert answer.status_code == 302
    baseline.refresh_from_db()
    assert baseline.ended_at is not None and baseline.ended_by == nurse
    assert "None set." in client.get(page).content.decode()


def test_the_page_form_names_each_bad_field(client, nurse, patient):
    client.force_login(nurse)
    answer = client.post(
        f"/nurse/patients/{patient.pk}/expected-symptoms/",
        {"code": "", "max_grade": "2", "until": "", "reason": ""},
    )
    assert answer.status_code == 400
    text = answer.content.decode()
    assert "Choose the symptom." in text and "Give the last day." in text
    assert "Give the reason." in text
    assert not ExpectedSymptom.objects.exists()


def test_another_teams_nurse_cannot_set_one(client, other_nurse, patient):
    client.force_login(other_nurse)
    answer = client.post(
        f"/nurse/patients/{patient.pk}/expected-symptoms/",
        {"code": "hand_foot", "max_grade": "2", "until": today(patient).isoformat(), "reason": "x"},
    )
    assert answer.status_code == 404
    assert not ExpectedSymptom.objects.exists()


def test_an_expected_report_is_marked_on_the_timeline(api, client, nurse, patient):
    set_baseline(api, nurse, patient)
    send(api, patient, ("hand_foot", 2))
    client.force_login(nurse)
    text = client.get(f"/nurse/patients/{patient.pk}/").content.decode()
    assert "Symptom report (expected: no alert raised)" in text


def test_an_expected_amber_starts_no_follow_up_but_an_unexpected_one_does(api, nurse, patient):
    from medications.models import CheckIn

    set_baseline(api, nurse, patient)
    send(api, patient, ("hand_foot", 2))
    assert not CheckIn.objects.filter(kind="follow_up").exists()
    send(api, patient, ("rash", 2))
    assert [c.focus_codes for c in CheckIn.objects.filter(kind="follow_up")] == [["rash"]]
