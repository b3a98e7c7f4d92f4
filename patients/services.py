"""Writes about people."""

from datetime import date, timedelta
from decimal import Decimal

from django.contrib.auth.models import Group, User
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from .models import CareTeam, IdempotencyRecord, Patient, Role
from .validators import normalise_nhs_number


@transaction.atomic
def patient_create(
    *,
    username: str,
    password: str,
    given_name: str,
    family_name: str,
    nhs_number: str,
    date_of_birth: date,
    weight_kg: Decimal,
    child_pugh_class: str,
    performance_status: int,
    care_team: CareTeam,
    timezone: str = "Europe/London",
    advice_line_phone: str = "",
    email: str = "",
    **extra,
) -> Patient:
    """Create the sign-in and the patient record together; any invalid field aborts both."""
    if User.objects.filter(username__iexact=username).exists():
        raise ValidationError({"username": ["This username is already taken."]})
    user = User(username=username, email=email, first_name=given_name, last_name=family_name)
    try:
        validate_password(password, user)
    except ValidationError as exc:
        raise ValidationError({"password": exc.messages}) from exc
    user.set_password(password)
    user.save()
    user.groups.add(Group.objects.get(name=Role.PATIENT))
    patient = Patient(
        user=user,
        given_name=given_name,
        family_name=family_name,
        nhs_number=normalise_nhs_number(nhs_number),
        date_of_birth=date_of_birth,
        weight_kg=weight_kg,
        child_pugh_class=child_pugh_class,
        performance_status=performance_status,
        care_team=care_team,
        timezone=timezone,
        advice_line_phone=advice_line_phone,
        **extra,
    )
    patient.full_clean(exclude=["user"])
    patient.save()
    return patient


@transaction.atomic
def staff_user_create(
    *, username: str, password: str | None, role: Role, teams: list[CareTeam] = (), **fields
) -> User:
    """A nurse's or admin's sign-in with its role group and care teams. No password: it
    cannot sign in until one is set through an invite link (patients/invites.py)."""
    user = User(username=username, is_staff=role == Role.ADMIN, **fields)
    if password:
        user.set_password(password)
    else:
        user.set_unusable_password()
    user.save()
    user.groups.add(Group.objects.get(name=role))
    if teams:
        user.care_teams.add(*teams)
    return user


@transaction.atomic
def nurse_create(
    *,
    username: str,
    given_name: str,
    family_name: str,
    email: str,
    teams: list[CareTeam],
    password: str | None = None,
) -> User:
    """A nurse in one step: the sign-in, the nurse group and the care teams together (any
    problem writes none of them). Without a password the nurse sets one through an invite
    link."""
    username = (username or "").strip()
    errors: dict[str, list[str]] = {}
    if not username:
        errors["username"] = ["Give a username."]
    elif User.objects.filter(username__iexact=username).exists():
        errors["username"] = ["This username is already taken."]
    if not teams:
        errors["teams"] = ["Choose at least one care team."]
    user = User(username=username, email=email, first_name=given_name, last_name=family_name)
    if password:
        try:
            validate_password(password, user)
        except ValidationError as exc:
            errors["password"] = exc.messages
    if errors:
        raise ValidationError(errors)
    return staff_user_create(
        username=username,
        password=password,
        role=Role.NURSE,
        teams=list(teams),
        email=email,
        first_name=given_name,
        last_name=family_name,
    )


def lock_patient(patient: Patient) -> None:
    """Take the patient's row lock for the rest of the transaction: the one way writes that
    must see each other per patient take turns. Prescribing takes it so two requests cannot
    both pass the "one oral targeted drug at a time" check; symptom reports take it so, of
    two reports sent at the same moment, the second is graded after the first is stored and
    sees it for the repeat-amber rule (triage.md rule 3)."""
    Patient.objects.select_for_update().filter(pk=patient.pk).values_list("pk").first()


# API.md, PATCH /api/v1/patients/{id}/: the fields staff may change after enrolment.
PATIENT_UPDATABLE = (
    "email",
    "mobile_phone",
    "has_bp_monitor",
    "weight_kg",
    "child_pugh_class",
    "performance_status",
    "timezone",
)


def patient_update(*, patient: Patient, data: dict) -> Patient:
    """Change some of a patient's details (validated by the caller's serializer); `email`
    is the sign-in user's. One transaction, the patient row locked."""
    unknown = set(data) - set(PATIENT_UPDATABLE)
    if unknown:
        raise ValidationError({name: ["This field cannot be changed here."] for name in unknown})
    with transaction.atomic():
        lock_patient(patient)
        fields = [name for name in data if name != "email"]
        for name in fields:
            setattr(patient, name, data[name])
        if fields:
            patient.save(update_fields=[*fields, "updated_at"])
        if "email" in data and patient.user_id:
            User.objects.filter(pk=patient.user_id).update(email=data["email"])
            patient.user.email = data["email"]
    return patient


def idempotency_records_purge(*, now=None, keep_days: float | None = None) -> int:
    """Forget Idempotency-Key records older than IDEMPOTENCY_KEY_KEEP_DAYS (one DELETE;
    safe to run twice or concurrently). Returns how many went."""
    from django.conf import settings

    now = now or timezone.now()
    keep = settings.IDEMPOTENCY_KEY_KEEP_DAYS if keep_days is None else keep_days
    removed, _ = IdempotencyRecord.objects.filter(
        created_at__lt=now - timedelta(days=keep)
    ).delete()
    return removed
