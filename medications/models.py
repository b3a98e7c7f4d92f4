"""What patients take and what it does to them.

Clinical reference: ../shared/clinical/drugs.md, adherence.md and triage.md. Every number a
Trust may want to change (late windows, ladders, triage thresholds) is data in these tables,
never code.
"""

from datetime import timedelta

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone

from patients.models import Patient

from . import adherence
from .fields import OrderedJSONField


class Route(models.TextChoices):
    ORAL = "oral", "Oral (tablets or capsules at home)"
    INTRAVENOUS = "iv", "Intravenous infusion (in hospital)"


class LateWindowRule(models.TextChoices):
    HOURS = "hours", "A number of hours after the due time"
    SAME_DAY = "same_day", "Until the end of the same calendar day (patient's time)"


class Drug(models.Model):
    code = models.SlugField(max_length=32, unique=True)
    name = models.CharField(max_length=80)
    brand = models.CharField(max_length=120)
    route = models.CharField(max_length=8, choices=Route)
    form = models.CharField(max_length=200, help_text="e.g. 200 mg tablets")
    strengths_mg = models.JSONField(default=list, blank=True, help_text="Unit strengths, mg.")
    standard_dose_mg = models.DecimalField(max_digits=7, decimal_places=2, null=True, blank=True)
    standard_dose_text = models.CharField(max_length=200)
    doses_per_day = models.PositiveSmallIntegerField(null=True, blank=True)
    schedule_text = models.CharField(max_length=200)
    food_rule = models.TextField(blank=True)
    line_of_therapy = models.CharField(max_length=120, blank=True)
    late_window_rule = models.CharField(
        max_length=16, choices=LateWindowRule, default=LateWindowRule.HOURS
    )
    late_window_hours = models.DecimalField(
        max_digits=5,
        decimal_places=2,
        null=True,
        blank=True,
        help_text="For the 'hours' rule: how long after the due time a dose may still be taken.",
    )
    missed_dose_advice = models.TextField(blank=True, help_text="What the patient is told.")
    dose_ladder = models.JSONField(
        default=list, blank=True, help_text="Dose-reduction levels, highest first (see drugs.md)."
    )
    default_cycle_days_on = models.PositiveSmallIntegerField(null=True, blank=True)
    default_cycle_days_off = models.PositiveSmallIntegerField(null=True, blank=True)
    interval_days = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="For infusions: days between appointments."
    )
    atc_code = models.CharField("ATC code", max_length=16, blank=True)
    snomed_code = models.CharField("SNOMED CT substance", max_length=32, blank=True)
    common_side_effects = models.TextField(blank=True)
    urgent_warning_signs = models.TextField(blank=True)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["route", "name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.brand})"


class PrescriptionStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    HELD = "held", "On hold"
    STOPPED = "stopped", "Stopped"


class PrescriptionQuerySet(models.QuerySet):
    def current(self):
        return self.exclude(status=PrescriptionStatus.STOPPED)


class Prescription(models.Model):
    """An oral drug a patient takes at home on a daily schedule, optionally in cycles."""

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="prescriptions")
    drug = models.ForeignKey(Drug, on_delete=models.PROTECT, related_name="prescriptions")
    dose_mg = models.DecimalField(max_digits=7, decimal_places=2)
    times = models.JSONField(help_text='Local times of day, e.g. ["08:00", "20:00"].')
    start_date = models.DateField()
    end_date = models.DateField(null=True, blank=True)
    cycle_days_on = models.PositiveSmallIntegerField(null=True, blank=True)
    cycle_days_off = models.PositiveSmallIntegerField(null=True, blank=True)
    status = models.CharField(
        max_length=8, choices=PrescriptionStatus, default=PrescriptionStatus.ACTIVE
    )
    recorded_at = models.DateTimeField(default=timezone.now)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    warnings = models.JSONField(default=list, blank=True)
    override_reason = models.TextField(blank=True)
    stopped_at = models.DateTimeField(null=True, blank=True)
    # Expected doses exist up to this instant; the daily job extends it.
    generated_until = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = PrescriptionQuerySet.as_manager()

    class Meta:
        ordering = ["-recorded_at"]
        indexes = [models.Index(fields=["patient", "status"])]

    def __str__(self) -> str:
        return f"{self.drug.name} {self.dose_mg:g} mg for {self.patient.full_name}"


