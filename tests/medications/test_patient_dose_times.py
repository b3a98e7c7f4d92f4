"""Patient pages: "when did you take it?" (adherence.md "When it was taken"), History
logging of doses due in the last 72 hours, and "I forgot" giving that drug's rule now."""

import re
from datetime import timedelta

import pytest
import time_machine

from medications.models import DoseLog, DoseState, ExpectedDose

from .conftest import prescribe, utc

pytestmark = pytest.mark.django_db

# sorafenib 400 mg at 08:00 and 20:00 London (= UTC in early March), recorded at 07:00;
# its late window is 6 hours (until 14:00).
START = utc(2026, 3, 2, 7)
MORNING = utc(2026, 3, 2, 8)


@pytest.fixture(autouse=True)
def _long_sessions(settings):
    settings.SESSION_COOKIE_AGE = 60 * 60 * 24 * 30


@pytest.fixture
def prescription(patient):
    return prescribe(patient, now=START)


@pytest.fixture
def morning_dose(prescription):
    return prescription.expected_doses.get(due_at=MORNING)


@pytest.fixture
def signed_in(client, patient):
    client.force_login(patient.user)
    return client


def at(moment):
    return time_machine.travel(moment, tick=False)


def text_of(response) -> str:
    html = response.content.decode()
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).strip()


def say_when(client, dose, day, time, **extra):
    return client.post(
        f"/me/doses/{dose.pk}/taken/",
        {"taken_day": day, "taken_time": time, "idempotency_key": f"k-{day}-{time}", **extra},
        follow=True,
    )


def test_today_asks_when_it_was_taken_with_the_earliest_time(signed_in, morning_dose):
    with at(MORNING + timedelta(hours=3)):
        page = text_of(signed_in.get("/me/"))
    assert "Took it earlier? Say when" in page
    assert "When did you take it? Any time from 06:00 until now." in page


def test_a_dose_taken_at_0830_and_logged_at_1100_is_taken_at_0830(signed_in, morning_dose):
    with at(MORNING + timedelta(hours=3)):
        response = say_when(signed_in, morning_dose, "2026-03-02", "08:30")
    assert "recorded as taken at 08:30" in text_of(response)
    morning_dose.refresh_from_db()
    assert morning_dose.state == DoseState.TAKEN
    assert morning_dose.taken_at == utc(2026, 3, 2, 8, 30)


def test_a_dose_the_sweep_marked_missed_then_taken_in_time_is_taken(signed_in, morning_dose):
    ExpectedDose.objects.filter(pk=morning_dose.pk).update(state=DoseState.MISSED)
    with at(MORNING + timedelta(hours=10)):
        page = text_of(signed_in.get("/me/"))
        assert "Record what happened to this dose" in page
        response = say_when(signed_in, morning_dose, "2026-03-02", "08:45")
    assert "You took it at 08:45" in text_of(response)
    morning_dose.refresh_from_db()
    assert morning_dose.state == DoseState.TAKEN and morning_dose.logged_later


def test_a_time_after_the_window_is_taken_late(signed_in, morning_dose):
    with at(MORNING + timedelta(hours=10)):
        response = say_when(signed_in, morning_dose, "2026-03-02", "15:00")
    assert "after the safe time to take it" in text_of(response)
    morning_dose.refresh_from_db()
    assert morning_dose.state == DoseState.TAKEN_LATE


@pytest.mark.parametrize(
    ("day", "time", "message"),
    [
        ("2026-03-02", "05:30", "more than 2 hours before this dose was due"),
        ("2026-03-02", "12:30", "This time is in the future"),
        ("2026-03-02", "25:99", "Enter the time like 08:30"),
        ("tomorrow", "08:00", "Choose the day you took it"),
    ],
)
def test_a_time_outside_the_rules_is_refused_and_nothing_stored(
    signed_in, morning_dose, day, time, message
):
    with at(MORNING + timedelta(hours=3)):
        response = say_when(signed_in, morning_dose, day, time)
    assert message in text_of(response)
    assert not DoseLog.objects.exists()


