"""The patient's own pages (/me/) through Django's test client: who may see them, logging
doses (taken, not taken with a reason, corrections, retries), symptom reports with their
red/amber/green result, bad input that stores nothing, treatment and history."""

import re
from datetime import timedelta

import pytest
import time_machine
from django.urls import reverse

from medications import services
from medications.models import DoseLog, DoseState, Drug, SymptomReport

from .conftest import prescribe, utc

pytestmark = pytest.mark.django_db

# sorafenib 400 mg at 08:00 and 20:00 London (= UTC in early March), recorded at 07:00.
START = utc(2026, 3, 2, 7)
MORNING = utc(2026, 3, 2, 8)
EVENING = utc(2026, 3, 2, 20)


@pytest.fixture
def prescription(patient):
    return prescribe(patient, now=START)


@pytest.fixture
def morning_dose(prescription):
    return prescription.expected_doses.get(due_at=MORNING)


@pytest.fixture
def evening_dose(prescription):
    return prescription.expected_doses.get(due_at=EVENING)


@pytest.fixture(autouse=True)
def _long_sessions(settings):
    # These tests move the clock by hours; the 30-minute idle sign-out is not under test.
    settings.SESSION_COOKIE_AGE = 60 * 60 * 24 * 30


@pytest.fixture
def signed_in(client, patient):
    client.force_login(patient.user)
    return client


def at(moment):
    return time_machine.travel(moment, tick=False)


def text_of(response) -> str:
    """The page's words, without tags and with whitespace collapsed."""
    html = response.content.decode()
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).strip()


# --- who may see the pages -----------------------------------------------------------------------


