"""Authorisation matrix: every URL pattern x every kind of user, with the expected outcome.

Roles (API.md): a patient sees only their own data; a nurse the patients of their care teams;
an admin everything. Out of reach answers 404 (never 403: a 403 would confirm the record
exists). Anonymous: 401 on the API, a redirect to the sign-in page for pages.

MATRIX is data: one entry per URL pattern name (namespaced, e.g. "medications:today"),
holding one or more Checks (method, path, expected outcome for each of the six users, body).
`test_every_url_pattern_has_an_entry` walks the URL resolver and fails, naming each pattern
that has no entry, when an endpoint is added without one. The whole Django admin is one
family (ADMIN_FAMILY). How to add an entry: docs/security.md, "Authorisation matrix".
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
import time_machine
from django.apps import apps
from django.contrib import admin as django_admin
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from patients.audit import _ids_from_body
from tests.factories import (
    PASSWORD,
    AdminFactory,
    CareTeamFactory,
    NurseFactory,
    PatientFactory,
)

from .matrix_checkins import CHECKINS_MATRIX, PATIENT_PATCH_CHECKS
from .matrix_interop import INTEROP_MATRIX
from .matrix_push import PUSH_MATRIX, PUSH_SUBSCRIPTION
from .matrix_sign_in import SIGN_IN_MATRIX
from .matrix_vocabulary import (
    ADMIN,
    ADMIN_LOGIN,
    ANON,
    API_OWN_RECORD,
    API_SCOPED_LIST,
    API_SIGNED_IN,
    API_STAFF_ACTION,
    API_STAFF_CREATE,
    API_STAFF_LIST,
    FHIR_HIDDEN,
    FHIR_SEES,
    HIDDEN,
    LOGIN,
    NURSE,
    NURSE_OBJECT_PAGE,
    NURSE_PAGE,
    OTHER_NURSE,
    OTHER_PATIENT,
    PAGE_PUBLIC,
    PAGE_SIGNED_IN,
    PATIENT,
    PATIENT_OBJECT_PAGE,
    PATIENT_PAGE,
    REDIRECT,
    ROLES,
    SEES,
    Check,
    outcomes,
)

MATRIX: dict[str, list[Check]] = {
    # --- pages ------------------------------------------------------------------------------
    "home": [Check("GET", "/", outcomes(LOGIN, *[REDIRECT] * 5))],
    "healthz": [Check("GET", "/healthz/", PAGE_PUBLIC)],
    # Anyone, no patient data; this world has no worker or beat heartbeat: 503 for everyone.
    "readyz": [Check("GET", "/readyz/", outcomes(*[503] * 6))],
    "login": [
        Check("GET", "/accounts/login/", outcomes(200, *[REDIRECT] * 5)),
    ],
    "logout": [
        Check("POST", "/accounts/logout/", outcomes(*[LOGIN] * 6), note="then to sign-in"),
        Check("GET", "/accounts/logout/", outcomes(*[405] * 6), note="sign-out is POST only"),
    ],
    "password_change": [Check("GET", "/accounts/password/", PAGE_SIGNED_IN)],
    "password_change_done": [Check("GET", "/accounts/password/done/", PAGE_SIGNED_IN)],
    # A new nurse's invite link (patients/invites.py): the token is the key; a bad one shows
    # "This link no longer works" to anyone.
    "invite": [Check("GET", "/accounts/invite/MQ/not-a-token/", PAGE_PUBLIC)],
    "invite_done": [Check("GET", "/accounts/invite/done/", PAGE_PUBLIC)],
    # --- API: sign-in, schema, docs -----------------------------------------------------------
    "api-token": [
        # No session or token is used here: everyone is anonymous to this view.
        Check(
            "POST",
            "/api/v1/auth/token/",
            outcomes(*[200] * 6),
            body={"username": "{username}", "password": PASSWORD},
        ),
        # The token's owner ends it (patients/tokens.py); no token, nothing to end.
        Check("DELETE", "/api/v1/auth/token/", outcomes(401, *[204] * 5)),
    ],
    "api-schema": [Check("GET", "/api/v1/schema/", API_SIGNED_IN)],
    "api-docs": [Check("GET", "/api/v1/docs/", API_SIGNED_IN)],
    # --- API: patients --------------------------------------------------------------------------
    "patient-list": [
        Check("GET", "/api/v1/patients/", API_STAFF_LIST),
        Check(
            "POST",
            "/api/v1/patients/",
            outcomes(401, 403, 403, 201, 201, 201),
            body={
                "username": "enrolled",
                "password": "a-Strong-passphrase-77",
                "given_name": "Jo",
                "family_name": "Bloggs",
                "nhs_number": "943 476 5919",
                "date_of_birth": "1957-04-01",
                "weight_kg": "68.5",
                "child_pugh_class": "A",
                "performance_status": 1,
            },
            note="a nurse with one team enrols into it",
        ),
        Check(
            "POST",
            "/api/v1/patients/",
            outcomes(401, 403, 403, 201, 400, 201),
            body={
                "username": "enrolled",
                "password": "a-Strong-passphrase-77",
                "given_name": "Jo",
                "family_name": "Bloggs",
                "nhs_number": "943 476 5919",
                "date_of_birth": "1957-04-01",
                "weight_kg": "68.5",
                "child_pugh_class": "A",
                "performance_status": 1,
                "care_team": "{team}",
            },
            note="never into another team",
        ),
    ],
    "patient-detail": [
        Check("GET", "/api/v1/patients/{patient}/", API_OWN_RECORD),
        Check("GET", "/api/v1/patients/{patient}.json", API_OWN_RECORD, note="format suffix"),
        Check("GET", "/api/v1/patients/999999999/", outcomes(401, 404, 404, 404, 404, 404)),
        Check("DELETE", "/api/v1/patients/{patient}/", outcomes(401, 405, 405, 405, 405, 405)),
        *PATIENT_PATCH_CHECKS,
    ],
    "patient-adherence": [
        Check("GET", "/api/v1/patients/{patient}/adherence/", API_OWN_RECORD),
    ],
    # --- API: medications -------------------------------------------------------------------
    "drug-list": [Check("GET", "/api/v1/drugs/", API_SIGNED_IN)],
    "drug-detail": [Check("GET", "/api/v1/drugs/{drug}/", API_SIGNED_IN)],
    "prescription-list": [
        Check("GET", "/api/v1/prescriptions/", API_SCOPED_LIST),
        Check(
            "POST",
            "/api/v1/prescriptions/",
            API_STAFF_CREATE,
            body={
                "patient": "{newcomer}",
                "drug": "sorafenib",
                "times": ["08:00", "20:00"],
                "start_date": "{today}",
            },
        ),
    ],
    "prescription-detail": [
        Check("GET", "/api/v1/prescriptions/{prescription}/", API_OWN_RECORD),
    ],
    "prescription-hold": [
        Check(
            "POST",
            "/api/v1/prescriptions/{prescription}/hold/",
            API_STAFF_ACTION,
            body={"reason": "matrix"},
        ),
    ],
    "prescription-resume": [
        Check(
            "POST",
            "/api/v1/prescriptions/{prescription}/resume/",
            API_STAFF_ACTION,
            body={"reason": "matrix"},
            before=(("POST", "/api/v1/prescriptions/{prescription}/hold/", {"reason": "m"}),),
        ),
    ],
    "prescription-change-dose": [
        Check(
            "POST",
            "/api/v1/prescriptions/{prescription}/change-dose/",
            API_STAFF_ACTION,
            body={"dose_mg": "400", "times": ["08:00"], "reason": "matrix"},
        ),
    ],
    "prescription-stop": [
        Check(
            "POST",
            "/api/v1/prescriptions/{prescription}/stop/",
            API_STAFF_ACTION,
            body={"reason": "matrix"},
        ),
    ],
    "infusion-course-list": [
        Check("GET", "/api/v1/infusion-courses/", API_SCOPED_LIST),
        Check(
            "POST",
            "/api/v1/infusion-courses/",
            API_STAFF_CREATE,
            body={
                "patient": "{newcomer}",
                "drugs": ["atezolizumab", "bevacizumab"],
                "first_infusion_at": "{later}",
            },
        ),
    ],
    "infusion-course-detail": [
        Check("GET", "/api/v1/infusion-courses/{course}/", API_OWN_RECORD),
    ],
    "infusion-list": [Check("GET", "/api/v1/infusions/", API_SCOPED_LIST)],
    "infusion-detail": [Check("GET", "/api/v1/infusions/{infusion}/", API_OWN_RECORD)],
    "infusion-given": [
        Check(
            "POST",
            "/api/v1/infusions/{infusion}/given/",
            API_STAFF_ACTION,
            body={"given_at": "{now}"},
        ),
    ],
    "infusion-reschedule": [
        Check(
            "POST",
            "/api/v1/infusions/{infusion}/reschedule/",
            API_STAFF_ACTION,
            body={"scheduled_at": "{later}", "reason": "matrix"},
        ),
    ],
    "dose-list": [
        Check("GET", "/api/v1/doses/", API_SCOPED_LIST),
        Check("GET", "/api/v1/doses/?patient={patient}", outcomes(401, 200, 404, 200, 404, 200)),
    ],
    "dose-detail": [Check("GET", "/api/v1/doses/{dose}/", API_OWN_RECORD)],
    "dose-log": [
        Check(
            "POST",
            "/api/v1/doses/{dose}/log/",
            outcomes(401, 201, 404, 201, 404, 201),
            body={"action": "taken"},
            note="the patient logs their own doses",
        ),
    ],
    "symptom-report-list": [
        Check("GET", "/api/v1/symptom-reports/", API_SCOPED_LIST),
        Check(
            "GET",
            "/api/v1/symptom-reports/?patient={patient}",
            outcomes(401, 200, 404, 200, 404, 200),
        ),
        Check(
            "POST",
            "/api/v1/symptom-reports/",
            outcomes(401, 201, 404, 201, 404, 201),
            body={"patient": "{patient}", "symptoms": [{"code": "diarrhoea", "grade": 1}]},
            note="patients report for themselves; staff for a patient in their care",
        ),
    ],
    "symptom-report-detail": [
        Check("GET", "/api/v1/symptom-reports/{symptom_report}/", API_OWN_RECORD),
    ],
    # --- patient pages (/me/): patients only, their own record; staff are sent home on a
    # GET and refused (404) otherwise; someone else's object is a 404.
    "medications:today": [Check("GET", "/me/", PATIENT_PAGE)],
    "medications:treatment": [Check("GET", "/me/treatment/", PATIENT_PAGE)],
    "medications:history": [Check("GET", "/me/history/", PATIENT_PAGE)],
    "medications:symptom_new": [
        Check("GET", "/me/symptoms/new/", PATIENT_PAGE),
        Check(
            "POST",
            "/me/symptoms/new/",
            outcomes(LOGIN, 200, 200, 404, 404, 404),
            body={"symptoms": "none"},
            note="a bad form comes back with its errors (200); staff may not post here",
        ),
    ],
    "medications:symptom_result": [
        Check("GET", "/me/symptoms/{symptom_report}/", PATIENT_OBJECT_PAGE),
    ],
    "medications:dose_card": [
        Check(
            "GET", "/me/doses/{dose}/", outcomes(LOGIN, REDIRECT, 404, REDIRECT, REDIRECT, REDIRECT)
        ),
    ],
    "medications:dose_taken": [
        Check("POST", "/me/doses/{dose}/taken/", outcomes(LOGIN, REDIRECT, 404, 404, 404, 404)),
    ],
    "medications:dose_not_taken": [
        Check("GET", "/me/doses/{dose}/not-taken/", PATIENT_OBJECT_PAGE),
    ],
    # --- API: alerts (notifications) ---------------------------------------------------------
    "alert-list": [
        Check("GET", "/api/v1/alerts/", API_STAFF_LIST),
        Check(
            "GET",
            "/api/v1/alerts/?patient={patient}",
            outcomes(401, 403, 403, SEES, HIDDEN, SEES),
            note="out of reach: an empty list (doses and symptom reports answer 404)",
        ),
    ],
    "alert-detail": [
        Check("GET", "/api/v1/alerts/{alert}/", outcomes(401, 403, 403, 200, 404, 200)),
    ],
    "alert-acknowledge": [
        Check("POST", "/api/v1/alerts/{alert}/acknowledge/", API_STAFF_ACTION, body={}),
    ],
    "alert-resolve": [
        Check(
            "POST",
            "/api/v1/alerts/{alert}/resolve/",
            API_STAFF_ACTION,
            body={"outcome": "advice_given_by_phone", "note": "matrix"},
        ),
    ],
    # --- nurse dashboard pages (/nurse/): staff only; patients get a 404 (nothing here is
    # theirs); a nurse gets a 404 outside their teams. Empty form posts by allowed users come
    # back as 400 with the form's errors: they passed the authorisation check.
    "notifications:queue": [Check("GET", "/nurse/", NURSE_PAGE)],
    "notifications:queue_rows": [Check("GET", "/nurse/queue/rows/", NURSE_PAGE)],
    "notifications:queue_pulse": [Check("GET", "/nurse/queue/pulse/", NURSE_PAGE)],
    "notifications:patients": [Check("GET", "/nurse/patients/", NURSE_PAGE)],
    "notifications:metrics": [Check("GET", "/nurse/metrics/", NURSE_PAGE)],
    "notifications:metrics_csv": [Check("GET", "/nurse/metrics/metrics.csv", NURSE_PAGE)],
    "notifications:alert": [Check("GET", "/nurse/alerts/{alert}/", NURSE_OBJECT_PAGE)],
    "notifications:alert_acknowledge": [
        Check(
            "POST",
            "/nurse/alerts/{alert}/acknowledge/",
            outcomes(LOGIN, 404, 404, REDIRECT, 404, REDIRECT),
            body={},
        ),
    ],
    "notifications:alert_resolve": [
        Check(
            "POST",
            "/nurse/alerts/{alert}/resolve/",
            outcomes(LOGIN, 404, 404, 400, 404, 400),
            body={},
        ),
    ],
    "notifications:patient": [Check("GET", "/nurse/patients/{patient}/", NURSE_OBJECT_PAGE)],
    "notifications:patient_timeline": [
        Check("GET", "/nurse/patients/{patient}/timeline/", NURSE_OBJECT_PAGE),
    ],
    "notifications:prescription_action": [
        Check(
            "POST",
            "/nurse/patients/{patient}/prescriptions/{prescription}/hold/",
            outcomes(LOGIN, 404, 404, 400, 404, 400),
            body={},
        ),
    ],
    "notifications:infusion_action": [
        Check(
            "POST",
            "/nurse/patients/{patient}/infusions/{infusion}/reschedule/",
            outcomes(LOGIN, 404, 404, 400, 404, 400),
            body={},
        ),
    ],
    **INTEROP_MATRIX,
    **CHECKINS_MATRIX,
    **PUSH_MATRIX,
    **SIGN_IN_MATRIX,
}

# Entries written from API.md for endpoints not built yet. When the endpoint appears, the
# coverage test points here: move the entry into MATRIX (adjusting the name if it differs).
PLANNED: dict[str, list[Check]] = {}

# The Django admin: one family. Staff pages for admins only; everyone else is sent to the
# admin sign-in page. Checked on the index, every registered model's list and add pages, and
# the change page of the world's patient.
ADMIN_FAMILY = outcomes(*[ADMIN_LOGIN] * 5, 200)


# --- the world -----------------------------------------------------------------------------
NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)  # a Monday: the world is built at noon
ASKED_AT = NOW + timedelta(hours=8, minutes=30)  # requests: sorafenib's 20:00 dose is due


@dataclass
class World:
    users: dict[str, Any]
    ids: dict[str, Any] = field(default_factory=dict)


def build_world() -> World:
    from medications import services
    from medications.models import Drug

    team, other_team = CareTeamFactory(), CareTeamFactory()
    patient = PatientFactory(care_team=team, last_upper_endoscopy_on=date(2026, 1, 5))
    other_patient = PatientFactory(care_team=other_team)
    newcomer = PatientFactory(care_team=team, last_upper_endoscopy_on=date(2026, 1, 5))
    nurse = NurseFactory(teams=[team])
    users = {
        ANON: None,
        PATIENT: patient.user,
        OTHER_PATIENT: other_patient.user,
        NURSE: nurse,
        OTHER_NURSE: NurseFactory(teams=[other_team]),
        ADMIN: AdminFactory(),
    }
    prescription = services.prescription_create(
        patient=patient,
        drug=Drug.objects.get(code="sorafenib"),
        dose_mg=None,
        times=["08:00", "20:00"],
        start_date=NOW.date(),
        recorded_by=nurse,
        now=NOW,
    )
    dose = prescription.expected_doses.order_by("due_at").first()
    course = services.infusion_course_create(
        patient=patient,
        drugs=["atezolizumab", "bevacizumab"],
        first_infusion_at=NOW + timedelta(days=2),
        override_reason="matrix: already on sorafenib",
        recorded_by=nurse,
        now=NOW,
    )
    from medications.symptoms.services import symptom_report_create

    report = symptom_report_create(
        patient=patient, data={"symptoms": [{"code": "diarrhoea", "grade": 1}]}, entered_by=None
    )
    ids = {
        "symptom_report": report.pk,
        "patient": patient.pk,
        "other_patient": other_patient.pk,
        "newcomer": newcomer.pk,
        "team": team.pk,
        "username": patient.user.username,
        "prescription": prescription.pk,
        "dose": dose.pk,
        "course": course.pk,
        "infusion": course.appointments.order_by("cycle_number").first().pk,
        "drug": "sorafenib",
        "today": NOW.date().isoformat(),
        "now": NOW.isoformat(),
        "later": (NOW + timedelta(days=10)).isoformat(),
    }
    from patients.models import PushSubscription

    ids["subscription"] = PushSubscription.objects.create(
        patient=patient,
        endpoint="https://fcm.googleapis.com/fcm/send/matrix-world",
        p256dh=PUSH_SUBSCRIPTION["keys"]["p256dh"],
        auth=PUSH_SUBSCRIPTION["keys"]["auth"],
    ).pk
    if apps.is_installed("notifications"):
        from notifications.models import Alert

        alert = Alert.objects.create(
            patient=patient, care_team=team, kind="symptom", level="amber", due_by=NOW
        )
        ids["alert"] = alert.pk
    if apps.is_installed("interop"):
        from interop import bulk

        job = bulk.bulk_export_start(
            user=nurse,
            team=team,
            resource_types=["Patient"],
            since=None,
            request_url="http://testserver/fhir/r4/Group/1/$export",
            base_url="http://testserver/fhir/r4",
        )
        bulk.bulk_export_run(job.pk)
        ids["export_job"] = str(job.pk)
    return World(users=users, ids=ids)


def fill(value, ids: dict):
    if isinstance(value, str):
        whole = re.fullmatch(r"\{(\w+)\}", value)
        if whole:
            return ids[whole.group(1)]  # keeps ints as ints in JSON bodies
        return value.format(**ids)
    if isinstance(value, list):
        return [fill(v, ids) for v in value]
    if isinstance(value, dict):
        return {k: fill(v, ids) for k, v in value.items()}
    return value


def client_for(user, path: str):
    if path.startswith(("/api/", "/fhir/")):
        client = APIClient()
        if user is not None:
            token, _ = Token.objects.get_or_create(user=user)
            client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
        return client
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


def send(client, method: str, path: str, body=None):
    kwargs = {}
    if body is not None and path.startswith("/api/"):
        kwargs = {"data": json.dumps(body), "content_type": "application/json"}
    elif body is not None:
        kwargs = {"data": body}  # a page: an HTML form post
    return getattr(client, method.lower())(path, **kwargs)


def assert_outcome(response, expected, world: World, label: str) -> None:
    status = response.status_code
    body = b"(a file)" if response.streaming else response.content[:300]
    detail = f"{label}: got {status} {response.get('Location', '')} {body!r}"
    if isinstance(expected, int):
        assert status == expected, detail
    elif expected in (LOGIN, ADMIN_LOGIN, REDIRECT):
        assert status == 302, detail
        location = response["Location"]
        if expected == LOGIN:
            assert location.startswith("/accounts/login/"), detail
        elif expected == ADMIN_LOGIN:
            assert location.startswith("/admin/login/"), detail
        else:
            assert not location.startswith(("/accounts/login/", "/admin/login/")), detail
    elif expected in (FHIR_SEES, FHIR_HIDDEN):
        assert status == 200, detail
        wanted = world.ids["patient"]
        entries = response.json().get("entry", [])
        sees = any(
            (e["resource"]["resourceType"], e["resource"]["id"]) == ("Patient", str(wanted))
            or e["resource"].get("subject", {}).get("reference") == f"Patient/{wanted}"
            for e in entries
        )
        assert sees == (expected == FHIR_SEES), f"{label}: {len(entries)} entries"
    elif expected in (SEES, HIDDEN):
        assert status == 200, detail
        found: set[int] = set()
        _ids_from_body(response.json(), found, patient_resource=True)
        sees = world.ids["patient"] in found
        assert sees == (expected == SEES), f"{label}: patient ids in answer {sorted(found)}"
    else:
        raise AssertionError(f"unknown outcome {expected!r} in the matrix")


def _cases():
    """A read (GET) is checked for all six users against one world; anything else changes
    the world, so each user gets a fresh one."""
    for name, checks in MATRIX.items():
        for index, check in enumerate(checks):
            if check.method == "GET":
                yield pytest.param(name, index, ROLES, id=f"{name}[{index}]")
            else:
                for role in ROLES:
                    yield pytest.param(name, index, (role,), id=f"{name}[{index}]-{role}")


@pytest.fixture(autouse=True)
def _export_files_in_tmp(settings, tmp_path):
    """The world's bulk export writes its files here, not under the project's var/."""
    settings.FHIR_EXPORT_DIR = tmp_path / "exports"


@pytest.mark.django_db
@pytest.mark.parametrize(("name", "index", "roles"), list(_cases()))
def test_authorisation_matrix(name, index, roles):
    check = MATRIX[name][index]
    assert set(check.expect) == set(ROLES), f"{name}[{index}] must give all six users"
    with time_machine.travel(NOW, tick=False):
        world = build_world()
    failures = []
    with time_machine.travel(ASKED_AT, tick=False):
        for method, before_path, before_body in check.before:
            before_path = fill(before_path, world.ids)
            done = send(
                client_for(world.users[ADMIN], before_path),
                method,
                before_path,
                fill(before_body, world.ids),
            )
            assert done.status_code < 300, f"setting up {name}: {done.content[:300]!r}"
        path = fill(check.path, world.ids)
        body = fill(check.body, world.ids)
        for role in roles:
            response = send(client_for(world.users[role], path), check.method, path, body)
            label = f"{check.method} {path} as {role} ({name}[{index}] {check.note})"
            try:
                assert_outcome(response, check.expect[role], world, label)
            except AssertionError as exc:
                failures.append(str(exc).splitlines()[0])
    assert not failures, "\n".join(failures)


def admin_family_paths(world: World) -> list[str]:
    paths = ["/admin/"]
    for model in django_admin.site._registry:
        meta = model._meta
        paths.append(f"/admin/{meta.app_label}/{meta.model_name}/")
    paths.append(f"/admin/patients/patient/{world.ids['patient']}/change/")
    return paths


@pytest.mark.django_db
@pytest.mark.parametrize("role", ROLES)
def test_admin_family(role):
    with time_machine.travel(NOW, tick=False):
        world = build_world()
    client = client_for(world.users[role], "/admin/")
    for path in admin_family_paths(world):
        response = client.get(path)
        assert_outcome(response, ADMIN_FAMILY[role], world, f"GET {path} as {role}")


# --- coverage: every URL pattern has an entry -----------------------------------------------


def url_patterns(resolver=None, prefix: str = "", namespace: str = ""):
    """(key, route) for every pattern: key is the namespaced name, or the route if unnamed."""
    resolver = resolver or get_resolver()
    for pattern in resolver.url_patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            ns = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
            yield from url_patterns(pattern, route, ns)
        elif isinstance(pattern, URLPattern):
            key = f"{namespace}{pattern.name}" if pattern.name else route
            yield key, route


def suggestion(key: str, route: str) -> str:
    path = "/" + re.sub(r"\^|\$|\(\?P<(\w+)>[^)]*\)|<(?:\w+:)?(\w+)>", _placeholder, route)
    path = path.replace("\\.", ".")
    method = "GET"
    return f'    "{key}": [Check("{method}", "{path}", outcomes(...))],'


# URL arguments -> the world's names for them.
_WORLD_NAMES = {
    "patient_id": "patient",
    "dose_id": "dose",
    "report_id": "symptom_report",
    "job_id": "export_job",
}


def _placeholder(match: re.Match) -> str:
    name = match.group(1) or match.group(2)
    if not name or name == "format":
        return ""
    return "{" + _WORLD_NAMES.get(name, name) + "}"


def test_every_url_pattern_has_an_entry():
    missing: dict[str, str] = {}
    for key, route in url_patterns():
        if key.startswith("admin:") or route.startswith("admin/"):
            continue  # ADMIN_FAMILY
        if key not in MATRIX:
            missing.setdefault(key, route)
    if missing:
        lines = []
        for key, route in sorted(missing.items()):
            hint = " (a planned entry exists in PLANNED: move it)" if key in PLANNED else ""
            lines.append(f"  {key}  <- route {route}{hint}")
        examples = "\n".join(suggestion(k, r) for k, r in sorted(missing.items()))
        pytest.fail(
            "These URL patterns have no entry in the authorisation matrix:\n"
            + "\n".join(lines)
            + "\n\nAdd one entry per pattern to MATRIX in "
            "tests/security/test_authorisation_matrix.py, giving the outcome for all six users "
            "(anonymous, patient, other_patient, nurse, other_nurse, admin), e.g.\n"
            + examples
            + "\nwith outcomes(...) one of the common rows (API_OWN_RECORD, API_STAFF_LIST, "
            "API_STAFF_ACTION, PAGE_SIGNED_IN, ...) or your own. See docs/security.md.",
            pytrace=False,
        )


def test_matrix_has_no_stale_entries():
    names = {key for key, _ in url_patterns()}
    stale = sorted(set(MATRIX) - names)
    assert not stale, f"MATRIX entries for URL names that do not exist (renamed?): {stale}"
    early = sorted(set(PLANNED) & set(MATRIX))
    assert not early, f"move these from PLANNED (already in MATRIX): {early}"
