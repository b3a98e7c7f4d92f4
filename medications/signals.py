"""Signals medications sends so that higher apps (notifications) can act without an upward
import. They are sent INSIDE the writing transaction, so a receiver's rows (an alert) commit
or roll back together with the state change that caused them."""

from collections.abc import Callable

from django.db.models import Expression
from django.dispatch import Signal

# sender=SymptomReport, report=<SymptomReport> (already triaged and saved)
symptom_report_triaged = Signal()
# sender=DoseLog, log=<DoseLog>, dose=<ExpectedDose> (state already updated)
dose_logged = Signal()
# What receivers of dose_logged want read with the dose: name -> a function making an
# expression over the dose's row (OuterRef("prescription_id"), ...). The dose log's one locked
# read of the dose annotates them, and the receiver finds each value as an attribute of
# `dose` (notifications: "does this prescription have an alert a taken dose may close?", so
# that most logs need no query of their own; docs/benchmarks.md, benchmark 2). Registered
# when the receiving app is ready; a dose without the attribute must be treated as "yes".
dose_lock_annotations: dict[str, Callable[[], Expression]] = {}
# A symptom report completed one or more open check-ins (checkins.md): the notifications app
# closes the patient's green "check-in not done" alert, or notes on an amber one that the
# patient has reported. Sent inside the report's transaction; kwargs: patient_id, report,
# check_in_ids.
check_in_completed = Signal()