def test_signed_out_people_are_sent_to_sign_in(client):
    response = client.get("/me/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


@pytest.mark.parametrize("who", ["nurse", "admin_user"])
def test_staff_are_sent_to_their_own_start_page_and_cannot_post(request, client, who, morning_dose):
    user = request.getfixturevalue(who)
    client.force_login(user)
    for url in ["/me/", "/me/symptoms/new/", "/me/treatment/", "/me/history/"]:
        response = client.get(url)
        assert response.status_code == 302 and response["Location"] == "/", url
    response = client.post(f"/me/doses/{morning_dose.pk}/taken/")
    assert response.status_code == 404
    assert not DoseLog.objects.exists()


def test_patients_home_is_today(signed_in):
    response = signed_in.get("/")
    assert response.status_code == 302 and response["Location"] == reverse("medications:today")


# --- today ---------------------------------------------------------------------------------------


def test_today_lists_each_dose_with_drug_amount_time_food_rule_and_buttons(
    signed_in, morning_dose, evening_dose
):
    with at(MORNING + timedelta(minutes=30)):
        response = signed_in.get("/me/")
    assert response.status_code == 200
    page = text_of(response)
    assert "Sorafenib 400 mg" in page
    assert "08:00" in page and "20:00" in page
    assert "low- or moderate-fat meal" in page  # the catalogue's food rule
    assert "you can still take it until 14:00" in page  # 6 h late window
    html = response.content.decode()
    assert f'action="/me/doses/{morning_dose.pk}/taken/"' in html
    assert f'href="/me/doses/{morning_dose.pk}/not-taken/"' in html
    # The evening dose is more than 2 hours away: it cannot be logged yet.
    assert f'action="/me/doses/{evening_dose.pk}/taken/"' not in html
    assert "You can record this dose from 18:00" in page
    # The advice line is in every page header, as a tap-to-call link.
    assert 'href="tel:01610000000"' in html


def test_taking_a_dose_records_it_and_redirects_back_to_the_card(signed_in, patient, morning_dose):
    with at(MORNING + timedelta(minutes=10)):
        response = signed_in.post(f"/me/doses/{morning_dose.pk}/taken/", {"idempotency_key": "k-1"})
        assert response.status_code == 302
        assert response["Location"] == f"/me/#dose-{morning_dose.pk}"
        page = text_of(signed_in.get(response["Location"]))
    morning_dose.refresh_from_db()
    assert morning_dose.state == DoseState.TAKEN
    assert morning_dose.taken_at == MORNING + timedelta(minutes=10)
    log = DoseLog.objects.get()
    assert log.recorded_by == patient.user and log.idempotency_key == "k-1"
    assert "recorded as taken at 08:10" in page
    assert "You took it at 08:10" in page
    assert "Change this" in page


def test_the_same_form_sent_twice_records_one_log(signed_in, morning_dose):
    with at(MORNING):
        for _ in range(2):
            signed_in.post(f"/me/doses/{morning_dose.pk}/taken/", {"idempotency_key": "same"})
    assert DoseLog.objects.count() == 1


def test_not_taken_asks_the_reason_then_records_it(signed_in, morning_dose):
    with at(MORNING + timedelta(hours=1)):
        form = signed_in.get(f"/me/doses/{morning_dose.pk}/not-taken/")
        assert form.status_code == 200
        page = text_of(form)
        for reason in [
            "I forgot",
            "Side effects",
            "I felt unwell",
            "I was sick (vomited)",
            "I ran out of tablets",
            "The team told me to stop",
            "Another reason",
        ]:
            assert reason in page
        response = signed_in.post(
            f"/me/doses/{morning_dose.pk}/not-taken/", {"reason": "forgot", "note": ""}
        )
    assert response.status_code == 302
    morning_dose.refresh_from_db()
    assert morning_dose.state == DoseState.SKIPPED and morning_dose.skip_reason == "forgot"


def test_not_taken_without_a_reason_shows_the_message_next_to_the_field(signed_in, morning_dose):
    with at(MORNING):
        response = signed_in.post(f"/me/doses/{morning_dose.pk}/not-taken/", {"reason": ""})
    assert response.status_code == 200
    html = response.content.decode()
    assert "There is a problem" in html
    assert 'id="id_reason-error"' in html and "Choose why you did not take it." in html
    assert 'aria-describedby="id_reason-error"' in html
    assert not DoseLog.objects.exists()
    morning_dose.refresh_from_db()
    assert morning_dose.state == DoseState.PENDING


def test_another_reason_needs_a_note(signed_in, morning_dose):
    with at(MORNING):
        response = signed_in.post(
            f"/me/doses/{morning_dose.pk}/not-taken/", {"reason": "other", "note": "  "}
        )
    assert response.status_code == 200
    assert "tell us what happened here" in text_of(response)
    assert not DoseLog.objects.exists()


@pytest.mark.parametrize("reason", ["side_effects", "unwell"])
def test_side_effects_or_feeling_unwell_leads_to_the_symptom_form(signed_in, morning_dose, reason):
    with at(MORNING):
        response = signed_in.post(f"/me/doses/{morning_dose.pk}/not-taken/", {"reason": reason})
        assert response.status_code == 302
        assert response["Location"] == "/me/symptoms/new/"
        page = text_of(signed_in.get(response["Location"]))
    assert "Please tell us how you are feeling" in page
    morning_dose.refresh_from_db()
    assert morning_dose.skip_reason == reason


def test_ran_out_of_tablets_says_the_team_has_been_told(signed_in, morning_dose):
    with at(MORNING):
        response = signed_in.post(
            f"/me/doses/{morning_dose.pk}/not-taken/", {"reason": "ran_out"}, follow=True
        )
    page = text_of(response)
    assert "We have told your team that you have run out of tablets" in page


def test_a_skipped_dose_can_be_corrected_to_taken_and_history_is_kept(signed_in, morning_dose):
    with at(MORNING):
        signed_in.post(f"/me/doses/{morning_dose.pk}/not-taken/", {"reason": "forgot"})
    with at(MORNING + timedelta(hours=1)):
        page = text_of(signed_in.get("/me/"))
        assert "You did not take it. Reason: I forgot" in page
        assert "I took it after all" in page
        signed_in.post(f"/me/doses/{morning_dose.pk}/taken/", {"idempotency_key": "fix"})
    morning_dose.refresh_from_db()
    assert morning_dose.state == DoseState.TAKEN
    logs = list(DoseLog.objects.order_by("recorded_at"))
    assert [log.action for log in logs] == ["skipped", "taken"]
    assert logs[0].superseded_at is not None


def test_after_the_window_the_drugs_missed_dose_rule_is_shown(signed_in, morning_dose):
    with at(MORNING + timedelta(hours=7)):
        page = text_of(signed_in.get("/me/"))
    assert "Missed" in page
    assert "The time to take this dose has passed" in page
    assert "Otherwise skip it and take the next dose at the usual time" in page
    assert "Never take two doses together" in page


def test_a_dose_taken_after_the_window_is_flagged_with_the_rule(signed_in, morning_dose):
    with at(MORNING + timedelta(hours=8)):
        response = signed_in.post(
            f"/me/doses/{morning_dose.pk}/taken/", {"idempotency_key": "late"}, follow=True
        )
    page = text_of(response)
    assert "recorded as taken late, after the safe time to take it" in page
    morning_dose.refresh_from_db()
    assert morning_dose.state == DoseState.TAKEN_LATE


def test_a_held_dose_says_do_not_take_it_and_has_no_buttons(signed_in, prescription, nurse):
    services.prescription_hold(
        prescription=prescription, reason="Blood pressure", recorded_by=nurse, now=START
    )
    dose = prescription.expected_doses.get(due_at=MORNING)
    with at(MORNING):
        response = signed_in.get("/me/")
    page = text_of(response)
    assert "Paused by your team" in page and "Do not take this dose" in page
    assert f"/me/doses/{dose.pk}/taken/" not in response.content.decode()


def test_the_evening_dose_still_shows_after_midnight_inside_its_window(signed_in, evening_dose):
    with at(EVENING + timedelta(hours=5)):  # 01:00 the next day; window open until 02:00
        page = text_of(signed_in.get("/me/"))
    assert "Due yesterday" in page or "yesterday" in page
    assert "you can still take it until 02:00" in page


def test_empty_state_when_nothing_is_due_today(signed_in, patient):
    with at(START):
        page = text_of(signed_in.get("/me/"))
    assert "No tablets to take today" in page


def test_with_htmx_the_card_is_swapped_in_place(signed_in, morning_dose):
    with at(MORNING):
        response = signed_in.post(
            f"/me/doses/{morning_dose.pk}/taken/",
            {"idempotency_key": "hx"},
            HTTP_HX_REQUEST="true",
        )
    assert response.status_code == 200
    html = response.content.decode()
    assert "<html" not in html
    assert f'id="dose-{morning_dose.pk}"' in html
    assert 'hx-swap-oob="true"' in html and "recorded as taken at 08:00" in html


def test_with_htmx_side_effects_redirects_the_whole_page(signed_in, morning_dose):
    with at(MORNING):
        response = signed_in.post(
            f"/me/doses/{morning_dose.pk}/not-taken/",
            {"reason": "side_effects"},
            HTTP_HX_REQUEST="true",
        )
    assert response["HX-Redirect"] == "/me/symptoms/new/"


# --- scope: another patient's dose ---------------------------------------------------------------


def test_logging_another_patients_dose_is_a_404_and_stores_nothing(
    client, patient, other_patient, morning_dose
):
    client.force_login(other_patient.user)
    with at(MORNING):
        taken = client.post(f"/me/doses/{morning_dose.pk}/taken/", {"idempotency_key": "x"})
        skipped = client.post(f"/me/doses/{morning_dose.pk}/not-taken/", {"reason": "forgot"})
        form = client.get(f"/me/doses/{morning_dose.pk}/not-taken/")
    assert (taken.status_code, skipped.status_code, form.status_code) == (404, 404, 404)
    assert not DoseLog.objects.exists()
    morning_dose.refresh_from_db()
    assert morning_dose.state == DoseState.PENDING


def test_another_patients_symptom_result_is_a_404(client, patient, other_patient):
    from medications.symptoms.services import symptom_report_create

    report = symptom_report_create(
        patient=patient, data={"symptoms": [], "temperature_c": 38.2}, entered_by=patient.user
    )
    client.force_login(other_patient.user)
    assert client.get(f"/me/symptoms/{report.pk}/").status_code == 404


# --- symptom reports -----------------------------------------------------------------------------


def report_form(**changes):
    """A full form as the browser sends it: every symptom at its starting answer (0)."""
    from medications.symptoms import selectors as symptom_selectors
    from medications.symptoms import triage

    data = {
        f"symptom_{c['code']}": "0"
        for c in triage.symptom_choices(symptom_selectors.active_rules())
    }
    data.update({"temperature_c": "", "systolic_bp": "", "diastolic_bp": "", "notes": ""})
    data.update(changes)
    return data


def test_the_form_offers_every_symptom_in_the_patients_words_starting_at_none(signed_in):
    response = signed_in.get("/me/symptoms/new/")
    html = response.content.decode()
    page = text_of(response)
    assert "4 to 6 more stools a day than usual" in page  # diarrhoea grade 2, triage.md
    assert "Black, tarry or sticky stools" in page  # a red flag, as yes/no
    # Grade 0 is chosen to start with, for a graded symptom and for a red flag.
    assert re.search(r'name="symptom_diarrhoea" value="0"[^>]*checked', html)
    assert re.search(r'name="symptom_black_stools" value="0"[^>]*checked', html)
    assert 'name="temperature_c"' in html and 'name="systolic_bp"' in html


def test_a_temperature_of_38_2_shows_call_your_advice_line_now(signed_in, patient):
    response = signed_in.post("/me/symptoms/new/", report_form(temperature_c="38.2"))
    assert response.status_code == 302
    report = SymptomReport.objects.get()
    assert response["Location"] == f"/me/symptoms/{report.pk}/"
    assert report.triage_level == "red" and report.entered_by == patient.user
    result = signed_in.get(response["Location"])
    html, page = result.content.decode(), text_of(result)
    assert "Call your advice line now" in page
    assert 'href="tel:01610000000"' in html and "Call 0161 000 0000" in page
    assert 'href="tel:999"' in html and "severe chest pain" in page
    assert "Temperature 38.2 °C" in page


def test_an_amber_report_says_the_team_will_call_within_24_hours(signed_in):
    response = signed_in.post("/me/symptoms/new/", report_form(symptom_diarrhoea="2"), follow=True)
    page = text_of(response)
    assert "The team will contact you within 24 hours" in page
    assert "Drink plenty of fluids" in page  # self-care advice for diarrhoea
    assert "Call your advice line now" not in page


def test_a_green_report_gives_self_care_advice(signed_in):
    response = signed_in.post("/me/symptoms/new/", report_form(symptom_fatigue="1"), follow=True)
    page = text_of(response)
    assert "look after yourself at home" in page
    assert "Balance rest with gentle activity" in page
    assert "Report again, or call your advice line, if it gets worse" in page


def test_a_temperature_of_55_is_refused_next_to_the_field_and_nothing_is_stored(signed_in):
    response = signed_in.post("/me/symptoms/new/", report_form(temperature_c="55"))
    assert response.status_code == 200
    html = response.content.decode()
    assert "There is a problem" in html
    assert 'id="id_temperature_c-error"' in html
    assert "Temperature must be between 30.0 and 45.0 °C." in html
    field = re.search(r'<input[^>]*name="temperature_c"[^>]*>', html).group(0)
    assert 'aria-describedby="id_temperature_c-error id_temperature_c_helptext"' in field
    assert 'aria-invalid="true"' in field and 'value="55"' in field
    assert not SymptomReport.objects.exists()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"symptom_diarrhoea": ""}, "Choose an answer for &#x27;Diarrhoea&#x27;."),
        ({"symptom_diarrhoea": "7"}, "Choose one of the answers for &#x27;Diarrhoea&#x27;."),
        ({"symptom_black_stools": "2"}, "Choose one of the answers for &#x27;Black stools&#x27;."),
        ({"temperature_c": "hot"}, "Enter your temperature as a number"),
        ({"systolic_bp": "150"}, "Give both blood pressure figures or neither."),
        ({"systolic_bp": "80", "diastolic_bp": "90"}, "must be higher than"),
    ],
)
def test_bad_answers_are_refused_and_nothing_is_stored(signed_in, change, message):
    data = report_form(**change)
    if change.get("symptom_diarrhoea") == "":
        del data["symptom_diarrhoea"]  # no grade chosen at all
    response = signed_in.post("/me/symptoms/new/", data)
    assert response.status_code == 200
    assert message in response.content.decode()
    assert "There is a problem" in response.content.decode()
    assert not SymptomReport.objects.exists()


