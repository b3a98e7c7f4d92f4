"""What Today shows: the day's dose cards, the next dose and the next infusion visit."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from patients.models import Patient

from .. import selectors, services
from ..models import (
    AppointmentState,
    CourseStatus,
    DoseState,
    Drug,
    ExpectedDose,
    InfusionAppointment,
    SkipReason,
)
from .words import (
    STATE_LABELS,
    _sentence_case,
    brand_name,
    day_phrase,
    local_day_start,
    mg,
    time_phrase,
)


@dataclass
class DoseCard:
    dose: ExpectedDose
    now: datetime
    zone: ZoneInfo
    today: date
    # One per rendered "Taken" form: a form sent twice (a double tap, a retry on a bad
    # connection) records one log (adherence.md: logging is idempotent).
    taken_key: str = field(default_factory=lambda: uuid.uuid4().hex)

    @property
    def drug(self) -> Drug:
        return self.dose.prescription.drug

    @property
    def state(self) -> str:
        return self.dose.display_state(self.now)

    @property
    def state_label(self) -> str:
        return STATE_LABELS.get(self.state, self.state)

    @property
    def amount(self) -> str:
        return mg(self.dose.dose_mg)

    @property
    def due_local(self) -> datetime:
        return self.dose.due_at.astimezone(self.zone)

    @property
    def due_text(self) -> str:
        return time_phrase(self.dose.due_at, self.zone, self.today)

    @property
    def window_text(self) -> str:
        """Until when a forgotten dose may still be taken (drugs.md, missed-dose rules)."""
        return time_phrase(self.dose.late_until, self.zone, self.today)

    @property
    def from_earlier_day(self) -> bool:
        return self.due_local.date() < self.today

    @property
    def can_log(self) -> bool:
        # services.dose_log accepts a dose from EARLY_LOGGING before it is due (taken a
        # little early), never sooner: that would be doubling up. Held doses are not logged.
        return (
            self.dose.state != DoseState.HELD
            and self.now >= self.dose.due_at - services.EARLY_LOGGING
        )

    @property
    def can_log_from_text(self) -> str:
        return time_phrase(self.dose.due_at - services.EARLY_LOGGING, self.zone, self.today)

    @property
    def patient_may_log(self) -> bool:
        """adherence.md: a patient logs their own doses due in the last 72 hours."""
        return self.can_log and self.dose.due_at >= self.now - services.PATIENT_LOGGING_PERIOD

    @property
    def earliest_taken_text(self) -> str:
        """ "When did you take it?" accepts a time from 2 hours before the due time."""
        return time_phrase(self.dose.due_at - services.EARLY_LOGGING, self.zone, self.today)

    @property
    def taken_days(self) -> list[tuple[str, str]]:
        """The days a "when did you take it?" time may fall on, today first."""
        first = (self.dose.due_at - services.EARLY_LOGGING).astimezone(self.zone).date()
        days, day = [], self.today
        while day >= first and len(days) < 5:
            days.append((day.isoformat(), _sentence_case(day_phrase(day, self.today))))
            day -= timedelta(days=1)
        return days

    @property
    def default_taken_day(self) -> str:
        return min(self.due_local.date(), self.today).isoformat()

    @property
    def default_taken_time(self) -> str:
        moment = min(self.dose.due_at, self.now).astimezone(self.zone)
        return f"{moment:%H:%M}"

    @property
    def window_open(self) -> bool:
        return self.now < self.dose.late_until

    @property
    def forgot_rule(self) -> str:
        """adherence.md "I forgot": that drug's rule at this moment."""
        if self.window_open:
            return (
                f"If you forgot, you can still take it until {self.window_text}. "
                "If it is later than that, skip this dose."
            )
        return (
            "It is too late to take this dose now: skip it and take the next one at the "
            "usual time. Never take two doses together."
        )

    @property
    def taken_text(self) -> str:
        if self.dose.taken_at is None:
            return ""
        return time_phrase(self.dose.taken_at, self.zone, self.today)

    @property
    def reason_label(self) -> str:
        reason = self.dose.skip_reason
        return SkipReason(reason).label if reason in SkipReason.values else ""

    @property
    def ran_out(self) -> bool:
        return self.state == DoseState.SKIPPED and self.dose.skip_reason == SkipReason.RAN_OUT

    @property
    def vomited(self) -> bool:
        return self.state == DoseState.SKIPPED and self.dose.skip_reason == SkipReason.VOMITED

    @property
    def asks_for_symptoms(self) -> bool:
        # adherence.md: "side effects" or "felt unwell" asks for a symptom report.
        return self.state == DoseState.SKIPPED and self.dose.skip_reason in (
            SkipReason.SIDE_EFFECTS,
            SkipReason.UNWELL,
        )

    @property
    def show_rule(self) -> bool:
        """After the window: the drug's missed-dose rule in plain words."""
        return self.state in (DoseState.MISSED, DoseState.TAKEN_LATE)


