"""Treatment changes in the patient's words, for History (issue 13): "From 5 Nov your team
changed sorafenib to once a day at 08:00", holds, restarts and stops. Read from the
prescription events the services write (with who and why, for staff); the patient sees
what changed and from when, never the staff's reason text."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation

from patients.models import Patient

from .. import selectors
from ..models import PrescriptionEvent, PrescriptionEventKind
from .treatment import _times_text
from .words import mg

# History shows the changes of the last 6 weeks (its calendar) and those already planned.
CHANGES_BACK = timedelta(weeks=6)
CHANGES_AHEAD = timedelta(weeks=2)


@dataclass
class ChangeLine:
    day: date
    text: str
    kind: str


def _day(moment: datetime, zone) -> str:
    local = moment.astimezone(zone)
    return f"{local.day} {local:%b}"


def _same_mg(a, b) -> bool:
    try:
        return Decimal(str(a)) == Decimal(str(b))
    except (InvalidOperation, TypeError, ValueError):
        return False


def change_words(event: PrescriptionEvent, zone) -> str:
    drug = event.prescription.drug.name
    when = f"From {_day(event.effective_at, zone)}"
    if event.kind == PrescriptionEventKind.HOLD:
        until = f" until {_day(event.until, zone)}" if event.until else ""
        return f"{when} your team paused {drug}{until}. Do not take it while it is paused."
    if event.kind == PrescriptionEventKind.RESUME:
        return f"{when} your team restarted {drug}."
    if event.kind == PrescriptionEventKind.STOP:
        return f"{when} your team stopped {drug}."
    data = event.data or {}
    previous = data.get("previous") or {}
    parts = []
    if data.get("dose_mg") is not None and not _same_mg(data["dose_mg"], previous.get("dose_mg")):
        parts.append(mg(data["dose_mg"]))
    times = data.get("times")
    if times and sorted(times) != sorted(previous.get("times") or []):
        parts.append(_times_text(times))
    if not parts:
        return f"{when} your team changed how you take {drug}."
    return f"{when} your team changed {drug} to {', '.join(parts)}."


def treatment_changes(user, patient: Patient, now: datetime) -> list[ChangeLine]:
    """Holds, restarts, dose changes and stops of the patient's tablets, newest first.
    One query."""
    zone = patient.zone
    prescriptions = selectors.prescriptions_visible_to(user).filter(patient=patient)
    events = (
        PrescriptionEvent.objects.filter(
            prescription__in=prescriptions.values("pk"),
            kind__in=[
                PrescriptionEventKind.HOLD,
                PrescriptionEventKind.RESUME,
                PrescriptionEventKind.DOSE_CHANGE,
                PrescriptionEventKind.STOP,
            ],
            effective_at__gte=now - CHANGES_BACK,
            effective_at__lte=now + CHANGES_AHEAD,
        )
        .select_related("prescription__drug")
        .order_by("-effective_at", "-id")
    )
    return [
        ChangeLine(
            day=event.effective_at.astimezone(zone).date(),
            text=change_words(event, zone),
            kind=event.kind,
        )
        for event in events
    ]
