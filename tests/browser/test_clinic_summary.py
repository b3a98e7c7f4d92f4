"""The clinic summary printed by real Chromium: 28 days of daily logs fit on at most two A4
pages (the print styles hide the dashboard around it), and the page passes axe-core."""

from __future__ import annotations

import io

import pytest
from pypdf import PdfReader

from tests.browser.conftest import assert_accessible, screenshot, sign_in
from tests.factories import PASSWORD
from tests.interop.summary_data import twenty_eight_days


@pytest.mark.django_db(transaction=True)
def test_the_summary_prints_on_at_most_two_a4_pages(live_server, page, patient, nurse):
    twenty_eight_days(patient, nurse)
    sign_in(page, live_server, nurse.username, PASSWORD)
    page.goto(f"{live_server.url}/nurse/patients/{patient.pk}/summary/")
    assert page.get_by_role("heading", name=f"Clinic summary: {patient.full_name}").is_visible()
    assert_accessible(page)
    screenshot(page, "nurse-clinic-summary-desktop")

    pdf = page.pdf(format="A4", print_background=True)
    reader = PdfReader(io.BytesIO(pdf))
    assert 1 <= len(reader.pages) <= 2
    text = " ".join(p.extract_text() for p in reader.pages)
    assert patient.full_name in text and "Adherence" in text and "Alerts" in text
    # The dashboard around the summary is not printed.
    assert "Alert queue" not in text and "Show this period" not in text
    (screenshot.__globals__["SCREENSHOTS"] / "nurse-clinic-summary-print.pdf").write_bytes(pdf)
