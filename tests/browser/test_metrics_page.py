"""/nurse/metrics/ in real Chromium: reached from the nurse navigation, charts and tables
shown, the CSV downloaded, a bad date answered next to the field; axe-core finds no serious
or critical problem (desktop and phone). Screenshots for docs/nurse-dashboard.md."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from notifications.models import Alert, AlertKind, AlertOutcome
from tests.browser.conftest import assert_accessible, screenshot, sign_in
from tests.factories import PASSWORD, PatientFactory


def history(team):
    patient = PatientFactory(care_team=team)
    now = timezone.now()
    for i, (level, kind) in enumerate(
        [("red", AlertKind.SYMPTOM), ("amber", AlertKind.MISSED_DOSE), ("amber", AlertKind.SUPPLY)]
        * 6
    ):
        created = now - timedelta(days=i + 1, hours=i * 5)
        within = timedelta(minutes=30 if level == "red" else 240)
        Alert.objects.create(
            patient=patient,
            care_team=team,
            kind=kind,
            level=level,
            status="resolved",
            created_at=created,
            due_by=created + within,
            acknowledged_at=created + timedelta(minutes=7 * (i + 1)),
            resolved_at=created + timedelta(minutes=40 * (i + 1)),
            outcome=[AlertOutcome.ADVICE_BY_PHONE, AlertOutcome.SAME_DAY_ASSESSMENT][i % 2],
        )


@pytest.mark.django_db(transaction=True)
def test_metrics_page_from_the_navigation(live_server, page, phone_page, nurse, team):
    history(team)
    sign_in(page, live_server, nurse.username, PASSWORD)
    page.goto(f"{live_server.url}/nurse/")
    page.get_by_role("link", name="Metrics").click()
    assert page.get_by_role("heading", name="Advice-line metrics").is_visible()
    assert page.locator("svg.nd-chart").count() == 9
    assert page.get_by_role("table", name="Time to acknowledge").is_visible()
    assert_accessible(page)
    screenshot(page, "nurse-metrics-desktop")

    with page.expect_download() as download:
        page.get_by_role("link", name="Download these figures (CSV)").click()
    body = download.value.path().read_text()
    assert body.splitlines()[1] == "Table,Row,Column,Value,Number"
    assert "Alerts by kind and level,All kinds,All levels,18,18" in body

    page.get_by_label("From", exact=False).first.fill("2099-01-01")
    page.get_by_role("button", name="Show").click()
    assert page.get_by_role("heading", name="There is a problem").is_visible()
    assert "The end date cannot be in the future" not in page.content()
    assert "The start date must be on or before the end date." in page.content()
    assert_accessible(page)

    sign_in(phone_page, live_server, nurse.username, PASSWORD)
    phone_page.goto(f"{live_server.url}/nurse/metrics/")
    assert_accessible(phone_page)
    screenshot(phone_page, "nurse-metrics-phone")
