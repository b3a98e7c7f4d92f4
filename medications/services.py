"""Writes for medications: prescriptions and their clinical decisions, expected doses, dose
logs and infusion courses.

Clinical rules: ../shared/clinical/drugs.md and adherence.md. Pure logic lives in
schedule.py (due times, late windows), checks.py (prescribing checks), ladders.py (dose
levels) and adherence.py; this module reads and writes rows around them. Every function is
keyword-only and atomic; bad input raises django ValidationError naming each field (the API
turns it into a 400) and leaves nothing half-written.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import Count, Exists, OuterRef, Q
from django.utils import timezone

from patients.models import Patient

from . import checks, ladders, schedule
from .models import (
    AppointmentState,
    CourseStatus,
    DoseAction,
    DoseLog,
    DoseState,
    Drug,
    ExpectedDose,
    InfusionAppointment,
    InfusionCourse,
    Prescription,
    PrescriptionEvent,
    PrescriptionEventKind,
    PrescriptionHold,
    PrescriptionStatus,
    Route,
    SkipReason,
)
from .signals import dose_logged

logger = logging.getLogger(__name__)

# Expected doses exist this far ahead; the periodic job keeps the horizon rolling.
HORIZON = timedelta(days=14)
# A dose may be logged this long before it is due (the patient takes it a little early).
EARLY_LOGGING = timedelta(hours=2)
# The same dose and action sent again within this time is a retry, not a new log.
REPLAY_WINDOW = timedelta(minutes=10)
# Phones' clocks drift: an `at` this far ahead of the server's clock still counts as now.
CLOCK_SKEW = timedelta(minutes=5)
# Infusion appointments kept planned ahead of today for an active course.
APPOINTMENTS_AHEAD = 6
# drugs.md, "Infusion appointments": bevacizumab 15 mg per kg (displayed to the nearest
# 5 mg, the exact figure recorded); atezolizumab first infusion over 60 min, later over 30.
BEVACIZUMAB_MG_PER_KG = Decimal(15)
BEVACIZUMAB_DISPLAY_STEP_MG = Decimal(5)
ATEZOLIZUMAB_FIRST_MINUTES = 60
ATEZOLIZUMAB_LATER_MINUTES = 30
GENERATION_BATCH = 500

ACTIVE_DOSE_STATES = (DoseState.PENDING, DoseState.HELD)


# --- small helpers ----------------------------------------------------------------------------


def _now(now: datetime | None) -> datetime:
    return now or timezone.now()


def _mg(value: Decimal) -> str:
    """Decimal -> '400', '1057.5' (no trailing zeros): how doses are stored in JSON."""
    text = f"{Decimal(value).normalize():f}"
    return text


def _local(moment: datetime, patient: Patient) -> datetime:
    return moment.astimezone(patient.zone)


def _aware(value: datetime, field: str) -> datetime:
    if timezone.is_naive(value):
        raise ValidationError({field: ["Give a time with its UTC offset, e.g. 2026-01-05T09:00Z."]})
    return value


def _clean_times(times: Sequence[str], field: str = "times") -> list[str]:
    if not isinstance(times, list | tuple) or not times:
        raise ValidationError({field: ['Give at least one time of day, e.g. ["08:00"].']})
    errors = []
    for value in times:
        try:
            schedule.parse_time(value)
        except ValueError as exc:
            errors.append(str(exc))
    if errors:
        raise ValidationError({field: errors})
    if len(set(times)) != len(times):
        raise ValidationError({field: ["Each time of day may appear only once."]})
    if len(times) > 6:
        raise ValidationError({field: ["At most 6 doses a day."]})
    return sorted(times)


def _clean_cycle(days_on: int | None, days_off: int | None) -> tuple[int | None, int | None]:
    if days_on is None and days_off is None:
        return None, None
    if days_on is None or days_off is None:
        raise ValidationError(
            {"cycle_days_on": ["Give both cycle_days_on and cycle_days_off, or neither."]}
        )
    if days_on < 1:
        raise ValidationError({"cycle_days_on": ["A cycle needs at least 1 day on."]})
    if days_off < 0:
        raise ValidationError({"cycle_days_off": ["Days off cannot be negative."]})
    if days_off == 0:
        return None, None  # no days off: continuous
    return days_on, days_off


# --- patient facts for the prescribing checks ---------------------------------------------------


def _patient_facts(patient: Patient) -> checks.PatientFacts:
    return checks.PatientFacts(
        child_pugh_class=patient.child_pugh_class,
        performance_status=patient.performance_status,
        weight_kg=patient.weight_kg,
        prior_systemic_therapies=frozenset(patient.prior_systemic_therapies or ()),
        sorafenib_tolerated=patient.sorafenib_tolerated,
        last_upper_endoscopy_on=patient.last_upper_endoscopy_on,
    )


def treatment_history(patient: Patient) -> list[checks.TreatmentOnRecord]:
    """Every prescription and infusion course of this patient, as the checks see them."""
    history = []
    for p in Prescription.objects.filter(patient=patient).select_related("drug"):
        end = p.end_date
        if p.stopped_at is not None:
            stopped_on = _local(p.stopped_at, patient).date()
            end = min(end, stopped_on) if end else stopped_on
        history.append(
            checks.TreatmentOnRecord(
                drug_code=p.drug.code,
                start_date=p.start_date,
                end_date=end,
                active=p.status != PrescriptionStatus.STOPPED,
            )
        )
    for course in InfusionCourse.objects.filter(patient=patient):
        for code in course.drugs:
            history.append(
                checks.TreatmentOnRecord(
                    drug_code=code,
                    start_date=_local(course.first_infusion_at, patient).date(),
                    active=course.status == CourseStatus.ACTIVE,
                )
            )
    return history


def _drug_facts(drug: Drug) -> checks.DrugFacts:
    return checks.DrugFacts(
        code=drug.code,
        name=drug.name,
        route=drug.route,
        dose_ladder=drug.dose_ladder or (),
        standard_dose_mg=drug.standard_dose_mg,
    )


def proposed_dose_mg(*, drug: Drug, patient: Patient) -> Decimal | None:
    return checks.proposed_dose_mg(_drug_facts(drug), patient.weight_kg)


class PrescribingChecksNotMet(ValidationError):
    """Refused by the prescribing checks; `unmet` lists each check as {code, message,
    overridable} for the API's 400."""

    def __init__(self, errors: dict[str, list[str]], unmet: list[dict]):
        super().__init__(errors)
        self.unmet = unmet