def test_no_grade_chosen_puts_the_message_in_the_fieldset(signed_in):
    data = report_form()
    del data["symptom_hand_foot"]
    html = signed_in.post("/me/symptoms/new/", data).content.decode()
    fieldset = re.search(r'<fieldset[^>]*aria-describedby="id_symptom_hand_foot-error"', html)
    assert fieldset is not None
    radio = re.search(r'<input[^>]*name="symptom_hand_foot"[^>]*>', html).group(0)
    assert 'aria-invalid="true"' in radio
    assert 'href="#id_symptom_hand_foot_0"' in html  # the summary links to the field


# --- treatment and history -----------------------------------------------------------------------


def test_my_treatment_explains_how_to_take_each_medicine_and_when_to_call(signed_in, prescription):
    with at(MORNING):
        page = text_of(signed_in.get("/me/treatment/"))
    assert "Sorafenib (Nexavar)" in page
    assert "400 mg , twice a day, at 08:00 and 20:00" in page or (
        "400 mg" in page and "twice a day, at 08:00 and 20:00" in page
    )
    assert "low- or moderate-fat meal" in page
    assert "Never take two doses together" in page
    assert "Hand-foot skin reaction" in page  # common side effects
    assert "black or tarry stools" in page  # urgent warning signs
    assert "37.5 °C or higher, or below 36.0 °C" in page  # from the triage rule set


