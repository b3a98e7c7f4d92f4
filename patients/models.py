from __future__ import annotations

import zoneinfo
from datetime import date, datetime, timedelta

from django.conf import settings
from django.contrib.auth.models import User, UserManager
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone

from core.vapid import push_enabled

from .validators import validate_nhs_number, validate_timezone


class Role(models.TextChoices):
    PATIENT = "patient", "Patient"
    NURSE = "nurse", "Nurse"
    ADMIN = "admin", "Admin"


class CareTeam(models.Model):
    """An advice-line team: its nurses see its patients and receive its alerts."""

    name = models.CharField(max_length=120, unique=True)
    advice_line_phone = models.CharField(
        max_length=32, help_text="24-hour advice line number shown to this team's patients."
    )
    advice_line_email = models.EmailField(
        blank=True, help_text="Where alert e-mails go when no channel is configured."
    )
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        related_name="care_teams",
        blank=True,
        help_text="Nurses who work this team's advice line.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class NurseManager(UserManager):
    def get_queryset(self):
        return super().get_queryset().filter(groups__name=Role.NURSE)


class Nurse(User):
    """A nurse's sign-in (a User in the nurse group): the admin's "Nurses" list and its one
    "Add nurse" form (user, group and care teams in one step)."""

    objects = NurseManager()

    class Meta:
        proxy = True
        verbose_name = "nurse"
        verbose_name_plural = "nurses"


class ChildPugh(models.TextChoices):
    A = "A", "A"
    B = "B", "B"
    C = "C", "C"


class ReminderChannel(models.TextChoices):
    """The ways a reminder can reach a patient, in the order they are tried (adherence.md,
    "Dose reminders": push to the installed web app, then SMS, then e-mail)."""

    PUSH = "push", "Notification on your phone or computer"
    SMS = "sms", "Text message"
    EMAIL = "email", "E-mail"


# adherence.md: "move them up to 1 hour earlier".
REMINDER_MINUTES_BEFORE_MAX = 60
# "reminders unreachable": no channel succeeded for this long while reminders were due.
REMINDERS_UNREACHABLE_AFTER = timedelta(hours=48)


class PatientQuerySet(models.QuerySet):
    def for_team_ids(self, team_ids):
        return self.filter(care_team_id__in=team_ids)


