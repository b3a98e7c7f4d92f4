"""Scheduled check-ins end to end (clinical/checkins.md) through the API with a moving
clock, and the sweep's guarantees: run twice, one alert; state changed underneath, no
alert; across the March 2026 daylight-saving change (London)."""

from datetime import datetime, timedelta

import pytest
import time_machine
from django.core.management import call_command

from medications.models import CheckIn, CheckInKind, CheckInStatus
from notifications.models import (
    Alert,
    AlertEventKind,
    AlertKind,
    AlertLevel,
    AlertStatus,
    Delivery,
    DeliveryPurpose,
)
from notifications.services.check_ins import check_ins_sweep

from .helpers import prescribe, utc

pytestmark = pytest.mark.django_db

# Monday 2 March 2026, 09:00 GMT: treatment starts, so check-ins are on Mondays at 10:00.
START = utc(2026, 3, 2, 9)
CHECK_INS = "/api/v1/check-ins/"
REPORTS = "/api/v1/symptom-reports/"


def sweep_at(moment):
    with time_machine.travel(moment, tick=False):
        return check_ins_sweep()


def report_at(api, patient, moment, *items):
    body = {"symptoms": [{"code": code, "grade": grade} for code, grade in items]}
    with time_machine.travel(moment, tick=False):
        answer = api(patient.user).post(REPORTS, body, format="json")
    assert answer.status_code == 201, answer.content
    return answer.json()


def at(text):
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def check_ins(api, user, **query):
    return api(user).get(CHECK_INS, query).json()["results"]


def check_in_alerts():
    return Alert.objects.filter(kind=AlertKind.MISSED_CHECK_IN).order_by("pk")


def reminders(patient):
    return Delivery.objects.filter(
        purpose=DeliveryPurpose.REMINDER, patient=patient, reminder_kind="check_in"
    )


@pytest.fixture
def on_treatment(patient):
    with time_machine.travel(START, tick=False):
        prescribe(patient, now=START)
    return patient


def test_a_patient_through_weeks_of_check_ins(api, nurse, on_treatment):
    patient = on_treatment
    week = timedelta(days=7)
    monday = utc(2026, 3, 2, 10)

    # Ahead of time, the next weekly check-in is listed as scheduled.
    sweep_at(START)
    (scheduled,) = check_ins(api, patient.user, status="scheduled")
    assert scheduled["kind"] == "weekly" and at(scheduled["opens_at"]) == utc(2026, 3, 2, 10)
    assert at(scheduled["closes_at"]) == utc(2026, 3, 5, 10)

    # Week 1, ignored: a reminder at opening, another at +24 h, missed at 72 h: green alert.
    sweep_at(monday + timedelta(minutes=1))
    assert reminders(patient).count() == 1
    sweep_at(monday + timedelta(hours=24, minutes=1))
    assert reminders(patient).count() == 2
    sweep_at(monday + timedelta(hours=72, minutes=1))
    (alert,) = check_in_alerts()
    assert alert.level == AlertLevel.GREEN and alert.status == AlertStatus.OPEN
    assert reminders(patient).count() == 2  # no more chasing after it closed
    # Listed through the alerts API with its kind.
    listed = api(nurse).get("/api/v1/alerts/", {"kind": "missed_check_in"}).json()["results"]
    assert [row["id"] for row in listed] == [alert.pk]

    # Week 2, answered (a green report from any screen): completed; the alert closes itself.
    sweep_at(monday + week + timedelta(minutes=1))
    report = report_at(api, patient, monday + week + timedelta(hours=2), ("fatigue", 1))
    (done,) = check_ins(api, nurse, patient=patient.pk, status="completed")
    assert done["report"] == report["id"]
    alert.refresh_from_db()
    assert alert.status == AlertStatus.RESOLVED and alert.outcome == "patient_reported"

    # Weeks 3 and 4 ignored: green, then amber on the same (new) alert.
    sweep_at(monday + 2 * week + timedelta(hours=72, minutes=1))
    second = check_in_alerts().last()
    assert second.pk != alert.pk and second.level == AlertLevel.GREEN
    sweep_at(monday + 3 * week + timedelta(hours=72, minutes=1))
    second.refresh_from_db()
    assert second.level == AlertLevel.AMBER and second.occurrences == 2
    assert check_in_alerts().count() == 2  # one open check-in alert per patient
    assert [c["status"] for c in check_ins(api, nurse, patient=patient.pk)[1:4]] == [
        "missed",
        "missed",
        "completed",
    ]

    # Week 5 is after the clocks went forward (29 March): 10:00 BST is 09:00 UTC. Answered:
    # the check-in is completed, the amber alert stays for the nurse with a history line.
    week5 = utc(2026, 3, 30, 9)
    sweep_at(week5 + timedelta(minutes=1))
    (open_now,) = check_ins(api, patient.user, status="open")
    assert at(open_now["opens_at"]) == utc(2026, 3, 30, 9)
    report_at(api, patient, week5 + timedelta(hours=3), ("fatigue", 1), ("rash", 1))
    second.refresh_from_db()
    assert second.status == AlertStatus.OPEN and second.level == AlertLevel.AMBER
    last_event = second.events.order_by("pk").last()
    assert last_event.kind == AlertEventKind.UPDATED and last_event.data["patient_reported"]

    # An amber diarrhoea report opens a follow-up the next day, asking about it first.
    amber_at = week5 + timedelta(hours=5)
    first = report_at(api, patient, amber_at, ("diarrhoea", 2))
    assert first["triage"]["level"] == "amber"
    (follow_up,) = [
        c for c in check_ins(api, patient.user, status="scheduled") if c["kind"] == "follow_up"
    ]
    assert follow_up["focus_codes"] == ["diarrhoea"]
    assert at(follow_up["opens_at"]) == amber_at + timedelta(hours=24)
    sweep_at(amber_at + timedelta(hours=24, minutes=1))
    # Still amber the next day: red by the repeat-amber rule (intended), and followed up again.
    again = report_at(api, patient, amber_at + timedelta(hours=25), ("diarrhoea", 2))
    assert again["triage"]["level"] == "red"
    assert CheckIn.objects.get(pk=follow_up["id"]).status == CheckInStatus.COMPLETED
    waiting = CheckIn.objects.filter(kind=CheckInKind.FOLLOW_UP, status="scheduled")
    assert [c.focus_codes for c in waiting] == [["diarrhoea"]]

    # With a baseline for hand_foot up to 2: amber hand_foot alone raises no alert; with
    # amber fatigue as well it is red and alerts.
    later = amber_at + timedelta(days=4)
    with time_machine.travel(later, tick=False):
        made = api(nurse).post(
            f"/api/v1/patients/{patient.pk}/expected-symptoms/",
            {"code": "hand_foot", "max_grade": 2, "until": "2026-04-20", "reason": "creams"},
            format="json",
        )
    assert made.status_code == 201
    symptom_alerts = Alert.objects.filter(kind=AlertKind.SYMPTOM)
    before = symptom_alerts.count()
    quiet = report_at(api, patient, later + timedelta(hours=1), ("hand_foot", 2))
    assert quiet["triage"]["level"] == "amber" and symptom_alerts.count() == before
    loud = report_at(api, patient, later + timedelta(hours=2), ("hand_foot", 2), ("fatigue", 2))
    assert loud["triage"]["level"] == "red"
    assert symptom_alerts.filter(level="red").exists()


