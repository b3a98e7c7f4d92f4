"""Queue and patient list (issue 16, point 4): the inline Resolve form shows every outcome in
full; new red alerts carry what the opt-in sound and desktop notification need; the patient
list shows drug, 7-day adherence, last report and open alerts and sorts by each, in a fixed
number of queries; nurse pages do not carry the patients' 999 footer."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.urls import reverse

from medications.models import DoseState, ExpectedDose, SymptomReport
from notifications.models import AlertOutcome
from tests.factories import PatientFactory
from tests.notifications.dashboard_helpers import make_alert
from tests.notifications.helpers import prescribe
from tests.notifications.test_dashboard_queries import queries_for

pytestmark = pytest.mark.django_db

FOOTER = "In an emergency – collapse"
NOW = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)


def test_nurse_pages_have_no_999_footer_patient_pages_keep_it(client, nurse, patient):
    alert = make_alert(patient)
    client.force_login(nurse)
    for url in (
        reverse("notifications:queue"),
        reverse("notifications:patients"),
        reverse("notifications:alert", args=[alert.pk]),
        reverse("notifications:patient", args=[patient.pk]),
    ):
        assert FOOTER not in client.get(url).content.decode(), url
    client.force_login(patient.user)
    assert FOOTER in client.get(reverse("medications:today")).content.decode()


def test_the_inline_resolve_form_shows_every_outcome_in_full(client, nurse, patient):
    alert = make_alert(patient)
    client.force_login(nurse)
    row = (
        client.get(reverse("notifications:queue"))
        .content.decode()
        .split(f'id="alert-row-{alert.pk}"')[1]
        .split("</tr>")[0]
    )
    for value, label in AlertOutcome.choices:
        assert f'type="radio" name="alert{alert.pk}-outcome" value="{value}"' in row
        assert f">{label}</label>" in row
    assert "<select" not in row.split("-outcome")[0]  # no cut-off drop-down for the outcome


def test_a_new_red_alert_is_marked_for_the_sound_and_desktop_notification(client, nurse, patient):
    client.force_login(nurse)
    page = client.get(reverse("notifications:queue")).content.decode()
    assert 'id="red-alert-notify"' in page and 'id="notify-desktop"' in page
    red = make_alert(patient, level="red")
    pulse = client.get(reverse("notifications:queue_pulse"), {"red_base": 0, "red_seen": 0})
    assert f'data-red-alert-id="{red.pk}"' in pulse.content.decode()
    # Announced once: a pulse that has seen it says nothing new.
    again = client.get(reverse("notifications:queue_pulse"), {"red_base": 0, "red_seen": red.pk})
    assert "data-red-alert-id" not in again.content.decode()


@pytest.fixture
def people(team):
    """Three patients: Adams on sorafenib taking every dose with a green report yesterday and
    a red alert; Brown on lenvatinib missing half; Clark with nothing."""
    with time_machine.travel(NOW, tick=False):
        adams = PatientFactory(care_team=team, family_name="Adams")
        brown = PatientFactory(care_team=team, family_name="Brown")
        clark = PatientFactory(care_team=team, family_name="Clark")
        start = NOW - timedelta(days=10)
        rx_a = prescribe(adams, "sorafenib", now=start)
        rx_b = prescribe(brown, "lenvatinib", now=start, times=("09:00",))
        ExpectedDose.objects.filter(prescription=rx_a, due_at__lt=NOW).update(state=DoseState.TAKEN)
        for i, dose in enumerate(
            ExpectedDose.objects.filter(prescription=rx_b, due_at__lt=NOW).order_by("due_at")
        ):
            dose.state = DoseState.TAKEN if i % 2 else DoseState.MISSED
            dose.save()
        SymptomReport.objects.create(
            patient=adams, reported_at=NOW - timedelta(days=1), triage_level="green"
        )
        SymptomReport.objects.create(
            patient=brown, reported_at=NOW - timedelta(days=3), triage_level="amber"
        )
        make_alert(adams, level="red")
        make_alert(brown, level="amber")
        make_alert(brown, level="green")
    return adams, brown, clark


def _names(response) -> list[str]:
    import re

    return re.findall(r'href="/nurse/patients/\d+/">(\w+),', response.content.decode())


def test_the_list_shows_drug_adherence_last_report_and_open_alerts(client, nurse, people):
    client.force_login(nurse)
    with time_machine.travel(NOW, tick=False):
        response = client.get(reverse("notifications:patients"))
    html = response.content.decode()
    adams_row = html.split(">Adams,")[1].split("</tr>")[0]
    assert "Sorafenib" in adams_row and "100%" in adams_row
    assert "Green</span> 26 Nov 2026" in adams_row and "1 red" in adams_row
    brown_row = html.split(">Brown,")[1].split("</tr>")[0]
    assert "Lenvatinib" in brown_row and 'class="adherence-low"' in brown_row
    assert "1 amber" in brown_row and "1 green" in brown_row
    clark_row = html.split(">Clark,")[1].split("</tr>")[0]
    assert "No doses due" in clark_row and "None current" in clark_row


@pytest.mark.parametrize(
    ("query", "order"),
    [
        ({}, ["Adams", "Brown", "Clark"]),
        ({"sort": "name", "dir": "desc"}, ["Clark", "Brown", "Adams"]),
        ({"sort": "drug"}, ["Brown", "Adams", "Clark"]),  # lenvatinib, sorafenib, none
        ({"sort": "adherence"}, ["Brown", "Adams", "Clark"]),  # lowest first, none last
        ({"sort": "adherence", "dir": "desc"}, ["Adams", "Brown", "Clark"]),
        ({"sort": "report"}, ["Adams", "Brown", "Clark"]),  # newest first
        ({"sort": "alerts"}, ["Adams", "Brown", "Clark"]),  # red, then amber, then none
    ],
)
def test_the_list_sorts_by_each_column(client, nurse, people, query, order):
    client.force_login(nurse)
    with time_machine.travel(NOW, tick=False):
        response = client.get(reverse("notifications:patients"), query)
    assert _names(response) == order
    if query.get("sort"):
        assert 'aria-sort="' in response.content.decode()


@pytest.mark.parametrize("sort", ["name", "drug", "adherence", "report", "alerts"])
def test_the_list_costs_the_same_queries_for_3_or_30_patients(client, nurse, team, people, sort):
    client.force_login(nurse)
    url = reverse("notifications:patients") + f"?sort={sort}"
    few = queries_for(client, url)
    for _ in range(27):
        someone = PatientFactory(care_team=team)
        prescribe(someone, "sorafenib", now=NOW - timedelta(days=3))
        make_alert(someone, level="amber")
    assert queries_for(client, url) == few