def test_regorafenib_off_week_is_explained_on_today_treatment_and_history(client, team):
    from tests.factories import PatientFactory

    patient = PatientFactory(
        care_team=team, prior_systemic_therapies=["sorafenib"], sorafenib_tolerated=True
    )
    first = utc(2026, 3, 2, 7)
    prescribe(patient, "regorafenib", times=["09:00"], dose="160", now=first)
    client.force_login(patient.user)
    off_day = first + timedelta(days=23)  # day 24 of 28: off week
    with at(off_day):
        services.expected_doses_generate(now=off_day)
        today = text_of(client.get("/me/"))
        treatment = text_of(client.get("/me/treatment/"))
        history = client.get("/me/history/").content.decode()
    assert "No tablets to take today" in today
    assert "This is your off week" in today
    assert "on days 1 to 21 of each 28-day cycle" in treatment
    assert "cal-off" in history and "Off week" in history


def test_infusion_patients_see_the_next_appointment_and_what_to_expect(client, team):
    from datetime import date

    from tests.factories import PatientFactory

    patient = PatientFactory(care_team=team, last_upper_endoscopy_on=date(2026, 2, 1))
    first = utc(2026, 3, 9, 9, 30)
    services.infusion_course_create(
        patient=patient,
        drugs=["atezolizumab", "bevacizumab"],
        first_infusion_at=first,
        location="Ward 7 day unit",
        now=utc(2026, 3, 2, 9),
    )
    client.force_login(patient.user)
    with at(utc(2026, 3, 8, 12)):
        page = text_of(client.get("/me/"))
    assert "Next infusion" in page and "Tomorrow" in page and "09:30" in page
    assert "Ward 7 day unit" in page
    assert "First: Atezolizumab (Tecentriq), 1200 mg, as a drip over about 60 minutes" in page
    assert "Then: Bevacizumab" in page and "1050 mg" in page  # 15 mg/kg x 70 kg


