"""NUL and other control characters (issue 17, finding 2): on PostgreSQL 26 of 146 probes
answered 500 (`DataError: PostgreSQL text fields cannot contain NUL`); SQLite answered them
all, which is why the suite missed it. One middleware (core/input_guard.py) now refuses them
in the path, query strings, form and JSON bodies with a 400 naming the field. These probes run
on both databases (the PostgreSQL pass of CI is the one that used to fail)."""

import pytest
from django.contrib import admin
from django.urls import reverse

from core.input_guard import MESSAGE
from tests.factories import PASSWORD

from .test_robust_input import OPERATIONS

pytestmark = pytest.mark.django_db

API_PROBES = [
    "/api/v1/drugs/%00/",
    "/api/v1/prescriptions/?drug=%00",
    "/api/v1/prescriptions/?status=%00",
    "/api/v1/doses/?from=%00",
    "/api/v1/alerts/?status=%00",
    "/api/v1/alerts/?level=open%01",
    "/api/v1/symptom-reports/?from=%00",
    "/fhir/r4/MedicationRequest?patient=1%00",
]


def test_api_probes_from_a_patient_answer_400_naming_the_field(api, patient):
    client = api(patient.user)
    answers = {}
    for url in API_PROBES:
        response = client.get(url)
        answers[url] = response.status_code
        assert response.status_code == 400, (url, response.content[:200])
    print(f"control-character API probes: {len(answers)}, all 400")
    assert client.get("/api/v1/prescriptions/?drug=%00").json() == {"drug": [MESSAGE]}
    assert client.get("/api/v1/drugs/%00/").json() == {"path": [MESSAGE]}


def test_staff_probes_nurse_search_and_every_admin_list_filter(client, nurse, admin_user):
    client.post("/accounts/login/", {"username": nurse.username, "password": PASSWORD})
    page = client.get("/nurse/patients/?q=%00")
    assert page.status_code == 400
    assert b"q: Remove the control character" in page.content
    assert client.get("/nurse/patients/?q=smith").status_code == 200

    client.post("/accounts/login/", {"username": admin_user.username, "password": PASSWORD})
    probes = 0
    for model, model_admin in admin.site._registry.items():
        url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
        params = [f"{name}__exact" for name in model_admin.list_filter if isinstance(name, str)]
        if model_admin.search_fields:
            params.append("q")
        for param in params:
            response = client.get(f"{url}?{param}=%00")
            probes += 1
            assert response.status_code == 400, (url, param, response.status_code)
    print(f"admin list filter and search probes with NUL: {probes}, all 400")
    assert probes >= 30


@pytest.mark.parametrize("path,has_body", OPERATIONS)
def test_a_nul_in_any_json_string_field_is_refused_before_the_view(api, admin_user, path, has_body):
    url = path.replace("{", "").replace("}", "")  # no object needs to exist: refused first
    response = api(admin_user).post(url, {"notes": "fine\u0000then"}, format="json")
    assert response.status_code == 400, (path, response.content[:200])
    assert response.json() == {"notes": [MESSAGE]}


def test_nested_fields_and_keys_are_named(api, patient):
    client = api(patient.user)
    nested = client.post(
        "/api/v1/symptom-reports/",
        {"symptoms": [{"code": "fatigue", "grade": 1}, {"code": "rash\u0000", "grade": 1}]},
        format="json",
    )
    assert nested.status_code == 400
    assert nested.json() == {"symptoms[1].code": [MESSAGE]}
    surrogate = client.post(
        "/api/v1/symptom-reports/",
        b'{"symptoms": [], "notes": "\\ud800"}',
        content_type="application/json",
    )
    assert surrogate.status_code == 400 and surrogate.json() == {"notes": [MESSAGE]}


def test_tab_and_new_line_stay_allowed_in_free_text(api, patient):
    response = api(patient.user).post(
        "/api/v1/symptom-reports/",
        {"symptoms": [{"code": "fatigue", "grade": 1}], "notes": "tired\nsince Monday\tmostly"},
        format="json",
    )
    assert response.status_code == 201, response.content


def test_a_form_body_with_nul_is_refused(client, patient):
    client.post("/accounts/login/", {"username": patient.user.username, "password": PASSWORD})
    response = client.post("/accounts/login/", {"username": "sam\x00", "password": "x"})
    assert response.status_code == 400
    assert b"username: Remove the control character" in response.content
