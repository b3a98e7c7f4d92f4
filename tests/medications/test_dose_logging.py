"""Dose logging (clinical/adherence.md "Dose states"): states, windows, reasons,
idempotent retries, corrections, the dose_logged signal and scope."""

from datetime import timedelta

import pytest
import time_machine
from django.db import transaction

from medications import services
from medications.models import DoseLog, DoseState, ExpectedDose
from medications.signals import dose_logged

from .conftest import prescribe, utc

pytestmark = pytest.mark.django_db
START = utc(2026, 3, 2, 7)  # sorafenib 08:00 and 20:00 London (= UTC in March before the 29th)


@pytest.fixture
def prescription(patient):
    return prescribe(patient, now=START)


@pytest.fixture
def dose(prescription):
    return prescription.expected_doses.get(due_at=utc(2026, 3, 2, 8))


def log(client, dose, when, key=None, **body):
    headers = {"HTTP_IDEMPOTENCY_KEY": key} if key else {}
    with time_machine.travel(when, tick=False):
        return client.post(f"/api/v1/doses/{dose.pk}/log/", body, format="json", **headers)


@pytest.mark.parametrize(
    ("logged_at", "state", "outside"),
    [
        (utc(2026, 3, 2, 6, 30), DoseState.TAKEN, False),  # 90 minutes early
        (utc(2026, 3, 2, 8), DoseState.TAKEN, False),
        (utc(2026, 3, 2, 13, 59), DoseState.TAKEN, False),  # inside the 6 h window
        (utc(2026, 3, 2, 14, 0, 1), DoseState.TAKEN_LATE, True),  # window closed at 14:00
        (utc(2026, 3, 3, 9), DoseState.TAKEN_LATE, True),
    ],
)
def test_taken_within_or_after_the_window(api, patient, dose, logged_at, state, outside):
    response = log(api(patient.user), dose, logged_at, action="taken")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["state"] == state
    assert body["taken_outside_window"] is outside
    if outside:
        assert "within 6 hours" in body["rule"]  # the drug's rule, shown to the patient
    else:
        assert body["rule"] is None
    dose.refresh_from_db()
    assert dose.state == state and dose.taken_at == logged_at


def test_taken_at_an_earlier_time_counts_from_that_time(api, patient, dose):
    response = log(
        api(patient.user), dose, utc(2026, 3, 2, 18), action="taken", at="2026-03-02T08:15:00Z"
    )
    assert response.json()["state"] == "taken"
    assert response.json()["taken_at"] == "2026-03-02T08:15:00Z"


def test_a_dose_the_sweep_marked_missed_and_taken_late_now_is_taken_late(api, patient, dose):
    # The missed-dose sweep's conditional update (notifications app).
    assert ExpectedDose.objects.filter(pk=dose.pk, state="pending").update(state="missed") == 1
    response = log(api(patient.user), dose, utc(2026, 3, 2, 18), action="taken")
    assert response.json()["state"] == "taken_late"


def test_a_log_wins_over_a_later_sweep(patient, dose):
    services.dose_log(dose=dose, action="taken", recorded_by=patient.user, now=utc(2026, 3, 2, 8))
    # The sweep only moves doses still pending: nothing to overwrite.
    assert ExpectedDose.objects.filter(pk=dose.pk, state="pending").update(state="missed") == 0
    dose.refresh_from_db()
    assert dose.state == DoseState.TAKEN


def test_far_future_dose_is_refused_with_a_clear_message(api, patient, prescription):
    tomorrow = prescription.expected_doses.get(due_at=utc(2026, 3, 3, 8))
    response = log(api(patient.user), tomorrow, utc(2026, 3, 2, 9), action="taken")
    assert response.status_code == 400
    (message,) = response.json()["non_field_errors"]
    assert "not due until 03 Mar 08:00" in message and "from 03 Mar 06:00" in message
    assert not DoseLog.objects.exists()


@pytest.mark.parametrize(
    ("body", "field", "text"),
    [
        ({"action": "skipped"}, "reason", "Say why"),
        ({"action": "skipped", "reason": "bored"}, "reason", "not a valid choice"),
        ({"action": "skipped", "reason": "other"}, "note", "say what happened"),
        ({"action": "taken", "reason": "forgot"}, "reason", "only given for a dose"),
        ({"action": "eaten"}, "action", "not a valid choice"),
        ({"action": "taken", "at": "2026-03-02T12:00:00Z"}, "at", "in the future"),
        ({"action": "taken", "at": "2026-03-01T08:00:00Z"}, "at", "more than 2 hours before"),
        ({"action": "taken", "at": "yesterday"}, "at", "Datetime has wrong format"),
        ({"action": "taken", "colour": "blue"}, "colour", "Unknown field"),
        ({}, "action", "required"),
    ],
)
def test_bad_logs_are_refused_and_nothing_is_stored(api, patient, dose, body, field, text):
    response = log(api(patient.user), dose, utc(2026, 3, 2, 9), **body)
    assert response.status_code == 400
    assert text in " ".join(response.json()[field])
    assert not DoseLog.objects.exists()
    dose.refresh_from_db()
    assert dose.state == DoseState.PENDING


