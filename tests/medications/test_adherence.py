"""Adherence measures (clinical/adherence.md) on a hand-computed 28-day history.

The history: sorafenib 400 mg at 08:00 and 20:00 (Europe/London, February 2026, so local
time is UTC), 1-28 February, 56 doses; "now" is 28 February 21:00.

  days 1-10   all 20 taken on time
  day 11      08:00 taken at 11:00 (inside the 6 h window, outside +/-2 h); 20:00 on time
  day 12      08:00 taken at 15:00 (after the window: taken late); 20:00 missed
  days 13-15  all 6 missed                               -> a 3-day drug holiday
  day 16      08:00 skipped (side effects); 20:00 on time
  days 17-18  4 doses held by the team
  day 19      08:00 taken at 07:00 (1 h early); 20:00 taken at 22:00 (2 h late: still on time)
  days 20-26  all 14 taken on time
  day 27      08:00 on time; 20:00 never logged and not yet swept (pending, window closed)
  day 28      08:00 on time; 20:00 due (window open until 02:00)

By hand:
  expected = 56 - 4 held - 1 due (day 28 20:00: still inside its window, not counted
             until taken or closed; issue 13) = 51
  taken = 20 + 2 + 1 + 2 + 14 + 1 + 1 = 41 on time + 1 late = 42     dose-taking 42/51 = 82.4%
  within +/-2 h = 42 - day 11 08:00 - day 12 08:00 = 40               timing 40/51 = 78.4%
  missed = 1 (day 12) + 6 + 1 (day 27, by the clock) = 8; skipped 1; due 1
  days with expected doses = 28 - 2 held days = 26; all taken on 1-11, 19, 20-26 and 28
  (its one expected dose so far) = 20                                  days covered 20/26 = 76.9%
  drug holidays: 13-15 February (3 days)
  persistence: first taken 1 Feb, today 28 Feb = 27 days
"""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
import time_machine

from medications import adherence, selectors, services
from medications.adherence import DoseRecord, summarise_doses
from medications.models import (
    AppointmentState,
    DoseState,
    Drug,
    ExpectedDose,
    InfusionAppointment,
)
from tests.factories import PatientFactory

NOW = datetime(2026, 2, 28, 21, 0, tzinfo=UTC)


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 2, day, hour, minute, tzinfo=UTC)


def history() -> dict[datetime, tuple[str, datetime | None]]:
    """due time -> (stored state, taken_at)."""
    rows = {}
    for day in range(1, 29):
        for hour in (8, 20):
            rows[at(day, hour)] = (DoseState.TAKEN, at(day, hour))
    rows[at(11, 8)] = (DoseState.TAKEN, at(11, 11))
    rows[at(12, 8)] = (DoseState.TAKEN_LATE, at(12, 15))
    rows[at(12, 20)] = (DoseState.MISSED, None)
    for day in (13, 14, 15):
        rows[at(day, 8)] = rows[at(day, 20)] = (DoseState.MISSED, None)
    rows[at(16, 8)] = (DoseState.SKIPPED, None)
    for day in (17, 18):
        rows[at(day, 8)] = rows[at(day, 20)] = (DoseState.HELD, None)
    rows[at(19, 8)] = (DoseState.TAKEN, at(19, 7))
    rows[at(19, 20)] = (DoseState.TAKEN, at(19, 22))
    rows[at(27, 20)] = (DoseState.PENDING, None)
    rows[at(28, 20)] = (DoseState.PENDING, None)
    return rows


EXPECTED = {
    "dose_taking": 82.4,
    "timing": 78.4,
    "days_covered": 76.9,
    "expected": 51,
    "taken": 41,
    "taken_late": 1,
    "taken_within_timing": 40,
    "missed": 8,
    "skipped": 1,
    "held": 4,
    "due": 1,
    "days_with_doses": 26,
    "days_fully_taken": 20,
    "drug_holidays": [{"from": date(2026, 2, 13), "to": date(2026, 2, 15), "days": 3}],
}


def test_hand_computed_28_days_pure():
    records = [
        DoseRecord(
            due_at=due,
            late_until=due + timedelta(hours=6),
            state=state,
            day=due.date(),
            taken_at=taken_at,
            doses_per_day=2,
        )
        for due, (state, taken_at) in history().items()
    ]
    assert summarise_doses(records, now=NOW).as_dict() == EXPECTED
    assert adherence.persistence_days(date(2026, 2, 1), date(2026, 2, 28)) == 27


@pytest.mark.django_db
def test_hand_computed_28_days_through_the_database_and_api(api, nurse, team):
    patient = PatientFactory(care_team=team)
    sorafenib = Drug.objects.get(code="sorafenib")
    prescription = services.prescription_create(
        patient=patient,
        drug=sorafenib,
        dose_mg=Decimal(400),
        times=["08:00", "20:00"],
        start_date=date(2026, 2, 1),
        now=datetime(2026, 1, 31, 12, 0, tzinfo=UTC),
    )
    services.expected_doses_generate(now=datetime(2026, 2, 20, tzinfo=UTC))
    rows = history()
    doses = ExpectedDose.objects.filter(prescription=prescription, due_at__lt=at(28, 23))
    assert doses.count() == 56
    for dose in doses:
        state, taken_at = rows[dose.due_at]
        dose.state, dose.taken_at = state, taken_at
        dose.save()

    with time_machine.travel(NOW, tick=False):
        response = api(nurse).get(f"/api/v1/patients/{patient.pk}/adherence/?days=28")
    assert response.status_code == 200, response.json()
    body = response.json()
    assert (body["from"], body["to"]) == ("2026-02-01", "2026-02-28")
    expected_json = {
        **EXPECTED,
        "drug_holidays": [{"from": "2026-02-13", "to": "2026-02-15", "days": 3}],
    }
    assert body["overall"] == expected_json
    (item,) = body["prescriptions"]
    assert {k: item[k] for k in expected_json} == expected_json
    assert item["drug"] == "sorafenib"
    assert item["persistence_days"] == 27

    # The last 7 days (22-28 Feb): 13 expected (28th 20:00 is due: not counted yet), 12
    # taken, 1 missed.
    with time_machine.travel(NOW, tick=False):
        week = api(nurse).get(f"/api/v1/patients/{patient.pk}/adherence/?days=7").json()
    assert week["overall"]["expected"] == 13 and week["overall"]["due"] == 1
    assert week["overall"]["missed"] == 1
    assert week["overall"]["dose_taking"] == pytest.approx(round(12 / 13 * 100, 1))