class Patient(models.Model):
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="patient"
    )
    given_name = models.CharField(max_length=100)
    family_name = models.CharField(max_length=100)
    nhs_number = models.CharField(
        "NHS number", max_length=10, unique=True, validators=[validate_nhs_number]
    )
    date_of_birth = models.DateField()
    weight_kg = models.DecimalField(
        "weight (kg)",
        max_digits=5,
        decimal_places=1,
        validators=[MinValueValidator(20), MaxValueValidator(300)],
    )
    child_pugh_class = models.CharField("Child-Pugh class", max_length=1, choices=ChildPugh)
    performance_status = models.PositiveSmallIntegerField(
        "performance status (ECOG)", validators=[MaxValueValidator(4)]
    )
    timezone = models.CharField(
        max_length=64, default="Europe/London", validators=[validate_timezone]
    )
    advice_line_phone = models.CharField(
        max_length=32, blank=True, help_text="Overrides the care team's number for this patient."
    )
    care_team = models.ForeignKey(CareTeam, on_delete=models.PROTECT, related_name="patients")
    prior_systemic_therapies = models.JSONField(
        default=list,
        blank=True,
        help_text='Drug codes of systemic HCC therapy given before enrolment, e.g. ["sorafenib"].',
    )
    sorafenib_tolerated = models.BooleanField(
        null=True, blank=True, help_text="For regorafenib: was earlier sorafenib tolerated?"
    )
    last_upper_endoscopy_on = models.DateField(
        null=True,
        blank=True,
        help_text="Varices assessed (needed before atezolizumab + bevacizumab).",
    )
    clinical_notes = models.TextField(
        blank=True, help_text="Notes for the advice-line team (never sent outside the service)."
    )
    # Dose reminders (adherence.md, "Dose reminders"): on by default; the patient may turn
    # them off or move them up to an hour earlier (Account page, PUT .../reminders/).
    reminders_enabled = models.BooleanField("dose reminders on", default=True)
    reminder_minutes_before = models.PositiveSmallIntegerField(
        "remind this many minutes before the due time",
        default=0,
        validators=[MaxValueValidator(REMINDER_MINUTES_BEFORE_MAX)],
    )
    # Kept current by notifications (the reminder outbox), read by the patient's and the
    # nurse's pages: when a reminder last reached the patient by any channel, and since when
    # every reminder has failed (None while the last one got through). Never edited by hand.
    reminders_reached_at = models.DateTimeField(null=True, blank=True, editable=False)
    reminders_failing_since = models.DateTimeField(null=True, blank=True, editable=False)
    mobile_phone = models.CharField(max_length=32, blank=True)
    # checkins.md, "Blood pressure": a home monitor means check-ins may ask for a reading.
    has_bp_monitor = models.BooleanField(
        "has a home blood pressure monitor", default=False, db_default=False
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = PatientQuerySet.as_manager()

    class Meta:
        ordering = ["family_name", "given_name"]
        indexes = [
            # The nurse queue's "reminders unreachable" filter.
            models.Index(
                fields=["reminders_failing_since"],
                condition=Q(reminders_enabled=True, reminders_failing_since__isnull=False),
                name="patient_reminders_failing",
            )
        ]

    def __str__(self) -> str:
        return f"{self.family_name}, {self.given_name} ({self.formatted_nhs_number})"

    @property
    def full_name(self) -> str:
        return f"{self.given_name} {self.family_name}"

    @property
    def formatted_nhs_number(self) -> str:
        n = self.nhs_number
        return f"{n[:3]} {n[3:6]} {n[6:]}"

    @property
    def zone(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.timezone)

    @property
    def effective_advice_line_phone(self) -> str:
        return (
            self.advice_line_phone
            or (self.care_team.advice_line_phone if self.care_team_id else "")
            or settings.DEFAULT_ADVICE_LINE_PHONE
        )

    def reminders_unreachable(self, now: datetime) -> bool:
        """No reminder has reached the patient by any channel for 48 hours (adherence.md:
        shown to staff as "reminders unreachable")."""
        return (
            self.reminders_enabled
            and self.reminders_failing_since is not None
            and self.reminders_failing_since <= now - REMINDERS_UNREACHABLE_AFTER
        )

    @property
    def dose_reminders(self) -> str:
        """The first channel a reminder is tried on now ("push", "sms", "email"), or "none"
        when reminders are off or nothing can carry them (the API's `dose_reminders`)."""
        if not self.reminders_enabled:
            return "none"
        channels = reminder_channels(self)
        return channels[0] if channels else "none"

    def age_on(self, day: date) -> int:
        dob = self.date_of_birth
        return day.year - dob.year - ((day.month, day.day) < (dob.month, dob.day))


def reminder_channels(patient: Patient) -> list[str]:
    """The channels that could carry a reminder to this patient now, in the order tried:
    push when this server has push configured and a device of theirs is subscribed, SMS when
    a mobile number is recorded, e-mail when their sign-in has an address."""
    channels = []
    # Lists annotate has_push_subscription (one query for the page, not one per patient).
    subscribed = getattr(patient, "has_push_subscription", None)
    if subscribed is None and push_enabled():
        subscribed = patient.push_subscriptions.exists()
    if push_enabled() and subscribed:
        channels.append(ReminderChannel.PUSH.value)
    if patient.mobile_phone.strip():
        channels.append(ReminderChannel.SMS.value)
    if patient.user_id and patient.user.email:
        channels.append(ReminderChannel.EMAIL.value)
    return channels


class PushSubscription(models.Model):
    """One browser's Web Push subscription (the PushSubscription JSON it gave us): a patient
    may have several (phone, tablet, computer). Removed when the patient turns notifications
    off on that device, or when its push service answers 404/410 (the subscription is gone).
    The endpoint is a capability URL: never logged, never shown to staff."""

    patient = models.ForeignKey(
        Patient, on_delete=models.CASCADE, related_name="push_subscriptions"
    )
    endpoint = models.URLField(max_length=1000, unique=True)
    p256dh = models.CharField("public key (p256dh)", max_length=128)
    auth = models.CharField("auth secret", max_length=64)
    # What the patient sees in their device list, e.g. "Chrome on Android" (from User-Agent).
    device = models.CharField(max_length=80, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    last_success_at = models.DateTimeField(null=True, blank=True)
    last_failure_at = models.DateTimeField(null=True, blank=True)
    consecutive_failures = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        device = self.device or "device"
        return f"{device.capitalize()} of {self.patient.full_name}"

    def subscription_info(self) -> dict:
        """The browser's PushSubscription JSON, as pywebpush takes it."""
        return {"endpoint": self.endpoint, "keys": {"p256dh": self.p256dh, "auth": self.auth}}


class AuditEventQuerySet(models.QuerySet):
    """Bulk edits and deletes of the audit trail are refused (patients/audit.py writes it)."""

    def update(self, **kwargs):
        raise PermissionError("Audit events are append-only: they cannot be changed.")

    def delete(self):
        raise PermissionError("Audit events are append-only: they cannot be deleted.")

    update.queryset_only = True
    delete.queryset_only = True


class AuditEvent(models.Model):
    """Append-only record of access to patient records (who, which patient, what, when, where).

    Written by patients.audit (middleware + `touch`); never changed or deleted once written.
    `actor_username` and `patient_ref` keep who and which patient even if the user or patient
    row is later removed (the foreign keys then become null)."""

    at = models.DateTimeField(auto_now_add=True, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_role = models.CharField(max_length=16, blank=True)
    patient = models.ForeignKey(
        Patient, null=True, blank=True, on_delete=models.SET_NULL, related_name="audit_events"
    )
    action = models.CharField(max_length=16)  # read / create / update / delete
    what = models.CharField(max_length=200)
    path = models.CharField(max_length=500, blank=True)
    # The query string, values that could identify a person replaced by "~" (patients/audit.py).
    query = models.CharField(max_length=500, blank=True, default="", db_default="")
    method = models.CharField(max_length=8, blank=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    actor_username = models.CharField(max_length=150, blank=True)
    patient_ref = models.PositiveBigIntegerField(
        "patient id",
        null=True,
        blank=True,
        db_index=True,
        help_text="Kept if the patient is removed.",
    )
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        ordering = ["-at"]
        indexes = [models.Index(fields=["patient", "-at"])]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor_id} {self.action} {self.what}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise PermissionError("Audit events are append-only: they cannot be changed.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise PermissionError("Audit events are append-only: they cannot be deleted.")


class IdempotencyRecord(models.Model):
    """An API write sent with an `Idempotency-Key`: which request (a SHA-256 of method, path
    and body) the key first named, so that the key reused for a different request answers
    422 and stores nothing (patients/idempotency.py)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=128)
    fingerprint = models.CharField(max_length=64)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "key"], name="one_record_per_idempotency_key")
        ]

    def __str__(self) -> str:
        return f"Idempotency-Key of user #{self.user_id} ({self.created_at:%Y-%m-%d %H:%M})"


class SignInLink(models.Model):
    """A one-time sign-in (and set-a-new-password) link a nurse issues for a patient who
    cannot sign in (issue 13): valid for 24 hours, used once, audited. Only a hash of the
    token is kept; the link itself is shown once, to the nurse who issued it."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="sign_in_links"
    )
    token_hash = models.CharField(max_length=64, unique=True)
    issued_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    issued_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-issued_at"]

    def __str__(self) -> str:
        return f"Sign-in link #{self.pk} (user {self.user_id})"
