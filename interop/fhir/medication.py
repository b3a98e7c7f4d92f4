"""MedicationRequest, MedicationStatement and MedicationAdministration (docs/fhir.md).

How an oral prescription becomes MedicationRequests: one request per *dosing period*, a
stretch of time with one dose and one timing. A dose change ends one period (status
`stopped`, the reason in `statusReason`) and starts the next (`priorPrescription` points
back), so the history of dose changes is the chain of requests. A cyclical drug
(regorafenib: days 1-21 of each 28-day cycle) gets one request per cycle, each with
`timing.repeat.boundsPeriod` = that cycle's days on: FHIR Timing cannot say "21 days on, 7
off" in one repeat, and every record system that reads MedicationRequest reads this, while
few read RequestGroup. All requests of one prescription share `groupIdentifier`. Holds: the
current request is `on-hold` with the hold's reason; past holds are notes on the request
they fell in. Infusion courses give one request per drug (every 21 days).
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from functools import partial

from fhir.resources.R4B.medication import Medication
from fhir.resources.R4B.medicationadministration import MedicationAdministration
from fhir.resources.R4B.medicationrequest import MedicationRequest
from fhir.resources.R4B.medicationstatement import MedicationStatement

from medications.models import (
    AppointmentState,
    CourseStatus,
    DoseState,
    Drug,
    ExpectedDose,
    InfusionCourse,
    Prescription,
    PrescriptionEventKind,
    PrescriptionStatus,
    SkipReason,
)
from medications.services import regimens_for

from . import codes
from .records import PatientRecord, Records

OUTCOME_LABELS = {
    DoseState.TAKEN: "Taken",
    DoseState.TAKEN_LATE: "Taken late, after the safe window closed",
    DoseState.SKIPPED: "Not taken (the patient decided not to take it)",
    DoseState.MISSED: "Missed (nothing logged before the window closed)",
}


def meta(last_updated: datetime) -> dict:
    return {"lastUpdated": last_updated.isoformat()}


def patient_reference(patient_id: int) -> dict:
    return {"reference": f"Patient/{patient_id}"}


def medication_concept(drug: Drug | None, code: str) -> dict:
    if drug is None:
        return {"text": code}
    codings = []
    if drug.snomed_code:
        codings.append(codes.coding(codes.SNOMED, drug.snomed_code, drug.name.capitalize()))
    if drug.atc_code:
        codings.append(codes.coding(codes.ATC, drug.atc_code, drug.name))
    text = f"{drug.name} ({drug.brand})" if drug.brand else drug.name
    return {"coding": codings, "text": text} if codings else {"text": text}


def medication_reference(code: str) -> dict:
    """Requests, statements and administrations name the drug by reference to one
    Medication resource per catalogue drug (its SNOMED CT and ATC codes live there once)."""
    return {"reference": f"Medication/{code}"}


def medication_resource(drug: Drug) -> Medication:
    form = {"text": drug.form} if drug.form else None
    return Medication(
        id=drug.code,
        code=medication_concept(drug, drug.code),
        status="active" if drug.is_active else "inactive",
        form=form,
    )


def route_concept(route: str) -> dict | None:
    system_code = codes.ROUTES.get(route)
    if system_code is None:
        return None
    system, code, display = system_code
    return codes.concept(codes.coding(system, code, display), text=display)


# --- dosing periods of an oral prescription --------------------------------------------------


@dataclass
class DosingPeriod:
    id: str
    prescription: Prescription
    index: int
    start: datetime | date
    end: datetime | date | None
    dose_mg: Decimal
    times: tuple[time, ...]
    cycle: int | None  # cycle number (1-based) for cyclical regimens
    days_on: int | None
    authored_on: datetime
    ends_by_change: str  # reason of the dose change that ended it, or ""
    after_change: bool  # starts with a dose change (priorPrescription)

    def contains(self, moment: datetime, zone) -> bool:
        return self.start_instant(zone) <= moment and (
            self.end is None or moment < self.end_instant(zone)
        )

    def start_instant(self, zone) -> datetime:
        if isinstance(self.start, datetime):
            return self.start
        return datetime.combine(self.start, time(0), tzinfo=zone)

    def end_instant(self, zone) -> datetime:
        if isinstance(self.end, datetime):
            return self.end
        return datetime.combine(self.end + timedelta(days=1), time(0), tzinfo=zone)


def dosing_periods(prescription: Prescription, now: datetime) -> list[DosingPeriod]:
    """The prescription's periods, oldest first (see the module docstring)."""
    zone = prescription.patient.zone
    events = list(prescription.events.all())
    regimens = regimens_for(prescription, events)
    changes = {e.effective_at: e for e in events if e.kind == PrescriptionEventKind.DOSE_CHANGE}
    created = next((e for e in events if e.kind == PrescriptionEventKind.CREATED), None)
    stop_at = prescription.stopped_at
    end_day = prescription.end_date
    today = now.astimezone(zone).date()
    periods: list[DosingPeriod] = []
    for position, regimen in enumerate(regimens):
        first = position == 0
        start: datetime | date = prescription.start_date if first else regimen.effective_at
        following = regimens[position + 1] if position + 1 < len(regimens) else None
        end: datetime | date | None = following.effective_at if following else None
        if stop_at is not None and (end is None or _instant(end, zone) > stop_at):
            end = stop_at
        if end_day is not None and (end is None or _instant(end, zone) > _day_end(end_day, zone)):
            end = end_day
        change = changes.get(regimen.effective_at)
        authored = change.recorded_at if change else (created or prescription).recorded_at
        ended_by = ""
        if following is not None:
            next_change = changes.get(following.effective_at)
            ended_by = next_change.reason if next_change else "Dose changed"
        spans: list[tuple[datetime | date, datetime | date | None, int | None]]
        if regimen.has_cycle:
            spans = _cycles(regimen, start, end, zone, today, prescription.start_date)
        else:
            spans = [(start, end, None)]
        for number, (span_start, span_end, cycle) in enumerate(spans):
            periods.append(
                DosingPeriod(
                    id="",
                    prescription=prescription,
                    index=0,
                    start=span_start,
                    end=span_end,
                    dose_mg=regimen.dose_mg,
                    times=regimen.times,
                    cycle=cycle,
                    days_on=regimen.cycle_days_on if regimen.has_cycle else None,
                    authored_on=authored,
                    ends_by_change=ended_by if number == len(spans) - 1 else "",
                    after_change=not first and number == 0,
                )
            )
    for index, period in enumerate(periods, start=1):
        period.index = index
        period.id = f"rx{prescription.pk}-{index}"
    return periods