def test_history_shows_calendar_adherence_and_symptoms(signed_in, patient, prescription):
    from medications.symptoms.services import symptom_report_create

    with at(MORNING):
        services.dose_log(
            dose=prescription.expected_doses.get(due_at=MORNING),
            action="taken",
            recorded_by=patient.user,
        )
    with at(EVENING + timedelta(hours=1)):
        services.dose_log(
            dose=prescription.expected_doses.get(due_at=EVENING),
            action="skipped",
            reason="vomited",
            recorded_by=patient.user,
        )
        symptom_report_create(
            patient=patient,
            data={"symptoms": [{"code": "vomiting", "grade": 2}], "temperature_c": 38.2},
            entered_by=patient.user,
        )
    with at(EVENING + timedelta(hours=2)):
        response = signed_in.get("/me/history/")
    html, page = response.content.decode(), text_of(response)
    assert response.status_code == 200
    # Calendar: today's cell has a text label and a full description, not colour alone.
    assert "cal-skipped" in html
    assert "Monday 2 March (today): 2 doses: 1 taken, 1 not taken." in page
    assert "What the colours and signs mean" in page
    # Adherence for 7 and 28 days (1 of 2 doses taken).
    assert page.count("50%") >= 2 and "1 of 2 doses taken" in page
    # Dose by dose, and the symptom report with its level.
    assert "08:00 Sorafenib 400 mg: Taken (at 08:00)" in page
    assert "20:00 Sorafenib 400 mg: Not taken (I was sick (vomited))" in page
    assert "<svg" in html and '<title id="chart-title">' in html and "<desc" in html
    assert "Being sick (vomiting)" in page and "Temperature 38.2 °C" in page
    assert "Red" in page


def test_drug_catalogue_text_is_data_not_code(signed_in, prescription):
    Drug.objects.filter(code="sorafenib").update(missed_dose_advice="Trust wording for a miss.")
    with at(MORNING + timedelta(hours=7)):
        page = text_of(signed_in.get("/me/"))
    assert "Trust wording for a miss." in page
