"""Alerts for the advice-line team and their delivery (an outbox: rows first, sent after).

Rules: ../shared/clinical/triage.md ("Alerts from symptom reports") and adherence.md
("Missed-dose alerts"). The alert row and the state change that caused it are written in
one transaction; delivery is at-least-once (claim, send, mark sent; a sweep reclaims).
"""

from datetime import timedelta

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from medications.models import ExpectedDose, InfusionAppointment, Prescription, SymptomReport
from patients.models import CareTeam, Patient, ReminderChannel


class AlertKind(models.TextChoices):
    SYMPTOM = "symptom", "Symptom report"
    MISSED_DOSE = "missed_dose", "Missed dose"
    MISSED_INFUSION = "missed_infusion", "Missed infusion"
    SUPPLY = "supply", "Ran out of tablets"
    LOW_ADHERENCE = "low_adherence", "Low adherence"
    MISSED_CHECK_IN = "missed_check_in", "Check-in not done"


class AlertLevel(models.TextChoices):
    GREEN = "green", "Green"
    AMBER = "amber", "Amber"
    RED = "red", "Red"


LEVEL_RANK = {AlertLevel.GREEN: 0, AlertLevel.AMBER: 1, AlertLevel.RED: 2}


class AlertStatus(models.TextChoices):
    OPEN = "open", "Open"
    ACKNOWLEDGED = "acknowledged", "Acknowledged"
    RESOLVED = "resolved", "Resolved"


class AlertOutcome(models.TextChoices):
    ADVICE_BY_PHONE = "advice_given_by_phone", "Advice given by phone"
    SAME_DAY_ASSESSMENT = "same_day_assessment", "Asked to attend for same-day assessment"
    TOLD_TO_CALL_999 = "told_to_call_999", "Told to call 999"
    TREATMENT_HELD = "treatment_held", "Treatment held"
    DOSE_REDUCED = "dose_reduced", "Dose reduced"
    PRESCRIPTION_ISSUED = "supply_arranged", "New supply arranged"
    NO_ACTION_NEEDED = "no_action_needed", "No action needed"
    DOSES_RESUMED = "doses_resumed", "Resolved: doses resumed"
    PATIENT_REPORTED = "patient_reported", "Resolved: patient reported"
    OTHER = "other", "Other (see note)"


# How long the team has to acknowledge, by level (triage.md; green: next working day).
ACKNOWLEDGE_WITHIN = {
    AlertLevel.RED: timedelta(minutes=30),
    AlertLevel.AMBER: timedelta(hours=4),
}


class AlertQuerySet(models.QuerySet):
    def unresolved(self):
        return self.exclude(status=AlertStatus.RESOLVED)

    def for_team_ids(self, team_ids):
        return self.filter(care_team_id__in=team_ids)


class Alert(models.Model):
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="alerts")
    care_team = models.ForeignKey(CareTeam, on_delete=models.PROTECT, related_name="alerts")
    kind = models.CharField(max_length=16, choices=AlertKind)
    level = models.CharField(max_length=8, choices=AlertLevel)
    status = models.CharField(max_length=16, choices=AlertStatus, default=AlertStatus.OPEN)
    reasons = models.JSONField(default=list, blank=True)
    summary = models.CharField(max_length=300, blank=True)
    # De-duplication: "symptom_report:<id>" (kept forever: one alert per report) or
    # "missed_dose:prescription:<id>" (cleared on resolve: one OPEN alert per prescription).
    dedup_key = models.CharField(max_length=120, unique=True, null=True, blank=True)
    symptom_report = models.ForeignKey(
        SymptomReport, null=True, blank=True, on_delete=models.PROTECT, related_name="alerts"
    )
    prescription = models.ForeignKey(
        Prescription, null=True, blank=True, on_delete=models.PROTECT, related_name="alerts"
    )
    appointment = models.ForeignKey(
        InfusionAppointment, null=True, blank=True, on_delete=models.PROTECT, related_name="alerts"
    )
    occurrences = models.PositiveIntegerField(default=1)
    details = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)
    due_by = models.DateTimeField()
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    outcome = models.CharField(max_length=32, choices=AlertOutcome, blank=True)
    resolution_note = models.TextField(blank=True, max_length=4000)
    escalated_at = models.DateTimeField(null=True, blank=True)
    # Outcome "asked to attend for same-day assessment": when the patient is to come in.
    attend_at = models.DateTimeField(null=True, blank=True)

    objects = AlertQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["care_team", "status", "level", "created_at"]),
            models.Index(fields=["patient", "-created_at"]),
            models.Index(fields=["status", "level", "created_at"]),
            # Escalation sweep: open alerts past due_by, not yet escalated.
            models.Index(
                fields=["due_by"],
                condition=Q(status="open", escalated_at__isnull=True),
                name="alert_escalation_due",
            ),
        ]

    def __str__(self) -> str:
        return f"Alert #{self.pk} {self.level} {self.get_kind_display()} ({self.status})"

    def is_overdue(self, now=None) -> bool:
        now = now or timezone.now()
        return self.status == AlertStatus.OPEN and self.due_by <= now


class AlertEventKind(models.TextChoices):
    CREATED = "created", "Raised"
    UPDATED = "updated", "Updated"
    LEVEL_RAISED = "level_raised", "Level raised"
    ACKNOWLEDGED = "acknowledged", "Acknowledged"
    RESOLVED = "resolved", "Resolved"
    ESCALATED = "escalated", "Escalated"
    DELIVERED = "delivered", "Delivered"
    DELIVERY_FAILED = "delivery_failed", "Delivery failed"


