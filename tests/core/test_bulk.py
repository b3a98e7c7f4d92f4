"""The one bulk insert path (core/bulk.py) behaves the same on SQLite and PostgreSQL: the
rows land with their values intact, ON CONFLICT skips existing keys, RETURNING answers only
the rows inserted, several inserts in one transaction do not see each other's rows, and
every statement is counted (COPY bypasses Django's cursor)."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from core import bulk
from medications.models import DoseState, ExpectedDose
from notifications.models import Alert, AlertEvent, AlertEventKind, AlertKind, AlertLevel
from tests.medications.conftest import prescribe

NOW = datetime(2026, 3, 2, 7, tzinfo=UTC)


def _dose_row(prescription, hours: int, state=DoseState.PENDING, changed=None) -> dict:
    due = NOW + timedelta(days=30, hours=hours)
    return {
        "prescription_id": prescription.pk,
        "patient_id": prescription.patient_id,
        "due_at": due,
        "late_until": due + timedelta(hours=6),
        "dose_mg": Decimal("200.5"),
        "state": state,
        "state_changed_at": changed,
        "skip_reason": "",
    }


def test_rows_land_whole_and_conflicts_are_skipped(patient):
    prescription = prescribe(patient, now=NOW)
    rows = [_dose_row(prescription, 1), _dose_row(prescription, 2, DoseState.HELD, NOW)]
    conflict = "ON CONFLICT (prescription_id, due_at) DO NOTHING"
    inserted = bulk.insert_rows(ExpectedDose, rows, on_conflict=conflict, returning=("id",))
    assert len(inserted) == 2
    again = bulk.insert_rows(
        ExpectedDose, [*rows, _dose_row(prescription, 3)], on_conflict=conflict, returning=("id",)
    )
    assert len(again) == 1  # only the new one comes back
    held = ExpectedDose.objects.get(due_at=rows[1]["due_at"])
    assert held.state == DoseState.HELD and held.state_changed_at == NOW
    assert held.dose_mg == Decimal("200.50") and held.late_until == rows[1]["late_until"]
    assert ExpectedDose.objects.get(due_at=rows[0]["due_at"]).state_changed_at is None


def test_json_values_and_order(patient):
    alert = Alert.objects.create(
        patient=patient,
        care_team=patient.care_team,
        kind=AlertKind.SYMPTOM,
        level=AlertLevel.AMBER,
        due_by=NOW,
        dedup_key="bulk-test",
    )
    data = [{"reasons": [{"code": "fever", "value": Decimal("38.2")}], "at": NOW}, {}, None]
    rows = [
        {
            "alert_id": alert.pk,
            "at": NOW,
            "actor_id": None,
            "kind": AlertEventKind.UPDATED,
            "data": d,
        }
        for d in data[:2]
    ]
    with transaction.atomic():
        bulk.insert_rows(AlertEvent, rows)
        bulk.insert_rows(AlertEvent, rows[:1])  # a second insert in one transaction
    events = list(AlertEvent.objects.filter(alert=alert).order_by("id"))
    assert [e.data for e in events] == [
        {"reasons": [{"code": "fever", "value": "38.2"}], "at": "2026-03-02T07:00:00Z"},
        {},
        {"reasons": [{"code": "fever", "value": "38.2"}], "at": "2026-03-02T07:00:00Z"},
    ]


def test_every_statement_is_counted_and_the_count_does_not_grow_with_rows(patient):
    prescription = prescribe(patient, now=NOW)

    def statements(count: int, offset: int) -> int:
        rows = [_dose_row(prescription, offset + i) for i in range(count)]
        with CaptureQueriesContext(connection) as captured:
            bulk.insert_rows(ExpectedDose, rows)
        return len(captured)

    few, many = statements(2, 0), statements(500, 100)
    if connection.vendor == "postgresql":
        assert few == many == 4  # the staging table, COPY, INSERT ... SELECT, TRUNCATE
    else:  # SQLite binds at most 999 values a statement: batches of 124 rows of 8 columns
        assert (few, many) == (1, 5)
    assert ExpectedDose.objects.filter(due_at__gte=NOW + timedelta(days=30)).count() == 502


def test_in_ids_selects_exactly_the_given_rows(patient):
    """`in_ids` (one array parameter on PostgreSQL) filters and updates the same rows as a
    plain `__in` list."""
    prescription = prescribe(patient, now=NOW)
    doses = list(ExpectedDose.objects.filter(prescription=prescription).order_by("pk"))
    chosen = [d.pk for d in doses[::3]]
    found = ExpectedDose.objects.filter(pk__in=bulk.in_ids(chosen)).values_list("pk", flat=True)
    assert sorted(found) == chosen
    assert ExpectedDose.objects.filter(pk__in=bulk.in_ids([])).count() == 0
    changed = ExpectedDose.objects.filter(pk__in=bulk.in_ids(chosen)).update(skip_reason="x")
    assert changed == len(chosen)
    assert set(ExpectedDose.objects.filter(skip_reason="x").values_list("pk", flat=True)) == set(
        chosen
    )
