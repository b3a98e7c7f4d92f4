"""Symptom reports through the API: triage result in the 201, validation, the combination
rules that read the database (repeat amber, immunotherapy), scope, and the signal.

Clinical reference: /work/shared/clinical/triage.md; contract: /work/shared/API.md.
"""

from datetime import timedelta

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from medications.models import (
    AppointmentState,
    CourseStatus,
    InfusionAppointment,
    InfusionCourse,
    SymptomReport,
)
from medications.signals import symptom_report_triaged
from medications.symptoms.rules import DEFAULT_RULES
from medications.symptoms.services import symptom_report_create
from tests.factories import PatientFactory

from .conftest import utc

pytestmark = pytest.mark.django_db
URL = "/api/v1/symptom-reports/"
NOW = utc(2026, 2, 10, 9, 0)
ADVICE = DEFAULT_RULES["advice"]
SAFETY_NET_999 = ADVICE["red"]["lines"][1]


def post(client, body, when=NOW):
    with time_machine.travel(when, tick=False):
        return client.post(URL, body, format="json")


def symptoms(**grades):
    return [{"code": code, "grade": grade} for code, grade in grades.items()]


def reasons(response):
    return {(r["code"], r["level"], r["rule"]) for r in response.json()["triage"]["reasons"]}


@pytest.fixture
def received():
    """Every symptom_report_triaged signal: (report id, level, inside a transaction, row
    visible to the receiver)."""
    calls = []

    def receiver(sender, report, **kwargs):
        calls.append(
            (
                report.pk,
                report.triage_level,
                connection.in_atomic_block,
                SymptomReport.objects.filter(pk=report.pk, triaged_at__isnull=False).exists(),
            )
        )

    symptom_report_triaged.connect(receiver, weak=False, dispatch_uid="test-received")
    yield calls
    symptom_report_triaged.disconnect(dispatch_uid="test-received")


# --- red / amber / green responses --------------------------------------------------------------


def test_green_report_gets_self_care_advice_for_each_symptom(api, patient):
    response = post(api(patient.user), {"symptoms": symptoms(nausea=1, fatigue=1, cough=0)})

    assert response.status_code == 201, response.json()
    body = response.json()
    triage = body["triage"]
    assert set(triage) >= {
        "level",
        "reasons",
        "advice",
        "call_advice_line",
        "advice_line_phone",
        "ruleset_version",
    }
    assert triage["level"] == "green" and triage["call_advice_line"] is False
    assert reasons(response) == {("nausea", "green", "grade"), ("fatigue", "green", "grade")}
    graded = DEFAULT_RULES["graded_symptoms"]
    assert f"Feeling sick (nausea): {graded['nausea']['self_care']}" in triage["advice"]
    assert f"Tiredness (fatigue): {graded['fatigue']['self_care']}" in triage["advice"]
    assert not any("Cough" in line for line in triage["advice"])  # grade 0: nothing to say
    assert ADVICE["green"]["closing_lines"][0] in triage["advice"]
    assert triage["advice_line_phone"] == patient.effective_advice_line_phone == "0161 000 0000"
    assert triage["ruleset_version"] == 1
    assert body["reported_at"] == "2026-02-10T09:00:00Z"
    assert body["entered_by_staff"] is False

    stored = SymptomReport.objects.get(pk=body["id"])
    assert stored.triage_level == "green" and stored.ruleset_version == 1
    assert stored.ruleset.version == 1 and stored.triaged_at == NOW
    assert stored.symptoms == symptoms(nausea=1, fatigue=1, cough=0)
    assert stored.entered_by == patient.user


def test_amber_report_says_the_team_will_call_within_24_hours(api, patient):
    response = post(api(patient.user), {"symptoms": symptoms(diarrhoea=2)})

    assert response.status_code == 201
    triage = response.json()["triage"]
    assert triage["level"] == "amber" and triage["call_advice_line"] is False
    assert triage["advice"][0] == ADVICE["amber"]["lines"][0]
    assert "within 24 hours" in triage["advice"][0]
    assert any(line.startswith("Diarrhoea: ") for line in triage["advice"])
    assert triage["advice"][-1] == "Your advice line: 0161 000 0000."
    assert reasons(response) == {("diarrhoea", "amber", "grade")}


