"""Outcomes that act (triage.md, last section; API.md second round, resolve): "treatment
held" holds the chosen prescription(s) and "dose reduced" moves one down its ladder, in the
resolve's transaction, with the note as the reason and the nurse as who; "asked to attend"
keeps when; the patient sees the outcome (and the held doses) at once."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest
import time_machine
from django.urls import reverse

from medications.models import (
    DoseState,
    PrescriptionEvent,
    PrescriptionEventKind,
    PrescriptionStatus,
)
from notifications import services
from notifications.models import Alert, AlertEventKind, AlertStatus
from tests.notifications.helpers import prescribe, triaged_report

pytestmark = pytest.mark.django_db

URL = "/api/v1/alerts/"
# 10:00 on a Friday in London (GMT): the 08:00 sorafenib dose is past, the 20:00 one to come.
NOW = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)


@pytest.fixture
def at_ten():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def sorafenib(at_ten, patient):
    return prescribe(patient, "sorafenib", now=datetime(2026, 11, 26, 7, 0, tzinfo=UTC))


@pytest.fixture
def red_alert(sorafenib, patient):
    report = triaged_report(patient, level="red")
    return Alert.objects.get(symptom_report=report)


def _today_states(client, patient):
    response = client.get("/api/v1/doses/", {"from": "2026-11-27", "to": "2026-11-27"})
    assert response.status_code == 200, response.content
    body = response.json()
    rows = body["results"] if isinstance(body, dict) else body
    return {row["due_at"][11:16]: row["state"] for row in rows}


def test_api_treatment_held_holds_the_prescription_and_the_patient_sees_todays_dose_held(
    api, nurse, patient, sorafenib, red_alert
):
    assert _today_states(api(patient.user), patient)["20:00"] == "upcoming"

    response = api(nurse).post(
        f"{URL}{red_alert.pk}/resolve/",
        {
            "outcome": "treatment_held",
            "note": "Grade 3 hand-foot: hold until review.",
            "prescriptions": [sorafenib.pk],
            "message_to_patient": "Please stop your tablets; we will call on Monday.",
        },
        format="json",
    )
    assert response.status_code == 200, response.json()
    assert response.json()["status"] == "resolved"

    sorafenib.refresh_from_db()
    assert sorafenib.status == PrescriptionStatus.HELD
    hold = PrescriptionEvent.objects.get(prescription=sorafenib, kind=PrescriptionEventKind.HOLD)
    assert hold.reason == "Grade 3 hand-foot: hold until review." and hold.recorded_by == nurse
    # The patient: tonight's dose is held (not expected); this morning's stays as it was.
    states = _today_states(api(patient.user), patient)
    assert states["20:00"] == DoseState.HELD
    assert states["08:00"] != DoseState.HELD
    # The report tells the patient in plain words, with the nurse's message; the note stays in.
    report = red_alert.symptom_report
    report.refresh_from_db()
    assert report.outcome_text.startswith("Your team has paused sorafenib.")
    assert report.message_to_patient == "Please stop your tablets; we will call on Monday."
    assert "hand-foot" not in report.outcome_text
    # The alert's history names what was held, and who did it.
    event = red_alert.events.get(kind=AlertEventKind.RESOLVED)
    assert event.actor == nurse and event.data["held"] == [sorafenib.pk]


def test_page_treatment_held_holds_it_and_the_patients_today_page_says_do_not_take(
    client, nurse, patient, sorafenib, red_alert
):
    client.force_login(nurse)
    page = client.get(reverse("notifications:alert", args=[red_alert.pk]))
    assert f'value="{sorafenib.pk}"' in page.content.decode()  # which prescription to hold

    prefix = f"alert{red_alert.pk}"
    response = client.post(
        reverse("notifications:alert_resolve", args=[red_alert.pk]),
        {
            f"{prefix}-outcome": "treatment_held",
            f"{prefix}-note": "Hold: diarrhoea grade 3.",
            f"{prefix}-prescriptions": [str(sorafenib.pk)],
        },
    )
    assert response.status_code == 302
    sorafenib.refresh_from_db()
    assert sorafenib.status == PrescriptionStatus.HELD

    client.force_login(patient.user)
    today = client.get(reverse("medications:today")).content.decode()
    assert "Your team has paused this medicine. Do not take this dose." in today


def test_page_treatment_held_without_a_choice_says_which_and_holds_nothing(
    client, nurse, sorafenib, red_alert
):
    client.force_login(nurse)
    prefix = f"alert{red_alert.pk}"
    response = client.post(
        reverse("notifications:alert_resolve", args=[red_alert.pk]),
        {f"{prefix}-outcome": "treatment_held", f"{prefix}-note": "Hold."},
    )
    assert response.status_code == 400
    assert "Choose which prescription(s) to hold." in response.content.decode()
    red_alert.refresh_from_db()
    sorafenib.refresh_from_db()
    assert red_alert.status == AlertStatus.OPEN and sorafenib.status == PrescriptionStatus.ACTIVE


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"outcome": "treatment_held"}, "prescriptions"),
        ({"outcome": "treatment_held", "prescriptions": [999999]}, "prescriptions"),
        ({"outcome": "dose_reduced"}, "dose_mg"),
        ({"outcome": "dose_reduced", "dose_mg": "300"}, "dose_mg"),  # not on the ladder
        ({"outcome": "dose_reduced", "dose_mg": "800"}, "dose_mg"),  # not lower
        ({"outcome": "advice_given_by_phone", "dose_mg": "200"}, "dose_mg"),
        ({"outcome": "no_action_needed", "prescriptions": [1]}, "prescriptions"),
        ({"outcome": "other", "message_to_patient": "x" * 501}, "message_to_patient"),
    ],
)
def test_a_resolve_that_cannot_act_is_400_naming_the_field_and_changes_nothing(
    api, nurse, sorafenib, red_alert, body, field
):
    response = api(nurse).post(
        f"{URL}{red_alert.pk}/resolve/", {"note": "Reason.", **body}, format="json"
    )
    assert response.status_code == 400
    assert field in response.json(), response.json()
    red_alert.refresh_from_db()
    sorafenib.refresh_from_db()
    assert red_alert.status == AlertStatus.OPEN
    assert sorafenib.status == PrescriptionStatus.ACTIVE and sorafenib.dose_mg == Decimal("400")
    assert not PrescriptionEvent.objects.filter(
        prescription=sorafenib,
        kind__in=[PrescriptionEventKind.HOLD, PrescriptionEventKind.DOSE_CHANGE],
    ).exists()


def test_another_patients_prescription_cannot_be_held_through_this_alert(
    api, nurse, patient, other_patient, red_alert
):
    theirs = prescribe(other_patient, "lenvatinib", now=NOW, times=("09:00",))
    response = api(nurse).post(
        f"{URL}{red_alert.pk}/resolve/",
        {"outcome": "treatment_held", "note": "Hold.", "prescriptions": [theirs.pk]},
        format="json",
    )
    assert response.status_code == 400 and "prescriptions" in response.json()
    theirs.refresh_from_db()
    assert theirs.status == PrescriptionStatus.ACTIVE


def test_a_hold_the_medications_service_refuses_leaves_the_alert_open(
    api, nurse, sorafenib, red_alert
):
    from medications import services as medication_services

    medication_services.prescription_hold(prescription=sorafenib, reason="Surgery", now=NOW)
    response = api(nurse).post(
        f"{URL}{red_alert.pk}/resolve/",
        {"outcome": "treatment_held", "note": "Hold.", "prescriptions": [sorafenib.pk]},
        format="json",
    )
    assert response.status_code == 400
    assert "Sorafenib: This prescription is already on hold" in response.json()["prescriptions"][0]
    red_alert.refresh_from_db()
    assert red_alert.status == AlertStatus.OPEN


def test_dose_reduced_moves_down_the_ladder_with_the_note_as_reason(
    api, nurse, patient, sorafenib, red_alert
):
    response = api(nurse).post(
        f"{URL}{red_alert.pk}/resolve/",
        {"outcome": "dose_reduced", "note": "Grade 2 HFSR again: step down.", "dose_mg": "400"},
        format="json",
    )
    assert response.status_code == 200, response.json()
    sorafenib.refresh_from_db()
    # 400 mg twice daily -> 400 mg once daily (the next step down), the morning dose kept.
    assert sorafenib.dose_mg == Decimal("400") and sorafenib.times == ["08:00"]
    change = PrescriptionEvent.objects.get(
        prescription=sorafenib, kind=PrescriptionEventKind.DOSE_CHANGE
    )
    assert change.reason == "Grade 2 HFSR again: step down." and change.recorded_by == nurse
    assert _today_states(api(patient.user), patient).get("20:00") in (None, DoseState.HELD)
    report = red_alert.symptom_report
    report.refresh_from_db()
    assert report.outcome_text == "Your team has lowered your sorafenib dose to 400 mg once daily."
    event = red_alert.events.get(kind=AlertEventKind.RESOLVED)
    assert event.data["from_mg"] == "400" and event.data["step"] == "400-once-daily"


def test_asked_to_attend_records_when_and_tells_the_patient(api, nurse, sorafenib, red_alert):
    response = api(nurse).post(
        f"{URL}{red_alert.pk}/resolve/",
        {
            "outcome": "same_day_assessment",
            "note": "Day unit.",
            "attend_at": "2026-11-27T14:30:00+00:00",
        },
        format="json",
    )
    assert response.status_code == 200, response.json()
    assert response.json()["attend_at"].startswith("2026-11-27T14:30:00")
    red_alert.refresh_from_db()
    red_alert.symptom_report.refresh_from_db()
    assert red_alert.symptom_report.outcome_text == (
        "You were asked to come in to be seen at 14:30 on Friday 27 November."
    )


def test_the_service_acts_once_when_the_same_resolve_is_repeated(nurse, sorafenib, red_alert):
    for _ in range(2):
        services.alert_resolve(
            alert=red_alert,
            user=nurse,
            outcome="treatment_held",
            note="Hold.",
            prescription_ids=[sorafenib.pk],
        )
    assert (
        PrescriptionEvent.objects.filter(
            prescription=sorafenib, kind=PrescriptionEventKind.HOLD
        ).count()
        == 1
    )


def test_end_follow_up_ends_the_patients_follow_up_check_ins(
    api, nurse, patient, sorafenib, red_alert
):
    from datetime import timedelta

    from medications.models import CheckIn, CheckInKind, CheckInStatus

    follow_up = CheckIn.objects.create(
        patient=patient,
        kind=CheckInKind.FOLLOW_UP,
        source_key="follow_up:test",
        opens_at=NOW + timedelta(hours=20),
        closes_at=NOW + timedelta(hours=92),
        status=CheckInStatus.SCHEDULED,
    )
    weekly = CheckIn.objects.create(
        patient=patient,
        kind=CheckInKind.WEEKLY,
        source_key="weekly:test",
        opens_at=NOW + timedelta(days=3),
        closes_at=NOW + timedelta(days=6),
        status=CheckInStatus.SCHEDULED,
    )
    response = api(nurse).post(
        f"{URL}{red_alert.pk}/resolve/",
        {"outcome": "advice_given_by_phone", "note": "Settled.", "end_follow_up": True},
        format="json",
    )
    assert response.status_code == 200, response.json()
    follow_up.refresh_from_db()
    weekly.refresh_from_db()
    assert follow_up.status == CheckInStatus.PAUSED
    assert weekly.status == CheckInStatus.SCHEDULED  # the weekly check-in goes on
    assert red_alert.events.get(kind=AlertEventKind.RESOLVED).data["follow_ups_ended"] == 1


def test_the_page_offers_to_end_the_follow_up_on_a_symptom_alert(client, nurse, red_alert):
    client.force_login(nurse)
    page = client.get(reverse("notifications:alert", args=[red_alert.pk])).content.decode()
    assert "End the daily follow-up check-ins" in page


def test_page_dose_reduced_offers_the_lower_steps_and_changes_the_dose(
    client, nurse, sorafenib, red_alert
):
    client.force_login(nurse)
    page = client.get(reverse("notifications:alert", args=[red_alert.pk])).content.decode()
    for label in ("Sorafenib: 400 mg once daily", "Sorafenib: 200 mg once daily"):
        assert f">{label}</label>" in page
    assert ">Sorafenib: 400 mg twice daily</label>" not in page  # the current step
    prefix = f"alert{red_alert.pk}"
    response = client.post(
        reverse("notifications:alert_resolve", args=[red_alert.pk]),
        {
            f"{prefix}-outcome": "dose_reduced",
            f"{prefix}-note": "Grade 3 diarrhoea settled: restart lower.",
            f"{prefix}-new_dose": f"{sorafenib.pk}:200-once-daily",
        },
    )
    assert response.status_code == 302
    sorafenib.refresh_from_db()
    assert sorafenib.dose_mg == Decimal("200") and sorafenib.times == ["08:00"]


def test_a_message_to_the_patient_needs_a_report_to_carry_it(api, nurse, patient, sorafenib):
    from tests.notifications.dashboard_helpers import make_alert

    supply = make_alert(patient, level="amber", kind="supply", reasons=[])
    response = api(nurse).post(
        f"{URL}{supply.pk}/resolve/",
        {"outcome": "supply_arranged", "note": "Posted.", "message_to_patient": "On its way."},
        format="json",
    )
    assert response.status_code == 400 and "message_to_patient" in response.json()
    supply.refresh_from_db()
    assert supply.status == AlertStatus.OPEN
