"""The missed-dose sweep's one-statement PostgreSQL path (notifications/services/
missed_dose_sql.py) grades and writes exactly what the Python path (rules.assess_missed_doses,
used on SQLite) does: a table of grading cases, and a whole sweep run both ways on the same
doses."""

import json
from datetime import timedelta

import pytest
from django.db import connection, transaction

from core import bulk
from medications.models import DoseState, ExpectedDose
from notifications import rules
from notifications.models import (
    Alert,
    AlertEvent,
    AlertKind,
    AlertLevel,
    AlertStatus,
    Delivery,
    DeliveryStatus,
)
from notifications.services import missed_dose_sql, sources
from notifications.services.alerts import MISSED_DOSE_KEY
from tests.factories import NurseFactory, PatientFactory

from .helpers import dose_at, prescribe, take_doses, utc, webhook_channel

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]

# (newly missed, two most recent expected doses both missed, taken in 7 days, expected)
CASES = [
    (1, False, 0, 0),  # nothing expected in 7 days: no percent, green
    (1, False, 13, 14),
    (1, False, 8, 10),  # exactly 80%: not below, green
    (1, False, 4, 5),  # 80%
    (1, False, 7, 9),  # 77.7%: amber, shown as 77 (never rounded up)
    (1, False, 79, 100),  # 79%: amber
    (1, False, 3999, 5000),  # 79.98%: amber
    (1, False, 0, 1),
    (2, True, 12, 14),  # consecutive: amber
    (2, True, 5, 14),  # both amber reasons
    (3, False, 14, 14),
    (3, True, 0, 3),
    (60, True, 0, 60),
]


def test_the_sql_grading_agrees_with_the_python_rules():
    grade = missed_dose_sql.grade_sql(n="n", consecutive="c", taken="t", expected="e")
    values = ", ".join(
        f"(%(n{i})s::int, %(c{i})s::boolean, %(t{i})s::int, %(e{i})s::int, {i})"
        for i in range(len(CASES))
    )
    params = {}
    for i, (n, c, t, e) in enumerate(CASES):
        params.update({f"n{i}": n, f"c{i}": c, f"t{i}": t, f"e{i}": e})
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {grade['level']}, {grade['reasons']}, {grade['percent']} "  # noqa: S608
            f"FROM (VALUES {values}) v(n, c, t, e, i) ORDER BY i",
            params,
        )
        rows = cursor.fetchall()
    for (n, c, t, e), (level, reasons, percent) in zip(CASES, rows, strict=True):
        reasons = json.loads(reasons) if isinstance(reasons, str) else reasons
        python = rules.assess_missed_doses(
            newly_missed=n, consecutive_missed=c, taken_7d=t, expected_7d=e
        )
        assert (level, reasons, percent) == (
            python.level,
            python.reasons,
            python.adherence_percent,
        ), (n, c, t, e)


def test_the_iso_times_agree_with_python():
    from notifications.services.common import _iso

    moments = [utc(2026, 3, 9, 8), utc(2026, 3, 9, 8, 0, 1, 250), utc(2026, 12, 31, 23, 59, 59)]
    with connection.cursor() as cursor:
        for moment in moments:
            cursor.execute(f"SELECT {missed_dose_sql.iso_sql('%(t)s::timestamptz')}", {"t": moment})
            assert cursor.fetchone()[0] == _iso(moment)


class _Rollback(Exception):
    pass


def _sweep_and_read(now, *, fast: bool, monkeypatch) -> dict:
    monkeypatch.setattr(bulk, "fast", lambda: fast)
    found = {}
    try:
        with transaction.atomic():
            totals = sources.missed_doses_sweep(now=now)
            alerts = Alert.objects.filter(kind=AlertKind.MISSED_DOSE).order_by("dedup_key")
            found["totals"] = totals
            found["alerts"] = [
                (
                    a.dedup_key,
                    a.patient_id,
                    a.care_team_id,
                    a.level,
                    a.status,
                    a.reasons,
                    a.summary,
                    a.occurrences,
                    a.details,
                    a.due_by,
                    a.prescription_id,
                    a.escalated_at,
                    a.acknowledged_at,
                    a.acknowledged_by_id,
                    a.updated_at,
                )
                for a in alerts
            ]
            found["events"] = sorted(
                (e.alert.dedup_key, e.kind, e.data)
                for e in AlertEvent.objects.select_related("alert").filter(
                    alert__kind=AlertKind.MISSED_DOSE
                )
            )
            # By channel name and team: a fallback channel is made afresh in each run.
            found["deliveries"] = sorted(
                (
                    d.alert.dedup_key,
                    d.channel.care_team_id,
                    d.channel.name,
                    d.purpose,
                    d.status,
                    d.attempts,
                    d.next_attempt_at,
                    d.sent_at,
                )
                for d in Delivery.objects.select_related("alert", "channel").exclude(alert=None)
            )
            found["missed"] = sorted(
                ExpectedDose.objects.filter(state=DoseState.MISSED).values_list("pk", flat=True)
            )
            raise _Rollback
    except _Rollback:
        pass
    monkeypatch.undo()
    return found