def test_red_report_says_call_now_with_the_number_and_999(api, patient):
    patient.advice_line_phone = "0300 123 4567"  # the patient's own number wins over the team's
    patient.save()

    response = post(api(patient.user), {"symptoms": symptoms(chest_pain=1, diarrhoea=1)})

    assert response.status_code == 201
    triage = response.json()["triage"]
    assert triage["level"] == "red" and triage["call_advice_line"] is True
    assert triage["advice_line_phone"] == "0300 123 4567"
    assert triage["advice"] == [
        "Call your advice line now.",
        "Your advice line: 0300 123 4567.",
        SAFETY_NET_999,
    ]
    assert "999" in SAFETY_NET_999
    assert reasons(response) == {("chest_pain", "red", "red_flag"), ("diarrhoea", "green", "grade")}


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"temperature_c": 37.5}, {("temperature", "red", "temperature")}),
        ({"temperature_c": 35.9}, {("temperature", "red", "temperature")}),
        (
            {"systolic_bp": 160, "diastolic_bp": 80},
            {("blood_pressure", "red", "blood_pressure")},
        ),
        (
            {"symptoms": symptoms(vomiting=2, mouth_sores=2)},
            {
                ("vomiting", "amber", "grade"),
                ("mouth_sores", "amber", "grade"),
                ("report", "red", "two_ambers"),
            },
        ),
        (
            {"symptoms": symptoms(headache=2), "systolic_bp": 145, "diastolic_bp": 85},
            {
                ("blood_pressure", "red", "bp_with_headache"),
                ("headache", "red", "bp_with_headache"),
            },
        ),
    ],
)
def test_measurements_and_combinations_make_red(api, patient, body, expected):
    response = post(api(patient.user), {"symptoms": [], **body})
    assert response.status_code == 201, response.json()
    assert response.json()["triage"]["level"] == "red"
    assert reasons(response) == expected


def test_nothing_reported_is_green(api, patient):
    response = post(
        api(patient.user),
        {"symptoms": [], "temperature_c": 36.8, "systolic_bp": 125, "diastolic_bp": 80},
    )
    assert response.status_code == 201
    assert response.json()["triage"]["level"] == "green"
    assert response.json()["triage"]["reasons"] == []
    assert response.json()["temperature_c"] == 36.8


