"""Infusion courses: atezolizumab + bevacizumab every 21 days (clinical/drugs.md
"Infusion appointments")."""

from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.core.exceptions import ValidationError

from medications import services
from medications.models import AppointmentState, InfusionAppointment, InfusionCourse
from tests.factories import PatientFactory

from .conftest import utc

pytestmark = pytest.mark.django_db
URL = "/api/v1/infusion-courses/"
NOW = utc(2026, 1, 2, 12)
FIRST = "2026-01-06T09:30:00Z"


@pytest.fixture
def eligible(team):
    return PatientFactory(
        care_team=team, weight_kg=Decimal("70.5"), last_upper_endoscopy_on=date(2025, 12, 1)
    )


def create(client, who, when=NOW, **overrides):
    data = {"patient": who.pk, "drugs": ["atezolizumab", "bevacizumab"], "first_infusion_at": FIRST}
    data.update(overrides)
    with time_machine.travel(when, tick=False):
        return client.post(URL, data, format="json")


def post(client, url, data, when):
    with time_machine.travel(when, tick=False):
        return client.post(url, data, format="json")


def test_course_plans_six_appointments_21_days_apart(api, nurse, eligible):
    response = create(api(nurse), eligible)
    assert response.status_code == 201, response.json()
    data = response.json()
    assert data["drugs"] == ["atezolizumab", "bevacizumab"] and data["interval_days"] == 21
    appointments = data["appointments"]
    assert [a["cycle_number"] for a in appointments] == [1, 2, 3, 4, 5, 6]
    times = [datetime.fromisoformat(a["scheduled_at"]) for a in appointments]
    assert times[0] == utc(2026, 1, 6, 9, 30)
    assert times[1] == utc(2026, 1, 27, 9, 30)
    # cycle 5 on 31 March: 09:30 stays 09:30 London time after the clocks change (29 March)
    assert times[4] == utc(2026, 3, 31, 8, 30)
    assert appointments[4]["scheduled_at"] == "2026-03-31T09:30:00+01:00"
    atezolizumab, bevacizumab = appointments[0]["doses"]
    assert atezolizumab == {"drug": "atezolizumab", "dose_mg": "1200", "minutes": 60}
    assert appointments[1]["doses"][0]["minutes"] == 30
    # 15 mg/kg x 70.5 kg = 1057.5 mg exactly; shown as 1060 (nearest 5 mg)
    assert bevacizumab["drug"] == "bevacizumab"
    assert bevacizumab["dose_mg"] == "1057.5" and bevacizumab["display_dose_mg"] == "1060"


@pytest.mark.parametrize(
    ("weight", "exact", "shown"),
    [
        ("70.0", "1050", "1050"),
        ("70.1", "1051.5", "1050"),
        ("70.2", "1053", "1055"),
        ("48.3", "724.5", "725"),
    ],
)
def test_bevacizumab_dose(weight, exact, shown):
    got_exact, got_shown = services.bevacizumab_dose_mg(Decimal(weight))
    assert (got_exact, got_shown) == (Decimal(exact), Decimal(shown))


def test_checks_and_override(api, nurse, team):
    patient = PatientFactory(care_team=team, last_upper_endoscopy_on=None, performance_status=2)
    refused = create(api(nurse), patient)
    assert refused.status_code == 400
    codes = {c["code"] for c in refused.json()["prescribing_checks"]}
    assert codes == {"no_recent_endoscopy", "performance_status"}
    assert not InfusionCourse.objects.exists()
    allowed = create(api(nurse), patient, override_reason="Endoscopy booked; MDT agreed")
    assert allowed.status_code == 201
    assert {w["code"] for w in allowed.json()["warnings"]} == codes


