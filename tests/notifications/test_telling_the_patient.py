"""checkins.md, "Telling the patient": a report's status follows its alert. Acknowledged ->
"seen" with the time; resolved -> "closed" with the outcome in the patient's words and the
nurse's optional message; the nurse's note never reaches the report."""

import pytest
from django.utils import timezone

from medications.models import SymptomReport
from notifications import services
from notifications.models import Alert
from tests.notifications.helpers import triaged_report

pytestmark = pytest.mark.django_db


def test_a_report_is_sent_then_seen_then_closed_with_the_outcome_in_plain_words(patient, nurse):
    report = triaged_report(patient, level="red")
    assert report.status == "sent"
    alert = Alert.objects.get(symptom_report=report)

    services.alert_acknowledge(alert=alert, user=nurse)
    report.refresh_from_db()
    assert report.status == "seen" and report.seen_at is not None
    seen_at = report.seen_at

    services.alert_resolve(
        alert=alert,
        user=nurse,
        outcome="same_day_assessment",
        note="Spoke to daughter; bloods today. Internal detail.",
        message_to_patient="Please come to the day unit by 2 pm.",
    )
    report.refresh_from_db()
    assert report.status == "closed"
    assert report.seen_at == seen_at  # the first time it was seen stays
    assert report.outcome_text == "You were asked to come in to be seen."
    assert report.message_to_patient == "Please come to the day unit by 2 pm."
    assert "Internal" not in report.outcome_text + report.message_to_patient


def test_resolving_without_acknowledging_counts_as_seen_and_other_reports_are_untouched(
    patient, nurse
):
    report = triaged_report(patient, level="amber")
    other = triaged_report(patient, level="green")
    alert = Alert.objects.get(symptom_report=report)
    before = timezone.now()
    services.alert_resolve(alert=alert, user=nurse, outcome="no_action_needed", note="Fine.")
    report.refresh_from_db()
    assert report.status == "closed" and report.seen_at >= before
    assert report.outcome_text == "Your team looked at this; nothing else is needed now."
    assert report.message_to_patient == ""
    assert SymptomReport.objects.get(pk=other.pk).status == "sent"