# --- validation: 400 naming the field, nothing stored ---------------------------------------------


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"symptoms": symptoms(hiccups=1)}, "symptoms"),  # unknown code
        ({"symptoms": symptoms(diarrhoea=4)}, "symptoms"),  # above the code's range
        ({"symptoms": symptoms(bruising=3)}, "symptoms"),  # bruising has no grade 3
        ({"symptoms": symptoms(chest_pain=2)}, "symptoms"),  # red flags are 0 or 1
        ({"symptoms": symptoms(nausea=-1)}, "symptoms"),
        ({"symptoms": [], "temperature_c": 29.9}, "temperature_c"),
        ({"symptoms": [], "temperature_c": 45.1}, "temperature_c"),
        ({"symptoms": [], "temperature_c": 37.25}, "temperature_c"),  # the record keeps tenths
        ({"symptoms": [], "systolic_bp": 130}, "diastolic_bp"),  # one figure without the other
        ({"symptoms": [], "diastolic_bp": 80}, "systolic_bp"),
        ({"symptoms": [], "systolic_bp": 80, "diastolic_bp": 80}, "systolic_bp"),
        ({"symptoms": [], "systolic_bp": 70, "diastolic_bp": 90}, "systolic_bp"),
        ({"symptoms": [], "systolic_bp": 301, "diastolic_bp": 90}, "systolic_bp"),
        ({"symptoms": [], "systolic_bp": 140, "diastolic_bp": 29}, "diastolic_bp"),
        (
            {"symptoms": [{"code": "nausea", "grade": 1}, {"code": "nausea", "grade": 2}]},
            "symptoms",
        ),  # duplicate codes
        ({"symptoms": [], "tempertaure_c": 38.5}, "tempertaure_c"),  # unknown top-level field
        ({"symptoms": [], "patient_id": 1}, "patient_id"),
        ({}, "symptoms"),  # missing
        ({"symptoms": None}, "symptoms"),
        ({"symptoms": "diarrhoea"}, "symptoms"),  # not a list
        ({"symptoms": {"code": "diarrhoea", "grade": 2}}, "symptoms"),
        ({"symptoms": ["diarrhoea"]}, "symptoms"),
        ({"symptoms": [{"code": "diarrhoea", "grade": "2"}]}, "symptoms"),  # grade as text
        ({"symptoms": [{"code": "diarrhoea", "grade": 2.0}]}, "symptoms"),
        ({"symptoms": [{"code": "diarrhoea", "grade": True}]}, "symptoms"),
        ({"symptoms": [{"code": "diarrhoea"}]}, "symptoms"),
        ({"symptoms": [{"code": 7, "grade": 1}]}, "symptoms"),
        ({"symptoms": [{"code": "diarrhoea", "grade": 1, "severity": "bad"}]}, "symptoms"),
        ({"symptoms": [{"code": "nausea", "grade": 0}] * 40}, "symptoms"),  # too many
        ({"symptoms": [], "temperature_c": "38.5"}, "temperature_c"),
        ({"symptoms": [], "temperature_c": True}, "temperature_c"),
        ({"symptoms": [], "temperature_c": [38]}, "temperature_c"),
        ({"symptoms": [], "systolic_bp": 120.5, "diastolic_bp": 80}, "systolic_bp"),
        ({"symptoms": [], "systolic_bp": "120", "diastolic_bp": 80}, "systolic_bp"),
        ({"symptoms": [], "systolic_bp": 10**30, "diastolic_bp": 80}, "systolic_bp"),
        ({"symptoms": [], "notes": 5}, "notes"),
        ({"symptoms": [], "notes": "x" * 2001}, "notes"),
        ({"symptoms": [], "notes": "a\x00b"}, "notes"),
    ],
)
def test_bad_input_is_400_naming_the_field_and_nothing_is_stored(api, patient, body, field):
    response = post(api(patient.user), body)

    assert response.status_code == 400, response.json()
    errors = response.json()
    assert field in errors, errors
    assert all(isinstance(message, str) and message for message in errors[field])
    assert SymptomReport.objects.count() == 0


def test_every_bad_field_is_named_at_once(api, patient):
    response = post(
        api(patient.user),
        {"symptoms": symptoms(hiccups=1), "temperature_c": 50, "systolic_bp": 120, "notes": 3},
    )
    assert response.status_code == 400
    assert set(response.json()) == {"symptoms", "temperature_c", "diastolic_bp", "notes"}
    assert response.json()["symptoms"] == ['Unknown symptom code "hiccups".']


@pytest.mark.parametrize(
    "raw",
    [
        '{"symptoms": [], "temperature_c": 1e400}',  # parses as infinity
        '{"symptoms": [], "temperature_c": NaN}',
        '{"symptoms": [], "systolic_bp": Infinity, "diastolic_bp": 80}',
        '{"symptoms": [{"code": "diarrhoea", "grade": 1e400}]}',
        '{"symptoms": [], "notes": "\\ud800"}',  # a lone surrogate cannot be stored
        '{"symptoms": [], "\\udfff": 1}',
        '{"symptoms": [{"code": "' + "x" * 5000 + '", "grade": 1}]}',
        '{"symptoms": [], "patient": 99999999999999999999999}',
        '[{"code": "diarrhoea", "grade": 2}]',
        '"symptoms"',
        "{not json",
    ],
)
def test_odd_json_is_a_clean_400(api, patient, raw):
    with time_machine.travel(NOW, tick=False):
        response = api(patient.user).post(URL, raw, content_type="application/json")
    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    assert isinstance(response.json(), dict)
    assert len(response.content) < 2000  # a huge value is not echoed back
    assert SymptomReport.objects.count() == 0


# --- repeat amber (rule 3) needs the database -------------------------------------------------


@pytest.mark.parametrize(("hours_later", "level"), [(47, "red"), (48, "red"), (49, "amber")])
def test_repeat_amber_within_48_hours_is_red(api, patient, hours_later, level):
    client = api(patient.user)
    first = post(client, {"symptoms": symptoms(diarrhoea=2)})
    assert first.json()["triage"]["level"] == "amber"

    again = post(client, {"symptoms": symptoms(diarrhoea=2)}, NOW + timedelta(hours=hours_later))

    assert again.json()["triage"]["level"] == level
    if level == "red":
        assert reasons(again) == {("diarrhoea", "red", "repeat_amber")}