def _check_or_raise(unmet: list[checks.UnmetCheck], override_reason: str) -> list[dict]:
    """Hard stops always refuse; warnings refuse unless a reason to override is given."""
    hard = [c for c in unmet if not c.overridable]
    if hard or (unmet and not override_reason.strip()):
        errors: dict[str, list[str]] = {}
        if hard:
            errors["non_field_errors"] = [c.message for c in hard]
        else:
            errors["override_reason"] = [
                "These prescribing checks are not met: "
                + " ".join(c.message for c in unmet)
                + " To prescribe anyway, give override_reason."
            ]
        raise PrescribingChecksNotMet(errors, [c.as_dict() for c in unmet])
    return [c.as_dict() for c in unmet]


# --- regimens and plans -----------------------------------------------------------------------


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
    "drug__late_window_rule",
    "drug__late_window_hours",
)


def _insert_doses(rows: list[tuple[int, int, schedule.PlannedDose, datetime]]) -> None:
    """Insert planned doses, skipping any that already exist (same prescription and due
    time): INSERT ... ON CONFLICT DO NOTHING, which PostgreSQL and SQLite both support.

    Multi-row INSERT statements rather than bulk_create: at 10,000 patients the ORM's
    per-field value preparation was most of the job's time. Equivalent to
    bulk_create(..., ignore_conflicts=True) on the unique (prescription, due_at).
    """
    if not rows:
        return
    ops = connection.ops
    quote = ops.quote_name
    columns = [
        "prescription_id",
        "patient_id",
        "due_at",
        "late_until",
        "dose_mg",
        "state",
        "state_changed_at",
        "skip_reason",
    ]
    when = ops.adapt_datetimefield_value
    values = [
        (
            prescription_id,
            patient_id,
            when(planned.due_at),
            when(planned.late_until),
            ops.adapt_decimalfield_value(planned.dose_mg, 7, 2),
            DoseState.HELD if planned.held else DoseState.PENDING,
            when(now) if planned.held else None,
            "",
        )
        for prescription_id, patient_id, planned, now in rows
    ]
    # Only quoted constant identifiers and placeholders go into the statement's text.
    table = quote(ExpectedDose._meta.db_table)
    names = ", ".join(quote(c) for c in columns)
    on_conflict = f" ON CONFLICT ({quote('prescription_id')}, {quote('due_at')}) DO NOTHING"
    if connection.vendor == "postgresql":
        # One statement per batch with a column of values per parameter: PostgreSQL
        # unnests the arrays server-side (thousands of placeholders are slow to bind).
        types = ["bigint", "bigint", "timestamptz", "timestamptz", "numeric", "text"]
        types += ["timestamptz", "text"]
        arrays = ", ".join(f"%s::{kind}[]" for kind in types)
        sql = f"INSERT INTO {table} ({names}) SELECT * FROM unnest({arrays}){on_conflict}"  # noqa: S608
        with connection.cursor() as cursor:
            for start in range(0, len(values), 20000):
                chunk = values[start : start + 20000]
                cursor.execute(sql, [list(column) for column in zip(*chunk, strict=True)])
        return
    insert = f"INSERT INTO {table} ({names}) VALUES "  # noqa: S608
    row_marks = f"({', '.join(['%s'] * len(columns))})"
    size = max(1, min(1000, ops.bulk_batch_size(columns, values)))
    with connection.cursor() as cursor:
        for start in range(0, len(values), size):
            chunk = values[start : start + size]
            sql = insert + ", ".join([row_marks] * len(chunk)) + on_conflict
            cursor.execute(sql, [value for row in chunk for value in row])


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
                .select_related("drug", "patient")
                .only(*_GENERATION_FIELDS)
                .select_for_update(of=("self",))[:GENERATION_BATCH]
            )
            if not batch:
                break
            last_id = batch[-1].pk
            ids = [p.pk for p in batch]
            holds: dict[int, list[PrescriptionHold]] = {pk: [] for pk in ids}
            for hold in PrescriptionHold.objects.filter(prescription_id__in=ids):
                holds[hold.prescription_id].append(hold)
            events: dict[int, list[PrescriptionEvent]] = {pk: [] for pk in ids}
            for event in PrescriptionEvent.objects.filter(
                prescription_id__in=ids,
                kind__in=[PrescriptionEventKind.CREATED, PrescriptionEventKind.DOSE_CHANGE],
            ):
                events[event.prescription_id].append(event)
            planned_rows: list[tuple] = []
            for prescription in batch:
                since = prescription.generated_until or prescription.recorded_at
                plan = plan_for(
                    prescription, events=events[prescription.pk], holds=holds[prescription.pk]
                )
                for planned in schedule.expand(plan, since=since, until=until):
                    planned_rows.append((prescription.pk, prescription.patient_id, planned, now))
            _insert_doses(planned_rows)
            Prescription.objects.filter(pk__in=ids).update(generated_until=until)
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


# --- prescriptions ----------------------------------------------------------------------------


def _lock_patient(patient: Patient) -> None:
    # Serialises prescribing for one patient, so two requests cannot both pass the
    # "one oral targeted drug at a time" check.
    Patient.objects.select_for_update().filter(pk=patient.pk).first()


