"""History on a touch phone (390x844; issue 13 point 5): an infusion-only patient (the
demo's tom) sees their infusion calendar, not weeks of "no tablets planned"; a dose still
inside its window is not counted as not taken."""

import pytest
from django.conf import settings

from tests.browser.conftest import assert_accessible, screenshot, sign_in
from tests.browser.patient_helpers import sorafenib_patient, touch_phone
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db(transaction=True)


def test_infusion_only_history_is_an_infusion_calendar(live_server, browser):
    from tracker.demo import seed_demo

    seed_demo()
    context, page = touch_phone(browser)
    try:
        sign_in(page, live_server, "tom", settings.DEMO_PASSWORD)
        page.goto(f"{live_server.url}/me/history/")
        page.get_by_role(
            "heading", name="Your infusions: the last 6 weeks and the next 3"
        ).wait_for()
        calendar = page.locator("table.dose-calendar").inner_text()
        cells = page.locator("table.dose-calendar").text_content()
        assert "no tablets planned" not in cells
        assert "Drip" in calendar
        assert_accessible(page)
        screenshot(page, "patient-history-infusion-phone")
    finally:
        context.close()


def test_a_dose_inside_its_window_does_not_lower_the_figures(live_server, browser):
    patient, doses = sorafenib_patient(due_minutes_ago=(30,), recorded_hours_ago=1)
    context, page = touch_phone(browser)
    try:
        sign_in(page, live_server, patient.user.username, PASSWORD)
        page.goto(f"{live_server.url}/me/history/")
        figures = page.get_by_role("region", name="Doses taken").inner_text()
        assert "0 of 1" not in figures
        assert "No doses were due in these days." in figures
    finally:
        context.close()
