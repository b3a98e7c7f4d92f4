"""Signals medications sends so that higher apps (notifications) can act without an upward
import. They are sent INSIDE the writing transaction, so a receiver's rows (an alert) commit
or roll back together with the state change that caused them."""

from django.dispatch import Signal

# sender=SymptomReport, report=<SymptomReport> (already triaged and saved)
symptom_report_triaged = Signal()
# sender=DoseLog, log=<DoseLog>, dose=<ExpectedDose> (state already updated)
dose_logged = Signal()
# A symptom report completed one or more open check-ins (checkins.md): the notifications app
# closes the patient's green "check-in not done" alert, or notes on an amber one that the
# patient has reported. Sent inside the report's transaction; kwargs: patient_id, report,
# check_in_ids.
check_in_completed = Signal()
