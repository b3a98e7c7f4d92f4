"""The advice-line nurse dashboard in real headless Chromium.

A patient's red report raises an alert (the alerts receiver, synchronously, in the report's
transaction); the nurse sees it arrive in the live queue, acknowledges it and resolves it
with an outcome; it leaves the open queue; a nurse of another team never sees it.
"""

import re

import pytest
from playwright.sync_api import expect

from notifications.models import Alert, AlertEventKind, AlertOutcome, AlertStatus
from tests.browser.conftest import assert_accessible, screenshot, sign_in
from tests.factories import PASSWORD, NurseFactory, PatientFactory
from tests.notifications.dashboard_helpers import make_alert, seed_lenvatinib_patient

# Fast refresh for the tests; the product default is 15 s.
POLL_SECONDS = 1


def post_red_report_through_the_api(request_context, live_server, patient) -> dict:
    """The patient's phone: sign in for a token, send a report with a red flag."""
    token = request_context.post(
        f"{live_server.url}/api/v1/auth/token/",
        data={"username": patient.user.username, "password": PASSWORD},
    )
    assert token.status == 200, token.text()
    response = request_context.post(
        f"{live_server.url}/api/v1/symptom-reports/",
        data={
            "symptoms": [{"code": "chest_pain", "grade": 1}, {"code": "fatigue", "grade": 1}],
            "temperature_c": 38.2,
        },
        headers={"Authorization": f"Token {token.json()['token']}"},
    )
    assert response.status == 201, response.text()
    body = response.json()
    assert body["triage"]["level"] == "red"
    return body


@pytest.mark.django_db(transaction=True)
def test_nurse_sees_acknowledges_and_resolves_a_red_alert_from_a_report(
    live_server, page, new_page, settings, team, other_team
):
    settings.NURSE_QUEUE_POLL_SECONDS = POLL_SECONDS
    nurse = NurseFactory(teams=[team], first_name="Nia", last_name="Evans")
    other_nurse = NurseFactory(teams=[other_team])
    patient = PatientFactory(care_team=team, given_name="Rose", family_name="Okafor")

    sign_in(page, live_server, nurse.username, PASSWORD)
    assert page.url == f"{live_server.url}/nurse/"
    expect(page.get_by_text("No open alerts for your teams")).to_be_visible()

    # The patient reports chest pain from their phone; the alert is raised with the report.
    phone = new_page()
    post_red_report_through_the_api(phone.request, live_server, patient)
    alert = Alert.objects.get(patient=patient)
    assert alert.level == "red" and alert.status == AlertStatus.OPEN

    # The open queue announces it (banner + assertive live region) and shows the row.
    banner = page.locator("#red-banner")
    expect(banner).to_contain_text("New red alert", timeout=10_000)
    expect(banner).to_contain_text("Rose Okafor")
    expect(page.locator("#queue-announcer[aria-live=assertive]")).to_contain_text(
        "New red alert: Rose Okafor"
    )
    row = page.locator(f"#alert-row-{alert.pk}")
    expect(row).to_be_visible(timeout=10_000)
    expect(row).to_contain_text("Red")
    expect(row).to_contain_text("Chest pain or tightness")
    expect(row).to_contain_text("Temperature")
    expect(row).to_contain_text(patient.formatted_nhs_number)
    expect(row).to_contain_text("min left")

    # Acknowledge: one click, swapped in place, recorded with who.
    row.get_by_role("button", name="Acknowledge red alert for Rose Okafor").click()
    expect(row).to_contain_text("Acknowledged by Nia Evans")
    expect(banner).not_to_contain_text("Rose Okafor", timeout=10_000)  # acknowledged: gone

    # Resolve with an outcome and a note.
    row.get_by_text("Resolve", exact=False).first.click()
    row.get_by_label("Asked to attend for same-day assessment", exact=True).check()
    row.get_by_label("Note", exact=True).fill(
        "Chest pain since this morning; attending the unit at 14:00."
    )
    row.get_by_role("button", name="Resolve alert").click()
    expect(page.locator(f"#alert-row-{alert.pk}")).to_contain_text("resolved")
    expect(page.locator("#queue-status")).to_contain_text("resolved")

    # It leaves the open queue (next refresh, and on a fresh load).
    expect(page.locator(f"#alert-row-{alert.pk}")).to_have_count(0, timeout=10_000)
    page.reload()
    expect(page.locator(f"#alert-row-{alert.pk}")).to_have_count(0)
    expect(page.get_by_text("No open alerts for your teams")).to_be_visible()

    alert.refresh_from_db()
    assert alert.status == AlertStatus.RESOLVED
    assert alert.outcome == AlertOutcome.SAME_DAY_ASSESSMENT
    assert alert.acknowledged_by == nurse and alert.resolved_by == nurse
    events = {e.kind: e for e in alert.events.all()}
    assert events[AlertEventKind.ACKNOWLEDGED].actor == nurse
    assert events[AlertEventKind.RESOLVED].actor == nurse

    # Its page keeps the history; a nurse of another team never sees any of it.
    page.goto(f"{live_server.url}/nurse/alerts/{alert.pk}/")
    expect(page.get_by_role("heading", name=re.compile("Symptom report alert"))).to_be_visible()
    expect(page.locator("section[aria-labelledby=history-title] table")).to_contain_text(
        "Nia Evans"
    )

    outsider = new_page()
    sign_in(outsider, live_server, other_nurse.username, PASSWORD)
    outsider.goto(f"{live_server.url}/nurse/?status=all")
    expect(outsider.locator("table.queue")).not_to_contain_text("Rose Okafor")
    for url in (f"/nurse/alerts/{alert.pk}/", f"/nurse/patients/{patient.pk}/"):
        response = outsider.goto(f"{live_server.url}{url}")
        assert response.status == 404, url


