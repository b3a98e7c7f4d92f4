"""Demo data for `make run` and the browser tests. Running it again changes nothing."""

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from django.conf import settings
from django.contrib.auth.models import User

from medications.demo import seed_patient_treatment
from medications.symptoms.demo import seed_symptom_history
from patients.models import CareTeam, Patient, Role
from patients.services import patient_create, staff_user_create

# Valid (modulus-11) NHS numbers in the 999 range reserved for testing.
DEMO_PATIENTS = [
    # username, given, family, nhs, dob, weight, child-pugh, ps, drug
    ("sam", "Sam", "Taylor", "9990000018", date(1956, 3, 14), "72.0", "A", 1, "sorafenib"),
    ("priya", "Priya", "Shah", "9990000026", date(1961, 8, 2), "55.0", "A", 0, "lenvatinib"),
    ("george", "George", "Evans", "9990000034", date(1949, 11, 30), "81.5", "A", 1, "regorafenib"),
    ("mary", "Mary", "O'Brien", "9990000042", date(1953, 5, 21), "64.0", "B", 1, "cabozantinib"),
    ("tom", "Tom", "Okafor", "9990000050", date(1958, 1, 9), "77.0", "A", 0, "atezolizumab"),
]


@dataclass
class SeedResult:
    password: str
    logins: list[tuple[str, str, str]] = field(default_factory=list)


# Later issues add demo treatments and history through these hooks: each is called with the
# patient and the drug code, and must itself be idempotent.
PATIENT_HOOKS: list = [seed_patient_treatment, seed_symptom_history]


def seed_demo() -> SeedResult:
    password = settings.DEMO_PASSWORD
    result = SeedResult(password=password)
    team, _ = CareTeam.objects.get_or_create(
        name="Liver Oncology Advice Line",
        defaults={"advice_line_phone": "0161 446 3658", "advice_line_email": "advice@localhost"},
    )
    other, _ = CareTeam.objects.get_or_create(
        name="Northern Oncology Advice Line",
        defaults={"advice_line_phone": "0191 000 1234", "advice_line_email": "north@localhost"},
    )
    for username, role, teams, what in [
        ("nurse", Role.NURSE, [team], f"advice-line nurse, {team.name}"),
        ("nurse2", Role.NURSE, [other], f"advice-line nurse, {other.name}"),
        ("admin", Role.ADMIN, [], "administrator (Django admin at /admin/)"),
    ]:
        if not User.objects.filter(username=username).exists():
            user = staff_user_create(username=username, password=password, role=role, teams=teams)
            if role == Role.ADMIN:
                user.is_superuser = True
                user.save(update_fields=["is_superuser"])
        result.logins.append((role.value, username, what))
    for username, given, family, nhs, dob, weight, cp, ps, drug in DEMO_PATIENTS:
        patient = Patient.objects.filter(user__username=username).first()
        if patient is None:
            patient = patient_create(
                username=username,
                password=password,
                given_name=given,
                family_name=family,
                nhs_number=nhs,
                date_of_birth=dob,
                weight_kg=Decimal(weight),
                child_pugh_class=cp,
                performance_status=ps,
                care_team=team,
                email=f"{username}@example.org",
            )
        for hook in PATIENT_HOOKS:
            hook(patient, drug)
        result.logins.append(("patient", username, f"patient on {drug}"))
    return result
