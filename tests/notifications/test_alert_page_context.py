"""The alert page shows the alert in its context (issue 16, point 1): the patient's phone as a
tap-to-call link or a red "no phone number recorded"; the treatment now with dose and cycle
day; every dose of the last 7 days; the whole report; temperature and blood pressure of the
last 4 weeks; other alerts of the last 30 days with outcomes. Cycle day on the patient page
too. A fixed number of queries however long the history."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from medications.models import DoseState, ExpectedDose, SymptomReport
from notifications.dashboard.alert_context import cycle_words, infusion_cycle_words
from notifications.models import Alert, AlertOutcome, AlertStatus
from tests.notifications.dashboard_helpers import make_alert
from tests.notifications.helpers import prescribe, triaged_report

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)  # a Friday, GMT


@pytest.fixture
def at_ten():
    with time_machine.travel(NOW, tick=False):
        yield


def _page(client, nurse, alert) -> str:
    client.force_login(nurse)
    response = client.get(reverse("notifications:alert", args=[alert.pk]))
    assert response.status_code == 200
    return response.content.decode()


# --- cycle day (pure) -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("today", "days_on", "days_off", "words"),
    [
        (date(2026, 11, 1), None, None, "Day 1 of treatment (started 1 Nov 2026)"),
        (date(2026, 11, 27), None, None, "Day 27 of treatment (started 1 Nov 2026)"),
        (date(2026, 11, 21), 21, 7, "Cycle 1, day 21 of 28"),
        (date(2026, 11, 22), 21, 7, "Cycle 1, day 22 of 28 (break week: no tablets)"),
        (date(2026, 11, 29), 21, 7, "Cycle 2, day 1 of 28"),
        (date(2026, 10, 30), 21, 7, "Starts 1 Nov 2026"),
    ],
)
def test_cycle_day_counts_from_day_one(today, days_on, days_off, words):
    assert (
        cycle_words(today=today, start=date(2026, 11, 1), days_on=days_on, days_off=days_off)
        == words
    )


def test_infusion_cycle_day_counts_from_the_last_infusion_given():
    assert (
        infusion_cycle_words(today=date(2026, 11, 27), cycle=3, given_on=date(2026, 11, 20))
        == "Cycle 3, day 8 (infusion given 20 Nov)"
    )
    assert infusion_cycle_words(today=date(2026, 11, 27), cycle=1, given_on=None) == (
        "Cycle 1 not given yet"
    )


# --- phone ----------------------------------------------------------------------------------


def test_the_mobile_number_is_a_tap_to_call_link(client, nurse, patient):
    patient.mobile_phone = "07700 900123"
    patient.save()
    page = _page(client, nurse, make_alert(patient))
    assert 'href="tel:07700900123"' in page and "07700 900123" in page
    assert "No phone number recorded" not in page


def test_no_number_says_so_in_red(client, nurse, patient):
    patient.mobile_phone = ""
    patient.save()
    page = _page(client, nurse, make_alert(patient))
    assert 'class="no-phone"' in page and "No phone number recorded" in page
    assert 'href="tel:' not in page.split('class="no-phone"')[0].split("alert-heading")[-1]


# --- treatment, doses, report, vitals, previous alerts ------------------------------------------


def test_the_page_shows_treatment_doses_the_whole_report_vitals_and_earlier_alerts(
    at_ten, client, nurse, patient
):
    sorafenib = prescribe(patient, "sorafenib", now=datetime(2026, 11, 20, 7, 0, tzinfo=UTC))
    # Last 7 days: Tuesday evening missed, Wednesday morning skipped (ran out), the rest taken.
    for dose in ExpectedDose.objects.filter(prescription=sorafenib, due_at__lt=NOW):
        dose.state, dose.taken_at = DoseState.TAKEN, dose.due_at + timedelta(minutes=10)
        if dose.due_at == datetime(2026, 11, 24, 20, 0, tzinfo=UTC):
            dose.state, dose.taken_at = DoseState.MISSED, None
        if dose.due_at == datetime(2026, 11, 25, 8, 0, tzinfo=UTC):
            dose.state, dose.taken_at, dose.skip_reason = DoseState.SKIPPED, None, "ran_out"
        dose.save()
    SymptomReport.objects.create(
        patient=patient,
        reported_at=NOW - timedelta(days=20),
        symptoms=[],
        temperature_c=Decimal("36.8"),
        systolic_bp=128,
        diastolic_bp=82,
    )
    SymptomReport.objects.create(
        patient=patient,
        reported_at=NOW - timedelta(days=40),
        symptoms=[],
        systolic_bp=199,
        diastolic_bp=99,
    )
    earlier = make_alert(patient, level="amber", minutes_ago=60 * 24 * 10)
    Alert.objects.filter(pk=earlier.pk).update(
        status=AlertStatus.RESOLVED,
        outcome=AlertOutcome.ADVICE_BY_PHONE,
        resolution_note="Loperamide advice given.",
        resolved_by=nurse,
    )
    make_alert(patient, level="green", minutes_ago=60 * 24 * 45)  # older than 30 days
    report = triaged_report(
        patient,
        level="red",
        notes="Feels shivery since last night.",
        symptoms=[
            {"code": "diarrhoea", "grade": 2},
            {"code": "hand_foot", "grade": 0},
            {"code": "shivering", "grade": 1},
        ],
    )
    SymptomReport.objects.filter(pk=report.pk).update(
        temperature_c=Decimal("38.4"),
        systolic_bp=152,
        diastolic_bp=94,
        triage_item_levels={"diarrhoea": "amber", "shivering": "red", "temperature": "red"},
    )
    alert = Alert.objects.get(symptom_report=report)

    page = _page(client, nurse, alert)

    # Treatment now, with its dose and cycle day (started 20 Nov: today is day 8).
    assert "Sorafenib</strong> 400 mg twice daily (08:00, 20:00)" in page
    assert "Day 8 of treatment (started 20 Nov 2026)" in page
    # Doses of the last 7 days, each with its state, newest first.
    doses = page.split('id="doses-title"')[1].split("</section>")[0]
    assert doses.count("<tr class=") == 14  # 7 local days x 2, tonight's (to come) included
    assert "Tue 24 Nov, 20:00" in doses and "Missed" in doses
    assert "ran out of tablets" in doses
    assert "Sat 21 Nov, 08:00" in doses and "Fri 20 Nov" not in doses  # Sat 21st to today
    # The whole report: every item with its grade (grade 0 too) and level, measurements, note.
    report_html = page.split('id="report-title"')[1].split("</section>")[0]
    for words in ("Diarrhoea", "grade 2", "grade 0", "present", "38.4 °C", "152/94 mmHg"):
        assert words in report_html, words
    assert "Feels shivery since last night." in report_html
    # Vitals of the last 4 weeks (the 40-day-old reading is left out), with charts.
    vitals = page.split('id="vitals-title"')[1].split("</section>")[0]
    assert "36.8 °C" in vitals and "128/82 mmHg" in vitals and "199/99" not in vitals
    assert "<svg" in vitals
    # Other alerts of the last 30 days with outcome and note; not older ones.
    previous = page.split('id="previous-title"')[1].split("</section>")[0]
    assert "Advice given by phone" in previous and "Loperamide advice given." in previous
    assert previous.count("<td><a href") == 1


def test_the_patient_page_shows_the_cycle_day(at_ten, client, nurse, patient):
    prescribe(patient, "sorafenib", now=datetime(2026, 11, 20, 7, 0, tzinfo=UTC))
    client.force_login(nurse)
    page = client.get(reverse("notifications:patient", args=[patient.pk])).content.decode()
    assert "Day 8 of treatment (started 20 Nov 2026)" in page


def _queries(client, url) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


def test_the_alert_page_reads_a_fixed_number_of_queries(at_ten, client, nurse, patient):
    prescribe(patient, "sorafenib", now=datetime(2026, 11, 20, 7, 0, tzinfo=UTC))
    alert = make_alert(patient)
    client.force_login(nurse)
    url = reverse("notifications:alert", args=[alert.pk])
    client.get(url)
    few = _queries(client, url)
    for day in range(20):
        SymptomReport.objects.create(
            patient=patient,
            reported_at=NOW - timedelta(days=day, hours=1),
            symptoms=[{"code": "fatigue", "grade": 1}],
            temperature_c=Decimal("37.0"),
            systolic_bp=130,
            diastolic_bp=80,
        )
        make_alert(patient, level="amber", minutes_ago=60 * 24 * day + 30)
    assert _queries(client, url) == few


def test_the_alert_page_lists_open_and_scheduled_check_ins(at_ten, client, nurse, patient):
    from medications.models import CheckIn, CheckInKind, CheckInStatus

    CheckIn.objects.create(
        patient=patient,
        kind=CheckInKind.FOLLOW_UP,
        source_key="follow_up:page",
        opens_at=NOW + timedelta(hours=2),
        closes_at=NOW + timedelta(hours=74),
        status=CheckInStatus.SCHEDULED,
        focus_codes=["diarrhoea"],
    )
    CheckIn.objects.create(
        patient=patient,
        kind=CheckInKind.WEEKLY,
        source_key="weekly:done",
        opens_at=NOW - timedelta(days=7),
        closes_at=NOW - timedelta(days=4),
        status=CheckInStatus.COMPLETED,
    )
    page = _page(client, nurse, make_alert(patient))
    section = page.split('id="check-ins-title"')[1].split("</section>")[0]
    assert "Follow-up of an amber report" in section and "Diarrhoea" in section
    assert "Weekly check-in" not in section  # completed: not to come
