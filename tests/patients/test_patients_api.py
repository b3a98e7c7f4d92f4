import pytest
from django.urls import reverse

from patients.models import Patient
from patients.validators import nhs_number_is_valid
from tests.factories import PASSWORD, PatientFactory

URL = "/api/v1/patients/"


def valid_body(**overrides):
    body = {
        "username": "newpatient",
        "password": "a-Strong-passphrase-77",
        "given_name": "Jo",
        "family_name": "Bloggs",
        "nhs_number": "943 476 5919",
        "date_of_birth": "1957-04-01",
        "weight_kg": "68.5",
        "child_pugh_class": "A",
        "performance_status": 1,
        "timezone": "Europe/London",
    }
    body.update(overrides)
    return body


@pytest.mark.parametrize(
    ("number", "valid"),
    [
        ("9434765919", True),
        ("943 476 5919", True),
        ("943-476-5919", True),
        ("9434765918", False),  # wrong check digit
        ("1234567890", False),  # check digit would be 10: never valid
        ("943476591", False),  # 9 digits
        ("94347659190", False),  # 11 digits
        ("94347659AB", False),
        ("", False),
    ],
)
def test_nhs_number_modulus_11(number, valid):
    assert nhs_number_is_valid(number) is valid


@pytest.mark.django_db
def test_nurse_enrols_a_patient_in_their_team(api, nurse, team):
    response = api(nurse).post(URL, valid_body(), format="json")
    assert response.status_code == 201, response.json()
    data = response.json()
    assert data["nhs_number"] == "9434765919"
    assert data["care_team"] == team.pk
    assert data["timezone"] == "Europe/London"
    patient = Patient.objects.get(pk=data["id"])
    assert patient.user.check_password("a-Strong-passphrase-77")
    assert patient.user.groups.filter(name="patient").exists()


@pytest.mark.django_db
def test_new_patient_can_get_a_token_and_read_themself(api, nurse):
    patient_id = api(nurse).post(URL, valid_body(), format="json").json()["id"]
    client = api(None)
    token = client.post(
        "/api/v1/auth/token/",
        {"username": "newpatient", "password": "a-Strong-passphrase-77"},
        format="json",
    ).json()["token"]
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    response = client.get(f"{URL}{patient_id}/")
    assert response.status_code == 200
    assert response.json()["family_name"] == "Bloggs"


@pytest.mark.django_db
def test_wrong_password_gets_no_token(api, patient):
    response = api(None).post(
        "/api/v1/auth/token/",
        {"username": patient.user.username, "password": "wrong"},
        format="json",
    )
    assert response.status_code == 400
    assert "token" not in response.json()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("field", "value", "message_part"),
    [
        ("nhs_number", "9434765918", "check digit"),
        ("nhs_number", "12345", "10 digits"),
        ("weight_kg", "0", "at least 20"),
        ("weight_kg", "400", "at most 300"),
        ("timezone", "Mars/Olympus_Mons", "not a known time zone"),
        ("child_pugh_class", "D", "Child-Pugh class"),
        ("performance_status", 5, "0 to 4"),
        ("date_of_birth", "2999-01-01", "past"),
        ("date_of_birth", "01/02/1950", "format"),
        ("password", "short", "too short"),
    ],
)
def test_bad_patient_input_names_the_field_and_stores_nothing(
    api, nurse, field, value, message_part
):
    before_users = Patient.objects.count()
    response = api(nurse).post(URL, valid_body(**{field: value}), format="json")
    assert response.status_code == 400
    errors = response.json()
    assert field in errors, errors
    assert message_part.lower() in " ".join(errors[field]).lower()
    assert Patient.objects.count() == before_users
    from django.contrib.auth.models import User

    assert not User.objects.filter(username="newpatient").exists()


@pytest.mark.django_db
def test_unknown_field_is_rejected(api, nurse):
    response = api(nurse).post(URL, valid_body(weight_lb="150"), format="json")
    assert response.status_code == 400
    assert "weight_lb" in response.json()


@pytest.mark.django_db
def test_duplicate_nhs_number_is_rejected(api, nurse, patient):
    response = api(nurse).post(URL, valid_body(nhs_number=patient.nhs_number), format="json")
    assert response.status_code == 400
    assert "already exists" in response.json()["nhs_number"][0]


@pytest.mark.django_db
def test_nurse_cannot_enrol_into_another_team(api, nurse, other_team):
    response = api(nurse).post(URL, valid_body(care_team=other_team.pk), format="json")
    assert response.status_code == 400
    assert "care_team" in response.json()


@pytest.mark.django_db
def test_patient_cannot_enrol_patients(api, patient):
    assert api(patient.user).post(URL, valid_body(), format="json").status_code == 403


@pytest.mark.django_db
def test_nurse_cannot_read_patient_outside_their_teams(api, nurse, patient, other_patient):
    client = api(nurse)
    assert client.get(f"{URL}{patient.pk}/").status_code == 200
    assert client.get(f"{URL}{other_patient.pk}/").status_code == 404
    listed = [row["id"] for row in client.get(URL).json()["results"]]
    assert listed == [patient.pk]


@pytest.mark.django_db
def test_patient_cannot_read_another_patient(api, patient, team):
    neighbour = PatientFactory(care_team=team)
    client = api(patient.user)
    assert client.get(f"{URL}{patient.pk}/").status_code == 200
    assert client.get(f"{URL}{neighbour.pk}/").status_code == 404


@pytest.mark.django_db
def test_admin_reads_everyone_and_can_enrol_without_team(api, admin_user, patient, other_patient):
    client = api(admin_user)
    assert client.get(f"{URL}{other_patient.pk}/").status_code == 200
    response = client.post(URL, valid_body(), format="json")
    assert response.status_code == 201


@pytest.mark.django_db
def test_anonymous_gets_401(api, patient):
    assert api(None).get(f"{URL}{patient.pk}/").status_code == 401


@pytest.mark.django_db
def test_session_login_page_and_redirect(client, patient):
    response = client.get("/")
    assert response.status_code == 302
    assert reverse("login") in response["Location"]
    assert client.get(reverse("login")).status_code == 200
    assert client.login(username=patient.user.username, password=PASSWORD)
