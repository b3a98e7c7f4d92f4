"""The queue groups one patient's open alerts under one row with a count (issue 16, point 3):
the row is the patient's most urgent alert, in queue order; the others are listed in it.
Resolved and "all" lists stay one row per alert (history). Fixed queries per page."""

import pytest
from django.urls import reverse

from notifications.models import AlertKind, AlertStatus
from tests.factories import PatientFactory
from tests.notifications.dashboard_helpers import HTMX, make_alert, row_order, text
from tests.notifications.test_dashboard_queries import queries_for

pytestmark = pytest.mark.django_db


def test_one_row_per_patient_with_their_other_alerts_and_a_count(client, nurse, patient, team):
    other = PatientFactory(care_team=team)
    amber = make_alert(patient, level="amber", minutes_ago=50)
    missed = make_alert(patient, level="green", kind=AlertKind.MISSED_DOSE, minutes_ago=70)
    red = make_alert(patient, level="red", minutes_ago=5)
    theirs = make_alert(other, level="amber", minutes_ago=60)
    client.force_login(nurse)

    response = client.get(reverse("notifications:queue"))

    # The patient's red alert leads their row (red first); the other patient's amber next.
    assert row_order(response) == [red.pk, theirs.pk]
    html = response.content.decode()
    row = html.split(f'id="alert-row-{red.pk}"')[1].split("</tr>")[0]
    assert "2 more alerts" in text_of(row)
    assert f'href="{reverse("notifications:alert", args=[amber.pk])}"' in row
    assert f'href="{reverse("notifications:alert", args=[missed.pk])}"' in row
    # The summary still counts alerts, not rows.
    assert "1 red" in text(response) and "2 amber" in text(response)

    # The live refresh groups the same way.
    rows = client.get(reverse("notifications:queue_rows"), **HTMX)
    assert row_order(rows) == [red.pk, theirs.pk]


def test_resolving_the_lead_alert_brings_the_next_one_up(client, nurse, patient):
    amber = make_alert(patient, level="amber", minutes_ago=50)
    red = make_alert(patient, level="red", minutes_ago=5)
    red.status = AlertStatus.RESOLVED
    red.save()
    client.force_login(nurse)
    response = client.get(reverse("notifications:queue"))
    assert row_order(response) == [amber.pk]
    assert "more alert" not in text(response)


def test_the_resolved_list_keeps_one_row_per_alert(client, nurse, patient):
    first = make_alert(patient, level="amber", status=AlertStatus.RESOLVED, minutes_ago=50)
    second = make_alert(patient, level="red", status=AlertStatus.RESOLVED, minutes_ago=5)
    client.force_login(nurse)
    response = client.get(reverse("notifications:queue"), {"status": "resolved"})
    assert sorted(row_order(response)) == sorted([first.pk, second.pk])


def test_grouping_costs_the_same_queries_for_few_or_many_alerts(client, nurse, patient, team):
    client.force_login(nurse)
    make_alert(patient, level="red")
    make_alert(patient, level="amber")
    few = queries_for(client, reverse("notifications:queue"))
    for _ in range(10):
        someone = PatientFactory(care_team=team)
        for level in ("red", "amber", "green"):
            make_alert(someone, level=level)
    assert queries_for(client, reverse("notifications:queue")) == few


def text_of(html: str) -> str:
    import re

    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).strip()
