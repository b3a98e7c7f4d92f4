"""Data sets at hospital scale, written with COPY (see loader.py).

A population is care teams, one nurse who covers them, patients (each a user in the
"patient" group) and one oral prescription each, in a realistic mix of the four oral HCC
drugs. On top of it: expected doses with a logged history (85% taken), open missed-dose
alerts, a large alert archive for the nurse queue, API tokens, and doses due right now for
the dose-logging load test. Everything is deterministic for a given seed.
"""

from __future__ import annotations

import random
import secrets
import zoneinfo
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from django.contrib.auth.models import Group, User
from django.db import connection
from rest_framework.authtoken.models import Token

from medications.models import (
    DoseLog,
    Drug,
    ExpectedDose,
    Prescription,
    PrescriptionEvent,
)
from patients.models import CareTeam, Patient

from .loader import copy_rows, next_id

ZONE_NAME = "Europe/London"
ZONE = zoneinfo.ZoneInfo(ZONE_NAME)

# (drug code, share of patients, dose mg, choices of daily times, (days on, days off)).
# Sorafenib is taken twice a day, the others once: 10,000 patients -> ~14,700 doses a day.
DRUG_MIX = [
    ("sorafenib", 0.50, "400", [["08:00", "20:00"], ["09:00", "21:00"], ["07:30", "19:30"]], None),
    ("lenvatinib", 0.25, "8", [["08:00"], ["09:00"], ["10:00"]], None),
    ("regorafenib", 0.125, "160", [["08:00"], ["09:00"]], (21, 7)),
    ("cabozantinib", 0.125, "60", [["08:00"], ["10:00"], ["12:00"]], None),
]

TAKEN_SHARE = 0.85
SKIPPED_SHARE = 0.03  # the rest of the past doses were missed


@dataclass
class PrescriptionInfo:
    id: int
    patient_id: int
    user_id: int
    team_id: int
    drug_code: str
    dose_mg: str
    times: list[str]
    start_date: date
    recorded_at: datetime
    cycle: tuple[int, int] | None


@dataclass
class Population:
    tag: str
    team_ids: list[int]
    nurse_user_id: int
    prescriptions: list[PrescriptionInfo] = field(default_factory=list)

    @property
    def patient_ids(self) -> list[int]:
        return [p.patient_id for p in self.prescriptions]


def local_midnight(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=ZONE).astimezone(UTC)


def sweep_moment(today: date) -> datetime:
    """06:00 local on `today`: every late window of yesterday's doses has closed (the last,
    sorafenib at 21:00 + 6 h, at 03:00) and none of today's has opened."""
    return datetime.combine(today, time(6, 0), tzinfo=ZONE).astimezone(UTC)


def _drug_ids() -> dict[str, Drug]:
    return {d.code: d for d in Drug.objects.filter(code__in=[m[0] for m in DRUG_MIX])}