def test_one_drug_of_the_pair_warns(api, nurse, eligible):
    refused = create(api(nurse), eligible, drugs=["atezolizumab"])
    assert refused.status_code == 400
    assert [c["code"] for c in refused.json()["prescribing_checks"]] == [
        "atezolizumab_without_bevacizumab"
    ]
    allowed = create(api(nurse), eligible, drugs=["atezolizumab"], override_reason="Bleeding risk")
    assert allowed.status_code == 201
    assert len(allowed.json()["appointments"][0]["doses"]) == 1


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"drugs": ["aspirin"]}, "drugs"),
        ({"drugs": ["sorafenib"]}, "drugs"),
        ({"drugs": []}, "drugs"),
        ({"drugs": ["atezolizumab", "atezolizumab"]}, "drugs"),
        ({"first_infusion_at": "soon"}, "first_infusion_at"),
        ({"interval_days": 0}, "interval_days"),
        ({"patient": 424242}, "patient"),
    ],
)
def test_bad_course_input(api, nurse, eligible, overrides, field):
    response = create(api(nurse), eligible, **overrides)
    assert response.status_code == 400
    assert field in response.json()
    assert not InfusionCourse.objects.exists()


def test_second_active_course_is_refused(api, nurse, eligible):
    create(api(nurse), eligible)
    again = create(api(nurse), eligible, override_reason="x")
    assert again.status_code == 400
    assert "already has an active infusion course" in again.json()["non_field_errors"][0]


def test_late_infusion_moves_later_appointments(api, nurse, eligible):
    course_id = create(api(nurse), eligible).json()["id"]
    course = InfusionCourse.objects.get(pk=course_id)
    first, second, third = course.appointments.order_by("cycle_number")[:3]
    given = post(
        api(nurse), f"/api/v1/infusions/{first.pk}/given/", {"given_at": FIRST}, utc(2026, 1, 6, 11)
    )
    assert given.status_code == 200 and given.json()["state"] == "given"
    # Cycle 2 is postponed 4 days and given on 31 January at 10:00.
    response = post(
        api(nurse),
        f"/api/v1/infusions/{second.pk}/given/",
        {"given_at": "2026-01-31T10:00:00Z"},
        utc(2026, 1, 31, 12),
    )
    assert response.status_code == 200, response.json()
    assert response.json()["given_at"] == "2026-01-31T10:00:00Z"
    third.refresh_from_db()
    # the cycle restarts from the day it was given: 31 Jan + 21 days, in the usual slot
    assert third.scheduled_at == utc(2026, 2, 21, 9, 30)
    assert third.originally_scheduled_at == utc(2026, 2, 17, 9, 30)
    later = list(course.appointments.filter(cycle_number__gt=3).order_by("cycle_number"))
    for earlier, following in zip([third, *later], later, strict=False):
        assert (following.scheduled_at.date() - earlier.scheduled_at.date()).days == 21
    # 6 appointments stay planned ahead
    assert course.appointments.filter(state=AppointmentState.SCHEDULED).count() == 6


def test_missed_appointment_can_still_be_given_and_marked_once(api, nurse, eligible):
    create(api(nurse), eligible)
    first = InfusionAppointment.objects.get(cycle_number=1)
    # the missed-infusion sweep (notifications app) marks it missed
    InfusionAppointment.objects.filter(pk=first.pk, state="scheduled").update(state="missed")
    url = f"/api/v1/infusions/{first.pk}/given/"
    response = post(api(nurse), url, {"given_at": "2026-01-08T10:00:00Z"}, utc(2026, 1, 8, 12))
    assert response.json()["state"] == "given"
    # the first infusion actually given runs over 60 minutes
    assert response.json()["doses"][0]["minutes"] == 60
    twice = post(api(nurse), url, {"given_at": "2026-01-08T10:00:00Z"}, utc(2026, 1, 8, 12))
    assert twice.status_code == 200  # the same request again
    other = post(api(nurse), url, {"given_at": "2026-01-08T11:00:00Z"}, utc(2026, 1, 8, 12))
    assert other.status_code == 400