class AlertEvent(models.Model):
    """The alert's full history: who did what, when."""

    alert = models.ForeignKey(Alert, on_delete=models.CASCADE, related_name="events")
    at = models.DateTimeField(default=timezone.now)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    kind = models.CharField(max_length=16, choices=AlertEventKind)
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} at {self.at:%Y-%m-%d %H:%M}"


class ChannelKind(models.TextChoices):
    EMAIL = "email", "E-mail"
    WEBHOOK = "webhook", "Signed JSON webhook"
    SMS = "sms", "Text message (pluggable transport)"


class ChannelPurpose(models.TextChoices):
    ALERTS = "alerts", "New alerts"
    ESCALATION = "escalation", "Escalations (on call)"
    BOTH = "both", "New alerts and escalations"


class Channel(models.Model):
    """Where a care team's alerts are sent. A failing channel is shown, never disabled."""

    name = models.CharField(max_length=120)
    care_team = models.ForeignKey(CareTeam, on_delete=models.CASCADE, related_name="channels")
    kind = models.CharField(max_length=8, choices=ChannelKind)
    purpose = models.CharField(max_length=12, choices=ChannelPurpose, default=ChannelPurpose.BOTH)
    target = models.CharField(max_length=500, help_text="E-mail address, URL or phone number.")
    secret = models.CharField(
        max_length=200, blank=True, help_text="Webhook: the HMAC-SHA256 key receivers verify."
    )
    min_level = models.CharField(max_length=8, choices=AlertLevel, default=AlertLevel.AMBER)
    is_active = models.BooleanField(default=True)
    consecutive_failures = models.PositiveIntegerField(default=0)
    last_success_at = models.DateTimeField(null=True, blank=True)
    last_failure_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    FAILING_AFTER = 3

    class Meta:
        ordering = ["care_team", "name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_kind_display()})"

    @property
    def is_failing(self) -> bool:
        return self.consecutive_failures >= self.FAILING_AFTER


class DeliveryPurpose(models.TextChoices):
    ALERT = "alert", "New alert"
    ESCALATION = "escalation", "Escalation"
    TEST = "test", "Test message"
    REMINDER = "reminder", "Reminder to the patient"


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "Waiting to send"
    SENDING = "sending", "Sending"
    SENT = "sent", "Sent"
    FAILED = "failed", "Gave up"
    # A reminder no longer needed before it went out (the dose was logged, its window closed,
    # or the patient turned reminders off): not a failure to reach them.
    CANCELLED = "cancelled", "Not needed any more"


class Delivery(models.Model):
    """One outbox row. Alerts: to a care team's channel. Reminders (purpose "reminder"): to a
    patient, through their own channels in order (`route`: push, then SMS, then e-mail), the
    row moving on to the next channel when one fails (services/reminders.py)."""

    alert = models.ForeignKey(
        Alert, null=True, blank=True, on_delete=models.CASCADE, related_name="deliveries"
    )
    channel = models.ForeignKey(
        Channel, null=True, blank=True, on_delete=models.CASCADE, related_name="deliveries"
    )
    # Reminders only.
    patient = models.ForeignKey(
        Patient, null=True, blank=True, on_delete=models.CASCADE, related_name="reminder_deliveries"
    )
    expected_dose = models.ForeignKey(
        ExpectedDose, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Database defaults: the alert outbox inserts rows with core.bulk, naming only its columns.
    reminder_kind = models.CharField(max_length=24, blank=True, default="", db_default="")
    # "dose:<id>:<repeat>" (one per dose per repeat, for ever) or the caller's key.
    dedup_key = models.CharField(max_length=120, unique=True, null=True, blank=True)
    route = models.CharField(
        max_length=8, choices=ReminderChannel, blank=True, default="", db_default=""
    )
    message = models.JSONField(
        default=dict, blank=True, db_default=models.Value({}, output_field=models.JSONField())
    )
    expires_at = models.DateTimeField(null=True, blank=True)
    # A dose reminder's "Taken" link was used (single use: a conditional update).
    taken_link_used_at = models.DateTimeField(null=True, blank=True)
    purpose = models.CharField(
        max_length=12, choices=DeliveryPurpose, default=DeliveryPurpose.ALERT
    )
    status = models.CharField(max_length=10, choices=DeliveryStatus, default=DeliveryStatus.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]
        verbose_name_plural = "deliveries"
        constraints = [
            models.UniqueConstraint(
                fields=["alert", "channel", "purpose"],
                condition=Q(alert__isnull=False),
                name="one_delivery_per_alert_channel_purpose",
            ),
            models.CheckConstraint(
                condition=Q(channel__isnull=False) | Q(purpose="reminder", patient__isnull=False),
                name="delivery_has_a_channel_or_a_patient",
            ),
        ]
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                condition=Q(status__in=["pending", "sending"]),
                name="delivery_outstanding",
            )
        ]

    def __str__(self) -> str:
        if self.purpose == DeliveryPurpose.REMINDER:
            return f"Reminder to {self.patient.full_name} ({self.get_status_display().lower()})"
        return f"Delivery #{self.pk} via {self.channel_id} ({self.status})"


class DeliveryAttempt(models.Model):
    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="attempt_log")
    started_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    ok = models.BooleanField(default=False)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    error = models.TextField(blank=True)
    # Reminders: which of the patient's channels this attempt used.
    route = models.CharField(max_length=8, choices=ReminderChannel, blank=True)

    class Meta:
        ordering = ["started_at", "id"]

    def __str__(self) -> str:
        return f"Attempt at {self.started_at:%H:%M:%S} {'ok' if self.ok else 'failed'}"
