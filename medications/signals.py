"""Signals medications sends so that higher apps (notifications) can act without an upward
import. They are sent INSIDE the writing transaction, so a receiver's rows (an alert) commit
or roll back together with the state change that caused them."""

from django.dispatch import Signal

# sender=SymptomReport, report=<SymptomReport> (already triaged and saved)
symptom_report_triaged = Signal()
# sender=DoseLog, log=<DoseLog>, dose=<ExpectedDose> (state already updated)
dose_logged = Signal()
