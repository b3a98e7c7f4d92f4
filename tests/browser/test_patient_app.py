"""The patient web app in real headless Chromium: log doses and symptoms from a phone.

Each test signs in as a patient, works the pages as a person would (tapping buttons, with
htmx on; and once with JavaScript off), checks axe-core finds no serious or critical
problems, and saves screenshots at phone and desktop size for docs/patient-app.md.
"""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.conf import settings
from django.utils import timezone

from medications import services
from medications.models import DoseLog, DoseState, Drug, ExpectedDose, SymptomReport
from tests.browser.conftest import DESKTOP, PHONE, assert_accessible, screenshot, sign_in
from tests.factories import PASSWORD, CareTeamFactory, PatientFactory

pytestmark = pytest.mark.django_db(transaction=True)


def patient_with_two_doses_due():
    """A sorafenib patient whose two doses fell due 90 and 30 minutes ago (both still
    inside the 6-hour window), prescribed three hours ago: real time, as the live server
    and the browser both use it."""
    team = CareTeamFactory(name="Liver Oncology Advice Line", advice_line_phone="0161 446 3658")
    patient = PatientFactory(care_team=team, given_name="Sam", family_name="Taylor")
    now = timezone.now()
    local = now.astimezone(patient.zone)
    first = (local - timedelta(minutes=90)).replace(second=0, microsecond=0)
    second = (local - timedelta(minutes=30)).replace(second=0, microsecond=0)
    recorded = now - timedelta(hours=3)
    services.prescription_create(
        patient=patient,
        drug=Drug.objects.get(code="sorafenib"),
        dose_mg=Decimal(400),
        times=sorted({f"{first:%H:%M}", f"{second:%H:%M}"}),
        start_date=recorded.astimezone(patient.zone).date(),
        now=recorded,
    )
    doses = list(ExpectedDose.objects.filter(patient=patient, due_at__lte=now).order_by("due_at"))
    assert len(doses) == 2, doses
    return patient, doses


def card(page, dose):
    return page.locator(f"#dose-{dose.pk}")


def calendar_text(page, dose) -> str:
    """What the history calendar says of the local day the dose was due (not necessarily
    today: shortly after midnight the doses of 90 and 30 minutes ago fell yesterday)."""
    day = dose.due_at.astimezone(dose.patient.zone)
    heading = f"{day:%A} {day.day} {day:%B}"  # the cell's screen-reader description
    return page.locator("td.cal-day", has_text=heading).inner_text()


def test_take_a_dose_skip_one_report_a_fever_and_see_it_all_in_history(
    live_server, phone_page, new_page
):
    patient, (first, second) = patient_with_two_doses_due()
    page = phone_page
    sign_in(page, live_server, patient.user.username, PASSWORD)
    assert page.url.endswith("/me/")
    assert page.get_by_role("heading", name="Today").is_visible()
    assert page.get_by_role("link", name="Advice line: 0161 446 3658").get_attribute("href") == (
        "tel:01614463658"
    )
    assert_accessible(page)
    screenshot(page, "patient-today-due-phone")
    desktop = new_page(DESKTOP)
    sign_in(desktop, live_server, patient.user.username, PASSWORD)
    assert_accessible(desktop)
    screenshot(desktop, "patient-today-due-desktop")

    # Taken: the card swaps in place (htmx) and says when.
    card(page, first).get_by_role("button", name="Taken").click()
    card(page, first).get_by_text("You took it at").wait_for()
    first.refresh_from_db()
    assert first.state == DoseState.TAKEN

    # Not taken: the reason form opens inside the card.
    card(page, second).get_by_role("link", name="Not taken").click()
    card(page, second).get_by_role("group", name="Why did you not take it?").wait_for()
    assert_accessible(page)
    screenshot(page, "patient-not-taken-phone")
    card(page, second).get_by_label("I forgot").check()
    card(page, second).get_by_role("button", name="Save").click()
    card(page, second).get_by_text("You did not take it").wait_for()
    second.refresh_from_db()
    assert (second.state, second.skip_reason) == (DoseState.SKIPPED, "forgot")
    assert page.locator("#dose-status").inner_text().startswith("Sorafenib 400 mg")
    screenshot(page, "patient-today-logged-phone")

    # A temperature of 38.2: the red "call now" screen with a tap-to-call number.
    page.get_by_role("link", name="Report symptoms").first.click()
    page.get_by_role("link", name="Prefer one page? Use the whole form").click()
    page.get_by_label("Temperature (°C)").fill("38.2")
    page.get_by_role("button", name="Send my report").click()
    page.get_by_role("heading", name="Call your advice line now").wait_for()
    call = page.get_by_role("link", name="Call 0161 446 3658")
    assert call.get_attribute("href") == "tel:01614463658"
    assert call.bounding_box()["height"] >= 44
    assert page.get_by_role("link", name="999").first.get_attribute("href") == "tel:999"
    assert_accessible(page)
    screenshot(page, "patient-result-red-phone")
    report = SymptomReport.objects.get(patient=patient)
    assert report.triage_level == "red" and report.temperature_c == Decimal("38.2")
    desktop.goto(page.url)
    desktop.get_by_role("heading", name="Call your advice line now").wait_for()
    assert_accessible(desktop)
    screenshot(desktop, "patient-result-red-desktop")

    # History shows all three.
    page.get_by_role("button", name="Menu").click()  # on a phone the page links fold
    page.get_by_role("link", name="History", exact=True).click()
    page.get_by_role("heading", name="History", exact=True).wait_for()
    assert "1 taken" in calendar_text(page, first)
    assert "1 not taken" in calendar_text(page, second)
    lines = "\n".join(page.locator(".dose-lines").all_inner_texts())  # today's, or yesterday's
    assert "Taken" in lines and "Not taken (I forgot)" in lines
    page.get_by_text("Show your reports as a table").click()
    table = page.locator(".report-table table").inner_text()
    assert "Red" in table and "Temperature 38.2 °C" in table
    assert page.locator("svg.symptom-chart title").first.text_content().startswith("Symptom")
    assert_accessible(page)
    screenshot(page, "patient-history-flow-phone")
    desktop.goto(f"{live_server.url}/me/history/")
    assert "1 not taken" in calendar_text(desktop, second)
    screenshot(desktop, "patient-history-flow-desktop")
    # The reason page on its own (what people without JavaScript get), for a correction.
    desktop.goto(f"{live_server.url}/me/doses/{first.pk}/not-taken/")
    assert_accessible(desktop)
    screenshot(desktop, "patient-not-taken-page-desktop")
    desktop.get_by_role("button", name="Save").click()  # no reason chosen: the error state
    desktop.get_by_role("alert").filter(has_text="There is a problem").wait_for()
    assert_accessible(desktop)
    first.refresh_from_db()
    assert first.state == DoseState.TAKEN  # nothing changed