@pytest.mark.parametrize("reason", ["side_effects", "unwell"])
def test_skipped_for_side_effects_asks_for_a_symptom_report(api, patient, dose, reason):
    body = log(api(patient.user), dose, utc(2026, 3, 2, 9), action="skipped", reason=reason).json()
    assert body["state"] == "skipped" and body["skip_reason"] == reason
    assert body["symptom_report_suggested"] is True


@pytest.mark.parametrize("reason", ["forgot", "vomited", "ran_out", "told_to_stop"])
def test_other_skip_reasons(api, patient, dose, reason):
    body = log(api(patient.user), dose, utc(2026, 3, 2, 9), action="skipped", reason=reason).json()
    assert body["state"] == "skipped" and body["symptom_report_suggested"] is False


def test_other_with_a_note(api, patient, dose):
    response = log(
        api(patient.user),
        dose,
        utc(2026, 3, 2, 9),
        action="skipped",
        reason="other",
        note="Left my tablets at my daughter's",
    )
    assert response.status_code == 201
    assert response.json()["log"]["note"] == "Left my tablets at my daughter's"


def test_same_idempotency_key_twice_records_one_log(api, patient, dose):
    client = api(patient.user)
    first = log(client, dose, utc(2026, 3, 2, 8, 5), key="phone-123", action="taken")
    second = log(client, dose, utc(2026, 3, 2, 8, 40), key="phone-123", action="taken")
    assert (first.status_code, second.status_code) == (201, 200)
    assert first.json() == second.json()
    assert second["Idempotent-Replayed"] == "true"
    assert DoseLog.objects.count() == 1


def test_idempotency_key_is_per_user(api, patient, nurse, dose):
    log(api(patient.user), dose, utc(2026, 3, 2, 8, 5), key="k1", action="taken")
    response = log(
        api(nurse), dose, utc(2026, 3, 2, 8, 30), key="k1", action="skipped", reason="told_to_stop"
    )
    assert response.status_code == 201  # a different user's key: a new log (a correction)
    assert DoseLog.objects.count() == 2


def test_same_key_for_another_dose_is_refused(api, patient, prescription, dose):
    client = api(patient.user)
    log(client, dose, utc(2026, 3, 2, 8, 5), key="k1", action="taken")
    evening = prescription.expected_doses.get(due_at=utc(2026, 3, 2, 20))
    response = log(client, evening, utc(2026, 3, 2, 20, 5), key="k1", action="taken")
    assert response.status_code == 422  # the key named another request (patients/idempotency.py)
    assert "already used" in response.json()["idempotency_key"][0]
    assert DoseLog.objects.count() == 1


def test_retry_without_a_key_within_10_minutes_records_one_log(api, patient, dose):
    client = api(patient.user)
    assert log(client, dose, utc(2026, 3, 2, 8, 5), action="taken").status_code == 201
    assert log(client, dose, utc(2026, 3, 2, 8, 14), action="taken").status_code == 200
    assert DoseLog.objects.count() == 1


def test_correction_keeps_history(api, patient, dose):
    client = api(patient.user)
    log(client, dose, utc(2026, 3, 2, 8, 5), action="taken")
    response = log(client, dose, utc(2026, 3, 2, 8, 7), action="skipped", reason="vomited")
    assert response.status_code == 201
    assert response.json()["state"] == "skipped"
    first, second = DoseLog.objects.order_by("id")
    assert first.action == "taken" and first.superseded_at == utc(2026, 3, 2, 8, 7)
    assert second.action == "skipped" and second.superseded_at is None
    dose.refresh_from_db()
    assert dose.taken_at is None and dose.skip_reason == "vomited"
    # and back again
    back = log(client, dose, utc(2026, 3, 2, 9), action="taken", at="2026-03-02T08:05:00Z")
    assert back.json()["state"] == "taken"
    assert DoseLog.objects.filter(superseded_at__isnull=True).count() == 1