class PrescriptionEventKind(models.TextChoices):
    CREATED = "created", "Prescribed"
    HOLD = "hold", "Put on hold"
    RESUME = "resume", "Resumed"
    DOSE_CHANGE = "dose_change", "Dose changed"
    STOP = "stop", "Stopped"


class PrescriptionEvent(models.Model):
    """A clinical decision on a prescription, with who, when, why: the history staff see."""

    prescription = models.ForeignKey(Prescription, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=16, choices=PrescriptionEventKind)
    effective_at = models.DateTimeField()
    until = models.DateTimeField(null=True, blank=True)
    reason = models.TextField()
    override_reason = models.TextField(blank=True)
    data = models.JSONField(default=dict, blank=True)
    recorded_at = models.DateTimeField(default=timezone.now)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["effective_at", "id"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} at {self.effective_at:%Y-%m-%d %H:%M}"


class PrescriptionHold(models.Model):
    """An interruption: doses due inside [starts_at, ends_at) are held, never missed."""

    prescription = models.ForeignKey(Prescription, on_delete=models.CASCADE, related_name="holds")
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField(null=True, blank=True)
    reason = models.TextField()
    recorded_at = models.DateTimeField(default=timezone.now)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["starts_at"]

    def __str__(self) -> str:
        return f"Hold from {self.starts_at:%Y-%m-%d %H:%M}"


class DoseState(models.TextChoices):
    """Stored states. `upcoming` and `due` are computed from PENDING and the clock."""

    PENDING = "pending", "Pending"
    TAKEN = "taken", "Taken"
    TAKEN_LATE = "taken_late", "Taken late"
    SKIPPED = "skipped", "Not taken"
    MISSED = "missed", "Missed"
    HELD = "held", "Held"


# A dose recorded this long after the time it was taken shows as "logged later" to staff.
LOGGED_LATER_AFTER = timedelta(minutes=30)


class ExpectedDose(models.Model):
    # No index of their own: the biggest table's two foreign keys lead the unique
    # (prescription, due_at) and the (patient, due_at) index, which serve every lookup by
    # either (and each index costs every dose generated, logged or marked missed).
    prescription = models.ForeignKey(
        Prescription, on_delete=models.CASCADE, related_name="expected_doses", db_index=False
    )
    patient = models.ForeignKey(
        Patient, on_delete=models.CASCADE, related_name="expected_doses", db_index=False
    )
    due_at = models.DateTimeField()
    late_until = models.DateTimeField()
    dose_mg = models.DecimalField(max_digits=7, decimal_places=2)
    state = models.CharField(max_length=12, choices=DoseState, default=DoseState.PENDING)
    state_changed_at = models.DateTimeField(null=True, blank=True)
    taken_at = models.DateTimeField(null=True, blank=True)
    skip_reason = models.CharField(max_length=16, blank=True)
    # Dose reminders (written by notifications' reminder sweep): when the first reminder was
    # claimed, how many repeats have been claimed since (adherence.md: at +30 min and +2 h
    # while the dose is unlogged), and when the next repeat is due (None: no more repeats).
    reminder_sent_at = models.DateTimeField(null=True, blank=True)
    reminder_repeats = models.PositiveSmallIntegerField(default=0, db_default=0)
    next_reminder_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["due_at"]
        constraints = [
            models.UniqueConstraint(fields=["prescription", "due_at"], name="one_dose_per_time")
        ]
        indexes = [
            models.Index(fields=["patient", "due_at"]),
            # (prescription, due_at): the unique constraint's index.
            # The missed-dose sweep's "look at this next" index.
            models.Index(
                fields=["late_until"], condition=Q(state="pending"), name="pending_dose_late_until"
            ),
            models.Index(
                fields=["due_at"],
                condition=Q(state="pending", reminder_sent_at__isnull=True),
                name="dose_reminder_due",
            ),
            # The reminder sweep's repeats: only doses still unlogged with a repeat to come.
            models.Index(
                fields=["next_reminder_at"],
                condition=Q(state="pending", next_reminder_at__isnull=False),
                name="dose_reminder_repeat_due",
            ),
        ]

    def __str__(self) -> str:
        return f"Dose #{self.pk} due {self.due_at:%Y-%m-%d %H:%M} ({self.state})"

    @property
    def logged_later(self) -> bool:
        """Taken, and recorded well after the time taken (adherence.md "When it was taken":
        staff see "logged later")."""
        if self.taken_at is None or self.state_changed_at is None:
            return False
        return self.state_changed_at - self.taken_at > LOGGED_LATER_AFTER

    def display_state(self, now=None) -> str:
        """API state: pending becomes upcoming, due or missed by the clock."""
        return adherence.display_state(
            self.state, self.due_at, self.late_until, now or timezone.now()
        )