def test_core_actions_work_without_javascript(live_server, browser):
    patient, (first, second) = patient_with_two_doses_due()
    # (axe-core cannot run here: it is JavaScript. The same pages are checked with it above.)
    context = browser.new_context(viewport=PHONE, java_script_enabled=False, locale="en-GB")
    context.set_default_timeout(15_000)
    page = context.new_page()
    try:
        sign_in(page, live_server, patient.user.username, PASSWORD)
        card(page, first).get_by_role("button", name="Taken").click()
        page.wait_for_load_state()
        assert "recorded as taken" in page.locator(".messages").inner_text()
        card(page, second).get_by_role("link", name="Not taken").click()
        page.get_by_role("heading", name="Not taking this dose").wait_for()
        screenshot(page, "patient-not-taken-page-phone")
        page.get_by_role("button", name="Save").click()  # no reason chosen
        page.get_by_role("alert").get_by_text("Choose why you did not take it.").wait_for()
        assert not DoseLog.objects.filter(expected_dose=second).exists()
        page.get_by_label("I ran out of tablets").check()
        page.get_by_role("button", name="Save").click()
        page.wait_for_load_state()
        assert "We have told your team" in page.locator(".messages").inner_text()
        states = dict(
            ExpectedDose.objects.filter(pk__in=[first.pk, second.pk]).values_list("pk", "state")
        )
        assert states == {first.pk: DoseState.TAKEN, second.pk: DoseState.SKIPPED}
    finally:
        context.close()


def test_bad_symptom_answers_show_next_to_the_field_and_store_nothing(live_server, phone_page):
    patient, _ = patient_with_two_doses_due()
    page = phone_page
    sign_in(page, live_server, patient.user.username, PASSWORD)
    page.goto(f"{live_server.url}/me/symptoms/new/")
    page.get_by_label("Temperature (°C)").fill("55")
    # No grade chosen for hand-foot skin reaction (grade 0 starts chosen; take it away).
    page.locator("input[name=symptom_hand_foot]:checked").evaluate("el => el.checked = false")
    page.get_by_role("button", name="Send my report").click()
    summary = page.get_by_role("alert").filter(has_text="There is a problem")
    summary.wait_for()
    temperature = page.get_by_label("Temperature (°C)")
    described_by = temperature.get_attribute("aria-describedby")
    message = page.locator(f"#{described_by.split()[0]}")
    assert message.inner_text().strip() == "Temperature must be between 30.0 and 45.0 °C."
    assert temperature.input_value() == "55"
    hand_foot = page.get_by_role("group", name="Hand or foot skin reaction")
    assert hand_foot.get_attribute("aria-describedby")
    assert "Choose an answer for 'Hand or foot skin reaction'." in hand_foot.inner_text()
    assert page.evaluate("document.activeElement.classList.contains('error-summary')")
    assert not SymptomReport.objects.exists()
    assert_accessible(page)
    screenshot(page, "patient-symptoms-error-phone")