def test_repeat_amber_counts_an_earlier_red_but_not_another_symptom(api, patient):
    client = api(patient.user)
    post(client, {"symptoms": symptoms(vomiting=3)})
    later = NOW + timedelta(hours=30)
    assert post(client, {"symptoms": symptoms(vomiting=2)}, later).json()["triage"]["level"] == (
        "red"
    )
    assert post(client, {"symptoms": symptoms(rash=2)}, later + timedelta(minutes=1)).json()[
        "triage"
    ]["level"] == ("amber")


def test_repeat_amber_for_blood_pressure(api, patient):
    client = api(patient.user)
    post(client, {"symptoms": [], "systolic_bp": 150, "diastolic_bp": 85})
    again = post(
        client,
        {"symptoms": [], "systolic_bp": 145, "diastolic_bp": 92},
        NOW + timedelta(hours=20),
    )
    assert reasons(again) == {("blood_pressure", "red", "repeat_amber")}


def test_repeat_amber_is_per_patient(api, patient, team):
    someone_else = PatientFactory(care_team=team)
    post(api(someone_else.user), {"symptoms": symptoms(diarrhoea=2)})
    mine = post(api(patient.user), {"symptoms": symptoms(diarrhoea=2)}, NOW + timedelta(hours=1))
    assert mine.json()["triage"]["level"] == "amber"


def test_an_ungraded_earlier_report_still_counts_for_repeat_amber(api, patient):
    # Entered by import and not graded yet: its own levels are what rule 3 reads.
    SymptomReport.objects.create(
        patient=patient, reported_at=NOW - timedelta(hours=10), symptoms=symptoms(diarrhoea=2)
    )
    response = post(api(patient.user), {"symptoms": symptoms(diarrhoea=2)})
    assert reasons(response) == {("diarrhoea", "red", "repeat_amber")}


def test_a_later_report_entered_for_an_earlier_time_does_not_see_the_future(patient):
    symptom_report_create(
        patient=patient, data={"symptoms": symptoms(diarrhoea=2)}, entered_by=None
    )
    earlier = symptom_report_create(
        patient=patient,
        data={"symptoms": symptoms(diarrhoea=2)},
        entered_by=None,
        reported_at=NOW - timedelta(days=400),
    )
    assert earlier.triage_level == "amber"


# --- immunotherapy (rule 4) needs the treatment record ------------------------------------------


def atezolizumab_course(patient, *, status=CourseStatus.ACTIVE, given_days_ago=None, drugs=None):
    first = NOW - timedelta(days=(given_days_ago or 0) + 60)
    course = InfusionCourse.objects.create(
        patient=patient,
        drugs=drugs or ["atezolizumab", "bevacizumab"],
        first_infusion_at=first,
        status=status,
    )
    if given_days_ago is not None:
        for cycle, given_at in enumerate([first, NOW - timedelta(days=given_days_ago)], start=1):
            InfusionAppointment.objects.create(
                course=course,
                patient=patient,
                cycle_number=cycle,
                scheduled_at=given_at,
                originally_scheduled_at=given_at,
                state=AppointmentState.GIVEN,
                given_at=given_at,
            )
    return course


IMMUNOTHERAPY_CODES = ["diarrhoea", "abdominal_pain", "breathlessness", "cough", "rash", "headache"]


@pytest.mark.parametrize("code", IMMUNOTHERAPY_CODES)
def test_amber_on_an_active_atezolizumab_course_is_red(api, patient, code):
    atezolizumab_course(patient)
    response = post(api(patient.user), {"symptoms": [{"code": code, "grade": 2}]})
    assert response.json()["triage"]["level"] == "red"
    assert reasons(response) == {(code, "red", "immunotherapy")}


def test_immunotherapy_rule_leaves_other_symptoms_amber(api, patient):
    atezolizumab_course(patient)
    response = post(api(patient.user), {"symptoms": symptoms(fatigue=2)})
    assert response.json()["triage"]["level"] == "amber"


