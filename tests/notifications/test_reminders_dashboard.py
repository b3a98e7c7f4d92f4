"""What staff see of a patient's dose reminders (adherence.md: "staff can see the setting";
a patient no reminder has reached for 48 hours shows as "reminders unreachable"): the
patient page, a filter and a badge in the alert queue, a filter in the patient list."""

from datetime import timedelta

import pytest
from django.utils import timezone

from tests.factories import PatientFactory

from .dashboard_helpers import make_alert
from .push_helpers import subscribe

pytestmark = pytest.mark.django_db


@pytest.fixture
def unreachable(team):
    patient = PatientFactory(care_team=team, given_name="Uma", family_name="Unreached")
    patient.reminders_failing_since = timezone.now() - timedelta(hours=49)
    patient.save()
    return patient


@pytest.fixture
def reached(team):
    patient = PatientFactory(care_team=team, given_name="Rita", family_name="Reached")
    patient.reminders_reached_at = timezone.now() - timedelta(hours=3)
    patient.reminder_minutes_before = 15
    patient.mobile_phone = "07700 900111"
    patient.save()
    return patient


def test_the_patient_page_shows_the_setting_channels_and_reach(client, nurse, reached):
    subscribe(reached, "https://fcm.googleapis.com/fcm/send/r")
    client.force_login(nurse)
    page = client.get(f"/nurse/patients/{reached.pk}/").content.decode()
    assert "Dose reminders" in page
    assert "On, 15 minutes before each dose." in page
    assert "notification on your phone or computer, then text message, then e-mail" in page
    assert "(1 device)" in page
    assert "Reminders unreachable" not in page


def test_the_patient_page_says_reminders_unreachable(client, nurse, unreachable):
    client.force_login(nurse)
    page = client.get(f"/nurse/patients/{unreachable.pk}/").content.decode()
    assert "Reminders unreachable" in page
    assert "No reminder has reached the patient since" in page


def test_failing_for_less_than_48_hours_is_not_unreachable_yet(client, nurse, team):
    patient = PatientFactory(care_team=team)
    patient.reminders_failing_since = timezone.now() - timedelta(hours=47)
    patient.save()
    client.force_login(nurse)
    assert (
        "Reminders unreachable" not in client.get(f"/nurse/patients/{patient.pk}/").content.decode()
    )


def test_reminders_turned_off_are_shown_as_the_patients_choice(client, nurse, unreachable):
    unreachable.reminders_enabled = False
    unreachable.save()
    client.force_login(nurse)
    page = client.get(f"/nurse/patients/{unreachable.pk}/").content.decode()
    assert "Off (the patient&#x27;s choice)." in page or "Off (the patient's choice)." in page
    assert "Reminders unreachable" not in page


def test_the_queue_filters_on_unreachable_reminders_and_marks_the_rows(
    client, nurse, unreachable, reached
):
    make_alert(unreachable, level="amber", kind="missed_dose", reasons=[])
    make_alert(reached, level="amber", kind="missed_dose", reasons=[])
    client.force_login(nurse)

    everything = client.get("/nurse/").content.decode()
    assert "Unreached" in everything and "Reached" in everything
    assert everything.count("reminder-badge-bad") == 1

    filtered = client.get("/nurse/?reminders=unreachable").content.decode()
    assert "Unreached" in filtered and "Rita" not in filtered
    assert '<option value="unreachable" selected>' in filtered


def test_the_patient_list_filters_on_unreachable_reminders(client, nurse, unreachable, reached):
    client.force_login(nurse)
    page = client.get("/nurse/patients/?reminders=unreachable").content.decode()
    assert "Unreached" in page and "Rita" not in page
    assert "Reminders unreachable" in page
    everyone = client.get("/nurse/patients/").content.decode()
    assert "Unreached" in everyone and "Rita" in everyone
