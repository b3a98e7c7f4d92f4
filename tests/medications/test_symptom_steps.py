"""The symptom report in steps (issue 13 point 6): warning signs first, then what is
bothering the patient, only those graded, measurements on their own step; one symptom or
a temperature in three screens; a warning sign sends from the second; no JavaScript needed."""

import re

import pytest

from medications.models import SymptomReport

pytestmark = pytest.mark.django_db
URL = "/me/symptoms/report/"


@pytest.fixture
def signed_in(client, patient):
    client.force_login(patient.user)
    return client


def text_of(response) -> str:
    html = response.content.decode()
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).strip()


def hidden_fields(response) -> list[tuple[str, str]]:
    html = response.content.decode()
    return [
        (name, value)
        for name, value in re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', html)
        if name != "csrfmiddlewaretoken"
    ]


def post(client, previous, **fields):
    """Send the step's form as a browser would: its hidden fields plus the answers."""
    body: dict[str, list[str]] = {}
    for name, value in hidden_fields(previous):
        body.setdefault(name, []).append(value)
    for name, value in fields.items():
        body[name] = value if isinstance(value, list) else [value]
    return client.post(URL, body)


def grades(report) -> dict[str, int]:
    return {item["code"]: item["grade"] for item in report.symptoms}


def test_warning_signs_come_first_on_one_screen(signed_in):
    page = text_of(signed_in.get(URL))
    assert "Do you have any of these now?" in page
    assert "Chest pain or tightness" in page and "Prefer one page? Use the whole form" in page
    assert "How bad is it?" not in page


def test_one_symptom_in_three_screens(signed_in):
    screen1 = signed_in.get(URL)
    screen2 = post(signed_in, screen1, action="next")
    assert "What is bothering you?" in text_of(screen2)
    screen3 = post(signed_in, screen2, pick="diarrhoea", action="next")
    page = text_of(screen3)
    assert "How bad is it?" in page and "Diarrhoea" in page and "Nausea" not in page
    assert "Send my report" in page  # the last screen
    done = post(signed_in, screen3, symptom_diarrhoea="2", action="send")
    assert done.status_code == 302 and done["Location"].startswith("/me/symptoms/")
    report = SymptomReport.objects.get()
    assert report.triage_level == "amber"
    assert grades(report)["diarrhoea"] == 2 and grades(report)["nausea"] == 0
    assert grades(report)["chest_pain"] == 0


def test_a_temperature_alone_in_three_screens(signed_in):
    screen2 = post(signed_in, signed_in.get(URL), action="next")
    screen3 = post(signed_in, screen2, pick="temperature", action="next")
    assert "Your measurements" in text_of(screen3) and "Temperature (°C)" in text_of(screen3)
    done = post(signed_in, screen3, temperature_c="38.2", action="send")
    assert done.status_code == 302
    report = SymptomReport.objects.get()
    assert report.triage_level == "red" and str(report.temperature_c) == "38.2"


def test_a_warning_sign_can_be_sent_from_the_second_screen(signed_in):
    screen2 = post(signed_in, signed_in.get(URL), flag="chest_pain", action="next")
    page = text_of(screen2)
    assert "You told us: Chest pain or tightness" in page and "Send my report now" in page
    done = post(signed_in, screen2, action="send")
    assert done.status_code == 302
    report = SymptomReport.objects.get()
    assert report.triage_level == "red" and grades(report)["chest_pain"] == 1


def test_a_symptom_and_a_measurement_grade_first_then_measure(signed_in):
    screen2 = post(signed_in, signed_in.get(URL), action="next")
    screen3 = post(signed_in, screen2, pick=["nausea", "blood_pressure"], action="next")
    assert "How bad is it?" in text_of(screen3) and "Next" in text_of(screen3)
    screen4 = post(signed_in, screen3, symptom_nausea="1", action="next")
    assert "Your measurements" in text_of(screen4) and "Top number" in text_of(screen4)
    done = post(
        signed_in, screen4, systolic_bp="150", diastolic_bp="90", notes="dizzy", action="send"
    )
    assert done.status_code == 302
    report = SymptomReport.objects.get()
    assert grades(report)["nausea"] == 1 and report.systolic_bp == 150 and report.notes == "dizzy"


def test_no_grade_chosen_stays_on_the_grade_step_and_stores_nothing(signed_in):
    screen2 = post(signed_in, signed_in.get(URL), action="next")
    screen3 = post(signed_in, screen2, pick="fatigue", action="next")
    again = post(signed_in, screen3, action="send")
    page = text_of(again)
    assert "How bad is it?" in page and "Choose an answer for" in page
    assert not SymptomReport.objects.exists()


def test_a_temperature_out_of_range_is_shown_on_its_step_and_nothing_stored(signed_in):
    screen2 = post(signed_in, signed_in.get(URL), action="next")
    screen3 = post(signed_in, screen2, pick="temperature", action="next")
    again = post(signed_in, screen3, temperature_c="55", action="send")
    page = text_of(again)
    assert "Your measurements" in page and "Temperature must be between 30.0 and 45.0" in page
    assert not SymptomReport.objects.exists()


def test_back_keeps_what_was_ticked(signed_in):
    screen2 = post(signed_in, signed_in.get(URL), flag="fainting", action="next")
    screen3 = post(signed_in, screen2, pick="nausea", action="next")
    back = post(signed_in, screen3, action="back")
    html = back.content.decode()
    assert "What is bothering you?" in text_of(back)
    assert re.search(r'value="nausea" id="pick-nausea" checked', html)
    assert ("flag", "fainting") in hidden_fields(back)


def test_nothing_ticked_can_still_send_a_report(signed_in):
    screen2 = post(signed_in, signed_in.get(URL), action="next")
    screen3 = post(signed_in, screen2, action="next")
    assert "Anything else?" in text_of(screen3)
    done = post(signed_in, screen3, notes="Feeling fine", action="send")
    assert done.status_code == 302
    assert SymptomReport.objects.get().triage_level == "green"


def test_unknown_codes_are_ignored_not_stored(signed_in):
    screen2 = post(signed_in, signed_in.get(URL), flag="not_a_code", action="next")
    assert "You told us" not in text_of(screen2)