@pytest.mark.parametrize(
    ("days_ago", "level"),
    [(335, "red"), (365, "red"), (366, "amber"), (395, "amber")],  # about 11 and 13 months
)
def test_atezolizumab_in_the_last_12_months_makes_amber_red(api, patient, days_ago, level):
    atezolizumab_course(patient, status=CourseStatus.STOPPED, given_days_ago=days_ago)
    response = post(api(patient.user), {"symptoms": symptoms(diarrhoea=2)})
    assert response.json()["triage"]["level"] == level


def test_a_bevacizumab_only_course_is_not_immunotherapy(api, patient):
    atezolizumab_course(patient, drugs=["bevacizumab"], given_days_ago=20)
    response = post(api(patient.user), {"symptoms": symptoms(cough=2)})
    assert response.json()["triage"]["level"] == "amber"


def test_a_scheduled_but_not_given_infusion_of_a_stopped_course_does_not_count(api, patient):
    course = atezolizumab_course(patient, status=CourseStatus.STOPPED, given_days_ago=500)
    InfusionAppointment.objects.create(
        course=course,
        patient=patient,
        cycle_number=3,
        scheduled_at=NOW - timedelta(days=30),
        originally_scheduled_at=NOW - timedelta(days=30),
        state=AppointmentState.CANCELLED,
    )
    response = post(api(patient.user), {"symptoms": symptoms(cough=2)})
    assert response.json()["triage"]["level"] == "amber"


def test_atezolizumab_before_enrolment_counts_while_the_record_is_under_12_months_old(team):
    # The date of pre-enrolment treatment is not recorded; it was before the record existed.
    with time_machine.travel(NOW - timedelta(days=200), tick=False):
        recent = PatientFactory(care_team=team, prior_systemic_therapies=["atezolizumab"])
    with time_machine.travel(NOW - timedelta(days=400), tick=False):
        older = PatientFactory(care_team=team, prior_systemic_therapies=["atezolizumab"])
    body = {"symptoms": symptoms(rash=2)}
    with time_machine.travel(NOW, tick=False):
        assert symptom_report_create(patient=recent, data=body, entered_by=None).triage_level == (
            "red"
        )
        assert symptom_report_create(patient=older, data=body, entered_by=None).triage_level == (
            "amber"
        )


# --- who may report for whom ---------------------------------------------------------------------


def test_nurse_reports_for_a_patient_in_their_team(api, nurse, patient, received):
    response = post(api(nurse), {"patient": patient.pk, "symptoms": symptoms(diarrhoea=2)})
    assert response.status_code == 201
    body = response.json()
    assert body["patient"] == patient.pk and body["entered_by_staff"] is True
    assert body["triage"]["advice_line_phone"] == patient.effective_advice_line_phone
    assert SymptomReport.objects.get().entered_by == nurse


def test_admin_reports_for_any_patient(api, admin_user, other_patient):
    response = post(api(admin_user), {"patient": other_patient.pk, "symptoms": []})
    assert response.status_code == 201
    assert response.json()["patient"] == other_patient.pk


def test_staff_must_say_which_patient(api, nurse):
    response = post(api(nurse), {"symptoms": []})
    assert response.status_code == 400 and "patient" in response.json()
    assert post(api(nurse), {"patient": "abc", "symptoms": []}).status_code == 400
    assert SymptomReport.objects.count() == 0


def test_out_of_scope_patient_is_a_404_like_a_missing_one(api, other_nurse, patient):
    out_of_scope = post(api(other_nurse), {"patient": patient.pk, "symptoms": symptoms(nausea=3)})
    missing = post(api(other_nurse), {"patient": 987654, "symptoms": symptoms(nausea=3)})

    assert out_of_scope.status_code == missing.status_code == 404
    assert out_of_scope.json() == missing.json()
    assert SymptomReport.objects.count() == 0


def test_patient_reports_only_for_themself(api, patient, other_patient):
    for_other = post(api(patient.user), {"patient": other_patient.pk, "symptoms": []})
    assert for_other.status_code == 404
    assert SymptomReport.objects.count() == 0

    for_self = post(api(patient.user), {"patient": patient.pk, "symptoms": []})
    assert for_self.status_code == 201 and for_self.json()["patient"] == patient.pk