def _instant(value: datetime | date, zone) -> datetime:
    if isinstance(value, datetime):
        return value
    return datetime.combine(value, time(0), tzinfo=zone)


def _day_end(day: date, zone) -> datetime:
    return datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone)


def _local_day(value: datetime | date, zone) -> date:
    return value.astimezone(zone).date() if isinstance(value, datetime) else value


def _cycles(regimen, start, end, zone, today: date, prescription_start: date):
    """Days-on spans of each cycle inside [start, end], as local dates (inclusive)."""
    on, off = regimen.cycle_days_on, regimen.cycle_days_off
    length = on + off
    cycle_start = regimen.cycle_start or prescription_start
    first_day = _local_day(start, zone)
    last_day = None
    if end is not None:
        last_day = _local_day(end, zone)
        if isinstance(end, datetime) and end == _instant(last_day, zone):
            last_day -= timedelta(days=1)  # ends at midnight: the day before is the last
    # Open-ended: up to the cycle running today (or the first one, if it has not begun).
    horizon = last_day if last_day is not None else max(today, first_day)
    spans = []
    number = max(0, (first_day - cycle_start).days // length)
    while True:
        on_first = cycle_start + timedelta(days=number * length)
        on_last = on_first + timedelta(days=on - 1)
        if on_first > horizon:
            break
        span_first, span_last = max(on_first, first_day), on_last
        if last_day is not None:
            span_last = min(on_last, last_day)
        if span_first <= span_last:
            spans.append((span_first, span_last, number + 1))
        number += 1
    return spans or [(first_day, last_day, None)]


def _times_text(times: tuple[time, ...]) -> str:
    return " and ".join(f"{t.hour:02d}:{t.minute:02d}" for t in times)


def frequency_text(times: tuple[time, ...]) -> str:
    return {1: "once daily", 2: "twice daily"}.get(len(times), f"{len(times)} times a day")


def _period_value(value: datetime | date) -> str:
    return value.isoformat()


def _period_status(period: DosingPeriod, is_last: bool, now: datetime, zone) -> tuple[str, str]:
    """(status, status reason text)."""
    prescription = period.prescription
    ended = period.end is not None and period.end_instant(zone) <= now
    if prescription.status == PrescriptionStatus.STOPPED and is_last:
        stop = next(
            (e for e in prescription.events.all() if e.kind == PrescriptionEventKind.STOP), None
        )
        return "stopped", stop.reason if stop else "Stopped"
    if ended:
        if period.ends_by_change:
            return "stopped", f"Dose changed: {period.ends_by_change}"
        return "completed", ""
    if prescription.status == PrescriptionStatus.HELD and period.start_instant(zone) <= now:
        hold = next(
            (
                h
                for h in reversed(prescription.holds.all())
                if h.starts_at <= now and (h.ends_at is None or now < h.ends_at)
            ),
            None,
        )
        return "on-hold", hold.reason if hold else "On hold"
    return "active", ""


def medication_requests(record: PatientRecord, records: Records):
    """(MedicationRequest, last updated, patient id) for every prescription and course."""
    out = []
    zone = record.patient.zone
    for prescription in record.prescriptions:
        periods = dosing_periods(prescription, records.now)
        updated = max(
            [prescription.updated_at, *(e.recorded_at for e in prescription.events.all())]
        )
        for position, period in enumerate(periods):
            prior = periods[position - 1].id if position and period.after_change else None
            is_last = position == len(periods) - 1
            out.append(
                (
                    period.id,
                    updated,
                    partial(_oral_request, period, is_last, prior, updated, records.now, zone),
                )
            )
    for course in record.courses:
        for code in course.drugs or []:
            out.append(
                (
                    course_request_id(course, code),
                    course.recorded_at,
                    lambda c=course, d=code: _course_request(c, d, records),
                )
            )
    return out


def course_request_id(course: InfusionCourse, code: str) -> str:
    return f"course{course.pk}-{code}"[:64]


def _oral_request(
    period: DosingPeriod, is_last: bool, prior: str | None, updated, now, zone
) -> MedicationRequest:
    prescription = period.prescription
    drug = prescription.drug
    status, reason = _period_status(period, is_last, now, zone)
    dose = f"{Decimal(period.dose_mg).normalize():f} mg"
    text = f"{dose} {frequency_text(period.times)} at {_times_text(period.times)}"
    if period.cycle and period.days_on:
        text += f", days 1-{period.days_on} of cycle {period.cycle}"
    bounds = {"start": _period_value(period.start)}
    if period.end is not None:
        bounds["end"] = _period_value(period.end)
    notes = []
    for hold in prescription.holds.all():
        if period.contains(hold.starts_at, zone) or (
            period.start_instant(zone) <= hold.starts_at and period.end is None
        ):
            until = f" to {hold.ends_at.isoformat()}" if hold.ends_at else ""
            notes.append(
                {"time": hold.starts_at.isoformat(), "text": f"Held{until}: {hold.reason}"}
            )
    dosage = {
        "sequence": 1,
        "text": text,
        "timing": {
            "repeat": {
                "boundsPeriod": bounds,
                "frequency": len(period.times),
                "period": 1,
                "periodUnit": "d",
                "timeOfDay": [f"{t.hour:02d}:{t.minute:02d}:00" for t in period.times],
            }
        },
        "doseAndRate": [{"doseQuantity": codes.mg(period.dose_mg)}],
    }
    if drug.food_rule:
        dosage["patientInstruction"] = drug.food_rule
    if (route := route_concept(drug.route)) is not None:
        dosage["route"] = route
    resource = {
        "id": period.id,
        "meta": meta(updated),
        "identifier": [
            {
                "system": codes.prescription_identifier_system(),
                "value": period.id.removeprefix("rx"),
            }
        ],
        "groupIdentifier": {
            "system": codes.prescription_identifier_system(),
            "value": str(prescription.pk),
        },
        "status": status,
        "intent": "order",
        "category": [
            codes.concept(codes.coding(codes.MEDICATION_REQUEST_CATEGORY, "community", "Community"))
        ],
        "medicationReference": medication_reference(drug.code),
        "subject": patient_reference(prescription.patient_id),
        "authoredOn": period.authored_on.isoformat(),
        "dosageInstruction": [dosage],
    }
    if reason:
        resource["statusReason"] = {"text": reason}
    if prior:
        resource["priorPrescription"] = {"reference": f"MedicationRequest/{prior}"}
    if notes:
        resource["note"] = notes
    return MedicationRequest(**resource)


def _course_dose(course: InfusionCourse, code: str):
    for appointment in reversed(list(course.appointments.all())):
        for item in appointment.doses or []:
            if isinstance(item, dict) and item.get("drug") == code and item.get("dose_mg"):
                return item["dose_mg"]
    return None


def _course_request(course: InfusionCourse, code: str, records: Records) -> MedicationRequest:
    stopped = course.status == CourseStatus.STOPPED
    bounds = {"start": course.first_infusion_at.isoformat()}
    if stopped and course.stopped_at:
        bounds["end"] = course.stopped_at.isoformat()
    dosage: dict = {
        "sequence": 1,
        "text": f"Intravenous infusion on day 1 of every {course.interval_days}-day cycle",
        "timing": {
            "repeat": {
                "boundsPeriod": bounds,
                "frequency": 1,
                "period": course.interval_days,
                "periodUnit": "d",
            }
        },
        "route": route_concept("iv"),
    }
    dose = _course_dose(course, code)
    if dose is not None:
        dosage["doseAndRate"] = [{"doseQuantity": codes.mg(dose)}]
    return MedicationRequest(
        id=course_request_id(course, code),
        meta=meta(course.recorded_at),
        groupIdentifier={
            "system": f"{codes.prescription_identifier_system()}-course",
            "value": str(course.pk),
        },
        status="stopped" if stopped else "active",
        intent="order",
        category=[
            codes.concept(
                codes.coding(codes.MEDICATION_REQUEST_CATEGORY, "outpatient", "Outpatient")
            )
        ],
        medicationReference=medication_reference(code),
        subject=patient_reference(course.patient_id),
        authoredOn=course.recorded_at.isoformat(),
        dosageInstruction=[dosage],
    )


# --- what the patient took: MedicationStatement ---------------------------------------------


def dose_outcome(dose: ExpectedDose) -> str:
    return DoseState.MISSED if dose.state == DoseState.PENDING else dose.state


def dose_last_updated(dose: ExpectedDose) -> datetime:
    return dose.state_changed_at or dose.taken_at or dose.late_until


def medication_statements(record: PatientRecord, records: Records):
    periods_by_prescription = {p.pk: dosing_periods(p, records.now) for p in record.prescriptions}
    prescriptions = {p.pk: p for p in record.prescriptions}
    out = []
    for dose in record.doses:
        out.append(
            (
                str(dose.pk),
                dose_last_updated(dose),
                lambda d=dose: _statement(
                    d,
                    prescriptions[d.prescription_id],
                    periods_by_prescription.get(d.prescription_id, []),
                    record,
                ),
            )
        )
    return out


def _based_on(periods: list[DosingPeriod], due_at: datetime, zone) -> str | None:
    starts = [p.start_instant(zone) for p in periods]
    position = bisect.bisect_right(starts, due_at) - 1
    if position >= 0 and periods[position].contains(due_at, zone):
        return periods[position].id
    return periods[position].id if 0 <= position < len(periods) else None


def _statement(
    dose: ExpectedDose, prescription: Prescription, periods, record: PatientRecord
) -> MedicationStatement:
    outcome = dose_outcome(dose)
    log = record.logs.get(dose.pk)
    taken = outcome in (DoseState.TAKEN, DoseState.TAKEN_LATE)
    reasons = [
        codes.coding(codes.our_system("dose-outcome"), str(outcome), OUTCOME_LABELS[outcome])
    ]
    if outcome == DoseState.SKIPPED and dose.skip_reason:
        label = dict(SkipReason.choices).get(dose.skip_reason, dose.skip_reason)
        reasons.append(codes.coding(codes.our_system("skip-reason"), dose.skip_reason, label))
    text = OUTCOME_LABELS[outcome]
    if outcome == DoseState.SKIPPED and dose.skip_reason:
        text += f": {dict(SkipReason.choices).get(dose.skip_reason, dose.skip_reason)}"
    resource = {
        "id": str(dose.pk),
        "meta": meta(dose_last_updated(dose)),
        "status": "completed" if taken else "not-taken",
        "medicationReference": medication_reference(prescription.drug.code),
        "subject": patient_reference(dose.patient_id),
        "effectiveDateTime": (
            dose.taken_at if taken and dose.taken_at else dose.due_at
        ).isoformat(),
        "dateAsserted": (
            log.recorded_at if log else dose.state_changed_at or dose.late_until
        ).isoformat(),
        "dosage": [
            {
                "text": f"{Decimal(dose.dose_mg).normalize():f} mg due at "
                f"{dose.due_at.astimezone(record.patient.zone):%Y-%m-%d %H:%M}",
                "doseAndRate": [{"doseQuantity": codes.mg(dose.dose_mg)}],
            }
        ],
    }
    if outcome != DoseState.TAKEN:  # taken on time needs no reason; the rest say why
        resource["statusReason"] = [{"coding": reasons, "text": text}]
    based_on = _based_on(periods, dose.due_at, record.patient.zone)
    if based_on:
        resource["basedOn"] = [{"reference": f"MedicationRequest/{based_on}"}]
    if log is not None and log.recorded_by_id == record.patient.user_id:
        resource["informationSource"] = patient_reference(dose.patient_id)
    if log is not None and log.note:
        resource["note"] = [{"text": log.note}]
    return MedicationStatement(**resource)


# --- infusions given: MedicationAdministration -----------------------------------------------


def medication_administrations(record: PatientRecord, records: Records):
    out = []
    for course in record.courses:
        for appointment in course.appointments.all():
            if appointment.state != AppointmentState.GIVEN or appointment.given_at is None:
                continue
            for item in appointment.doses or []:
                if not isinstance(item, dict) or not item.get("drug"):
                    continue
                out.append(
                    (
                        f"{appointment.pk}-{item['drug']}"[:64],
                        appointment.updated_at,
                        lambda a=appointment, i=item, c=course: _administration(a, i, c, records),
                    )
                )
    return out


def _administration(appointment, item: dict, course, records: Records) -> MedicationAdministration:
    code = item["drug"]
    effective: dict = {"start": appointment.given_at.isoformat()}
    if item.get("minutes"):
        effective["end"] = (
            appointment.given_at + timedelta(minutes=int(item["minutes"]))
        ).isoformat()
    dosage: dict = {"route": route_concept("iv")}
    if item.get("dose_mg"):
        dosage["dose"] = codes.mg(item["dose_mg"])
    return MedicationAdministration(
        id=f"{appointment.pk}-{code}"[:64],
        meta=meta(appointment.updated_at),
        status="completed",
        medicationReference=medication_reference(code),
        subject=patient_reference(appointment.patient_id),
        effectivePeriod=effective,
        request={"reference": f"MedicationRequest/{course_request_id(course, code)}"},
        dosage=dosage,
        note=[{"text": f"Cycle {appointment.cycle_number}"}],
    )
