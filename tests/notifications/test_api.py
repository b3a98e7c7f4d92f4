"""GET /api/v1/alerts/, POST /api/v1/alerts/{id}/acknowledge/ and /resolve/ (API.md): nurses
see their own teams' alerts, admins all, patients nothing; red first, then oldest first."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from notifications.models import Alert, AlertEventKind, AlertStatus
from tests.factories import PatientFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/alerts/"


def make_alert(patient, level="amber", *, minutes_ago=0, kind="symptom", status="open"):
    created = timezone.now() - timedelta(minutes=minutes_ago)
    return Alert.objects.create(
        patient=patient,
        care_team=patient.care_team,
        kind=kind,
        level=level,
        status=status,
        reasons=[{"code": "fever", "level": level, "rule": "temperature 38.2"}],
        created_at=created,
        due_by=created + timedelta(minutes=30 if level == "red" else 240),
    )


def test_list_is_red_first_then_oldest_first_with_the_api_fields(api, nurse, patient):
    amber_old = make_alert(patient, "amber", minutes_ago=300)
    red_new = make_alert(patient, "red", minutes_ago=5)
    red_old = make_alert(patient, "red", minutes_ago=40)
    green = make_alert(patient, "green", minutes_ago=600, kind="missed_dose")

    response = api(nurse).get(URL)
    assert response.status_code == 200
    rows = response.json()["results"]
    assert [r["id"] for r in rows] == [red_old.pk, red_new.pk, amber_old.pk, green.pk]
    first = rows[0]
    for name in [
        "id",
        "patient",
        "kind",
        "level",
        "status",
        "reasons",
        "created_at",
        "due_by",
        "overdue",
    ]:
        assert name in first
    assert first["patient"] == patient.pk
    assert first["overdue"] is True  # red, 40 minutes old, not acknowledged
    assert rows[1]["overdue"] is False
    assert first["reasons"][0]["code"] == "fever"


def test_nurses_see_only_their_teams_alerts_admins_all(api, nurse, other_nurse, admin_user):
    mine = make_alert(PatientFactory(care_team=nurse.care_teams.get()))
    theirs = make_alert(PatientFactory(care_team=other_nurse.care_teams.get()))

    assert [r["id"] for r in api(nurse).get(URL).json()["results"]] == [mine.pk]
    assert [r["id"] for r in api(other_nurse).get(URL).json()["results"]] == [theirs.pk]
    assert {r["id"] for r in api(admin_user).get(URL).json()["results"]} == {mine.pk, theirs.pk}
    # Another team's alert: 404 for acknowledge and resolve, and it is unchanged.
    assert api(nurse).post(f"{URL}{theirs.pk}/acknowledge/").status_code == 404
    body = {"outcome": "no_action_needed", "note": "x"}
    assert api(nurse).post(f"{URL}{theirs.pk}/resolve/", body).status_code == 404
    assert api(nurse).get(f"{URL}{theirs.pk}/").status_code == 404
    theirs.refresh_from_db()
    assert theirs.status == AlertStatus.OPEN


def test_patients_and_anonymous_users_get_nothing(api, patient):
    alert = make_alert(patient)
    assert api(patient.user).get(URL).status_code == 403
    assert api(patient.user).post(f"{URL}{alert.pk}/acknowledge/").status_code == 403
    assert api(None).get(URL).status_code in (401, 403)


def test_filters(api, nurse, patient):
    other = PatientFactory(care_team=patient.care_team)
    red = make_alert(patient, "red")
    amber = make_alert(other, "amber", kind="missed_infusion")
    done = make_alert(patient, "amber", status="resolved")
    client = api(nurse)

    def ids(query):
        response = client.get(URL + query)
        assert response.status_code == 200, response.json()
        return {r["id"] for r in response.json()["results"]}

    assert ids("") == {red.pk, amber.pk, done.pk}
    assert ids("?status=open") == {red.pk, amber.pk}
    assert ids("?status=resolved") == {done.pk}
    assert ids("?level=red") == {red.pk}
    assert ids(f"?patient={other.pk}") == {amber.pk}
    assert ids("?kind=missed_infusion") == {amber.pk}
    assert ids("?level=amber&status=open") == {amber.pk}


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("?status=closed", "status"),
        ("?level=purple", "level"),
        ("?patient=abc", "patient"),
        ("?kind=other", "kind"),
    ],
)
def test_bad_filters_are_400_naming_the_field(api, nurse, query, field):
    response = api(nurse).get(URL + query)
    assert response.status_code == 400
    assert field in response.json()


def test_acknowledge_then_resolve_keeps_who_and_when(api, nurse, patient):
    alert = make_alert(patient, "red")
    client = api(nurse)

    response = client.post(f"{URL}{alert.pk}/acknowledge/")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "acknowledged" and body["acknowledged_by"] == nurse.pk
    assert body["overdue"] is False
    # Acknowledging again changes nothing.
    assert (
        client.post(f"{URL}{alert.pk}/acknowledge/").json()["acknowledged_at"]
        == (body["acknowledged_at"])
    )

    response = client.post(
        f"{URL}{alert.pk}/resolve/",
        {"outcome": "same_day_assessment", "note": "Asked to attend the day unit at 2pm."},
    )
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["status"] == "resolved" and body["resolved_by"] == nurse.pk
    assert body["outcome"] == "same_day_assessment"
    assert body["resolution_note"] == "Asked to attend the day unit at 2pm."
    assert [e["kind"] for e in body["events"]] == [
        AlertEventKind.ACKNOWLEDGED,
        AlertEventKind.RESOLVED,
    ]
    assert body["events"][0]["actor"] == nurse.pk
    # The same resolve again is answered the same; a different one is refused.
    again = client.post(
        f"{URL}{alert.pk}/resolve/",
        {"outcome": "same_day_assessment", "note": "Asked to attend the day unit at 2pm."},
    )
    assert again.status_code == 200
    other = client.post(f"{URL}{alert.pk}/resolve/", {"outcome": "other", "note": "changed"})
    assert other.status_code == 400
    assert client.post(f"{URL}{alert.pk}/acknowledge/").status_code == 400


def test_resolve_straight_from_open(api, nurse, patient):
    alert = make_alert(patient)
    response = api(nurse).post(
        f"{URL}{alert.pk}/resolve/", {"outcome": "advice_given_by_phone", "note": "Phoned."}
    )
    assert response.status_code == 200
    assert response.json()["acknowledged_at"] is None


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({}, {"outcome", "note"}),
        ({"outcome": "cured", "note": "x"}, {"outcome"}),
        ({"outcome": "other", "note": "   "}, {"note"}),
        ({"outcome": "other", "note": "x" * 4001}, {"note"}),
        ({"outcome": "other", "note": "x", "urgent": True}, {"urgent"}),
    ],
)
def test_bad_resolve_is_400_naming_each_field_and_changes_nothing(
    api, nurse, patient, body, fields
):
    alert = make_alert(patient)
    response = api(nurse).post(f"{URL}{alert.pk}/resolve/", body, format="json")
    assert response.status_code == 400
    assert fields <= set(response.json())
    alert.refresh_from_db()
    assert alert.status == AlertStatus.OPEN and not alert.events.exists()


def test_acknowledge_refuses_a_body_with_fields(api, nurse, patient):
    alert = make_alert(patient)
    response = api(nurse).post(f"{URL}{alert.pk}/acknowledge/", {"note": "x"}, format="json")
    assert response.status_code == 400 and "note" in response.json()


def test_a_page_of_alerts_costs_a_fixed_number_of_queries(api, nurse, patient):
    client = api(nurse)
    make_alert(patient)
    client.get(URL)  # warm caches (roles, teams)
    with CaptureQueriesContext(connection) as few:
        client.get(URL)
    for n in range(20):
        make_alert(PatientFactory(care_team=patient.care_team), minutes_ago=n)
    with CaptureQueriesContext(connection) as many:
        assert len(client.get(URL).json()["results"]) == 21
    assert len(many) == len(few)


def test_the_schema_documents_the_alert_endpoints(api, admin_user):
    response = api(admin_user).get("/api/v1/schema/", HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    paths = response.json()["paths"]
    assert "/api/v1/alerts/" in paths
    assert "post" in paths["/api/v1/alerts/{id}/acknowledge/"]
    assert "post" in paths["/api/v1/alerts/{id}/resolve/"]