class SkipReason(models.TextChoices):
    FORGOT = "forgot", "I forgot"
    SIDE_EFFECTS = "side_effects", "Side effects"
    UNWELL = "unwell", "I felt unwell"
    VOMITED = "vomited", "I was sick (vomited)"
    RAN_OUT = "ran_out", "I ran out of tablets"
    TOLD_TO_STOP = "told_to_stop", "The team told me to stop"
    OTHER = "other", "Another reason"


class DoseAction(models.TextChoices):
    TAKEN = "taken", "Taken"
    SKIPPED = "skipped", "Not taken"


class DoseLog(models.Model):
    """What the patient (or staff for them) said about a dose. Corrections add a new log and
    mark the old one superseded, so the history stays."""

    expected_dose = models.ForeignKey(ExpectedDose, on_delete=models.CASCADE, related_name="logs")
    action = models.CharField(max_length=8, choices=DoseAction)
    at = models.DateTimeField(help_text="When it was taken (or decided not to).")
    reason = models.CharField(max_length=16, choices=SkipReason, blank=True)
    note = models.TextField(blank=True, max_length=1000)
    recorded_at = models.DateTimeField(default=timezone.now)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    idempotency_key = models.CharField(max_length=128, null=True, blank=True)
    superseded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["recorded_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["recorded_by", "idempotency_key"],
                condition=Q(idempotency_key__isnull=False),
                name="one_log_per_idempotency_key",
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_action_display()} at {self.at:%Y-%m-%d %H:%M}"


class CourseStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    STOPPED = "stopped", "Stopped"


class InfusionCourse(models.Model):
    """Atezolizumab + bevacizumab: one appointment every 21 days, both drugs the same day."""

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="infusion_courses")
    drugs = models.JSONField(help_text='Drug codes, e.g. ["atezolizumab", "bevacizumab"].')
    interval_days = models.PositiveSmallIntegerField(
        default=21, validators=[MinValueValidator(7), MaxValueValidator(84)]
    )
    first_infusion_at = models.DateTimeField()
    location = models.CharField(max_length=200, blank=True, default="Day treatment unit")
    status = models.CharField(max_length=8, choices=CourseStatus, default=CourseStatus.ACTIVE)
    warnings = models.JSONField(default=list, blank=True)
    override_reason = models.TextField(blank=True)
    recorded_at = models.DateTimeField(default=timezone.now)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    stopped_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-first_infusion_at"]

    def __str__(self) -> str:
        drugs = " + ".join(self.drugs).capitalize()
        return f"{drugs} every {self.interval_days} days for {self.patient.full_name}"


class AppointmentState(models.TextChoices):
    SCHEDULED = "scheduled", "Scheduled"
    GIVEN = "given", "Given"
    MISSED = "missed", "Missed"
    CANCELLED = "cancelled", "Cancelled"


class InfusionAppointment(models.Model):
    course = models.ForeignKey(
        InfusionCourse, on_delete=models.CASCADE, related_name="appointments"
    )
    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="infusions")
    cycle_number = models.PositiveSmallIntegerField()
    scheduled_at = models.DateTimeField()
    originally_scheduled_at = models.DateTimeField()
    state = models.CharField(
        max_length=10, choices=AppointmentState, default=AppointmentState.SCHEDULED
    )
    given_at = models.DateTimeField(null=True, blank=True)
    doses = models.JSONField(
        default=list, help_text='[{"drug": "atezolizumab", "dose_mg": "1200", "minutes": 60}, ...]'
    )
    location = models.CharField(max_length=200, blank=True)
    reschedule_reason = models.TextField(blank=True)
    state_changed_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    MISSED_AFTER = timedelta(hours=24)

    class Meta:
        ordering = ["scheduled_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["course", "cycle_number"], name="one_appointment_per_cycle"
            )
        ]
        indexes = [
            models.Index(fields=["patient", "scheduled_at"]),
            models.Index(
                fields=["scheduled_at"],
                condition=Q(state="scheduled"),
                name="scheduled_infusion_at",
            ),
        ]

    def __str__(self) -> str:
        return f"Cycle {self.cycle_number} on {self.scheduled_at:%Y-%m-%d %H:%M} ({self.state})"