@transaction.atomic
def prescription_create(
    *,
    patient: Patient,
    drug: Drug,
    dose_mg: Decimal | None,
    times: Sequence[str],
    start_date: date,
    end_date: date | None = None,
    cycle_days_on: int | None = None,
    cycle_days_off: int | None = None,
    override_reason: str = "",
    recorded_by=None,
    now: datetime | None = None,
) -> Prescription:
    """Prescribe an oral drug after the prescribing checks of drugs.md.

    Unmet checks refuse the prescription (a 400 listing each) unless `override_reason` is
    given, in which case they are stored with it as the prescription's warnings.
    """
    now = _now(now)
    override_reason = (override_reason or "").strip()
    if drug.route != Route.ORAL:
        raise ValidationError(
            {"drug": [f"{drug.name} is an infusion: plan it as an infusion course instead."]}
        )
    if not drug.is_active:
        raise ValidationError({"drug": [f"{drug.name} is not available in the catalogue."]})
    times = _clean_times(times)
    if end_date is not None and end_date < start_date:
        raise ValidationError({"end_date": ["The end date is before the start date."]})
    if cycle_days_on is None and cycle_days_off is None:
        cycle_days_on, cycle_days_off = drug.default_cycle_days_on, drug.default_cycle_days_off
    cycle_days_on, cycle_days_off = _clean_cycle(cycle_days_on, cycle_days_off)
    if dose_mg is None:
        dose_mg = proposed_dose_mg(drug=drug, patient=patient)
        if dose_mg is None:
            raise ValidationError({"dose_mg": ["Give the dose in mg."]})
    if Decimal(dose_mg) <= 0:
        raise ValidationError({"dose_mg": ["The dose must be more than 0 mg."]})

    _lock_patient(patient)
    unmet = checks.check_prescription(
        drug=_drug_facts(drug),
        dose_mg=Decimal(dose_mg),
        doses_per_day=len(times),
        cycle_days_on=cycle_days_on,
        cycle_days_off=cycle_days_off,
        start_date=start_date,
        end_date=end_date,
        patient=_patient_facts(patient),
        history=treatment_history(patient),
    )
    warnings = _check_or_raise(unmet, override_reason)

    prescription = Prescription.objects.create(
        patient=patient,
        drug=drug,
        dose_mg=dose_mg,
        times=times,
        start_date=start_date,
        end_date=end_date,
        cycle_days_on=cycle_days_on,
        cycle_days_off=cycle_days_off,
        status=PrescriptionStatus.ACTIVE,
        recorded_at=now,
        recorded_by=recorded_by,
        warnings=warnings,
        override_reason=override_reason if warnings else "",
    )
    steps = ladders.ladder_for(drug.dose_ladder, patient.weight_kg)
    step = ladders.find_step(
        steps,
        dose_mg=Decimal(dose_mg),
        doses_per_day=len(times),
        cycle_days_on=cycle_days_on,
        cycle_days_off=cycle_days_off,
    )
    data = _regimen_data(
        dose_mg=dose_mg,
        times=times,
        days_on=cycle_days_on,
        days_off=cycle_days_off,
        cycle_start=start_date if cycle_days_on else None,
    )
    data["ladder_step"] = step.id if step else None
    data["warnings"] = warnings
    PrescriptionEvent.objects.create(
        prescription=prescription,
        kind=PrescriptionEventKind.CREATED,
        effective_at=now,
        reason="Prescribed",
        override_reason=prescription.override_reason,
        data=data,
        recorded_at=now,
        recorded_by=recorded_by,
    )
    expected_doses_sync(prescription=prescription, since=now, now=now)
    logger.info("prescription %s created for patient %s", prescription.pk, patient.pk)
    return prescription


def _locked(prescription: Prescription) -> Prescription:
    locked = (
        Prescription.objects.select_for_update(of=("self",))
        .select_related("drug", "patient")
        .get(pk=prescription.pk)
    )
    if locked.status == PrescriptionStatus.STOPPED:
        raise ValidationError({"non_field_errors": ["This prescription has been stopped."]})
    return locked


def _open_holds(prescription: Prescription, now: datetime):
    return PrescriptionHold.objects.filter(prescription=prescription).filter(
        Q(ends_at__isnull=True) | Q(ends_at__gt=now)
    )


@transaction.atomic
def prescription_hold(
    *,
    prescription: Prescription,
    reason: str,
    starts_at: datetime | None = None,
    ends_at: datetime | None = None,
    recorded_by=None,
    now: datetime | None = None,
) -> Prescription:
    """Interrupt treatment: doses due in [starts_at, ends_at) become held (not expected)."""
    now = _now(now)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": ["Give the reason for the hold."]})
    starts_at = _aware(starts_at, "from") if starts_at else now
    if ends_at is not None:
        _aware(ends_at, "until")
        if ends_at <= starts_at:
            raise ValidationError({"until": ["The hold must end after it starts."]})
        if ends_at <= now:
            raise ValidationError({"until": ["The hold would already be over."]})
    prescription = _locked(prescription)
    clashes = PrescriptionHold.objects.filter(prescription=prescription).filter(
        Q(ends_at__isnull=True) | Q(ends_at__gt=starts_at)
    )
    if ends_at is not None:
        clashes = clashes.filter(starts_at__lt=ends_at)
    clash = clashes.first()
    if clash is not None:
        raise ValidationError(
            {
                "from": [
                    "This prescription is already on hold from "
                    f"{_local(clash.starts_at, prescription.patient):%Y-%m-%d %H:%M}; "
                    "resume it first."
                ]
            }
        )
    PrescriptionHold.objects.create(
        prescription=prescription,
        starts_at=starts_at,
        ends_at=ends_at,
        reason=reason,
        recorded_at=now,
        recorded_by=recorded_by,
    )
    PrescriptionEvent.objects.create(
        prescription=prescription,
        kind=PrescriptionEventKind.HOLD,
        effective_at=starts_at,
        until=ends_at,
        reason=reason,
        recorded_at=now,
        recorded_by=recorded_by,
    )
    if starts_at <= now:
        prescription.status = PrescriptionStatus.HELD
        prescription.save(update_fields=["status", "updated_at"])
    expected_doses_sync(prescription=prescription, since=min(starts_at, now), now=now)
    return prescription