@pytest.mark.parametrize(
    ("answers", "level", "heading"),
    [
        ({"symptom_diarrhoea": "2"}, "amber", "Thank you: your team will check this"),
        ({"symptom_fatigue": "1", "symptom_mouth_sores": "1"}, "green", "Thank you"),
    ],
)
def test_amber_and_green_results(live_server, phone_page, new_page, answers, level, heading):
    patient, _ = patient_with_two_doses_due()
    page = phone_page
    sign_in(page, live_server, patient.user.username, PASSWORD)
    page.goto(f"{live_server.url}/me/symptoms/new/")
    for name, value in answers.items():
        page.locator(f"input[name={name}][value='{value}']").check()
    page.get_by_role("button", name="Send my report").click()
    page.get_by_role("heading", name=heading).wait_for()
    if level == "amber":
        assert "The team will contact you within 24 hours" in page.locator("main").inner_text()
    assert_accessible(page)
    screenshot(page, f"patient-result-{level}-phone")
    assert list(SymptomReport.objects.values_list("triage_level", flat=True)) == [level]
    # The same result page on a desktop (a second report would be graded differently:
    # a repeat amber within 48 hours is red).
    desktop = new_page(DESKTOP)
    sign_in(desktop, live_server, patient.user.username, PASSWORD)
    desktop.goto(page.url)
    desktop.get_by_role("heading", name=heading).wait_for()
    assert_accessible(desktop)
    screenshot(desktop, f"patient-result-{level}-desktop")


@pytest.fixture
def demo(live_server):
    from tracker.demo import seed_demo

    seed_demo()
    return settings.DEMO_PASSWORD


@pytest.mark.parametrize("size", ["phone", "desktop"])
def test_every_patient_page_is_accessible_with_demo_history(live_server, demo, new_page, size):
    page = new_page(PHONE if size == "phone" else DESKTOP)
    sign_in(page, live_server, "sam", demo)
    pages = [
        ("/me/", "Today", "today"),
        ("/me/symptoms/new/", "How are you feeling?", "symptoms"),
        ("/me/treatment/", "My treatment", "treatment"),
        ("/me/history/", "History", "history"),
        ("/accounts/", "Your account", "account"),
        ("/accounts/password/", "Change your password", "password"),
    ]
    for path, heading, name in pages:
        page.goto(f"{live_server.url}{path}")
        assert page.locator("h1").inner_text().startswith(heading), path
        assert_accessible(page)
        screenshot(page, f"patient-{name}-{size}")
    # Every control a finger has to hit is at least 44 CSS pixels high (WCAG 2.5.8 asks
    # 24; 44 is our rule for sore hands); links inside a sentence are exempt. Checked on
    # the busiest page.
    page.goto(f"{live_server.url}/me/symptoms/new/")
    small = page.evaluate(
        """() => [...document.querySelectorAll(['main .button', 'main button', 'main label.choice',
                                        'main summary', 'main input:not([type=radio])'].join())]
              .filter(e => e.offsetParent !== null)
              .map(e => [e.textContent.trim().slice(0, 40), e.getBoundingClientRect()])
              .filter(([, r]) => r.height < 44)
              .map(([t, r]) => t + ' ' + Math.round(r.height))"""
    )
    assert small == []


def test_infusion_patient_sees_next_appointment(live_server, demo, new_page):
    for size, viewport in (("phone", PHONE), ("desktop", DESKTOP)):
        page = new_page(viewport)
        sign_in(page, live_server, "tom", demo)
        infusion = page.get_by_role("region", name="Next infusion")
        assert "Atezolizumab" in infusion.inner_text() and "Bevacizumab" in infusion.inner_text()
        assert "30 minutes" in infusion.inner_text()  # not his first infusion any more
        assert_accessible(page)
        screenshot(page, f"patient-today-infusion-{size}")
        page.goto(f"{live_server.url}/me/treatment/")
        assert "60 minutes the first time" in page.locator("main").inner_text()
        assert_accessible(page)
        screenshot(page, f"patient-treatment-infusion-{size}")


def test_sign_in_page_at_phone_and_desktop_size(live_server, page, phone_page):
    for view, size in ((phone_page, "phone"), (page, "desktop")):
        view.goto(f"{live_server.url}/accounts/login/")
        assert_accessible(view)
        screenshot(view, f"patient-login-{size}")


def test_pages_work_at_200_percent_zoom(live_server, demo, browser):
    # 200% zoom of a 1280-wide window is a 640-CSS-pixel viewport at twice the pixels.
    context = browser.new_context(
        viewport={"width": 640, "height": 450}, device_scale_factor=2, locale="en-GB"
    )
    context.set_default_timeout(15_000)
    page = context.new_page()
    try:
        sign_in(page, live_server, "sam", demo)
        for path in ["/me/", "/me/symptoms/new/", "/me/treatment/", "/me/history/"]:
            page.goto(f"{live_server.url}{path}")
            overflow = page.evaluate(
                "document.documentElement.scrollWidth - document.documentElement.clientWidth"
            )
            assert overflow <= 0, f"{path} scrolls sideways at 200% zoom"
    finally:
        context.close()


def test_staff_do_not_get_patient_pages(live_server, page, demo):
    sign_in(page, live_server, "nurse", demo)
    page.goto(f"{live_server.url}/me/")
    assert "/me/" not in page.url