@pytest.mark.django_db(transaction=True)
def test_acknowledge_and_resolve_work_without_javascript(live_server, browser, team):
    nurse = NurseFactory(teams=[team])
    patient = PatientFactory(care_team=team, given_name="Ken", family_name="Adeyemi")
    alert = make_alert(patient, level="amber", minutes_ago=300)
    context = browser.new_context(
        java_script_enabled=False, viewport={"width": 1280, "height": 900}
    )
    try:
        page = context.new_page()
        sign_in(page, live_server, nurse.username, PASSWORD)
        row = page.locator(f"#alert-row-{alert.pk}")
        expect(row.locator(".overdue")).to_contain_text("Overdue")
        row.get_by_role("button", name=re.compile("Acknowledge")).click()
        expect(page.locator(".message-success")).to_contain_text("acknowledged")
        assert page.url.startswith(f"{live_server.url}/nurse/?")  # back to the same queue
        expect(row).to_contain_text("Acknowledged")
        # Resolve from the row (a native disclosure: no script), first without a note: the
        # alert page shows the form again with the problem next to the field.
        row.locator("summary").click()
        row.get_by_label("Other (see note)", exact=True).check()
        row.get_by_role("button", name="Resolve alert").click()
        expect(page.locator(".error-summary")).to_contain_text("write what the outcome was")
        expect(page.locator(".field-error")).to_contain_text("write what the outcome was")
        page.get_by_label("Advice given by phone", exact=True).check()
        page.get_by_label("Note", exact=True).fill(
            "Loperamide advice; call back if more than 6 stools."
        )
        page.get_by_role("button", name="Resolve alert").click()
        expect(page.locator(".message-success")).to_contain_text("resolved")
        assert page.url.startswith(f"{live_server.url}/nurse/")
        alert.refresh_from_db()
        assert alert.status == AlertStatus.RESOLVED
        assert alert.resolution_note.startswith("Loperamide")
    finally:
        context.close()


def _queue_with_alerts(team):
    """A realistic queue: a red report, an overdue amber, a missed dose, a green."""
    from tests.notifications.dashboard_helpers import report

    red = PatientFactory(care_team=team, given_name="Rose", family_name="Okafor")
    report(red, days_ago=0.01, symptoms={"vomiting_blood": 1, "nausea": 2})
    amber = PatientFactory(care_team=team, given_name="Tom", family_name="Hughes")
    make_alert(
        amber,
        level="amber",
        minutes_ago=290,
        reasons=[{"code": "diarrhoea", "level": "amber", "rule": "grade"}],
    )
    missed = PatientFactory(care_team=team, given_name="Sam", family_name="Clarke")
    make_alert(
        missed,
        level="amber",
        kind="missed_dose",
        minutes_ago=45,
        summary="Missed Sorafenib dose",
        reasons=[
            {"code": "missed_dose", "level": "green", "rule": "2 missed doses"},
            {
                "code": "consecutive_missed_doses",
                "level": "amber",
                "rule": "2 or more consecutive expected doses missed",
            },
        ],
    )
    green = PatientFactory(care_team=team, given_name="Ada", family_name="Nowak")
    make_alert(
        green,
        level="green",
        kind="missed_dose",
        minutes_ago=120,
        summary="Missed Cabozantinib dose",
        reasons=[{"code": "missed_dose", "level": "green", "rule": "1 missed dose"}],
    )
    return red


@pytest.mark.django_db(transaction=True)
def test_dashboard_pages_are_accessible_and_look_calm(
    live_server, page, phone_page, settings, team
):
    nurse = NurseFactory(teams=[team], first_name="Nia", last_name="Evans")
    red_patient = _queue_with_alerts(team)
    priya = PatientFactory(care_team=team, given_name="Priya", family_name="Shah")
    seed_lenvatinib_patient(priya, nurse=nurse)
    red_alert = Alert.objects.get(patient=red_patient)

    for viewport_page, suffix in ((page, "desktop"), (phone_page, "phone")):
        sign_in(viewport_page, live_server, nurse.username, PASSWORD)
        viewport_page.goto(f"{live_server.url}/nurse/")
        expect(viewport_page.locator("table.queue")).to_contain_text("Rose Okafor")
        assert_accessible(viewport_page)
        screenshot(viewport_page, f"nurse-queue-{suffix}")

        viewport_page.goto(f"{live_server.url}/nurse/patients/{priya.pk}/")
        expect(viewport_page.get_by_role("heading", name="Priya Shah")).to_be_visible()
        assert_accessible(viewport_page)
        screenshot(viewport_page, f"nurse-patient-{suffix}")

    page.goto(f"{live_server.url}/nurse/alerts/{red_alert.pk}/")
    expect(page.get_by_text("Vomiting blood").first).to_be_visible()
    assert_accessible(page)  # its screenshot: test_nurse_dashboard_alert_context.py

    # A prescription action sent with problems: the page comes back with them next to the
    # fields and a summary at the top, and is still accessible.
    page.goto(f"{live_server.url}/nurse/patients/{priya.pk}/")
    page.get_by_text("Change dose", exact=False).first.click()
    page.get_by_role("button", name="Change the dose").click()
    expect(page.locator(".error-summary")).to_be_visible()
    expect(page.locator(".error-summary")).to_be_focused()
    expect(page.locator("details.action[open] .field-error").first).to_be_visible()
    assert_accessible(page)

    # An open resolve form in the queue, with its error, is accessible too.
    page.goto(f"{live_server.url}/nurse/")
    row = page.locator(f"#alert-row-{red_alert.pk}")
    row.locator("summary").click()
    row.get_by_role("button", name="Resolve alert").click()
    expect(row.locator(".field-error").first).to_be_visible()
    assert_accessible(page)