@transaction.atomic
def prescription_resume(
    *, prescription: Prescription, reason: str, recorded_by=None, now: datetime | None = None
) -> Prescription:
    """End the current hold now (and cancel any planned one): doses from now are expected."""
    now = _now(now)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": ["Give the reason for resuming."]})
    prescription = _locked(prescription)
    holds = list(_open_holds(prescription, now))
    if not holds:
        raise ValidationError({"non_field_errors": ["This prescription is not on hold."]})
    for hold in holds:
        # A hold that has not started yet is cancelled by making it empty; history stays.
        hold.ends_at = max(now, hold.starts_at)
        hold.save(update_fields=["ends_at"])
    PrescriptionEvent.objects.create(
        prescription=prescription,
        kind=PrescriptionEventKind.RESUME,
        effective_at=now,
        reason=reason,
        recorded_at=now,
        recorded_by=recorded_by,
    )
    prescription.status = PrescriptionStatus.ACTIVE
    prescription.save(update_fields=["status", "updated_at"])
    expected_doses_sync(prescription=prescription, since=now, now=now)
    return prescription


def _times_for(current: Sequence[str], wanted: int) -> list[str]:
    """Times for a new number of daily doses: keep the first ones (twice -> once daily keeps
    the morning dose); add doses spread evenly over the day from the first time."""
    current = sorted(current)
    if wanted <= len(current):
        return current[:wanted]
    first = datetime.combine(date(2000, 1, 1), schedule.parse_time(current[0]))
    spread = [first + timedelta(hours=24 * i / wanted) for i in range(wanted)]
    return sorted({schedule.format_time(t.time()) for t in spread})


@transaction.atomic
def prescription_change_dose(
    *,
    prescription: Prescription,
    dose_mg: Decimal,
    reason: str,
    effective_at: datetime | None = None,
    times: Sequence[str] | None = None,
    ladder_step: str | None = None,
    override_reason: str = "",
    recorded_by=None,
    now: datetime | None = None,
) -> Prescription:
    """Move the prescription to another dose level (drugs.md, "Dose ladders").

    The new level must be a step of the drug's ladder for this patient unless
    `override_reason` is given. Where the step changes how often the dose is taken
    (sorafenib 400 mg twice daily -> once daily, lenvatinib 4 mg daily -> every other day)
    the times and cycle change with it. Pending doses from `effective_at` on follow.
    """
    now = _now(now)
    reason = (reason or "").strip()
    override_reason = (override_reason or "").strip()
    if not reason:
        raise ValidationError({"reason": ["Give the reason for the dose change."]})
    if dose_mg is None or Decimal(dose_mg) <= 0:
        raise ValidationError({"dose_mg": ["The dose must be more than 0 mg."]})
    effective_at = _aware(effective_at, "from") if effective_at else now
    if times is not None:
        times = _clean_times(times)
    prescription = _locked(prescription)
    if effective_at < prescription.recorded_at:
        raise ValidationError({"from": ["The change cannot start before the prescription."]})
    patient, drug = prescription.patient, prescription.drug
    steps = ladders.ladder_for(drug.dose_ladder, patient.weight_kg)
    current_step = ladders.find_step(
        steps,
        dose_mg=prescription.dose_mg,
        doses_per_day=len(prescription.times),
        cycle_days_on=prescription.cycle_days_on,
        cycle_days_off=prescription.cycle_days_off,
    )
    step = ladders.resolve_change(
        steps,
        current=current_step,
        dose_mg=Decimal(dose_mg),
        doses_per_day=len(times) if times is not None else None,
        step_id=ladder_step or None,
    )
    if ladder_step and step is None:
        raise ValidationError(
            {"ladder_step": [f"{ladder_step!r} is not a {drug.name} step of {_mg(dose_mg)} mg."]}
        )
    warnings = []
    if step is None:
        if not override_reason:
            levels = "; ".join(s.label for s in steps) or "none"
            raise ValidationError(
                {
                    "dose_mg": [
                        f"{_mg(dose_mg)} mg is not on {drug.name}'s dose ladder for this patient "
                        f"({levels}). To use it anyway, give override_reason."
                    ]
                }
            )
        warnings.append(
            {
                "code": "dose_not_on_ladder",
                "message": f"{_mg(dose_mg)} mg is off {drug.name}'s dose ladder.",
                "overridable": True,
            }
        )
        new_times = times or list(prescription.times)
        days_on, days_off = prescription.cycle_days_on, prescription.cycle_days_off
    else:
        new_times = times or _times_for(prescription.times, step.doses_per_day)
        days_on, days_off = step.cycle_days_on, step.cycle_days_off
    if (
        current_step is not None
        and step is not None
        and step.id == current_step.id
        and new_times == sorted(prescription.times)
    ) or (
        step is None
        and Decimal(dose_mg) == prescription.dose_mg
        and new_times == sorted(prescription.times)
    ):
        raise ValidationError(
            {
                "dose_mg": [
                    "That is the current dose. To change how often it is taken, send `times` "
                    "or `ladder_step`."
                ]
            }
        )

    events = list(prescription.events.all())
    regimens = regimens_for(prescription, events)
    active = [r for r in regimens if r.effective_at <= effective_at] or regimens[:1]
    current_regimen = active[-1]
    if (days_on, days_off) == (current_regimen.cycle_days_on, current_regimen.cycle_days_off):
        cycle_start = current_regimen.cycle_start or (prescription.start_date if days_on else None)
    else:
        # A new pattern (e.g. every other day) counts its days from the change.
        cycle_start = _local(effective_at, patient).date() if days_on else None
    previous = {
        "dose_mg": _mg(prescription.dose_mg),
        "times": list(prescription.times),
        "cycle_days_on": prescription.cycle_days_on,
        "cycle_days_off": prescription.cycle_days_off,
        "ladder_step": current_step.id if current_step else None,
    }
    data = _regimen_data(
        dose_mg=dose_mg,
        times=new_times,
        days_on=days_on,
        days_off=days_off,
        cycle_start=cycle_start,
    )
    data.update({"ladder_step": step.id if step else None, "previous": previous})
    PrescriptionEvent.objects.create(
        prescription=prescription,
        kind=PrescriptionEventKind.DOSE_CHANGE,
        effective_at=effective_at,
        reason=reason,
        override_reason=override_reason if step is None else "",
        data=data,
        recorded_at=now,
        recorded_by=recorded_by,
    )
    prescription.dose_mg = dose_mg
    prescription.times = new_times
    prescription.cycle_days_on, prescription.cycle_days_off = days_on, days_off
    if warnings:
        prescription.warnings = [*prescription.warnings, *warnings]
    prescription.save(
        update_fields=[
            "dose_mg",
            "times",
            "cycle_days_on",
            "cycle_days_off",
            "warnings",
            "updated_at",
        ]
    )
    expected_doses_sync(prescription=prescription, since=effective_at, now=now)
    return prescription


