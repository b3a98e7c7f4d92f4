"""What one dose log costs through the API (docs/benchmarks.md, benchmark 2), and the
per-process copies that made it cheaper: the drug catalogue and users' roles, each
dropped as soon as the rows change."""

import re

import pytest
import time_machine
from django.contrib.auth.models import Group
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from medications import catalogue
from medications.models import Drug
from patients.audit import AuditScope
from patients.models import AuditEvent, Role
from patients.roles import role_of

from .conftest import prescribe, utc

pytestmark = pytest.mark.django_db
START = utc(2026, 3, 2, 7)  # sorafenib 08:00 and 20:00 London


def _token_client(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    return client


def _log(client, dose, when, **body):
    with time_machine.travel(when, tick=False):
        return client.post(f"/api/v1/doses/{dose.pk}/log/", body or {"action": "taken"})


@pytest.fixture
def doses(patient):
    prescription = prescribe(patient, now=START)
    return list(prescription.expected_doses.order_by("due_at")[:2])


def test_a_first_dose_log_is_seven_statements(patient, doses):
    client = _token_client(patient.user)
    assert _log(client, doses[0], utc(2026, 3, 2, 8, 5)).status_code == 201
    with CaptureQueriesContext(connection) as queries:
        response = _log(client, doses[1], utc(2026, 3, 2, 20, 5))
    assert response.status_code == 201, response.json()
    statements = [q["sql"].split(" ", 1)[0] for q in queries.captured_queries]
    # Token with the user's role groups (one query); inside the log's transaction (a
    # savepoint here, BEGIN/COMMIT in service): the dose found among the patient's own and
    # locked, with its prescription and patient (the drug from the catalogue), its current
    # log's id (none yet: not read) and whether its prescription has an alert a taken dose
    # may close (none: the receiver sends nothing); the conditional update, the new log;
    # after the answer, the audit row. Was 14, then 11 (docs/benchmarks.md).
    assert statements == [
        "SELECT",  # token, user, role groups
        "SAVEPOINT",
        "SELECT",  # the dose, scoped, FOR UPDATE (not on SQLite), current log, alert hint
        "UPDATE",
        "INSERT",
        "RELEASE",
        "INSERT",  # audit event
    ]
    locked = queries.captured_queries[2]["sql"]
    assert "auth_group" not in locked and "medications_drug" not in locked
    if connection.features.has_select_for_update:
        assert "FOR UPDATE OF" in locked
    assert AuditEvent.objects.filter(patient=patient, what__startswith="dose-log").count() == 2
    body = response.json()
    assert body["state"] == "taken" and body["drug"] == "sorafenib"


def test_a_dose_log_with_an_alert_to_close_still_closes_it(patient):
    from notifications.models import Alert, AlertLevel
    from notifications.services import missed_doses_sweep
    from tests.notifications.helpers import dose_at, take_doses

    prescription = prescribe(patient, now=START)
    take_doses(prescription, before=utc(2026, 3, 9, 8))  # a week on time, then one missed
    missed_doses_sweep(now=utc(2026, 3, 9, 14, 0, 1))
    alert = Alert.objects.get(prescription=prescription)
    assert (alert.level, alert.status) == (AlertLevel.GREEN, "open")
    client = _token_client(patient.user)
    evening = dose_at(prescription, utc(2026, 3, 9, 20))
    catalogue.drugs_by_id()  # this process's copy, as in service
    with CaptureQueriesContext(connection) as queries:
        assert _log(client, evening, utc(2026, 3, 9, 20, 5)).status_code == 201
    # The locked read said "an alert may close": the receiver's savepoint, its read, the
    # close (then its event).
    statements = [q["sql"].split(" ", 1)[0] for q in queries.captured_queries]
    assert statements[5:8] == ["SAVEPOINT", "SELECT", "UPDATE"]
    alert.refresh_from_db()
    assert (alert.status, alert.outcome) == ("resolved", "doses_resumed")


def test_a_role_change_counts_on_the_next_token_request(patient, doses):
    client = _token_client(patient.user)
    patient.user.groups.remove(Group.objects.get(name=Role.PATIENT))
    patient.user.groups.add(Group.objects.get(name=Role.NURSE))
    # A nurse of no team sees no patient's dose: the role is read with the token, never kept.
    assert _log(client, doses[0], utc(2026, 3, 2, 8, 5)).status_code == 404


def test_role_copy_is_dropped_when_groups_change(patient, nurse):
    user = type(nurse).objects.get(pk=nurse.pk)
    assert role_of(user) == Role.NURSE
    nurse.groups.clear()  # user.groups side
    assert role_of(type(nurse).objects.get(pk=nurse.pk)) is None
    Group.objects.get(name=Role.ADMIN).user_set.add(nurse)  # group side
    assert role_of(type(nurse).objects.get(pk=nurse.pk)) == Role.ADMIN
    with CaptureQueriesContext(connection) as queries:
        assert role_of(type(nurse).objects.get(pk=nurse.pk)) == Role.ADMIN
    assert len(queries) == 1  # the user row; the groups come from this process's copy


def test_role_copy_expires(patient, nurse, settings):
    settings.PROCESS_CACHE_SECONDS = 0
    role_of(type(nurse).objects.get(pk=nurse.pk))
    with CaptureQueriesContext(connection) as queries:
        role_of(type(nurse).objects.get(pk=nurse.pk))
    assert len(queries) == 2  # user and groups again: nothing kept for 0 seconds


def test_drug_catalogue_copy_follows_an_edit(patient, doses):
    client = _token_client(patient.user)
    assert _log(client, doses[0], utc(2026, 3, 2, 16)).json()["rule"] is not None  # late
    sorafenib = Drug.objects.get(code="sorafenib")
    sorafenib.missed_dose_advice = "Skip it and take the next one as usual."
    sorafenib.save()
    body = _log(client, doses[1], utc(2026, 3, 3, 9)).json()
    assert body["state"] == "taken_late"
    assert body["rule"] == "Skip it and take the next one as usual."
    with CaptureQueriesContext(connection) as queries:
        assert catalogue.drug(sorafenib.pk).missed_dose_advice.startswith("Skip it")
    assert len(queries) == 0


def test_a_drug_added_elsewhere_is_found(db):
    catalogue.drugs_by_id()
    created = Drug.objects.bulk_create(  # bulk_create sends no post_save: as another process
        [Drug(code="newdrug", name="New", brand="N", route="oral", form="f")]
    )[0]
    if created.pk is None:
        created = Drug.objects.get(code="newdrug")
    assert catalogue.drug(created.pk).code == "newdrug"


def test_audit_checks_only_patients_not_read_in_the_request(patient, other_patient, nurse):
    from django.http import HttpResponse
    from django.test import RequestFactory

    from patients import audit

    request = RequestFactory().get("/somewhere/")
    request.user = nurse
    role_of(nurse)  # the nurse's role groups, read once (not what this test counts)
    scope = AuditScope()
    token = audit._scope.set(scope)
    try:
        type(patient).objects.get(pk=patient.pk)  # read here: known to exist
        gone = type(other_patient).objects.get(pk=other_patient.pk)
        gone_pk = gone.pk
        gone.delete()  # read, then deleted in the same request: must be checked
        scope.note(10**9)  # named (URL, answer) only, no such patient
        with CaptureQueriesContext(connection) as queries:
            written = audit.record(request, HttpResponse(), scope)
    finally:
        audit._scope.reset(token)
    assert written == 1
    assert list(AuditEvent.objects.values_list("patient_ref", flat=True)) == [patient.pk]
    checked = [q["sql"] for q in queries.captured_queries if q["sql"].startswith("SELECT")]
    assert len(checked) == 1
    asked = {int(x) for x in re.search(r"IN \(([^)]*)\)", checked[0]).group(1).split(",")}
    assert asked == {gone_pk, 10**9}  # not the patient read in this request