def build_population(
    *,
    patients: int,
    teams: int,
    now: datetime,
    tag: str,
    seed: int = 1,
    recorded_now: bool = False,
    generated_until: datetime | None = None,
    tokens: bool = False,
) -> Population:
    """Teams, a nurse who covers them, `patients` patients with one oral prescription each.

    recorded_now: prescriptions recorded at `now` starting today (nothing generated yet),
    for the generation benchmark. Otherwise they started 10-90 days ago and their doses
    exist up to `generated_until`.
    """
    rng = random.Random(seed)
    drugs = _drug_ids()
    today = now.astimezone(ZONE).date()
    patient_group = Group.objects.get(name="patient").pk
    nurse_group = Group.objects.get(name="nurse").pk

    team_start = next_id(CareTeam)
    team_ids = list(range(team_start, team_start + teams))
    copy_rows(
        CareTeam,
        (
            {
                "id": tid,
                "name": f"Bench {tag} team {tid}",
                "advice_line_phone": "0161 000 0000",
                "advice_line_email": f"team{tid}@example.org",
                "created_at": now,
            }
            for tid in team_ids
        ),
    )

    user_start = next_id(User)
    nurse_user_id = user_start
    user_ids = list(range(user_start + 1, user_start + 1 + patients))
    copy_rows(
        User,
        (
            {
                "id": uid,
                "password": "!",  # unusable: the benchmarks sign in with tokens
                "username": f"bench-{tag}-{'nurse' if uid == nurse_user_id else uid}",
                "is_superuser": False,
                "is_staff": False,
                "is_active": True,
                "date_joined": now,
            }
            for uid in [nurse_user_id, *user_ids]
        ),
    )
    membership = User.groups.through
    m_start = next_id(membership)
    copy_rows(
        membership,
        (
            {
                "id": m_start + n,
                "user_id": uid,
                "group_id": nurse_group if n == 0 else patient_group,
            }
            for n, uid in enumerate([nurse_user_id, *user_ids])
        ),
    )
    team_members = CareTeam.members.through
    tm_start = next_id(team_members)
    copy_rows(
        team_members,
        (
            {"id": tm_start + n, "careteam_id": tid, "user_id": nurse_user_id}
            for n, tid in enumerate(team_ids)
        ),
    )

    patient_start = next_id(Patient)
    patient_ids = list(range(patient_start, patient_start + patients))
    teams_of = {pid: team_ids[n % teams] for n, pid in enumerate(patient_ids)}
    copy_rows(
        Patient,
        (
            {
                "id": pid,
                "user_id": uid,
                "given_name": "Bench",
                "family_name": f"Patient {pid}",
                "nhs_number": f"{9_000_000_000 + pid}",
                "date_of_birth": date(1950, 1, 1) + timedelta(days=pid % 7000),
                "weight_kg": Decimal("72.0"),
                "child_pugh_class": "A",
                "performance_status": 1,
                "timezone": ZONE_NAME,
                "care_team_id": teams_of[pid],
                "created_at": now,
                "updated_at": now,
            }
            for pid, uid in zip(patient_ids, user_ids, strict=True)
        ),
    )

    population = Population(tag=tag, team_ids=team_ids, nurse_user_id=nurse_user_id)
    rx_id = next_id(Prescription)
    bounds = []
    acc = 0.0
    for code, share, dose, choices, cycle in DRUG_MIX:
        acc += share
        bounds.append((acc, code, dose, choices, cycle))
    for n, (pid, uid) in enumerate(zip(patient_ids, user_ids, strict=True)):
        pick = (n + 0.5) / patients  # exact shares, spread over the teams
        code, dose, choices, cycle = next((c, d, ch, cy) for b, c, d, ch, cy in bounds if pick < b)
        if recorded_now:
            start, recorded = today, now
        else:
            start = today - timedelta(days=rng.randint(10, 90))
            recorded = datetime.combine(start, time(7, 0), tzinfo=ZONE).astimezone(UTC)
        population.prescriptions.append(
            PrescriptionInfo(
                id=rx_id + n,
                patient_id=pid,
                user_id=uid,
                team_id=teams_of[pid],
                drug_code=code,
                dose_mg=dose,
                times=rng.choice(choices),
                start_date=start,
                recorded_at=recorded,
                cycle=cycle,
            )
        )
    copy_rows(
        Prescription,
        (
            {
                "id": p.id,
                "patient_id": p.patient_id,
                "drug_id": drugs[p.drug_code].pk,
                "dose_mg": Decimal(p.dose_mg),
                "times": p.times,
                "start_date": p.start_date,
                "cycle_days_on": p.cycle[0] if p.cycle else None,
                "cycle_days_off": p.cycle[1] if p.cycle else None,
                "status": "active",
                "recorded_at": p.recorded_at,
                "generated_until": None if recorded_now else generated_until,
                "warnings": [],
                "updated_at": now,
            }
            for p in population.prescriptions
        ),
    )
    ev_id = next_id(PrescriptionEvent)
    copy_rows(
        PrescriptionEvent,
        (
            {
                "id": ev_id + n,
                "prescription_id": p.id,
                "kind": "created",
                "effective_at": p.recorded_at,
                "reason": "Prescribed",
                "data": {
                    "dose_mg": p.dose_mg,
                    "times": p.times,
                    "cycle_days_on": p.cycle[0] if p.cycle else None,
                    "cycle_days_off": p.cycle[1] if p.cycle else None,
                    "cycle_start": p.start_date.isoformat() if p.cycle else None,
                    "ladder_step": None,
                    "warnings": [],
                },
                "recorded_at": p.recorded_at,
            }
            for n, p in enumerate(population.prescriptions)
        ),
    )
    if tokens:
        add_tokens([p.user_id for p in population.prescriptions], now=now)
    analyze()
    return population


def add_tokens(user_ids: list[int], *, now: datetime) -> dict[int, str]:
    keys = {uid: secrets.token_hex(20) for uid in user_ids}
    copy_rows(Token, ({"key": k, "user_id": uid, "created": now} for uid, k in keys.items()))
    return keys


def tokens_for(user_ids: list[int]) -> dict[int, str]:
    existing = dict(Token.objects.filter(user_id__in=user_ids).values_list("user_id", "key"))
    missing = [u for u in user_ids if u not in existing]
    if missing:
        from django.utils import timezone

        existing.update(add_tokens(missing, now=timezone.now()))
    return existing


# --- expected doses -------------------------------------------------------------------------