def test_signed_out_or_without_a_role_cannot_report(api, patient):
    from tests.factories import UserFactory

    assert post(api(None), {"symptoms": []}).status_code in (401, 403)
    assert post(api(UserFactory()), {"symptoms": []}).status_code == 403
    assert SymptomReport.objects.count() == 0


def test_list_and_detail_are_scoped(api, patient, other_patient, nurse, other_nurse, admin_user):
    mine = post(api(patient.user), {"symptoms": symptoms(nausea=1)}).json()["id"]
    theirs = post(api(other_patient.user), {"symptoms": symptoms(diarrhoea=2)}).json()["id"]

    def ids(user, query=""):
        response = api(user).get(URL + query)
        assert response.status_code == 200
        return [report["id"] for report in response.json()["results"]]

    assert ids(patient.user) == [mine]
    assert ids(other_patient.user) == [theirs]
    assert ids(nurse) == [mine]
    assert ids(other_nurse) == [theirs]
    assert sorted(ids(admin_user)) == sorted([mine, theirs])
    assert ids(admin_user, f"?patient={other_patient.pk}") == [theirs]
    assert ids(admin_user, "?level=amber") == [theirs]
    assert api(nurse).get(URL + f"?patient={other_patient.pk}").status_code == 404
    assert api(nurse).get(URL + "?patient=abc").status_code == 400
    assert api(nurse).get(URL + "?level=purple").status_code == 400

    assert api(nurse).get(f"{URL}{mine}/").status_code == 200
    assert api(nurse).get(f"{URL}{theirs}/").status_code == 404
    assert api(patient.user).get(f"{URL}{theirs}/").status_code == 404
    detail = api(other_nurse).get(f"{URL}{theirs}/").json()
    assert detail["triage"]["level"] == "amber" and detail["symptoms"] == symptoms(diarrhoea=2)


# --- the signal: once per report, inside the transaction -----------------------------------------


@pytest.mark.django_db(transaction=True)
def test_signal_is_sent_once_per_report_inside_the_transaction(api, patient, received):
    client = api(patient.user)
    red = post(client, {"symptoms": symptoms(jaundice=1)}).json()["id"]
    green = post(client, {"symptoms": symptoms(nausea=1)}).json()["id"]
    post(client, {"symptoms": symptoms(hiccups=1)})  # refused: nothing to announce

    assert received == [(red, "red", True, True), (green, "green", True, True)]
    assert not connection.in_atomic_block  # so True above really was the service's transaction


@pytest.mark.django_db(transaction=True)
def test_a_failing_receiver_does_not_lose_the_report(api, patient):
    def broken(sender, report, **kwargs):
        SymptomReport.objects.filter(pk=report.pk).update(notes="written by a broken receiver")
        raise RuntimeError("alert could not be raised")

    symptom_report_triaged.connect(broken, weak=False, dispatch_uid="test-broken")
    try:
        response = post(api(patient.user), {"symptoms": symptoms(bleeding=1)})
    finally:
        symptom_report_triaged.disconnect(dispatch_uid="test-broken")

    assert response.status_code == 201
    assert response.json()["triage"]["level"] == "red"
    stored = SymptomReport.objects.get()
    assert stored.triage_level == "red" and stored.alert_raised_at is None
    assert stored.notes == ""  # the receiver's own writes were rolled back with it


# --- speed: a few queries on the patient's path --------------------------------------------------


def test_creating_a_report_takes_a_few_queries(patient):
    atezolizumab_course(patient, given_days_ago=10)
    body = {"symptoms": symptoms(nausea=1), "temperature_c": 36.9}
    symptom_report_create(patient=patient, data=body, entered_by=patient.user)  # warm the cache
    body = {**body, "temperature_c": 37.0}  # not a resend of the first
    with CaptureQueriesContext(connection) as captured:
        symptom_report_create(patient=patient, data=body, entered_by=patient.user)
    statements = [
        query["sql"].split()[0]
        for query in captured.captured_queries
        if not query["sql"].startswith(("SAVEPOINT", "RELEASE SAVEPOINT"))
    ]
    # active version, lock the patient, resends, courses, last infusion, recent reports,
    # insert, open check-ins it completes
    assert statements == ["SELECT"] * 6 + ["INSERT", "SELECT"]