class TriageRuleSet(models.Model):
    """A versioned set of triage rules. Versions are never edited: a change is a new version,
    and each triage result keeps the version that produced it."""

    version = models.PositiveIntegerField(unique=True)
    # Kept as written (key order is the order symptoms are shown in); see fields.py.
    rules = OrderedJSONField()
    is_active = models.BooleanField(default=False)
    notes = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-version"]
        constraints = [
            models.UniqueConstraint(
                fields=["is_active"], condition=Q(is_active=True), name="one_active_ruleset"
            )
        ]

    def __str__(self) -> str:
        return f"Triage rules v{self.version}{' (active)' if self.is_active else ''}"


class TriageLevel(models.TextChoices):
    GREEN = "green", "Green"
    AMBER = "amber", "Amber"
    RED = "red", "Red"


class SymptomReportStatus(models.TextChoices):
    SENT = "sent", "Sent"
    SEEN = "seen", "Seen by your team"
    CLOSED = "closed", "Closed"


class SymptomReport(models.Model):
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="symptom_reports")
    reported_at = models.DateTimeField(default=timezone.now)
    entered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    entered_by_staff = models.BooleanField(default=False)
    symptoms = models.JSONField(default=list, help_text='[{"code": "diarrhoea", "grade": 2}]')
    temperature_c = models.DecimalField(max_digits=3, decimal_places=1, null=True, blank=True)
    systolic_bp = models.PositiveSmallIntegerField(null=True, blank=True)
    diastolic_bp = models.PositiveSmallIntegerField(null=True, blank=True)
    notes = models.TextField(blank=True, max_length=2000)
    # The stored triage result (empty until graded).
    triage_level = models.CharField(max_length=8, choices=TriageLevel, blank=True)
    triage_reasons = models.JSONField(default=list, blank=True)
    triage_advice = models.JSONField(default=list, blank=True)
    triage_item_levels = models.JSONField(default=dict, blank=True)
    call_advice_line = models.BooleanField(default=False)
    ruleset = models.ForeignKey(
        TriageRuleSet, null=True, blank=True, on_delete=models.PROTECT, related_name="reports"
    )
    ruleset_version = models.PositiveIntegerField(null=True, blank=True)
    triaged_at = models.DateTimeField(null=True, blank=True)
    # Set in the same transaction that creates this report's alert (notifications app).
    alert_raised_at = models.DateTimeField(null=True, blank=True)
    # Where the report stands for the patient (checkins.md, "Telling the patient"): written
    # by the alerts app when the report's alert is acknowledged (seen) or resolved (closed,
    # with the outcome in the patient's words and an optional short message from the nurse;
    # the nurse's own note stays internal).
    seen_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    outcome_text = models.CharField(max_length=300, blank=True)
    message_to_patient = models.TextField(max_length=500, blank=True)
    # A resend with the same Idempotency-Key (per sender) answers with this report
    # (checkins.md, "Resends are one report").
    idempotency_key = models.CharField(max_length=128, null=True, blank=True)
    # checkins.md, "Expected level": an amber report whose only amber items a nurse had
    # marked as expected (ExpectedSymptom) raises no alert; these are those items.
    expected_codes = models.JSONField(
        default=list, blank=True, db_default=models.Value([], output_field=models.JSONField())
    )
    expected_only = models.BooleanField(default=False, db_default=False)

    class Meta:
        ordering = ["-reported_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["entered_by", "idempotency_key"],
                condition=Q(idempotency_key__isnull=False),
                name="one_report_per_idempotency_key",
            )
        ]
        indexes = [
            models.Index(fields=["patient", "-reported_at"]),
            models.Index(
                fields=["reported_at"],
                condition=Q(triaged_at__isnull=True),
                name="report_untriaged",
            ),
            models.Index(
                fields=["reported_at"],
                condition=Q(
                    triage_level__in=["red", "amber"],
                    alert_raised_at__isnull=True,
                    expected_only=False,
                ),
                name="report_alert_pending_v2",
            ),
        ]

    def __str__(self) -> str:
        return f"Report #{self.pk} ({self.triage_level or 'not graded'})"

    @property
    def status(self) -> str:
        """Where the report stands for the patient: sent, seen (the team acknowledged its
        alert) or closed (resolved)."""
        if self.closed_at is not None:
            return SymptomReportStatus.CLOSED
        if self.seen_at is not None:
            return SymptomReportStatus.SEEN
        return SymptomReportStatus.SENT