def _late_until(code: str, due: datetime, drugs: dict[str, Drug]) -> datetime:
    drug = drugs[code]
    if drug.late_window_rule == "same_day":
        return local_midnight(due.astimezone(ZONE).date() + timedelta(days=1))
    return due + timedelta(hours=float(drug.late_window_hours))


def _is_dosing_day(p: PrescriptionInfo, day: date) -> bool:
    if not p.cycle:
        return True
    on, off = p.cycle
    return (day - p.start_date).days % (on + off) < on


@dataclass
class DoseHistory:
    doses: int = 0
    logs: int = 0
    pending_closed: int = 0  # pending doses whose late window has closed: the sweep's work
    by_state: dict[str, int] = field(default_factory=dict)


def build_dose_history(
    population: Population,
    *,
    now: datetime,
    days_before: int = 8,
    days_after: int = 13,
    seed: int = 2,
) -> DoseHistory:
    """Expected doses from `days_before` local days before `now` to `days_after` days after.

    Doses whose window closed before yesterday are history: 85% taken (with a log), 3%
    skipped (with a log), the rest already marked missed. Yesterday's doses (the day the
    sweep looks at): 85% taken, 3% skipped, the rest still pending with the window closed,
    i.e. ~12% of a day's doses for the sweep to mark missed. Today's and later are pending.
    """
    rng = random.Random(seed)
    drugs = _drug_ids()
    today = now.astimezone(ZONE).date()
    yesterday = today - timedelta(days=1)
    days = [today + timedelta(days=d) for d in range(-days_before, days_after + 1)]
    due_cache: dict[tuple[date, str], datetime] = {}

    def due_at(day: date, hhmm: str) -> datetime:
        key = (day, hhmm)
        if key not in due_cache:
            h, m = hhmm.split(":")
            due_cache[key] = datetime.combine(day, time(int(h), int(m)), tzinfo=ZONE).astimezone(
                UTC
            )
        return due_cache[key]

    dose_id = next_id(ExpectedDose)
    log_id = next_id(DoseLog)
    doses: list[dict] = []
    logs: list[dict] = []
    history = DoseHistory()
    for p in population.prescriptions:
        for day in days:
            if day < p.start_date or not _is_dosing_day(p, day):
                continue
            for hhmm in p.times:
                due = due_at(day, hhmm)
                if due < p.recorded_at:
                    continue
                late = _late_until(p.drug_code, due, drugs)
                row = {
                    "id": dose_id,
                    "prescription_id": p.id,
                    "patient_id": p.patient_id,
                    "due_at": due,
                    "late_until": late,
                    "dose_mg": Decimal(p.dose_mg),
                    "state": "pending",
                }
                if day <= yesterday:
                    roll = rng.random()
                    if roll < TAKEN_SHARE:
                        taken = due + timedelta(minutes=rng.randint(-30, 90))
                        row.update(state="taken", taken_at=taken, state_changed_at=taken)
                        logs.append(
                            {
                                "id": log_id,
                                "expected_dose_id": dose_id,
                                "action": "taken",
                                "at": taken,
                                "recorded_at": taken,
                                "recorded_by_id": p.user_id,
                            }
                        )
                        log_id += 1
                    elif roll < TAKEN_SHARE + SKIPPED_SHARE:
                        row.update(state="skipped", skip_reason="forgot", state_changed_at=due)
                        logs.append(
                            {
                                "id": log_id,
                                "expected_dose_id": dose_id,
                                "action": "skipped",
                                "reason": "forgot",
                                "at": due,
                                "recorded_at": due,
                                "recorded_by_id": p.user_id,
                            }
                        )
                        log_id += 1
                    elif day < yesterday:
                        row.update(state="missed", state_changed_at=late)
                    elif late <= now:
                        history.pending_closed += 1
                history.by_state[row["state"]] = history.by_state.get(row["state"], 0) + 1
                doses.append(row)
                dose_id += 1
    history.doses = copy_rows(ExpectedDose, doses)
    history.logs = copy_rows(DoseLog, logs)
    analyze()
    return history


def add_due_doses(population: Population, *, now: datetime) -> dict[int, int]:
    """One dose per patient due an hour ago, window still open: what the dose-logging
    benchmark logs as taken. Returns {user id: dose id}."""
    drugs = _drug_ids()
    dose_id = next_id(ExpectedDose)
    due = now.replace(second=0, microsecond=0) - timedelta(hours=1)
    rows, by_user = [], {}
    for n, p in enumerate(population.prescriptions):
        rows.append(
            {
                "id": dose_id + n,
                "prescription_id": p.id,
                "patient_id": p.patient_id,
                "due_at": due,
                "late_until": max(_late_until(p.drug_code, due, drugs), now + timedelta(hours=2)),
                "dose_mg": Decimal(p.dose_mg),
                "state": "pending",
            }
        )
        by_user[p.user_id] = dose_id + n
    copy_rows(ExpectedDose, rows)
    analyze()
    return by_user