@transaction.atomic
def prescription_stop(
    *,
    prescription: Prescription,
    reason: str,
    stopped_at: datetime | None = None,
    recorded_by=None,
    now: datetime | None = None,
) -> Prescription:
    """Stop treatment: no dose is expected from `stopped_at` on (future pending doses go)."""
    now = _now(now)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": ["Give the reason for stopping."]})
    stopped_at = _aware(stopped_at, "at") if stopped_at else now
    if stopped_at > now + CLOCK_SKEW:
        raise ValidationError(
            {"at": ["A stop cannot be recorded ahead of time; record it when it happens."]}
        )
    prescription = _locked(prescription)
    if stopped_at < prescription.recorded_at:
        raise ValidationError({"at": ["The stop cannot be before the prescription was recorded."]})
    for hold in _open_holds(prescription, stopped_at):
        hold.ends_at = max(stopped_at, hold.starts_at)
        hold.save(update_fields=["ends_at"])
    PrescriptionEvent.objects.create(
        prescription=prescription,
        kind=PrescriptionEventKind.STOP,
        effective_at=stopped_at,
        reason=reason,
        recorded_at=now,
        recorded_by=recorded_by,
    )
    prescription.status = PrescriptionStatus.STOPPED
    prescription.stopped_at = stopped_at
    prescription.save(update_fields=["status", "stopped_at", "updated_at"])
    expected_doses_sync(prescription=prescription, since=stopped_at, now=now)
    return prescription


# --- dose logging -----------------------------------------------------------------------------


@dataclass
class DoseLogResult:
    dose: ExpectedDose
    log: DoseLog
    created: bool  # False: a retry of an earlier request, answered the same way

    @property
    def taken_outside_window(self) -> bool:
        return self.dose.state == DoseState.TAKEN_LATE

    @property
    def symptom_report_suggested(self) -> bool:
        # adherence.md: "side effects" or "felt unwell" asks for a symptom report.
        return self.log.action == DoseAction.SKIPPED and self.log.reason in (
            SkipReason.SIDE_EFFECTS,
            SkipReason.UNWELL,
        )


def _validate_log(
    *, dose: ExpectedDose, action: str, at: datetime, reason: str, note: str, now: datetime
) -> None:
    if dose.due_at - EARLY_LOGGING > now:
        # A dose may be logged a little early, never a day ahead (that would be doubling up).
        opens = _local(dose.due_at - EARLY_LOGGING, dose.patient)
        due = _local(dose.due_at, dose.patient)
        raise ValidationError(
            {
                "non_field_errors": [
                    f"This dose is not due until {due:%d %b %H:%M}; it can be logged from "
                    f"{opens:%d %b %H:%M}."
                ]
            }
        )
    errors: dict[str, list[str]] = {}
    if action not in DoseAction.values:
        errors["action"] = ['Say "taken" or "skipped".']
    if action == DoseAction.SKIPPED:
        if not reason:
            errors["reason"] = [
                "Say why the dose was not taken: " + ", ".join(SkipReason.values) + "."
            ]
        elif reason not in SkipReason.values:
            errors["reason"] = [f"{reason!r} is not one of: {', '.join(SkipReason.values)}."]
        elif reason == SkipReason.OTHER and not note.strip():
            errors["note"] = ['With reason "other", say what happened in the note.']
    elif action == DoseAction.TAKEN and reason:
        errors["reason"] = ["A reason is only given for a dose that was not taken."]
    if timezone.is_naive(at):
        errors["at"] = ["Give a time with its UTC offset, e.g. 2026-01-05T08:10Z."]
    elif at > now + CLOCK_SKEW:
        errors["at"] = ["This time is in the future."]
    elif action == DoseAction.TAKEN and at < dose.due_at - EARLY_LOGGING:
        errors["at"] = [
            "That is more than 2 hours before this dose was due "
            f"({_local(dose.due_at, dose.patient):%d %b %H:%M}); log it against the right dose."
        ]
    if len(note) > 1000:
        errors["note"] = ["Keep the note under 1000 characters."]
    if errors:
        raise ValidationError(errors)
    if dose.state == DoseState.HELD:
        raise ValidationError(
            {
                "non_field_errors": [
                    "Your team has put this dose on hold, so there is nothing to log. If you "
                    "took it, please call the advice line."
                ]
            }
        )


def _replay(dose: ExpectedDose, log: DoseLog) -> DoseLogResult:
    dose.refresh_from_db()
    return DoseLogResult(dose=dose, log=log, created=False)


