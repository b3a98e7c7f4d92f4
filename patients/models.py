import zoneinfo
from datetime import date

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

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


class ChildPugh(models.TextChoices):
    A = "A", "A"
    B = "B", "B"
    C = "C", "C"


class ReminderChannel(models.TextChoices):
    NONE = "none", "No reminders"
    EMAIL = "email", "E-mail"
    SMS = "sms", "Text message"


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
    dose_reminders = models.CharField(
        max_length=8, choices=ReminderChannel, default=ReminderChannel.NONE
    )
    mobile_phone = models.CharField(max_length=32, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = PatientQuerySet.as_manager()

    class Meta:
        ordering = ["family_name", "given_name"]

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

    def age_on(self, day: date) -> int:
        dob = self.date_of_birth
        return day.year - dob.year - ((day.month, day.day) < (dob.month, dob.day))


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
