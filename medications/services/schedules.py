"""Expected doses: a prescription's schedule (regimens from its events, holds, late
window) expanded by schedule.py, kept 14 days ahead by the periodic job and brought in line
after every clinical change (adherence.md, "Expected doses")."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.db import connection, transaction
from django.db.models import Exists, OuterRef, Q

from core import bulk

from .. import catalogue, schedule
from ..models import (
    DoseLog,
    DoseState,
    Drug,
    ExpectedDose,
    Prescription,
    PrescriptionEvent,
    PrescriptionEventKind,
    PrescriptionHold,
    PrescriptionStatus,
    Route,
)
from .common import _mg, _now

# Expected doses exist this far ahead; the periodic job keeps the horizon rolling.
HORIZON = timedelta(days=14)
GENERATION_BATCH = 500
ACTIVE_DOSE_STATES = (DoseState.PENDING, DoseState.HELD)


def _regimen_data(
    *, dose_mg: Decimal, times: Sequence[str], days_on, days_off, cycle_start: date | None
) -> dict:
    return {
        "dose_mg": _mg(dose_mg),
        "times": list(times),
        "cycle_days_on": days_on,
        "cycle_days_off": days_off,
        "cycle_start": cycle_start.isoformat() if cycle_start else None,
    }


def _regimen_from_data(data: dict, effective_at: datetime) -> schedule.Regimen:
    return schedule.Regimen(
        effective_at=effective_at,
        dose_mg=Decimal(str(data["dose_mg"])),
        times=tuple(schedule.parse_time(t) for t in data["times"]),
        cycle_days_on=data.get("cycle_days_on"),
        cycle_days_off=data.get("cycle_days_off"),
        cycle_start=date.fromisoformat(data["cycle_start"]) if data.get("cycle_start") else None,
    )


def _regimen_events(events: Iterable[PrescriptionEvent]) -> list[PrescriptionEvent]:
    kinds = (PrescriptionEventKind.CREATED, PrescriptionEventKind.DOSE_CHANGE)
    return sorted(
        (e for e in events if e.kind in kinds and e.data.get("times")),
        key=lambda e: (e.effective_at, e.id or 0),
    )


def regimens_for(
    prescription: Prescription, events: Iterable[PrescriptionEvent]
) -> list[schedule.Regimen]:
    regimens = [_regimen_from_data(e.data, e.effective_at) for e in _regimen_events(events)]
    if not regimens:
        # Created outside the services (e.g. a fixture): the row is the whole story.
        regimens = [
            schedule.Regimen(
                effective_at=prescription.recorded_at,
                dose_mg=prescription.dose_mg,
                times=tuple(schedule.parse_time(t) for t in prescription.times),
                cycle_days_on=prescription.cycle_days_on,
                cycle_days_off=prescription.cycle_days_off,
            )
        ]
    return regimens


def late_window_for(drug: Drug) -> schedule.LateWindow:
    return schedule.LateWindow(rule=drug.late_window_rule, hours=drug.late_window_hours)


def plan_for(
    prescription: Prescription,
    *,
    events: Iterable[PrescriptionEvent] | None = None,
    holds: Iterable[PrescriptionHold] | None = None,
) -> schedule.Plan:
    if events is None:
        events = prescription.events.all()
    if holds is None:
        holds = prescription.holds.all()
    return schedule.Plan(
        zone=prescription.patient.zone,
        start_date=prescription.start_date,
        end_date=prescription.end_date,
        recorded_at=prescription.recorded_at,
        stopped_at=prescription.stopped_at,
        regimens=regimens_for(prescription, events),
        holds=tuple(schedule.Hold(h.starts_at, h.ends_at) for h in holds),
        late_window=late_window_for(prescription.drug),
    )


def _new_dose(prescription: Prescription, planned: schedule.PlannedDose, now: datetime):
    return ExpectedDose(
        prescription_id=prescription.pk,
        patient_id=prescription.patient_id,
        due_at=planned.due_at,
        late_until=planned.late_until,
        dose_mg=planned.dose_mg,
        state=DoseState.HELD if planned.held else DoseState.PENDING,
        state_changed_at=now if planned.held else None,
    )


@transaction.atomic
def expected_doses_sync(
    *, prescription: Prescription, since: datetime, now: datetime | None = None
) -> dict:
    """Bring this prescription's expected doses from `since` up to the horizon in line with
    its schedule (after a create, hold, resume, dose change or stop).

    Only pending and held rows are changed: what the patient logged (taken, skipped) and
    what the sweep recorded (missed) is history and stays, except that a missed dose inside
    a hold becomes held (drugs.md: doses inside a hold are held, never missed). Every change
    is a conditional update on the state read, so a concurrent sweep marking a dose missed
    is never overwritten.
    """
    now = _now(now)
    if prescription.generated_until is not None:
        # A change that starts beyond what was generated must not leave a gap before it.
        since = min(since, prescription.generated_until)
    until = max(prescription.generated_until or now, now + HORIZON)
    plan = plan_for(prescription)
    planned = {p.due_at: p for p in schedule.expand(plan, since=since, until=until)}
    existing = list(
        ExpectedDose.objects.filter(prescription=prescription, due_at__gte=since)
        .annotate(has_logs=Exists(DoseLog.objects.filter(expected_dose=OuterRef("pk"))))
        .only("id", "due_at", "late_until", "dose_mg", "state")
    )
    created = deleted = changed = 0
    seen = set()
    for dose in existing:
        seen.add(dose.due_at)
        target = planned.get(dose.due_at)
        if target is None:
            if dose.state in ACTIVE_DOSE_STATES and not dose.has_logs:
                deleted += ExpectedDose.objects.filter(pk=dose.pk, state=dose.state).delete()[0]
            continue
        updates = {}
        if dose.state in ACTIVE_DOSE_STATES:
            if dose.dose_mg != target.dose_mg:
                updates["dose_mg"] = target.dose_mg
            if dose.late_until != target.late_until:
                updates["late_until"] = target.late_until
            wanted = DoseState.HELD if target.held else DoseState.PENDING
            if dose.state != wanted:
                updates["state"] = wanted
                updates["state_changed_at"] = now
        elif dose.state == DoseState.MISSED and target.held:
            updates = {"state": DoseState.HELD, "state_changed_at": now}
        if updates:
            changed += ExpectedDose.objects.filter(pk=dose.pk, state=dose.state).update(**updates)
    new = [_new_dose(prescription, p, now) for due, p in planned.items() if due not in seen]
    if new:
        created = len(ExpectedDose.objects.bulk_create(new, ignore_conflicts=True))
    Prescription.objects.filter(pk=prescription.pk).update(generated_until=until)
    prescription.generated_until = until
    return {"created": created, "changed": changed, "deleted": deleted}


HELD, PENDING = DoseState.HELD.value, DoseState.PENDING.value

# What the generator reads: enough to expand a schedule, nothing more (10,000s of rows).
_GENERATION_FIELDS = (
    "id",
    "patient_id",
    "drug_id",
    "dose_mg",
    "times",
    "start_date",
    "end_date",
    "cycle_days_on",
    "cycle_days_off",
    "recorded_at",
    "stopped_at",
    "generated_until",
    "patient__timezone",
)


_DOSE_COLUMNS = (
    "prescription_id",
    "patient_id",
    "due_at",
    "late_until",
    "dose_mg",
    "state",
    "state_changed_at",
    "skip_reason",
)


def _insert_doses(rows: list[tuple]) -> None:
    """Insert planned doses (tuples in _DOSE_COLUMNS order), skipping any that already
    exist (same prescription and due time): bulk_create(..., ignore_conflicts=True) on the
    unique (prescription, due_at), through the service's one bulk insert path (core/bulk.py),
    which at 10,000 patients is several times faster than the ORM's per-field value
    preparation."""
    quote = connection.ops.quote_name
    bulk.insert_rows(
        ExpectedDose,
        rows,
        columns=_DOSE_COLUMNS,
        on_conflict=f"ON CONFLICT ({quote('prescription_id')}, {quote('due_at')}) DO NOTHING",
    )


def expected_doses_generate(
    *, now: datetime | None = None, prescription_ids: Iterable[int] | None = None
) -> dict:
    """Extend every current prescription's expected doses to the rolling 14-day horizon.

    Set-based for thousands of patients: prescriptions are read in batches with their drug,
    patient, holds and regimen events (a fixed number of queries per batch), the new doses
    are computed in memory and written with one multi-row insert per batch. Idempotent: the
    unique (prescription, due_at) constraint and ON CONFLICT DO NOTHING make a second run a
    no-op, and the prescription rows are locked per batch so a concurrent dose change cannot
    interleave.
    """
    now = _now(now)
    until = now + HORIZON
    today = now.date() - timedelta(days=1)
    base = (
        Prescription.objects.exclude(status=PrescriptionStatus.STOPPED)
        .filter(Q(generated_until__isnull=True) | Q(generated_until__lt=until))
        .filter(Q(end_date__isnull=True) | Q(end_date__gte=today))
        .filter(drug__route=Route.ORAL)
    )
    if prescription_ids is not None:
        base = base.filter(pk__in=list(prescription_ids))
    totals = {"prescriptions": 0, "doses_created": 0}
    last_id = 0
    while True:
        with transaction.atomic():
            batch = list(
                base.filter(pk__gt=last_id)
                .order_by("pk")
                .select_related("patient")
                .only(*_GENERATION_FIELDS)
                .select_for_update(of=("self",))[:GENERATION_BATCH]
            )
            if not batch:
                break
            last_id = batch[-1].pk
            ids = [p.pk for p in batch]
            holds: dict[int, list[PrescriptionHold]] = {pk: [] for pk in ids}
            for hold in PrescriptionHold.objects.filter(prescription_id__in=bulk.in_ids(ids)).only(
                "prescription_id", "starts_at", "ends_at"
            ):
                holds[hold.prescription_id].append(hold)
            events: dict[int, list[PrescriptionEvent]] = {pk: [] for pk in ids}
            for event in PrescriptionEvent.objects.filter(
                prescription_id__in=bulk.in_ids(ids),
                kind__in=[PrescriptionEventKind.CREATED, PrescriptionEventKind.DOSE_CHANGE],
            ).only("prescription_id", "kind", "effective_at", "data"):
                events[event.prescription_id].append(event)
            planned_rows: list[tuple] = []
            for prescription in batch:
                # The drug (its late-window rule) from the per-process catalogue, not a join
                # decoded again for every prescription (docs/benchmarks.md, benchmark 5).
                catalogue.attach_drug(prescription)
                since = prescription.generated_until or prescription.recorded_at
                plan = plan_for(
                    prescription, events=events[prescription.pk], holds=holds[prescription.pk]
                )
                pk, patient_id = prescription.pk, prescription.patient_id
                planned_rows.extend(
                    (pk, patient_id, due, late, mg, HELD, now, "")
                    if held
                    else (pk, patient_id, due, late, mg, PENDING, None, "")
                    for due, late, mg, held in schedule.expand(plan, since=since, until=until)
                )
            _insert_doses(planned_rows)
            Prescription.objects.filter(pk__in=bulk.in_ids(ids)).update(generated_until=until)
            totals["prescriptions"] += len(batch)
            totals["doses_created"] += len(planned_rows)
    totals["statuses_updated"] = prescription_statuses_refresh(now=now)
    return totals


def prescription_statuses_refresh(*, now: datetime | None = None) -> int:
    """A hold with an end time, or one that starts later, changes the status by itself."""
    now = _now(now)
    holding = PrescriptionHold.objects.filter(
        prescription=OuterRef("pk"), starts_at__lte=now
    ).filter(Q(ends_at__isnull=True) | Q(ends_at__gt=now))
    to_active = (
        Prescription.objects.filter(status=PrescriptionStatus.HELD)
        .exclude(Exists(holding))
        .update(status=PrescriptionStatus.ACTIVE)
    )
    to_held = (
        Prescription.objects.filter(status=PrescriptionStatus.ACTIVE)
        .filter(Exists(holding))
        .update(status=PrescriptionStatus.HELD)
    )
    return to_active + to_held