def dose_log(
    *,
    dose: ExpectedDose,
    action: str,
    at: datetime | None = None,
    reason: str = "",
    note: str = "",
    recorded_by=None,
    idempotency_key: str | None = None,
    now: datetime | None = None,
) -> DoseLogResult:
    """Record that a dose was taken or not taken (adherence.md, "Dose states").

    Taken within the late window -> taken; after it, or once the sweep has marked the dose
    missed -> taken_late (allowed: the record must be true; flagged). Skipped needs a
    reason. A retry (same Idempotency-Key from the same user, or the same dose, action and
    reason within 10 minutes) records nothing new and returns the first answer. A different
    answer is a correction: a new log, the previous one marked superseded.
    """
    now = _now(now)
    at = at or now
    reason = reason or ""
    note = note or ""
    key = (idempotency_key or "").strip()[:128] or None
    try:
        return _dose_log(
            dose=dose,
            action=action,
            at=at,
            reason=reason,
            note=note,
            recorded_by=recorded_by,
            key=key,
            now=now,
        )
    except IntegrityError:
        # Two requests with one Idempotency-Key raced; the first one's log is the answer.
        existing = (
            DoseLog.objects.filter(recorded_by=recorded_by, idempotency_key=key)
            .select_related("expected_dose")
            .first()
        )
        if existing is None:
            raise
        if existing.expected_dose_id != dose.pk:
            raise ValidationError(
                {"idempotency_key": ["This Idempotency-Key was already used for another dose."]}
            ) from None
        return _replay(dose, existing)


@transaction.atomic
def _dose_log(*, dose, action, at, reason, note, recorded_by, key, now) -> DoseLogResult:
    # The row lock makes logging and the missed-dose sweep take turns on this dose; the
    # conditional update below is the second guard (it only applies to the state we read).
    loaded = dose
    dose = ExpectedDose.objects.select_for_update().get(pk=loaded.pk)
    # Logging changes neither the prescription nor the patient: keep those the caller loaded
    # (the API's scoped read a moment ago) rather than join them again under the lock.
    for relation in ("prescription", "patient"):
        if ExpectedDose._meta.get_field(relation).is_cached(loaded):
            setattr(dose, relation, getattr(loaded, relation))
    if key:
        earlier = DoseLog.objects.filter(recorded_by=recorded_by, idempotency_key=key).first()
        if earlier is not None:
            if earlier.expected_dose_id != dose.pk:
                raise ValidationError(
                    {"idempotency_key": ["This Idempotency-Key was already used for another dose."]}
                )
            return _replay(dose, earlier)
    current = dose.logs.filter(superseded_at__isnull=True).order_by("-recorded_at", "-id").first()
    if (
        current is not None
        and current.action == action
        and current.reason == reason
        and now - current.recorded_at <= REPLAY_WINDOW
    ):
        return _replay(dose, current)
    _validate_log(dose=dose, action=action, at=at, reason=reason, note=note, now=now)

    if action == DoseAction.TAKEN:
        late = dose.state == DoseState.MISSED or at > dose.late_until
        new_state = DoseState.TAKEN_LATE if late else DoseState.TAKEN
        updates = {"state": new_state, "taken_at": at, "skip_reason": ""}
    else:
        new_state = DoseState.SKIPPED
        updates = {"state": new_state, "taken_at": None, "skip_reason": reason}
    updated = ExpectedDose.objects.filter(pk=dose.pk, state=dose.state).update(
        state_changed_at=now, **updates
    )
    if updated != 1:  # cannot happen under the row lock; refuse rather than overwrite
        raise ValidationError({"non_field_errors": ["This dose changed meanwhile; try again."]})
    if current is not None:
        DoseLog.objects.filter(pk=current.pk, superseded_at__isnull=True).update(superseded_at=now)
    # No savepoint of its own: an IntegrityError (two requests with one Idempotency-Key)
    # leaves this function's transaction, which rolls back, and dose_log() answers it.
    log = DoseLog.objects.create(
        expected_dose=dose,
        action=action,
        at=at,
        reason=reason if action == DoseAction.SKIPPED else "",
        note=note,
        recorded_at=now,
        recorded_by=recorded_by,
        idempotency_key=key,
    )
    # The row is locked and was just updated with exactly these values: set them rather
    # than re-read the row, which would also drop the prescription, drug and patient loaded
    # with it and cost the answer two more queries (docs/benchmarks.md, benchmark 2).
    for name, value in {"state_changed_at": now, **updates}.items():
        setattr(dose, name, value)
    dose_logged.send(sender=DoseLog, log=log, dose=dose)
    logger.info("dose %s logged %s (log %s)", dose.pk, new_state, log.pk)
    return DoseLogResult(dose=dose, log=log, created=True)


# --- infusion courses -------------------------------------------------------------------------


def bevacizumab_dose_mg(weight_kg: Decimal) -> tuple[Decimal, Decimal]:
    """(exact, displayed): 15 mg/kg, shown to the nearest 5 mg (drugs.md)."""
    exact = BEVACIZUMAB_MG_PER_KG * Decimal(weight_kg)
    shown = (exact / BEVACIZUMAB_DISPLAY_STEP_MG).quantize(Decimal(1), ROUND_HALF_UP)
    return exact, shown * BEVACIZUMAB_DISPLAY_STEP_MG


def infusion_doses(
    *, drug_codes: Sequence[str], first: bool, weight_kg: Decimal, drugs: dict[str, Drug]
) -> list[dict]:
    """What is given at one appointment, atezolizumab first (drugs.md)."""
    doses = []
    for code in sorted(drug_codes, key=lambda c: checks.INFUSION_PAIR.index(c)):
        if code == "atezolizumab":
            flat = drugs[code].standard_dose_mg or Decimal(1200)
            doses.append(
                {
                    "drug": code,
                    "dose_mg": _mg(flat),
                    "minutes": ATEZOLIZUMAB_FIRST_MINUTES if first else ATEZOLIZUMAB_LATER_MINUTES,
                }
            )
        elif code == "bevacizumab":
            exact, shown = bevacizumab_dose_mg(weight_kg)
            doses.append(
                {
                    "drug": code,
                    "dose_mg": _mg(exact),
                    "display_dose_mg": _mg(shown),
                    "mg_per_kg": _mg(BEVACIZUMAB_MG_PER_KG),
                    "weight_kg": _mg(weight_kg),
                }
            )
    return doses


