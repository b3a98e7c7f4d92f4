"""Hearing back (issue 13 point 4; clinical/checkins.md "Telling the patient what happened",
"Emergencies first"): every report says where it stands, on Today (recent), in History and
on its answer page, which changes once the team has seen it; 999 first for emergencies."""

import re
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine

from medications.models import SymptomReport
from medications.pages import report as report_page
from medications.symptoms.services import symptom_report_create

from .conftest import utc

pytestmark = pytest.mark.django_db
LONDON = ZoneInfo("Europe/London")
NOW = utc(2026, 3, 2, 10)


@pytest.fixture(autouse=True)
def _long_sessions(settings):
    settings.SESSION_COOKIE_AGE = 60 * 60 * 24 * 30


def text_of(response) -> str:
    html = response.content.decode()
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).strip()


def report(patient, when=NOW, **data):
    with time_machine.travel(when, tick=False):
        return symptom_report_create(
            patient=patient, data={"symptoms": [], **data}, entered_by=patient.user
        )


@pytest.mark.parametrize(
    ("fields", "label", "words"),
    [
        ({"triage_level": "red"}, "Sent", "Sent to your team. They have not looked at it yet."),
        ({"triage_level": "amber"}, "Sent", "Sent to your team."),
        ({"triage_level": "green"}, "Saved", "Nobody needs to call you about it"),
        ({"triage_level": "amber", "expected_only": True}, "Saved", "Saved in your record"),
        ({"triage_level": "red", "seen_at": NOW}, "Seen", "Seen by your team at 10:00."),
        (
            {"triage_level": "red", "seen_at": NOW, "closed_at": NOW + timedelta(minutes=20)},
            "Closed",
            "Closed at 10:20. Your team looked at this; nothing else is needed now.",
        ),
        (
            {
                "triage_level": "red",
                "closed_at": NOW - timedelta(days=1),
                "outcome_text": "A nurse gave you advice by phone.",
            },
            "Closed",
            "Closed at 10:00 yesterday. A nurse gave you advice by phone.",
        ),
    ],
)
def test_status_words(fields, label, words):
    status = report_page.report_status(SymptomReport(**fields), LONDON, NOW.date())
    assert status.label == label and words in status.words


@pytest.mark.parametrize(
    ("symptoms", "level", "emergency"),
    [
        ([{"code": "chest_pain", "grade": 1}], "red", True),
        ([{"code": "confusion", "grade": 1}], "red", True),
        ([{"code": "breathlessness", "grade": 3}], "red", True),
        ([{"code": "breathlessness", "grade": 2}], "red", False),
        ([], "red", False),  # a temperature
        ([{"code": "chest_pain", "grade": 1}], "amber", False),
    ],
)
def test_emergency_flags(symptoms, level, emergency):
    assert report_page.is_emergency(SymptomReport(symptoms=symptoms, triage_level=level)) is (
        emergency
    )


def test_chest_pain_puts_call_999_first(client, patient):
    sent = report(patient, symptoms=[{"code": "chest_pain", "grade": 1}])
    client.force_login(patient.user)
    html = client.get(f"/me/symptoms/{sent.pk}/").content.decode()
    page = text_of(client.get(f"/me/symptoms/{sent.pk}/"))
    assert page.index("Call 999") < page.index("Otherwise, call your advice line now")
    assert "you are struggling to breathe, or someone has collapsed" in page
    first_call = re.search(r'class="button button-call[^"]*" href="([^"]+)"', html).group(1)
    assert first_call == "tel:999"


def test_a_temperature_keeps_the_advice_line_first(client, patient):
    sent = report(patient, temperature_c=38.4)
    client.force_login(patient.user)
    html = client.get(f"/me/symptoms/{sent.pk}/").content.decode()
    first_call = re.search(r'class="button button-call[^"]*" href="([^"]+)"', html).group(1)
    assert first_call != "tel:999"


def test_the_red_answer_changes_once_seen_and_shows_the_outcome_when_closed(client, patient):
    sent = report(patient, temperature_c=38.4)
    client.force_login(patient.user)
    url = f"/me/symptoms/{sent.pk}/"
    with time_machine.travel(NOW + timedelta(minutes=5), tick=False):
        page = text_of(client.get(url))
        assert "Call your advice line now" in page and "They have not looked at it yet" in page
    SymptomReport.objects.filter(pk=sent.pk).update(seen_at=NOW + timedelta(minutes=12))
    with time_machine.travel(NOW + timedelta(minutes=15), tick=False):
        html = client.get(url).content.decode()
        assert "Seen by your team at 10:12" in text_of(client.get(url))
    assert re.search(r"<h1[^>]*>.*Your team has seen this report", html, flags=re.S)
    assert "What we told you when you sent it" in html
    SymptomReport.objects.filter(pk=sent.pk).update(
        closed_at=NOW + timedelta(minutes=30),
        outcome_text="You were asked to come in to be seen.",
        message_to_patient="Come to ward 4 by 2pm.",
    )
    with time_machine.travel(NOW + timedelta(minutes=40), tick=False):
        page = text_of(client.get(url))
    assert "Your team has dealt with this report" in page
    assert "Closed at 10:30. You were asked to come in to be seen." in page
    assert "Message from your team: Come to ward 4 by 2pm." in page


def test_today_lists_recent_reports_with_where_they_stand(client, patient):
    old = report(patient, when=NOW - timedelta(days=8), temperature_c=38.4)
    red = report(patient, when=NOW - timedelta(hours=3), temperature_c=38.4)
    SymptomReport.objects.filter(pk=red.pk).update(
        seen_at=NOW - timedelta(hours=2),
        closed_at=NOW - timedelta(hours=1),
        outcome_text="A nurse gave you advice by phone.",
    )
    green = report(patient, symptoms=[{"code": "fatigue", "grade": 1}])
    client.force_login(patient.user)
    with time_machine.travel(NOW + timedelta(minutes=1), tick=False):
        page = text_of(client.get("/me/"))
        html = client.get("/me/").content.decode()
    assert "Your recent reports" in page
    assert "Closed: Closed at 09:00. A nurse gave you advice by phone." in page
    assert "Saved: Saved in your record" in page
    assert f"/me/symptoms/{green.pk}/" in html and f"/me/symptoms/{old.pk}/" not in html


def test_history_says_what_happened_to_each_report(client, patient):
    red = report(patient, when=NOW - timedelta(days=2), temperature_c=38.4)
    SymptomReport.objects.filter(pk=red.pk).update(seen_at=NOW - timedelta(days=2))
    client.force_login(patient.user)
    with time_machine.travel(NOW, tick=False):
        page = text_of(client.get("/me/history/"))
    assert "What happened" in page
    assert "Seen: Seen by your team at 10:00 on Saturday 28 February" in page
