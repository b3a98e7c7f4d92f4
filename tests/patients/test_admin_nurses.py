"""Admin: one "Add nurse" form (user, nurse group and care teams in one transaction, with a
password or an invite link), a care team's member picker that lists staff only, and the
audit list opening on changes with reads one filter away."""

import re

import pytest
from django.contrib.auth.models import User
from django.test import Client

from patients.models import AuditEvent, Role
from tests.factories import PASSWORD, NurseFactory

pytestmark = pytest.mark.django_db
ADD = "/admin/patients/nurse/add/"


@pytest.fixture
def admin_client_(admin_user):
    client = Client()
    client.force_login(admin_user)
    return client


def nurse_form(team, **extra):
    return {
        "first_name": "Grace",
        "last_name": "Adeyemi",
        "username": "gadeyemi",
        "email": "grace.adeyemi@example.org",
        "access": "invite",
        "password1": "",
        "password2": "",
        "teams": [team.pk],
        **extra,
    }


def test_add_nurse_with_an_invite_link(admin_client_, client, team, other_team):
    response = admin_client_.post(
        ADD, nurse_form(team, teams=[team.pk, other_team.pk]), follow=True
    )
    assert response.status_code == 200
    user = User.objects.get(username="gadeyemi")
    assert (user.first_name, user.last_name, user.email) == (
        "Grace",
        "Adeyemi",
        "grace.adeyemi@example.org",
    )
    assert list(user.groups.values_list("name", flat=True)) == [Role.NURSE]
    assert set(user.care_teams.all()) == {team, other_team}
    assert not user.is_staff and not user.has_usable_password()
    message = " ".join(str(m) for m in response.context["messages"])
    link = re.search(r"http://testserver(/accounts/invite/\S+/)", message).group(1)
    # The nurse opens the link, chooses a password and signs in with it.
    form_page = client.get(link, follow=True)
    assert b"Choose your password" in form_page.content
    set_url = form_page.redirect_chain[-1][0] if form_page.redirect_chain else link
    done = client.post(
        set_url, {"new_password1": "lantern-orchid-42", "new_password2": "lantern-orchid-42"}
    )
    assert done.status_code == 302
    assert Client().login(username="gadeyemi", password="lantern-orchid-42")
    # The link works once.
    assert b"This link no longer works" in Client().get(link, follow=True).content


def test_add_nurse_with_a_password(admin_client_, team):
    response = admin_client_.post(
        ADD,
        nurse_form(
            team, access="password", password1="lantern-orchid-42", password2="lantern-orchid-42"
        ),
    )
    assert response.status_code == 302
    assert Client().login(username="gadeyemi", password="lantern-orchid-42")
    assert b"gadeyemi" in admin_client_.get("/admin/patients/nurse/").content


@pytest.mark.parametrize(
    "change, field, message",
    [
        ({"teams": []}, "teams", "Choose at least one care team."),
        ({"username": "PATIENT_TAKEN"}, "username", "This username is already taken."),
        ({"access": "password"}, "password1", "Type the password, or choose an invite link."),
        (
            {"access": "password", "password1": "lantern-orchid-42", "password2": "x"},
            "password2",
            "The two passwords are not the same.",
        ),
        (
            {"access": "password", "password1": "password1", "password2": "password1"},
            "password1",
            "This password is too common.",
        ),
        ({"email": "grace"}, "email", "Enter a valid email address."),
    ],
)
def test_add_nurse_problems_are_shown_next_to_the_field_and_nothing_is_written(
    admin_client_, team, patient, change, field, message
):
    if change.get("username") == "PATIENT_TAKEN":
        change = {"username": patient.user.username.upper()}  # any user, any case
    before = User.objects.count()
    response = admin_client_.post(ADD, nurse_form(team, **change))
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert message in " ".join(errors[field])
    assert User.objects.count() == before


def test_the_nurse_list_shows_nurses_only_with_their_teams(admin_client_, nurse, team, patient):
    html = admin_client_.get("/admin/patients/nurse/").content.decode()
    assert nurse.username in html and team.name in html
    assert patient.user.username not in html
    page = admin_client_.get(f"/admin/patients/nurse/{nurse.pk}/change/")
    assert page.status_code == 200
    assert admin_client_.get(f"/admin/patients/nurse/{patient.user.pk}/change/").status_code == 302


def test_editing_a_nurse_changes_their_teams(admin_client_, nurse, team, other_team):
    response = admin_client_.post(
        f"/admin/patients/nurse/{nurse.pk}/change/",
        {
            "first_name": "Ada",
            "last_name": "Nurse",
            "email": "ada@example.org",
            "is_active": "on",
            "teams": [other_team.pk],
        },
    )
    assert response.status_code == 302
    nurse.refresh_from_db()
    assert nurse.first_name == "Ada"
    assert list(nurse.care_teams.all()) == [other_team]


def test_team_member_picker_lists_staff_only(admin_client_, team, nurse, admin_user, patient):
    inactive = NurseFactory(username="left_last_year", is_active=False)
    html = admin_client_.get(f"/admin/patients/careteam/{team.pk}/change/").content.decode()
    boxes = re.findall(r'<input type="checkbox" name="members" value="(\d+)"', html)
    assert sorted(map(int, boxes)) == sorted([nurse.pk, admin_user.pk])
    assert inactive.pk not in map(int, boxes) and patient.user.pk not in map(int, boxes)
    # A patient cannot be made a member by posting their id either.
    response = admin_client_.post(
        f"/admin/patients/careteam/{team.pk}/change/",
        {
            "name": team.name,
            "advice_line_phone": team.advice_line_phone,
            "advice_line_email": team.advice_line_email,
            "members": [nurse.pk, patient.user.pk],
        },
    )
    assert response.status_code == 200
    assert "members" in response.context["adminform"].form.errors


def test_audit_list_opens_on_changes_with_reads_one_filter_away(admin_client_, patient):
    AuditEvent.objects.create(action="read", what="READ-ROW", patient=patient)
    AuditEvent.objects.create(action="update", what="UPDATE-ROW", patient=patient)
    AuditEvent.objects.create(action="create", what="CREATE-ROW", patient=patient)
    changes = admin_client_.get("/admin/patients/auditevent/").content.decode()
    assert "UPDATE-ROW" in changes and "CREATE-ROW" in changes
    assert "READ-ROW" not in changes
    assert 'href="?kind=reads"' in changes
    reads = admin_client_.get("/admin/patients/auditevent/?kind=reads").content.decode()
    assert "READ-ROW" in reads and "UPDATE-ROW" not in reads
    everything = admin_client_.get("/admin/patients/auditevent/?kind=all").content.decode()
    assert all(w in everything for w in ("READ-ROW", "UPDATE-ROW", "CREATE-ROW"))


def test_nurse_sign_in_still_uses_the_factory_password(client, nurse):
    assert client.login(username=nurse.username, password=PASSWORD)