def test_held_dose_cannot_be_logged(api, patient, nurse, prescription, dose):
    services.prescription_hold(prescription=prescription, reason="Bleeding", now=START)
    response = log(api(patient.user), dose, utc(2026, 3, 2, 9), action="taken")
    assert response.status_code == 400
    assert "on hold" in response.json()["non_field_errors"][0]


def test_dose_logged_signal_is_sent_once_inside_the_transaction(patient, dose):
    calls = []

    def receiver(sender, log, dose, **kwargs):
        calls.append((sender, log.action, log.reason, dose.state, transaction.get_autocommit()))

    dose_logged.connect(receiver)
    try:
        services.dose_log(
            dose=dose,
            action="skipped",
            reason="ran_out",
            recorded_by=patient.user,
            now=utc(2026, 3, 2, 9),
        )
        services.dose_log(
            dose=dose,
            action="skipped",
            reason="ran_out",
            recorded_by=patient.user,
            now=utc(2026, 3, 2, 9, 1),
        )  # a retry: no second signal
    finally:
        dose_logged.disconnect(receiver)
    assert calls == [(DoseLog, "skipped", "ran_out", "skipped", False)]


def test_a_failing_receiver_rolls_the_log_back(patient, dose):
    def receiver(**kwargs):
        raise RuntimeError("alert could not be written")

    dose_logged.connect(receiver)
    try:
        with pytest.raises(RuntimeError):
            services.dose_log(
                dose=dose, action="taken", recorded_by=patient.user, now=utc(2026, 3, 2, 8)
            )
    finally:
        dose_logged.disconnect(receiver)
    dose.refresh_from_db()
    assert dose.state == DoseState.PENDING and not DoseLog.objects.exists()


def test_scope_someone_elses_dose_is_404(api, dose, other_patient, other_nurse, nurse, admin_user):
    when = utc(2026, 3, 2, 8, 5)
    assert log(api(other_patient.user), dose, when, action="taken").status_code == 404
    assert log(api(other_nurse), dose, when, action="taken").status_code == 404
    assert not DoseLog.objects.exists()
    response = log(api(nurse), dose, when, action="taken")
    assert response.status_code == 201
    assert DoseLog.objects.get().recorded_by == nurse
    assert (
        log(
            api(admin_user),
            dose,
            when + timedelta(minutes=30),
            action="skipped",
            reason="told_to_stop",
        ).status_code
        == 201
    )


@pytest.mark.parametrize("bad", ["abc", "0", "-3", "99999999999999999999999", "1.5"])
def test_a_dose_id_that_cannot_exist_is_a_json_404(api, patient, dose, bad):
    with time_machine.travel(utc(2026, 3, 2, 8, 5), tick=False):
        response = api(patient.user).post(f"/api/v1/doses/{bad}/log/", {"action": "taken"})
    assert response.status_code == 404
    assert response.json()["detail"] == "No such dose."
    assert not DoseLog.objects.exists()


def test_a_bad_body_for_someone_elses_dose_says_only_what_is_wrong_with_the_body(
    api, dose, other_patient
):
    # The body is checked before the dose is looked up, the same whether the dose exists.
    for target in (dose.pk, 10**9):
        with time_machine.travel(utc(2026, 3, 2, 8, 5), tick=False):
            response = api(other_patient.user).post(
                f"/api/v1/doses/{target}/log/", {"action": "eaten"}, format="json"
            )
        assert response.status_code == 400
        assert list(response.json()) == ["action"]
    assert not DoseLog.objects.exists()


def test_dose_list_scope_and_states(api, patient, other_patient, nurse, prescription):
    with time_machine.travel(utc(2026, 3, 2, 21), tick=False):
        mine = api(patient.user).get("/api/v1/doses/?from=2026-03-02&to=2026-03-03").json()
        assert [d["state"] for d in mine["results"]] == ["missed", "due", "upcoming", "upcoming"]
        assert mine["results"][0]["drug"] == "sorafenib"
        theirs = api(other_patient.user).get("/api/v1/doses/?from=2026-03-02&to=2026-03-03")
        assert theirs.json()["count"] == 0
        staff = api(nurse).get(f"/api/v1/doses/?patient={patient.pk}&from=2026-03-02&to=2026-03-02")
        assert staff.json()["count"] == 2
        assert api(nurse).get(f"/api/v1/doses/?patient={other_patient.pk}").status_code == 404
        for query in (
            "from=2026-13-01",
            "from=2026-03-05&to=2026-03-01",
            "patient=abc",
            "from=2026-01-01&to=2027-06-01",
        ):
            response = api(nurse).get(f"/api/v1/doses/?{query}")
            assert response.status_code == 400, query
            assert response["Content-Type"] == "application/json"