class ExpectedSymptom(models.Model):
    """A nurse's "expected level" (baseline) for one patient and one graded symptom
    (checkins.md, "Alert burden"): while active, an amber report whose only amber items are
    expected at or below `max_grade` raises no alert. Never touches red. Rows are never
    deleted: ending one sets `ended_at`, so the record keeps every baseline."""

    MAX_GRADE = 2
    MAX_DAYS = 30

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="expected_symptoms")
    code = models.CharField(max_length=40)
    max_grade = models.PositiveSmallIntegerField(
        validators=[MinValueValidator(1), MaxValueValidator(MAX_GRADE)]
    )
    # The last day (patient's local date) it applies.
    until = models.DateField()
    reason = models.TextField(max_length=500)
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    ended_at = models.DateTimeField(null=True, blank=True)
    ended_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(
                fields=["patient", "until"],
                condition=Q(ended_at__isnull=True),
                name="expected_symptom_active",
            )
        ]

    def __str__(self) -> str:
        return f"{self.code} expected up to grade {self.max_grade} until {self.until}"


class CheckInKind(models.TextChoices):
    WEEKLY = "weekly", "Weekly check-in"
    POST_INFUSION = "post_infusion", "7 days after an infusion"
    FOLLOW_UP = "follow_up", "Follow-up of an amber report"


class CheckInStatus(models.TextChoices):
    SCHEDULED = "scheduled", "Scheduled"
    OPEN = "open", "Open"
    COMPLETED = "completed", "Completed"
    MISSED = "missed", "Missed"
    PAUSED = "paused", "Not asked (paused)"


UNFINISHED_CHECK_IN = [CheckInStatus.SCHEDULED, CheckInStatus.OPEN]


class CheckIn(models.Model):
    """One scheduled check-in (clinical/checkins.md): a symptom report asked for between
    `opens_at` and `closes_at` (72 h). Times are stored; `next_look_at` is when the sweep
    must look again (open it and remind, remind again at +24 h, mark it missed), with a
    partial index so the sweep reads only what is due. Transitions are conditional updates.
    `source_key` makes generation idempotent: "weekly:<patient>:<local date>",
    "post_infusion:<appointment>", "follow_up:<report>"."""

    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="check_ins")
    kind = models.CharField(max_length=16, choices=CheckInKind)
    source_key = models.CharField(max_length=80, unique=True)
    opens_at = models.DateTimeField()
    closes_at = models.DateTimeField()
    status = models.CharField(max_length=12, choices=CheckInStatus, default=CheckInStatus.SCHEDULED)
    reminders_sent = models.PositiveSmallIntegerField(default=0, db_default=0)
    next_look_at = models.DateTimeField(null=True, blank=True)
    state_changed_at = models.DateTimeField(null=True, blank=True)
    report = models.ForeignKey(
        SymptomReport, null=True, blank=True, on_delete=models.SET_NULL, related_name="check_ins"
    )
    completed_at = models.DateTimeField(null=True, blank=True)
    # Follow-ups: the items that were amber, asked about first.
    focus_codes = models.JSONField(
        default=list, blank=True, db_default=models.Value([], output_field=models.JSONField())
    )
    asks_bp = models.BooleanField(default=False, db_default=False)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-opens_at", "-id"]
        indexes = [
            models.Index(
                fields=["next_look_at"],
                condition=Q(status__in=["scheduled", "open"]),
                name="check_in_sweep_due",
            ),
            models.Index(
                fields=["patient", "opens_at"],
                condition=Q(status__in=["scheduled", "open"]),
                name="check_in_unfinished",
            ),
            models.Index(fields=["patient", "-opens_at"], name="check_in_patient_recent"),
        ]

    def __str__(self) -> str:
        return f"Check-in #{self.pk} {self.kind} ({self.status})"


class CheckInPlan(models.Model):
    """A patient's check-in settings: the weekday (Monday = 0; empty: the weekday their
    treatment started) and a pause with its reason (e.g. in hospital)."""

    patient = models.OneToOneField(Patient, on_delete=models.CASCADE, related_name="check_in_plan")
    weekday = models.PositiveSmallIntegerField(
        null=True, blank=True, validators=[MaxValueValidator(6)]
    )
    paused_at = models.DateTimeField(null=True, blank=True)
    pause_reason = models.TextField(blank=True, max_length=500)
    paused_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"Check-in plan of patient #{self.patient_id}"