def _same_local_time(day: date, like: datetime, zone) -> datetime:
    """The appointment slot's local time on another day (09:30 stays 09:30 across DST)."""
    local = like.astimezone(zone)
    return datetime.combine(day, time(local.hour, local.minute), tzinfo=zone).astimezone(UTC)


@transaction.atomic
def infusion_course_create(
    *,
    patient: Patient,
    drugs: Sequence[str],
    first_infusion_at: datetime,
    interval_days: int = 21,
    override_reason: str = "",
    location: str = "",
    recorded_by=None,
    now: datetime | None = None,
) -> InfusionCourse:
    """Plan atezolizumab + bevacizumab: an appointment every 21 days from the first one,
    after the prescribing checks of drugs.md (warnings need `override_reason`)."""
    now = _now(now)
    override_reason = (override_reason or "").strip()
    codes = list(drugs or [])
    if not codes:
        raise ValidationError({"drugs": ['Name the drugs, e.g. ["atezolizumab", "bevacizumab"].']})
    if len(set(codes)) != len(codes):
        raise ValidationError({"drugs": ["Each drug may appear only once."]})
    catalogue = {d.code: d for d in Drug.objects.filter(code__in=codes, is_active=True)}
    unknown = [c for c in codes if c not in catalogue]
    if unknown:
        raise ValidationError({"drugs": [f"Unknown drug: {', '.join(unknown)}."]})
    oral = [c for c in codes if catalogue[c].route != Route.INTRAVENOUS]
    if oral:
        raise ValidationError(
            {"drugs": [f"{', '.join(oral)} is taken at home: prescribe it instead."]}
        )
    not_pair = [c for c in codes if c not in checks.INFUSION_PAIR]
    if not_pair:
        raise ValidationError(
            {"drugs": [f"Infusion courses are for atezolizumab and bevacizumab, not {not_pair}."]}
        )
    first_infusion_at = _aware(first_infusion_at, "first_infusion_at")
    if not 7 <= int(interval_days) <= 84:
        raise ValidationError({"interval_days": ["The interval is 7 to 84 days."]})
    _lock_patient(patient)
    has_active = InfusionCourse.objects.filter(patient=patient, status=CourseStatus.ACTIVE).exists()
    unmet = checks.check_infusion_course(
        drug_codes=codes,
        first_infusion_on=_local(first_infusion_at, patient).date(),
        patient=_patient_facts(patient),
        history=treatment_history(patient),
        has_active_course=has_active,
    )
    warnings = _check_or_raise(unmet, override_reason)
    course = InfusionCourse.objects.create(
        patient=patient,
        drugs=sorted(codes, key=lambda c: checks.INFUSION_PAIR.index(c)),
        interval_days=interval_days,
        first_infusion_at=first_infusion_at,
        location=location or "Day treatment unit",
        warnings=warnings,
        override_reason=override_reason if warnings else "",
        recorded_at=now,
        recorded_by=recorded_by,
    )
    infusion_appointments_extend(course=course, now=now)
    return course


def _append_appointments(course: InfusionCourse, appointments: list, count: int) -> list:
    patient = course.patient
    drugs = {d.code: d for d in Drug.objects.filter(code__in=course.drugs)}
    any_given = any(a.state == AppointmentState.GIVEN for a in appointments)
    last = appointments[-1] if appointments else None
    new = []
    for _ in range(count):
        if last is None:
            number, when = 1, course.first_infusion_at
        else:
            number = last.cycle_number + 1
            last_day = _local(last.given_at or last.scheduled_at, patient).date()
            when = _same_local_time(
                last_day + timedelta(days=course.interval_days), last.scheduled_at, patient.zone
            )
        appointment = InfusionAppointment(
            course=course,
            patient=patient,
            cycle_number=number,
            scheduled_at=when,
            originally_scheduled_at=when,
            location=course.location,
            doses=infusion_doses(
                drug_codes=course.drugs,
                first=number == 1 and not any_given,
                weight_kg=patient.weight_kg,
                drugs=drugs,
            ),
        )
        new.append(appointment)
        last = appointment
    InfusionAppointment.objects.bulk_create(new, ignore_conflicts=True)
    return new


@transaction.atomic
def infusion_appointments_extend(
    *, course: InfusionCourse | None = None, now: datetime | None = None
) -> int:
    """Keep 6 appointments planned ahead for every active course (or one course)."""
    now = _now(now)
    courses = InfusionCourse.objects.filter(status=CourseStatus.ACTIVE).select_related("patient")
    if course is not None:
        courses = courses.filter(pk=course.pk)
    courses = courses.annotate(
        ahead=Count(
            "appointments",
            filter=Q(appointments__state=AppointmentState.SCHEDULED)
            & Q(appointments__scheduled_at__gte=now),
        )
    ).filter(ahead__lt=APPOINTMENTS_AHEAD)
    created = 0
    # No row lock needed: the unique (course, cycle_number) constraint and ignore_conflicts
    # make two concurrent extensions add each cycle once.
    for item in courses:
        appointments = list(item.appointments.order_by("cycle_number"))
        created += len(_append_appointments(item, appointments, APPOINTMENTS_AHEAD - item.ahead))
    return created


def _move_later_appointments(appointment: InfusionAppointment, anchor: datetime) -> None:
    """Later planned appointments follow so the interval is kept from `anchor` (drugs.md:
    the cycle restarts from the date it was actually given)."""
    course = appointment.course
    zone = appointment.patient.zone
    anchor_day = _local(anchor, appointment.patient).date()
    later = course.appointments.filter(
        cycle_number__gt=appointment.cycle_number, state=AppointmentState.SCHEDULED
    ).order_by("cycle_number")
    for step, following in enumerate(later, start=1):
        day = anchor_day + timedelta(days=course.interval_days * step)
        when = _same_local_time(day, following.scheduled_at, zone)
        if when != following.scheduled_at:
            InfusionAppointment.objects.filter(
                pk=following.pk, state=AppointmentState.SCHEDULED
            ).update(scheduled_at=when, updated_at=timezone.now())