# --- alerts -----------------------------------------------------------------------------------


def build_missed_dose_alerts(
    population: Population, *, now: datetime, share: float = 0.05, seed: int = 3
) -> int:
    """Open green missed-dose alerts for a share of prescriptions (the sweep updates these
    rather than creating new ones), raised two days ago."""
    from notifications.models import Alert

    rng = random.Random(seed)
    alert_id = next_id(Alert)
    raised = now - timedelta(days=2)
    chosen = [p for p in population.prescriptions if rng.random() < share]
    return copy_rows(
        Alert,
        (
            {
                "id": alert_id + n,
                "patient_id": p.patient_id,
                "care_team_id": p.team_id,
                "kind": "missed_dose",
                "level": "green",
                "status": "open",
                "reasons": [],
                "summary": "1 missed dose",
                "dedup_key": f"missed_dose:prescription:{p.id}",
                "prescription_id": p.id,
                "occurrences": 1,
                "details": {},
                "created_at": raised,
                "updated_at": raised,
                "due_by": raised + timedelta(days=1),
            }
            for n, p in enumerate(chosen)
        ),
    )


def build_alert_archive(
    population: Population, *, total: int, open_count: int, now: datetime, seed: int = 4
) -> int:
    """`total` alerts over the past year, `open_count` of them open (the rest resolved), on
    the population's patients: what the nurse queue must not drown in."""
    from notifications.models import Alert

    rng = random.Random(seed)
    kinds = ["symptom"] * 5 + ["missed_dose"] * 4 + ["supply", "low_adherence"]
    alert_id = next_id(Alert)
    rxs = population.prescriptions
    open_ids = set(rng.sample(range(total), open_count))
    rows = []
    for n in range(total):
        p = rxs[n % len(rxs)]
        is_open = n in open_ids
        created = now - timedelta(minutes=rng.randint(5, 60 * 24 * (3 if is_open else 365)))
        level = rng.choice(["red", "amber", "amber", "green", "green"])
        kind = rng.choice(kinds)
        row = {
            "id": alert_id + n,
            "patient_id": p.patient_id,
            "care_team_id": p.team_id,
            "kind": kind,
            "level": level,
            "status": "open" if is_open else "resolved",
            "reasons": [{"code": "diarrhoea", "level": level, "rule": "graded"}]
            if kind == "symptom"
            else [],
            "summary": f"Bench alert {n}",
            "dedup_key": None,
            "prescription_id": p.id if kind != "symptom" else None,
            "occurrences": 1,
            "details": {},
            "created_at": created,
            "updated_at": created,
            "due_by": created + timedelta(hours={"red": 0.5, "amber": 4}.get(level, 24)),
        }
        if not is_open:
            row.update(
                acknowledged_at=created + timedelta(minutes=20),
                acknowledged_by_id=population.nurse_user_id,
                resolved_at=created + timedelta(hours=1),
                resolved_by_id=population.nurse_user_id,
                outcome="advice_given_by_phone",
            )
        rows.append(row)
    count = copy_rows(Alert, rows)
    analyze()
    return count


LOADED_TABLES = [
    "auth_user",
    "auth_user_groups",
    "authtoken_token",
    "patients_careteam",
    "patients_careteam_members",
    "patients_patient",
    "medications_prescription",
    "medications_prescriptionevent",
    "medications_expecteddose",
    "medications_doselog",
    "notifications_alert",
]


def analyze() -> None:
    """Fresh planner statistics after a bulk load, as autovacuum would give a real server."""
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {', '.join(LOADED_TABLES)}")


def truncate_all() -> None:
    """Empty every table the generators fill (users kept: roles and drugs are migration
    data; bench users are deleted)."""
    tables = [
        "notifications_deliveryattempt",
        "notifications_delivery",
        "notifications_alertevent",
        "notifications_alert",
        "notifications_channel",
        "medications_doselog",
        "medications_expecteddose",
        "medications_prescriptionevent",
        "medications_prescriptionhold",
        "medications_symptomreport",
        "medications_prescription",
        "patients_auditevent",
        "patients_patient",
        "patients_careteam_members",
        "patients_careteam",
        "authtoken_token",
    ]
    with connection.cursor() as cursor:
        existing = set(connection.introspection.table_names(cursor))
        tables = [t for t in tables if t in existing]
        cursor.execute(f"TRUNCATE {', '.join(tables)} CASCADE")
        cursor.execute(
            "DELETE FROM auth_user_groups WHERE user_id IN "
            "(SELECT id FROM auth_user WHERE username LIKE 'bench-%%')"
        )
        cursor.execute("DELETE FROM auth_user WHERE username LIKE 'bench-%%'")