def test_the_sweep_run_twice_raises_one_alert_and_sends_each_reminder_once(on_treatment):
    sweep_at(START)
    for moment in (utc(2026, 3, 2, 10, 1), utc(2026, 3, 3, 10, 1), utc(2026, 3, 5, 10, 1)):
        sweep_at(moment)
        again = sweep_at(moment)
        assert again["opened"] == again["chased"] == again["missed"] == 0
    assert check_in_alerts().count() == 1
    assert check_in_alerts().get().occurrences == 1
    assert reminders(on_treatment).count() == 2
    assert CheckIn.objects.filter(kind=CheckInKind.WEEKLY).count() == 2  # + next week's


def test_state_changed_underneath_no_alert(api, on_treatment):
    sweep_at(START)
    sweep_at(utc(2026, 3, 2, 10, 1))
    # The patient answers just before it closes; the sweep comes later.
    report_at(api, on_treatment, utc(2026, 3, 5, 9, 59), ("fatigue", 1))
    summary = sweep_at(utc(2026, 3, 5, 10, 30))
    assert summary["missed"] == 0
    assert not check_in_alerts().exists()


def test_a_sweep_that_was_down_opens_late_with_one_reminder_and_misses_at_72_hours(on_treatment):
    sweep_at(START)
    # Down until Tuesday afternoon: opened now, one reminder (it counts as the last one).
    sweep_at(utc(2026, 3, 3, 15))
    assert reminders(on_treatment).count() == 1
    sweep_at(utc(2026, 3, 4, 15))
    assert reminders(on_treatment).count() == 1
    # The first is missed at 72 h; then down past the second's close: it is missed directly,
    # with no reminder for a check-in that has closed.
    assert sweep_at(START + timedelta(days=7))["missed"] == 1
    summary = sweep_at(utc(2026, 3, 12, 11))
    assert summary["missed"] == 1 and reminders(on_treatment).count() == 1
    assert check_in_alerts().get().level == AlertLevel.AMBER  # two in a row


def test_paused_patients_are_not_asked_and_resume_later(on_treatment, nurse):
    from medications.symptoms import checkins

    sweep_at(START)
    with time_machine.travel(START, tick=False):
        checkins.check_ins_pause(patient=on_treatment, reason="in hospital", user=nurse)
    sweep_at(utc(2026, 3, 5, 11))
    assert not check_in_alerts().exists()
    assert CheckIn.objects.get().status == CheckInStatus.PAUSED
    with time_machine.travel(utc(2026, 3, 6, 9), tick=False):
        checkins.check_ins_resume(patient=on_treatment)
    sweep_at(utc(2026, 3, 6, 9))
    assert CheckIn.objects.filter(status="scheduled").get().opens_at == utc(2026, 3, 9, 10)


def test_the_weekday_can_be_changed_per_patient(on_treatment):
    from medications.symptoms import checkins

    with time_machine.travel(START, tick=False):
        checkins.check_ins_set_weekday(patient=on_treatment, weekday=3)
    sweep_at(START)
    assert CheckIn.objects.get().opens_at == utc(2026, 3, 5, 10)  # Thursday


def test_manage_py_sweep_runs_the_check_ins(on_treatment, capsys):
    with time_machine.travel(START, tick=False):
        call_command("sweep", "--only", "check-ins")
    assert CheckIn.objects.filter(status="scheduled").count() == 1


def test_patients_see_only_their_own_check_ins(api, on_treatment, other_patient, other_nurse):
    sweep_at(START)
    assert check_ins(api, other_patient.user) == []
    assert api(other_nurse).get(CHECK_INS, {"patient": on_treatment.pk}).status_code == 404
    assert api(other_nurse).get(CHECK_INS).json()["results"] == []