def _vary_the_open_alerts(prescriptions, *, nurse) -> None:
    """After the 02:00 sweep: the merges the 14:00 sweep must make exactly as alerts._merge."""
    from notifications.services.common import _iso

    def alert_of(prescription) -> Alert:
        return Alert.objects.get(dedup_key=MISSED_DOSE_KEY.format(prescription.pk))

    def missed_item(prescription, due) -> dict:
        dose = dose_at(prescription, due)
        local = due.astimezone(prescription.patient.zone).strftime("%Y-%m-%d %H:%M")
        return {"dose_id": dose.pk, "due_at": _iso(due), "local": local}

    morning = utc(2026, 3, 9, 8)
    # Green, acknowledged by a nurse: rises to amber, so it opens again.
    Alert.objects.filter(pk=alert_of(prescriptions[1]).pk).update(
        status=AlertStatus.ACKNOWLEDGED, acknowledged_at=morning, acknowledged_by=nurse
    )
    # Amber already: no rise. Its list is full (the oldest entry goes), its last missed time
    # is later than the new one (kept), a reason of the same code at a higher level (kept),
    # and a key of its own (kept).
    amber = alert_of(prescriptions[2])
    amber.details = {
        **amber.details,
        "missed": [{"dose_id": -n, "due_at": "x", "local": "y"} for n in range(60)],
        "last_missed_due_at": "2026-03-10T00:00:00Z",
        "note": "kept",
    }
    amber.reasons = [
        {"code": "missed_dose", "level": "red", "rule": "kept"},
        *(reason for reason in amber.reasons if reason["code"] != "missed_dose"),
    ]
    amber.save()
    # Green, escalated, its webhook already sent, the dose about to be missed already in its
    # list: rises to amber, the escalation clock starts again, the webhook is told again.
    green = alert_of(prescriptions[3])
    green.escalated_at = morning
    green.details = {**green.details, "missed": [missed_item(prescriptions[3], morning)]}
    green.save()
    Delivery.objects.filter(alert=green).update(
        status=DeliveryStatus.SENT, sent_at=morning, attempts=1
    )
    # Resolved with its key kept: nothing changes (left to _alerts_raise on both paths).
    patient = prescriptions[4].patient
    Alert.objects.create(
        patient=patient,
        care_team=patient.care_team,
        kind=AlertKind.MISSED_DOSE,
        level=AlertLevel.GREEN,
        status=AlertStatus.RESOLVED,
        dedup_key=MISSED_DOSE_KEY.format(prescriptions[4].pk),
        prescription=prescriptions[4],
        due_by=morning,
    )


def test_a_whole_sweep_writes_the_same_rows_both_ways(team, other_team, monkeypatch):
    hook = "http://127.0.0.1:9/hook"
    webhook_channel(team, hook, min_level="green", name="Every alert")
    webhook_channel(team, hook, min_level="amber", name="Amber up", purpose="alerts")
    webhook_channel(team, hook, min_level="green", name="On call", purpose="escalation")
    webhook_channel(team, hook, min_level="green", name="Switched off", is_active=False)
    # other_team has no channel at all: its amber alerts go to its advice-line e-mail (the
    # outbox makes that channel), its green ones nowhere.
    start = utc(2026, 3, 2, 7)
    week = utc(2026, 3, 9, 8)
    patients = [PatientFactory(care_team=team) for _ in range(6)]
    prescriptions = [prescribe(p, now=start) for p in patients]
    take_doses(prescriptions[0], before=week)  # a single miss: green
    take_doses(prescriptions[1], before=week - timedelta(hours=12))  # two misses: amber
    # prescriptions[2]: nothing taken all week: amber (adherence), many misses
    take_doses(prescriptions[3], before=week - timedelta(hours=12))
    take_doses(prescriptions[4], before=week)
    take_doses(prescriptions[5], before=week)
    now = utc(2026, 3, 9, 14, 0, 1)
    # Open alerts already there (the evening dose before: 1, 2, 3): merged, not duplicated.
    monkeypatch.setattr(bulk, "fast", lambda: False)
    sources.missed_doses_sweep(now=utc(2026, 3, 9, 2, 0, 1))
    monkeypatch.undo()
    _vary_the_open_alerts(prescriptions, nurse=NurseFactory())
    # Patients of a team with no channel yet (none of their doses was missed at 02:00).
    others = [prescribe(PatientFactory(care_team=other_team), now=start) for _ in range(2)]
    take_doses(others[0], before=week)  # green
    take_doses(others[1], before=week - timedelta(hours=12))  # amber
    sql = _sweep_and_read(now, fast=True, monkeypatch=monkeypatch)
    python = _sweep_and_read(now, fast=False, monkeypatch=monkeypatch)
    assert sql["alerts"] and sql["missed"] and sql["events"] and sql["deliveries"]
    assert sql == python
    assert sql["totals"]["alerts_updated"] == 3
    assert {kind for _key, kind, _data in sql["events"]} == {"created", "updated", "level_raised"}
    assert any(data.get("reopened") for _key, _kind, data in sql["events"])
    channels_told = {(row[1], row[2]) for row in sql["deliveries"]}
    assert channels_told == {
        (team.pk, "Every alert"),
        (team.pk, "Amber up"),
        (other_team.pk, "Advice line e-mail (automatic)"),
    }
