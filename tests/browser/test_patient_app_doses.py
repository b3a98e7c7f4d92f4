"""Logging doses as they happened, on a touch phone (390x844): "when did you take it?",
History logging of the last 72 hours, and "I forgot" with and without JavaScript
(issue 13, point 1; clinical/adherence.md "When it was taken", "I forgot")."""

from datetime import timedelta

import pytest

from medications.models import DoseState, ExpectedDose
from tests.browser.conftest import assert_accessible, screenshot, sign_in
from tests.browser.patient_helpers import sorafenib_patient, touch_phone
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db(transaction=True)


def test_say_when_a_dose_was_taken_and_forgot_gives_the_rule(live_server, browser):
    patient, (first, second) = sorafenib_patient(due_minutes_ago=(90, 30))
    context, page = touch_phone(browser)
    try:
        sign_in(page, live_server, patient.user.username, PASSWORD)
        card = page.locator(f"#dose-{first.pk}")
        card.get_by_text("Took it earlier? Say when").tap()
        taken = first.due_at.astimezone(patient.zone) + timedelta(minutes=5)
        card.get_by_label("Time").fill(f"{taken:%H:%M}")
        assert "Any time from" in card.inner_text()
        assert_accessible(page)
        screenshot(page, "patient-say-when-phone")
        card.get_by_role("button", name="Save: I took it then").tap()
        card.get_by_text("You took it at").wait_for()
        assert f"{taken:%H:%M}" in card.locator(".dose-done").inner_text()
        first.refresh_from_db()
        assert first.state == DoseState.TAKEN
        assert first.taken_at.astimezone(patient.zone).strftime("%H:%M") == f"{taken:%H:%M}"

        # "I forgot" in the card (JavaScript on): the drug's rule now, and the advice line.
        other = page.locator(f"#dose-{second.pk}")
        other.get_by_role("link", name="Not taken").tap()
        other.get_by_role("group", name="Why did you not take it?").wait_for()
        rule = other.locator(".forgot-rule").inner_text()
        assert "you can still take it until" in rule and "0161 446 3658" in rule
        assert_accessible(page)
        other.get_by_label("I forgot").check()
        other.get_by_role("button", name="Save").tap()
        other.get_by_text("You did not take it").wait_for()
        status = page.locator("#dose-status").inner_text()
        assert "Reason: I forgot." in status and "(i forgot)" not in status
    finally:
        context.close()


def test_forgot_rule_without_javascript(live_server, browser):
    patient, (first, _) = sorafenib_patient(due_minutes_ago=(90, 30))
    context, page = touch_phone(browser, java_script_enabled=False)
    try:
        sign_in(page, live_server, patient.user.username, PASSWORD)
        page.locator(f"#dose-{first.pk}").get_by_role("link", name="Not taken").tap()
        page.get_by_role("heading", name="Not taking this dose").wait_for()
        rule = page.locator(".forgot-rule").inner_text()
        assert "you can still take it until" in rule and "0161 446 3658" in rule
        page.get_by_label("I forgot").check()
        page.get_by_role("button", name="Save").tap()
        page.wait_for_load_state()
        assert "Reason: I forgot." in page.locator(".messages").inner_text()
    finally:
        context.close()


def test_history_records_a_dose_from_yesterday(live_server, browser):
    patient, doses = sorafenib_patient(due_minutes_ago=(90,), recorded_hours_ago=40)
    yesterday = doses[0]
    assert yesterday.due_at < doses[-1].due_at - timedelta(hours=20)
    ExpectedDose.objects.filter(pk=yesterday.pk).update(state=DoseState.MISSED)
    context, page = touch_phone(browser)
    try:
        sign_in(page, live_server, patient.user.username, PASSWORD)
        page.goto(f"{live_server.url}/me/history/")
        line = page.locator(f"#dose-{yesterday.pk}")
        line.get_by_text("Record this dose").tap()
        due = yesterday.due_at.astimezone(patient.zone)
        line.get_by_label("Day").select_option(due.date().isoformat())
        line.get_by_label("Time").fill(f"{due + timedelta(minutes=10):%H:%M}")
        assert_accessible(page)
        screenshot(page, "patient-history-record-phone")
        line.get_by_role("button", name="Save: I took it").tap()
        page.wait_for_url("**/me/history/**")
        assert "recorded as taken at" in page.locator(".messages").inner_text()
        yesterday.refresh_from_db()
        assert yesterday.state == DoseState.TAKEN and yesterday.logged_later
    finally:
        context.close()
