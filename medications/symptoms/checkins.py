"""Scheduled check-ins (../shared/clinical/checkins.md): generation, the state changes the
sweep makes, completion by a report, follow-ups, pause and resume, and reads.

The sweep itself lives in notifications (services/check_ins.py): it calls
`check_ins_advance` and, in the same transaction, queues the reminders and raises the
"check-in not done" alerts for what this call changed. Everything here is set-based (a fixed
number of queries per batch, however many patients) and safe to run twice or concurrently:
generation inserts with a unique `source_key` (ON CONFLICT DO NOTHING), transitions are
conditional updates, and only the rows a call changed are returned to it.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from django.db import transaction
from django.db.models import F, Max, Min, Q, QuerySet
from django.utils import timezone

from core import bulk
from patients.models import Patient
from patients.selectors import visible_to

from ..models import (
    UNFINISHED_CHECK_IN,
    AppointmentState,
    CheckIn,
    CheckInKind,
    CheckInPlan,
    CheckInStatus,
    CourseStatus,
    InfusionAppointment,
    InfusionCourse,
    Prescription,
    PrescriptionStatus,
    SymptomReport,
)
from ..signals import check_in_completed
from . import check_in_rules as rules

logger = logging.getLogger(__name__)

SWEEP_BATCH = 1000
# Post-infusion check-ins are generated from infusions given this recently.
POST_INFUSION_LOOKBACK = timedelta(days=rules.POST_INFUSION_DAYS + 4)
BEVACIZUMAB, LENVATINIB = "bevacizumab", "lenvatinib"
COLUMNS = ("pk", "patient_id", "kind", "opens_at", "closes_at", "status", "reminders_sent")


# --- generation ------------------------------------------------------------------------------


def _on_treatment(today) -> dict[int, datetime]:
    """Patient id -> when their current treatment started (the default weekday), for every
    patient with an active prescription or infusion course. Two grouped queries."""
    starts: dict[int, datetime] = {}
    for row in (
        Prescription.objects.filter(status=PrescriptionStatus.ACTIVE)
        .filter(Q(end_date__isnull=True) | Q(end_date__gte=today))
        .values("patient_id")
        .annotate(start=Min("start_date"))
        .order_by()
    ):
        start = row["start"]
        starts[row["patient_id"]] = datetime(start.year, start.month, start.day, 12)
    for row in (
        InfusionCourse.objects.filter(status=CourseStatus.ACTIVE)
        .values("patient_id")
        .annotate(first=Min("first_infusion_at"))
        .order_by()
    ):
        current = starts.get(row["patient_id"])
        first = row["first"].replace(tzinfo=None)
        starts[row["patient_id"]] = min(current, first) if current else first
    return starts


def _bp_facts(now: datetime) -> tuple[dict[int, object], dict[int, list[datetime]]]:
    """Lenvatinib start date per patient, and upcoming bevacizumab infusion times per
    patient. Two queries."""
    lenvatinib = {
        row["patient_id"]: row["start"]
        for row in Prescription.objects.filter(
            status=PrescriptionStatus.ACTIVE, drug__code=LENVATINIB
        )
        .values("patient_id")
        .annotate(start=Min("start_date"))
        .order_by()
    }
    infusions: dict[int, list[datetime]] = defaultdict(list)
    for patient_id, at, drugs in InfusionAppointment.objects.filter(
        state=AppointmentState.SCHEDULED,
        course__status=CourseStatus.ACTIVE,
        scheduled_at__gte=now,
        scheduled_at__lte=now + timedelta(days=21),
    ).values_list("patient_id", "scheduled_at", "course__drugs"):
        if isinstance(drugs, list) and BEVACIZUMAB in drugs:
            infusions[patient_id].append(at)
    return lenvatinib, infusions


def _asks_bp(patient: dict, opens_at: datetime, zone: ZoneInfo, lenvatinib, infusions) -> bool:
    return rules.asks_bp(
        has_monitor=patient["has_bp_monitor"],
        lenvatinib_start=lenvatinib.get(patient["pk"]),
        on=opens_at.astimezone(zone).date(),
        bevacizumab_infusion_within_7_days=any(
            timedelta(0) <= at - opens_at <= timedelta(days=7)
            for at in infusions.get(patient["pk"], [])
        ),
    )


def _row(patient_id, kind, key, opens_at, *, focus=(), asks_bp=False, now) -> dict:
    return {
        "patient_id": patient_id,
        "kind": kind,
        "source_key": key,
        "opens_at": opens_at,
        "closes_at": rules.closes_at(opens_at),
        "status": CheckInStatus.SCHEDULED,
        "reminders_sent": 0,
        "next_look_at": opens_at,
        "focus_codes": list(focus),
        "asks_bp": asks_bp,
        "created_at": now,
    }


def _insert(rows: list[dict]) -> int:
    if not rows:
        return 0
    inserted = bulk.insert_rows(
        CheckIn,
        rows,
        on_conflict="ON CONFLICT (source_key) DO NOTHING",
        returning=("id",),
        order_by="source_key",
    )
    return len(inserted)


def check_ins_generate(*, now: datetime | None = None) -> dict:
    """Make sure every patient on active treatment, not paused, has their next weekly
    check-in scheduled (10:00 local on their weekday), and every infusion given in the last
    days its check-in 7 days later. A fixed number of queries, whatever the number of
    patients; safe to run twice or concurrently (unique source keys)."""
    now = now or timezone.now()
    starts = _on_treatment(now.date())
    # The same patients as subqueries, not a list of ids: a 10,000-id IN list costs more to
    # send and parse than the read itself (benchmark 7).
    on_treatment = Q(
        pk__in=Prescription.objects.filter(status=PrescriptionStatus.ACTIVE).values("patient_id")
    ) | Q(pk__in=InfusionCourse.objects.filter(status=CourseStatus.ACTIVE).values("patient_id"))
    # Weekly check-ins not asked yet of patients no longer on treatment are not asked.
    CheckIn.objects.filter(kind=CheckInKind.WEEKLY, status=CheckInStatus.SCHEDULED).exclude(
        patient__in=Patient.objects.filter(on_treatment)
    ).delete()
    patients = {
        row["pk"]: row
        for row in Patient.objects.filter(on_treatment).values(
            "pk", "timezone", "has_bp_monitor", "check_in_plan__weekday", "check_in_plan__paused_at"
        )
    }
    latest = {
        row["patient_id"]: row["last"]
        for row in CheckIn.objects.filter(
            kind=CheckInKind.WEEKLY, opens_at__gte=now - timedelta(days=8)
        )
        .values("patient_id")
        .annotate(last=Max("opens_at"))
        .order_by()
    }
    lenvatinib, infusions = _bp_facts(now)
    rows = []
    for patient_id, start in starts.items():
        patient = patients.get(patient_id)
        if patient is None or patient["check_in_plan__paused_at"] is not None:
            continue
        last = latest.get(patient_id)
        if last is not None and last > now:
            continue  # the next one is already scheduled
        zone = ZoneInfo(patient["timezone"])
        weekday = patient["check_in_plan__weekday"]
        if weekday is None:
            weekday = start.weekday()
        after = max(now, last + timedelta(minutes=1)) if last else now
        opens_at = rules.weekly_opening(after, weekday, zone)
        key = f"weekly:{patient_id}:{opens_at.astimezone(zone).date().isoformat()}"
        asks = _asks_bp(patient, opens_at, zone, lenvatinib, infusions)
        rows.append(_row(patient_id, CheckInKind.WEEKLY, key, opens_at, asks_bp=asks, now=now))
    weekly = _insert(rows)
    return {"weekly": weekly, "post_infusion": _generate_post_infusion(now, patients)}


def _generate_post_infusion(now: datetime, patients: dict) -> int:
    rows = []
    for appointment_id, patient_id, given_at in InfusionAppointment.objects.filter(
        state=AppointmentState.GIVEN,
        given_at__gte=now - POST_INFUSION_LOOKBACK,
        course__status=CourseStatus.ACTIVE,
    ).values_list("pk", "patient_id", "given_at"):
        patient = patients.get(patient_id)
        if patient is None or patient["check_in_plan__paused_at"] is not None:
            continue
        opens_at = rules.post_infusion_opening(given_at, ZoneInfo(patient["timezone"]))
        if rules.closes_at(opens_at) <= now:
            continue
        key = f"post_infusion:{appointment_id}"
        rows.append(_row(patient_id, CheckInKind.POST_INFUSION, key, opens_at, now=now))
    return _insert(rows)


# --- the sweep's state changes ---------------------------------------------------------------


@dataclass
class Advanced:
    """What one batch changed: check-ins opened (a reminder each), chased again at +24 h,
    and missed (an alert each patient)."""

    opened: list[dict] = field(default_factory=list)
    chased: list[dict] = field(default_factory=list)
    missed: list[dict] = field(default_factory=list)
    claimed: int = 0


def _claim(now: datetime, limit: int) -> list[int]:
    return list(
        CheckIn.objects.filter(status__in=UNFINISHED_CHECK_IN, next_look_at__lte=now)
        .order_by("next_look_at", "pk")
        .select_for_update(skip_locked=True, of=("self",))
        .values_list("pk", flat=True)[:limit]
    )


def _changed(ids: list[int], now: datetime, **conditions) -> list[dict]:
    return list(
        CheckIn.objects.filter(pk__in=ids, state_changed_at=now, **conditions)
        .order_by("opens_at", "pk")
        .values(*COLUMNS)
    )


def check_ins_advance(*, now: datetime, limit: int = SWEEP_BATCH) -> Advanced:
    """One batch of due check-ins, in the caller's transaction: past `closes_at` -> missed;
    scheduled and past `opens_at` -> open (a reminder due; if it opened more than 24 h ago,
    that is the last one); open and 24 h old with one reminder -> chased again. Conditional
    updates: a report completing a check-in meanwhile wins. Seven queries per batch."""
    ids = _claim(now, limit)
    result = Advanced(claimed=len(ids))
    if not ids:
        return result
    unfinished = Q(status__in=UNFINISHED_CHECK_IN)
    CheckIn.objects.filter(unfinished, pk__in=ids, closes_at__lte=now).update(
        status=CheckInStatus.MISSED, next_look_at=None, state_changed_at=now
    )
    second_at = now - rules.SECOND_REMINDER_AFTER
    # Opened late (the sweep was down a day): one reminder, and it counts as the last.
    CheckIn.objects.filter(
        pk__in=ids, status=CheckInStatus.SCHEDULED, opens_at__lte=second_at, closes_at__gt=now
    ).update(
        status=CheckInStatus.OPEN,
        reminders_sent=rules.REMINDERS,
        next_look_at=F("closes_at"),
        state_changed_at=now,
    )
    CheckIn.objects.filter(
        pk__in=ids, status=CheckInStatus.SCHEDULED, opens_at__lte=now, closes_at__gt=now
    ).update(
        status=CheckInStatus.OPEN,
        reminders_sent=1,
        next_look_at=F("opens_at") + rules.SECOND_REMINDER_AFTER,
        state_changed_at=now,
    )
    CheckIn.objects.filter(
        pk__in=ids,
        status=CheckInStatus.OPEN,
        reminders_sent=1,
        opens_at__lte=second_at,
        closes_at__gt=now,
    ).exclude(state_changed_at=now).update(
        reminders_sent=2, next_look_at=F("closes_at"), state_changed_at=now
    )
    for row in _changed(ids, now):
        if row["status"] == CheckInStatus.MISSED:
            result.missed.append(row)
        elif row["reminders_sent"] == 1 or row["opens_at"] > second_at:
            result.opened.append(row)
        else:
            result.chased.append(row)
    return result


def recent_outcomes(patient_ids: Sequence[int], now: datetime) -> dict[int, list[str]]:
    """The last finished (completed or missed) check-ins' statuses per patient, newest
    first, over the last 5 weeks. One query."""
    outcomes: dict[int, list[str]] = defaultdict(list)
    for patient_id, status in (
        CheckIn.objects.filter(
            patient_id__in=list(patient_ids),
            status__in=[CheckInStatus.COMPLETED, CheckInStatus.MISSED],
            opens_at__gte=now - timedelta(days=35),
            opens_at__lte=now,
        )
        .order_by("patient_id", "-opens_at", "-pk")
        .values_list("patient_id", "status")
    ):
        outcomes[patient_id].append(status)
    return outcomes


# --- completion by a report, and follow-ups ----------------------------------------------------


def check_ins_after_report(
    *, report: SymptomReport, graded_codes: Sequence[str], now: datetime
) -> list[int]:
    """In the report's transaction: the report completes every check-in of the patient open
    at its time (whichever screen it came from); a completed follow-up whose focus items are
    still above grade 1, or any amber report, opens a follow-up 24 hours later asking about
    those items first (checkins.md). Returns the ids of the check-ins completed."""
    open_now = list(
        CheckIn.objects.filter(
            patient_id=report.patient_id,
            status__in=UNFINISHED_CHECK_IN,
            opens_at__lte=report.reported_at,
            closes_at__gt=report.reported_at,
        ).values("pk", "kind", "focus_codes")
    )
    ids = [row["pk"] for row in open_now]
    if ids:
        CheckIn.objects.filter(pk__in=ids, status__in=UNFINISHED_CHECK_IN).update(
            status=CheckInStatus.COMPLETED,
            report=report,
            completed_at=now,
            next_look_at=None,
            state_changed_at=now,
        )
    grades = {item["code"]: int(item["grade"]) for item in report.symptoms or []}
    focus: list[str] = []
    for row in open_now:
        if row["kind"] == CheckInKind.FOLLOW_UP:
            focus += rules.follow_up_still_open(row["focus_codes"] or [], grades)
    if report.triage_level == "amber":
        focus += rules.follow_up_focus(report.triage_item_levels or {}, graded_codes)
    # An expected level (baseline) is not followed up: grade 2 may be its normal, and a daily
    # follow-up would make it red by the repeat-amber rule.
    expected = set(report.expected_codes or [])
    focus = [code for code in dict.fromkeys(focus) if code not in expected]
    if focus:
        _follow_up_schedule(report, focus, now)
    if ids:
        check_in_completed.send(
            sender=CheckIn, patient_id=report.patient_id, report=report, check_in_ids=ids
        )
    return ids


def _follow_up_schedule(report: SymptomReport, focus: list[str], now: datetime) -> None:
    # One follow-up waiting at a time: a later amber report adds its items to it.
    waiting = (
        CheckIn.objects.filter(
            patient_id=report.patient_id,
            kind=CheckInKind.FOLLOW_UP,
            status=CheckInStatus.SCHEDULED,
        )
        .only("pk", "focus_codes")
        .first()
    )
    if waiting is not None:
        merged = list(dict.fromkeys([*(waiting.focus_codes or []), *focus]))
        CheckIn.objects.filter(pk=waiting.pk).update(focus_codes=merged)
        return
    opens_at = rules.follow_up_opening(report.reported_at)
    _insert(
        [
            _row(
                report.patient_id,
                CheckInKind.FOLLOW_UP,
                f"follow_up:{report.pk}",
                opens_at,
                focus=focus,
                now=now,
            )
        ]
    )


def follow_ups_end(*, patient_id: int, now: datetime | None = None) -> int:
    """A nurse ends the follow-ups (when resolving the alert): waiting and open follow-ups
    are no longer asked."""
    now = now or timezone.now()
    return CheckIn.objects.filter(
        patient_id=patient_id, kind=CheckInKind.FOLLOW_UP, status__in=UNFINISHED_CHECK_IN
    ).update(status=CheckInStatus.PAUSED, next_look_at=None, state_changed_at=now)


# --- pause, resume, weekday --------------------------------------------------------------------


@transaction.atomic
def check_ins_pause(*, patient: Patient, reason: str, user=None, now=None) -> CheckInPlan:
    """No check-ins are asked while paused (e.g. in hospital); waiting and open ones are
    set aside as "paused"."""
    from django.core.exceptions import ValidationError

    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": ["Say why check-ins are paused."]})
    now = now or timezone.now()
    plan, _ = CheckInPlan.objects.select_for_update().get_or_create(patient=patient)
    plan.paused_at, plan.pause_reason, plan.paused_by, plan.updated_at = now, reason, user, now
    plan.save()
    CheckIn.objects.filter(patient=patient, status__in=UNFINISHED_CHECK_IN).update(
        status=CheckInStatus.PAUSED, next_look_at=None, state_changed_at=now
    )
    return plan


@transaction.atomic
def check_ins_resume(*, patient: Patient, now=None) -> CheckInPlan:
    """Check-ins start again from the next weekly one (the next sweep schedules it)."""
    now = now or timezone.now()
    plan, _ = CheckInPlan.objects.select_for_update().get_or_create(patient=patient)
    plan.paused_at, plan.pause_reason, plan.paused_by, plan.updated_at = None, "", None, now
    plan.save()
    # Set aside before they opened, they were never asked: they go, so the next sweep
    # schedules them again (their keys would otherwise stand in the way).
    CheckIn.objects.filter(patient=patient, status=CheckInStatus.PAUSED, opens_at__gt=now).delete()
    return plan


@transaction.atomic
def check_ins_set_weekday(*, patient: Patient, weekday: int | None, now=None) -> CheckInPlan:
    """The weekday of weekly check-ins (Monday = 0; None: the day treatment started). A
    weekly one not open yet moves to the new day at the next sweep."""
    from django.core.exceptions import ValidationError

    if weekday is not None and not (0 <= int(weekday) <= 6):
        raise ValidationError({"weekday": ["Give a weekday from 0 (Monday) to 6 (Sunday)."]})
    now = now or timezone.now()
    plan, _ = CheckInPlan.objects.select_for_update().get_or_create(patient=patient)
    plan.weekday, plan.updated_at = weekday, now
    plan.save()
    CheckIn.objects.filter(
        patient=patient, kind=CheckInKind.WEEKLY, status=CheckInStatus.SCHEDULED
    ).delete()
    return plan


# --- reads -------------------------------------------------------------------------------------


def check_ins_visible_to(user) -> QuerySet[CheckIn]:
    return visible_to(user, CheckIn.objects.all()).order_by("-opens_at", "-pk")


def open_check_in_for(patient: Patient, now: datetime) -> CheckIn | None:
    """The check-in the patient should answer now (the oldest open one), for Today."""
    return (
        CheckIn.objects.filter(
            patient=patient,
            status__in=UNFINISHED_CHECK_IN,
            opens_at__lte=now,
            closes_at__gt=now,
        )
        .order_by("opens_at", "pk")
        .first()
    )