@pytest.mark.django_db
def test_adherence_api_scope_and_bad_input(api, patient, other_patient, nurse, admin_user):
    url = f"/api/v1/patients/{patient.pk}/adherence/"
    assert api(patient.user).get(url).status_code == 200
    assert api(nurse).get(url).status_code == 200
    assert api(admin_user).get(url).status_code == 200
    assert api(other_patient.user).get(url).status_code == 404
    assert api(nurse).get(f"/api/v1/patients/{other_patient.pk}/adherence/").status_code == 404
    assert api(nurse).get("/api/v1/patients/999999/adherence/").status_code == 404
    for bad in ("0", "-1", "seven", "99999"):
        response = api(nurse).get(f"{url}?days={bad}")
        assert response.status_code == 400
        assert "days" in response.json()
    assert api(nurse).get(f"{url}?days=all").json()["days"] is None


@pytest.mark.django_db
def test_selector_uses_a_fixed_number_of_queries(
    django_assert_num_queries, django_assert_max_num_queries, team
):
    start = datetime(2026, 1, 5, 7, tzinfo=UTC)
    patients = [PatientFactory(care_team=team) for _ in range(3)]
    for patient in patients:
        services.prescription_create(
            patient=patient,
            drug=Drug.objects.get(code="sorafenib"),
            dose_mg=Decimal(400),
            times=["08:00", "20:00"],
            start_date=start.date(),
            now=start,
        )
    course_patient = PatientFactory(care_team=team, last_upper_endoscopy_on=date(2025, 12, 1))
    services.infusion_course_create(
        patient=course_patient,
        drugs=["atezolizumab", "bevacizumab"],
        first_infusion_at=start + timedelta(days=1),
        now=start,
    )
    patients.append(course_patient)
    now = start + timedelta(days=10)
    # prescriptions, dose rows, first taken dose, courses, appointments: 5, for 1 or 4.
    with django_assert_num_queries(5):
        result = selectors.adherence_for_patients(patients, days=28, now=now)
    assert len(result) == 4
    with django_assert_max_num_queries(5):
        one = selectors.adherence_for_patient(course_patient, days=28, now=now)
    assert one.courses[0].infusions.planned == 1


def test_infusion_dose_intensity_and_delay():
    zone_day = date(2026, 1, 5)

    def appointment(day_offset, state, given_offset=None):
        scheduled = datetime(2026, 1, 5, 9, tzinfo=UTC) + timedelta(days=day_offset)
        given = zone_day + timedelta(days=given_offset) if given_offset is not None else None
        return adherence.AppointmentRecord(
            scheduled_at=scheduled,
            state=state,
            scheduled_on=scheduled.date(),
            given_on=given,
        )

    records = [
        appointment(0, "given", 0),
        appointment(21, "given", 25),  # 4 days late
        appointment(46, "given", 46),  # on time from the day it was actually given
        appointment(67, "missed"),
        appointment(70, "given", 74),  # 28 days after the previous one given: 7 days late
        appointment(95, "scheduled"),  # not yet due
    ]
    summary = adherence.summarise_infusions(
        records, interval_days=21, now=datetime(2026, 4, 1, tzinfo=UTC)
    )
    assert (summary.planned, summary.given, summary.missed) == (5, 4, 1)
    assert summary.dose_intensity == 80.0
    assert summary.delays_days == [4, 0, 7]
    assert summary.mean_delay_days == pytest.approx(3.7)


@pytest.mark.django_db
def test_infusion_adherence_in_the_api(api, nurse, team):
    patient = PatientFactory(care_team=team, last_upper_endoscopy_on=date(2026, 1, 1))
    first = datetime(2026, 1, 6, 9, tzinfo=UTC)
    course = services.infusion_course_create(
        patient=patient,
        drugs=["atezolizumab", "bevacizumab"],
        first_infusion_at=first,
        now=first - timedelta(days=2),
    )
    one, two = course.appointments.order_by("cycle_number")[:2]
    services.infusion_mark_given(appointment=one, given_at=first, now=first)
    services.infusion_mark_given(
        appointment=two, given_at=first + timedelta(days=24), now=first + timedelta(days=24)
    )
    with time_machine.travel(first + timedelta(days=30), tick=False):
        body = api(nurse).get(f"/api/v1/patients/{patient.pk}/adherence/?days=all").json()
    (item,) = body["infusion_courses"]
    assert item["planned"] == 2 and item["given"] == 2
    assert item["dose_intensity"] == 100.0
    assert item["mean_delay_days"] == 3.0
    assert (
        InfusionAppointment.objects.filter(course=course, state=AppointmentState.SCHEDULED).count()
        >= 6
    )
