"""Writes for medications, one module per aggregate: prescriptions and their clinical
decisions, expected doses (schedules), dose logs, infusion courses, and the prescribing
checks around them.

Clinical rules: ../shared/clinical/drugs.md and adherence.md. Pure logic lives in
schedule.py (due times, late windows), checks.py (prescribing checks), ladders.py (dose
levels) and adherence.py; these modules read and write rows around them. Every function is
keyword-only and atomic; bad input raises django ValidationError naming each field (the API
turns it into a 400) and leaves nothing half-written. The public names are re-exported
here: `from medications.services import dose_log`.
"""

from .common import CLOCK_SKEW
from .doses import EARLY_LOGGING, PATIENT_LOGGING_PERIOD, REPLAY_WINDOW, DoseLogResult, dose_log
from .infusions import (
    APPOINTMENTS_AHEAD,
    ATEZOLIZUMAB_FIRST_MINUTES,
    ATEZOLIZUMAB_LATER_MINUTES,
    BEVACIZUMAB_DISPLAY_STEP_MG,
    BEVACIZUMAB_MG_PER_KG,
    bevacizumab_dose_mg,
    infusion_appointments_extend,
    infusion_course_create,
    infusion_course_stop,
    infusion_doses,
    infusion_mark_given,
    infusion_reschedule,
)
from .prescribing import PrescribingChecksNotMet, proposed_dose_mg, treatment_history
from .prescriptions import (
    clean_times,
    prescription_change_dose,
    prescription_create,
    prescription_hold,
    prescription_resume,
    prescription_stop,
)
from .schedules import (
    ACTIVE_DOSE_STATES,
    GENERATION_BATCH,
    HORIZON,
    expected_doses_generate,
    expected_doses_sync,
    late_window_for,
    plan_for,
    prescription_statuses_refresh,
    regimens_for,
)

__all__ = [
    "clean_times",
    "ACTIVE_DOSE_STATES",
    "APPOINTMENTS_AHEAD",
    "ATEZOLIZUMAB_FIRST_MINUTES",
    "ATEZOLIZUMAB_LATER_MINUTES",
    "BEVACIZUMAB_DISPLAY_STEP_MG",
    "BEVACIZUMAB_MG_PER_KG",
    "CLOCK_SKEW",
    "DoseLogResult",
    "EARLY_LOGGING",
    "GENERATION_BATCH",
    "HORIZON",
    "PrescribingChecksNotMet",
    "PATIENT_LOGGING_PERIOD",
    "REPLAY_WINDOW",
    "bevacizumab_dose_mg",
    "dose_log",
    "expected_doses_generate",
    "expected_doses_sync",
    "infusion_appointments_extend",
    "infusion_course_create",
    "infusion_course_stop",
    "infusion_doses",
    "infusion_mark_given",
    "infusion_reschedule",
    "late_window_for",
    "plan_for",
    "prescription_change_dose",
    "prescription_create",
    "prescription_hold",
    "prescription_resume",
    "prescription_statuses_refresh",
    "prescription_stop",
    "proposed_dose_mg",
    "regimens_for",
    "treatment_history",
]