def test_given_in_the_future_is_refused(api, nurse, eligible):
    create(api(nurse), eligible)
    first = InfusionAppointment.objects.get(cycle_number=1)
    response = post(api(nurse), f"/api/v1/infusions/{first.pk}/given/", {"given_at": FIRST}, NOW)
    assert response.status_code == 400 and "future" in response.json()["given_at"][0]


def test_reschedule_moves_this_and_later_appointments(api, nurse, eligible):
    create(api(nurse), eligible)
    first, second = InfusionAppointment.objects.order_by("cycle_number")[:2]
    url = f"/api/v1/infusions/{first.pk}/reschedule/"
    no_reason = post(api(nurse), url, {"scheduled_at": "2026-01-09T09:30:00Z"}, NOW)
    assert no_reason.status_code == 400 and "reason" in no_reason.json()
    past = post(api(nurse), url, {"scheduled_at": "2026-01-01T09:30:00Z", "reason": "x"}, NOW)
    assert past.status_code == 400
    response = post(
        api(nurse), url, {"scheduled_at": "2026-01-09T14:00:00Z", "reason": "Bank holiday"}, NOW
    )
    assert response.status_code == 200, response.json()
    assert response.json()["reschedule_reason"] == "Bank holiday"
    second.refresh_from_db()
    assert second.scheduled_at == utc(2026, 1, 30, 9, 30)


def test_infusion_scope(api, nurse, other_nurse, eligible, other_patient, admin_user):
    create(api(nurse), eligible)
    first = InfusionAppointment.objects.get(cycle_number=1)
    url = f"/api/v1/infusions/{first.pk}/given/"
    assert post(api(other_nurse), url, {"given_at": FIRST}, utc(2026, 1, 6, 12)).status_code == 404
    assert (
        post(api(eligible.user), url, {"given_at": FIRST}, utc(2026, 1, 6, 12)).status_code == 403
    )
    assert api(eligible.user).get(URL).json()["count"] == 1
    assert api(other_patient.user).get(URL).json()["count"] == 0
    assert api(other_nurse).get(f"/api/v1/infusions/{first.pk}/").status_code == 404


def test_extension_keeps_six_ahead(api, nurse, eligible):
    create(api(nurse), eligible)
    assert services.infusion_appointments_extend(now=NOW) == 0
    later = utc(2026, 3, 20)  # cycles 1-4 have passed (not given: the sweep's business)
    created = services.infusion_appointments_extend(now=later)
    assert created == 4
    assert InfusionAppointment.objects.count() == 10
    numbers = list(
        InfusionAppointment.objects.order_by("cycle_number").values_list("cycle_number", flat=True)
    )
    assert numbers == list(range(1, 11))


def test_course_create_validates_in_the_service_too(eligible):
    with pytest.raises(ValidationError):
        services.infusion_course_create(
            patient=eligible,
            drugs=["atezolizumab", "bevacizumab"],
            first_infusion_at=NOW + timedelta(days=1),
            interval_days=3,
        )


def test_stopping_a_course_cancels_planned_appointments(api, nurse, eligible):
    create(api(nurse), eligible)
    course = InfusionCourse.objects.get()
    first = course.appointments.get(cycle_number=1)
    services.infusion_mark_given(
        appointment=first, given_at=utc(2026, 1, 6, 10), now=utc(2026, 1, 6, 12)
    )
    services.infusion_course_stop(course=course, reason="Progression", now=utc(2026, 1, 20))
    states = dict(course.appointments.values_list("cycle_number", "state"))
    assert states[1] == AppointmentState.GIVEN
    assert {states[n] for n in range(2, 8)} == {AppointmentState.CANCELLED}
    assert services.infusion_appointments_extend(now=utc(2026, 3, 1)) == 0
    with pytest.raises(ValidationError, match="already stopped"):
        services.infusion_course_stop(course=course, reason="again", now=utc(2026, 1, 21))
    # a new course may now be planned
    assert (
        create(api(nurse), eligible, when=utc(2026, 1, 21), override_reason="2nd").status_code
        == 201
    )