def test_with_htmx_the_time_is_saved_in_the_card(signed_in, morning_dose):
    with at(MORNING + timedelta(hours=3)):
        response = signed_in.post(
            f"/me/doses/{morning_dose.pk}/taken/",
            {"taken_day": "2026-03-02", "taken_time": "07:40", "idempotency_key": "hx"},
            HTTP_HX_REQUEST="true",
        )
    assert "<html" not in response.content.decode()
    assert "recorded as taken at 07:40" in text_of(response)


# --- "I forgot" ----------------------------------------------------------------------------


def test_i_forgot_gives_the_window_while_it_is_open_without_javascript(signed_in, morning_dose):
    with at(MORNING + timedelta(hours=1)):
        page = text_of(signed_in.get(f"/me/doses/{morning_dose.pk}/not-taken/"))
    assert "If you forgot: If you forgot, you can still take it until 14:00." in page
    assert "Not sure what to do? Call your advice line on" in page


def test_i_forgot_gives_the_rule_in_the_card_form_too(signed_in, morning_dose):
    with at(MORNING + timedelta(hours=1)):
        card = text_of(
            signed_in.get(f"/me/doses/{morning_dose.pk}/not-taken/", HTTP_HX_REQUEST="true")
        )
    assert "you can still take it until 14:00" in card
    assert "Call your advice line on" in card


def test_i_forgot_after_the_window_says_skip_it_and_never_double_up(signed_in, morning_dose):
    with at(MORNING + timedelta(hours=7)):
        response = signed_in.post(
            f"/me/doses/{morning_dose.pk}/not-taken/", {"reason": "forgot"}, follow=True
        )
    page = text_of(response)
    assert "recorded as not taken. Reason: I forgot." in page  # capitalised, not "(i forgot)"
    assert "It is too late to take this dose now: skip it and take the next one" in page
    assert "Never take two doses together." in page


# --- History: doses due in the last 72 hours -------------------------------------------------


def test_history_lets_the_patient_record_a_dose_from_two_days_ago(signed_in, morning_dose):
    ExpectedDose.objects.filter(pk=morning_dose.pk).update(state=DoseState.MISSED)
    with at(MORNING + timedelta(days=2)):
        page = text_of(signed_in.get("/me/history/"))
        assert "Record this dose" in page
        response = signed_in.post(
            f"/me/doses/{morning_dose.pk}/taken/",
            {"taken_day": "2026-03-02", "taken_time": "08:20", "back": "history"},
        )
    assert response["Location"] == f"/me/history/#dose-{morning_dose.pk}"
    morning_dose.refresh_from_db()
    assert morning_dose.state == DoseState.TAKEN
    assert morning_dose.taken_at == utc(2026, 3, 2, 8, 20)


def test_history_not_taken_goes_back_to_history(signed_in, morning_dose):
    with at(MORNING + timedelta(days=1)):
        form = text_of(signed_in.get(f"/me/doses/{morning_dose.pk}/not-taken/?back=history"))
        assert "Back to history" in form
        response = signed_in.post(
            f"/me/doses/{morning_dose.pk}/not-taken/", {"reason": "vomited", "back": "history"}
        )
    assert response["Location"] == f"/me/history/#dose-{morning_dose.pk}"


def test_a_dose_due_over_72_hours_ago_cannot_be_recorded_by_the_patient(signed_in, morning_dose):
    with at(MORNING + timedelta(days=4)):
        html = signed_in.get("/me/history/").content.decode()
        line = re.search(rf'id="dose-{morning_dose.pk}">(.*?)</li>', html, flags=re.S).group(1)
        assert "Missed" in line and "Record this dose" not in line
        assert "Record this dose" in html  # doses of the last 3 days still can be
        response = say_when(signed_in, morning_dose, "2026-03-02", "08:20")
    assert "more than 3 days ago" in text_of(response)
    assert not DoseLog.objects.exists()