def _locked_appointment(appointment: InfusionAppointment) -> InfusionAppointment:
    InfusionCourse.objects.select_for_update().filter(pk=appointment.course_id).first()
    return InfusionAppointment.objects.select_related("course", "patient").get(pk=appointment.pk)


@transaction.atomic
def infusion_mark_given(
    *,
    appointment: InfusionAppointment,
    given_at: datetime,
    recorded_by=None,
    now: datetime | None = None,
) -> InfusionAppointment:
    now = _now(now)
    given_at = _aware(given_at, "given_at")
    if given_at > now + CLOCK_SKEW:
        raise ValidationError({"given_at": ["This time is in the future."]})
    appointment = _locked_appointment(appointment)
    if appointment.course.status != CourseStatus.ACTIVE:
        raise ValidationError({"non_field_errors": ["This infusion course has been stopped."]})
    if appointment.state == AppointmentState.GIVEN:
        if appointment.given_at == given_at:
            return appointment  # the same request again
        raise ValidationError({"non_field_errors": ["This infusion is already marked given."]})
    if appointment.state == AppointmentState.CANCELLED:
        raise ValidationError({"non_field_errors": ["This appointment was cancelled."]})
    earlier_given = (
        appointment.course.appointments.filter(
            cycle_number__lt=appointment.cycle_number, state=AppointmentState.GIVEN
        )
        .order_by("-given_at")
        .first()
    )
    if earlier_given is not None and given_at <= earlier_given.given_at:
        raise ValidationError(
            {"given_at": ["This is before the previous infusion of the course was given."]}
        )
    doses = appointment.doses
    if earlier_given is None:
        # The first infusion actually given runs over 60 minutes whatever its cycle number.
        for dose in doses:
            if dose.get("drug") == "atezolizumab":
                dose["minutes"] = ATEZOLIZUMAB_FIRST_MINUTES
    updated = InfusionAppointment.objects.filter(
        pk=appointment.pk, state__in=[AppointmentState.SCHEDULED, AppointmentState.MISSED]
    ).update(
        state=AppointmentState.GIVEN,
        given_at=given_at,
        state_changed_at=now,
        doses=doses,
        updated_at=now,
    )
    if updated != 1:
        raise ValidationError({"non_field_errors": ["This appointment changed meanwhile."]})
    appointment.refresh_from_db()
    _move_later_appointments(appointment, given_at)
    infusion_appointments_extend(course=appointment.course, now=now)
    return appointment


@transaction.atomic
def infusion_reschedule(
    *,
    appointment: InfusionAppointment,
    scheduled_at: datetime,
    reason: str,
    recorded_by=None,
    now: datetime | None = None,
) -> InfusionAppointment:
    """Move one appointment (e.g. postponed); later ones keep the interval from it."""
    now = _now(now)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": ["Give the reason for moving the appointment."]})
    scheduled_at = _aware(scheduled_at, "scheduled_at")
    if scheduled_at < now - CLOCK_SKEW:
        raise ValidationError(
            {"scheduled_at": ["This time has passed; to record an infusion given, mark it given."]}
        )
    appointment = _locked_appointment(appointment)
    if appointment.course.status != CourseStatus.ACTIVE:
        raise ValidationError({"non_field_errors": ["This infusion course has been stopped."]})
    if appointment.state not in (AppointmentState.SCHEDULED, AppointmentState.MISSED):
        raise ValidationError(
            {"non_field_errors": [f"This appointment is {appointment.state}; it cannot be moved."]}
        )
    previous = (
        appointment.course.appointments.filter(cycle_number__lt=appointment.cycle_number)
        .exclude(state=AppointmentState.CANCELLED)
        .order_by("-cycle_number")
        .first()
    )
    if previous is not None and scheduled_at <= (previous.given_at or previous.scheduled_at):
        raise ValidationError(
            {"scheduled_at": ["This is before the previous appointment of the course."]}
        )
    changes = {"scheduled_at": scheduled_at, "reschedule_reason": reason, "updated_at": now}
    if appointment.state != AppointmentState.SCHEDULED:
        changes.update(state=AppointmentState.SCHEDULED, state_changed_at=now)
    updated = InfusionAppointment.objects.filter(pk=appointment.pk, state=appointment.state).update(
        **changes
    )
    if updated != 1:
        raise ValidationError({"non_field_errors": ["This appointment changed meanwhile."]})
    appointment.refresh_from_db()
    _move_later_appointments(appointment, scheduled_at)
    return appointment


@transaction.atomic
def infusion_course_stop(
    *,
    course: InfusionCourse,
    reason: str,
    stopped_at: datetime | None = None,
    recorded_by=None,
    now: datetime | None = None,
) -> InfusionCourse:
    """Stop a course: planned appointments from the stop on are cancelled (history stays).
    Atezolizumab is interrupted rather than reduced (drugs.md)."""
    now = _now(now)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": ["Give the reason for stopping."]})
    stopped_at = stopped_at or now
    updated = InfusionCourse.objects.filter(pk=course.pk, status=CourseStatus.ACTIVE).update(
        status=CourseStatus.STOPPED, stopped_at=stopped_at
    )
    if updated != 1:
        raise ValidationError({"non_field_errors": ["This infusion course is already stopped."]})
    InfusionAppointment.objects.filter(
        course=course, state=AppointmentState.SCHEDULED, scheduled_at__gte=stopped_at
    ).update(
        state=AppointmentState.CANCELLED,
        state_changed_at=now,
        reschedule_reason=f"Course stopped: {reason}",
        updated_at=now,
    )
    course.refresh_from_db()
    logger.info("infusion course %s stopped", course.pk)
    return course
