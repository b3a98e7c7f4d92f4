"""factory_boy factories shared by every test module."""

from datetime import date
from decimal import Decimal

import factory
from django.contrib.auth.models import Group, User

from patients.models import CareTeam, Patient, Role

PASSWORD = "correct-horse-battery-9"


def _nhs_number(n: int) -> str:
    """The n-th valid NHS number in the 999 test range (modulus-11 check digit)."""
    while True:
        stem = f"999{n:06d}"
        total = sum(int(d) * w for d, w in zip(stem, range(10, 1, -1), strict=True))
        check = 11 - total % 11
        check = 0 if check == 11 else check
        if check != 10:
            return f"{stem}{check}"
        n += 1_000_000 // 2  # jump away from an invalid stem


def _give_role(user, create, role):
    if create and role:
        user.groups.add(Group.objects.get(name=role))
        user.save()


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.org")
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def role(self, create, extracted, **kwargs):
        _give_role(self, create, extracted)
        if create:
            self.save()


class CareTeamFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CareTeam

    name = factory.Sequence(lambda n: f"Care team {n}")
    advice_line_phone = "0161 000 0000"
    advice_line_email = factory.Sequence(lambda n: f"team{n}@example.org")


class NurseFactory(UserFactory):
    username = factory.Sequence(lambda n: f"nurse{n}")

    @factory.post_generation
    def role(self, create, extracted, **kwargs):
        _give_role(self, create, extracted or Role.NURSE)

    @factory.post_generation
    def teams(self, create, extracted, **kwargs):
        if create and extracted:
            self.care_teams.add(*extracted)


class AdminFactory(UserFactory):
    username = factory.Sequence(lambda n: f"admin{n}")

    @factory.post_generation
    def role(self, create, extracted, **kwargs):
        _give_role(self, create, extracted or Role.ADMIN)

    is_staff = True


class PatientFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Patient

    user = factory.SubFactory(
        UserFactory, username=factory.Sequence(lambda n: f"patient{n}"), role=Role.PATIENT
    )
    given_name = "Alex"
    family_name = factory.Sequence(lambda n: f"Patient{n}")
    nhs_number = factory.Sequence(lambda n: _nhs_number(n + 1))
    date_of_birth = date(1955, 6, 1)
    weight_kg = Decimal("70.0")
    child_pugh_class = "A"
    performance_status = 1
    timezone = "Europe/London"
    care_team = factory.SubFactory(CareTeamFactory)