def patient_doses(user, patient: Patient):
    return selectors.doses_visible_to(user).filter(patient=patient)


def today_cards(user, patient: Patient, now: datetime) -> list[DoseCard]:
    """Every dose due on the patient's local today, plus any dose from an earlier day
    whose late window is still open (sorafenib's 20:00 dose may be taken until 02:00)."""
    zone = patient.zone
    today = now.astimezone(zone).date()
    doses = patient_doses(user, patient)
    todays = list(selectors.doses_between(doses, first_day=today, last_day=today, zone=zone))
    still_open = list(
        doses.filter(
            due_at__lt=local_day_start(today, zone),
            late_until__gt=now,
            state=DoseState.PENDING,
        )
    )
    return [DoseCard(dose=dose, now=now, zone=zone, today=today) for dose in [*still_open, *todays]]


def dose_card(user, dose_id, patient: Patient, now: datetime) -> DoseCard:
    dose = selectors.dose_for(user, dose_id)
    return DoseCard(
        dose=dose, now=now, zone=patient.zone, today=now.astimezone(patient.zone).date()
    )


@dataclass
class NextDose:
    dose: ExpectedDose
    when: str
    later_day: bool  # not one of today's doses

    @property
    def amount(self) -> str:
        return mg(self.dose.dose_mg)


def next_dose(user, patient: Patient, now: datetime) -> NextDose | None:
    zone = patient.zone
    dose = (
        patient_doses(user, patient)
        .filter(due_at__gt=now, state=DoseState.PENDING)
        .order_by("due_at")
        .first()
    )
    if dose is None:
        return None
    today = now.astimezone(zone).date()
    local = dose.due_at.astimezone(zone)
    return NextDose(
        dose=dose,
        when=f"{day_phrase(local.date(), today)} at {local:%H:%M}",
        later_day=local.date() > today,
    )


@dataclass
class InfusionVisit:
    appointment: InfusionAppointment
    zone: ZoneInfo
    today: date
    drugs: dict[str, Drug]

    @property
    def local(self) -> datetime:
        return self.appointment.scheduled_at.astimezone(self.zone)

    @property
    def day_text(self) -> str:
        return day_phrase(self.local.date(), self.today)

    @property
    def when_text(self) -> str:
        """'Today, Thursday 26 November, at 09:30' / 'Sunday 29 November at 09:30 (in 3
        days)'."""
        day = self.local.date()
        phrase = self.day_text
        clock = f"{self.local:%H:%M}"
        if phrase in ("today", "tomorrow"):
            return f"{phrase.capitalize()}, {day:%A} {day.day} {day:%B}, at {clock}"
        days = (day - self.today).days
        return f"{phrase} at {clock} (in {days} days)"

    @property
    def steps(self) -> list[str]:
        """What happens, in order (drugs.md: both the same day, atezolizumab first; its
        first infusion over 60 minutes, later ones over 30 if tolerated)."""
        lines = []
        for index, dose in enumerate(self.appointment.doses or []):
            drug = self.drugs.get(dose.get("drug"))
            name = drug.name.capitalize() if drug else str(dose.get("drug", "")).capitalize()
            brand = f" ({brand_name(drug.brand)})" if drug and drug.brand else ""
            amount = mg(dose.get("display_dose_mg") or dose.get("dose_mg") or 0)
            text = f"{'First' if index == 0 else 'Then'}: {name}{brand}, {amount}, as a drip"
            if dose.get("minutes"):
                text += f" over about {dose['minutes']} minutes"
                if dose.get("drug") == "atezolizumab":
                    if int(dose["minutes"]) >= services.ATEZOLIZUMAB_FIRST_MINUTES:
                        text += " (the first one is given slowly)"
                    else:
                        text += " (shorter now that you have had it before)"
            lines.append(text + ".")
        return lines


def _infusion_drugs() -> dict[str, Drug]:
    return {
        drug.code: drug for drug in Drug.objects.filter(code__in=["atezolizumab", "bevacizumab"])
    }


def next_infusion(user, patient: Patient, now: datetime) -> InfusionVisit | None:
    # An appointment stays "next" on its day even after its start time has passed.
    today = now.astimezone(patient.zone).date()
    appointment = (
        selectors.appointments_visible_to(user)
        .filter(
            patient=patient,
            state=AppointmentState.SCHEDULED,
            course__status=CourseStatus.ACTIVE,
            scheduled_at__gte=local_day_start(today, patient.zone),
        )
        .order_by("scheduled_at")
        .first()
    )
    if appointment is None:
        return None
    return InfusionVisit(
        appointment=appointment, zone=patient.zone, today=today, drugs=_infusion_drugs()
    )
