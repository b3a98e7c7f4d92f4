"""Benchmark 6: FHIR `Patient/{id}/$everything` for a patient with a year of treatment.

Data: one patient on sorafenib twice daily for a year (730 doses, each logged: 88% taken,
the rest not taken) and a symptom report every week (52, each with blood pressure, a
temperature on every other one, two graded symptoms), made through the product's own
services; and a second patient with one month of the same (the query-count baseline).

Measured in-process with Django's test client through every middleware (sign-in, audit),
signed in as the team's nurse:
- the time of `$everything` for the year, against a baseline run in the same process on the
  same rows: the same 10 reads (interop.fhir.records.load) dumped as plain JSON, no FHIR
  models (what building and validating with fhir.resources costs on top of the reads);
- the SQL queries of `$everything` for a year and for a month: they must be the same.
"""

from __future__ import annotations

import json
import random
import time
from datetime import timedelta
from decimal import Decimal

from django.contrib.auth.models import Group, User
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from . import data
from .harness import Results, Row, median

REPORTS_EVERY = timedelta(days=7)


def _patient(tag: str, team, nurse, days: int, now, *, doses_wanted: int, reports_wanted: int):
    from medications import services
    from medications.models import DoseLog, DoseState, Drug, ExpectedDose, SkipReason
    from medications.symptoms.services import symptom_report_create
    from patients.services import patient_create

    patient = patient_create(
        username=f"bench-fhir-{tag}",
        password="bench-password-not-used-77",
        given_name="Bench",
        family_name=tag.capitalize(),
        nhs_number={"year": "9990000018", "month": "9990000026"}[tag],
        date_of_birth=now.date() - timedelta(days=70 * 365),
        weight_kg=Decimal("70.0"),
        child_pugh_class="A",
        performance_status=1,
        care_team=team,
    )
    start = now - timedelta(days=days + 2)
    prescription = services.prescription_create(
        patient=patient,
        drug=Drug.objects.get(code="sorafenib"),
        dose_mg=Decimal(400),
        times=["08:00", "20:00"],
        start_date=start.astimezone(patient.zone).date(),
        recorded_by=nurse,
        now=start - timedelta(hours=1),
    )
    services.expected_doses_generate(now=now, prescription_ids=[prescription.pk])
    rng = random.Random(f"bench-fhir-{tag}")  # noqa: S311
    past = ExpectedDose.objects.filter(prescription=prescription, late_until__lt=now)
    doses = list(past.order_by("-due_at")[:doses_wanted])[::-1]
    past.exclude(pk__in=[d.pk for d in doses]).delete()  # exactly the doses wanted
    logs = []
    for dose in doses:
        if rng.random() < 0.88:
            dose.state, dose.taken_at = DoseState.TAKEN, dose.due_at + timedelta(minutes=20)
            logs.append(DoseLog(expected_dose=dose, action="taken", at=dose.taken_at))
        else:
            dose.state, dose.skip_reason = DoseState.SKIPPED, SkipReason.SIDE_EFFECTS
            logs.append(
                DoseLog(expected_dose=dose, action="skipped", at=dose.due_at, reason="side_effects")
            )
        dose.state_changed_at = dose.taken_at or dose.late_until
    ExpectedDose.objects.bulk_update(
        doses, ["state", "taken_at", "skip_reason", "state_changed_at"], batch_size=500
    )
    DoseLog.objects.bulk_create(logs, batch_size=500)
    at, reports = now - REPORTS_EVERY * reports_wanted + timedelta(hours=1), 0
    while reports < reports_wanted:
        symptom_report_create(
            patient=patient,
            data={
                "symptoms": [
                    {"code": "fatigue", "grade": 1},
                    {"code": "hand_foot", "grade": rng.choice([0, 1])},
                ],
                "systolic_bp": rng.randint(118, 138),
                "diastolic_bp": rng.randint(70, 88),
                **({"temperature_c": 36.7} if reports % 2 == 0 else {}),
            },
            entered_by=patient.user,
            reported_at=at,
        )
        at += REPORTS_EVERY
        reports += 1
    return patient, len(logs), reports


def _row(obj) -> dict:
    deferred = obj.get_deferred_fields()
    return {
        f.attname: getattr(obj, f.attname)
        for f in obj._meta.concrete_fields
        if f.attname not in deferred
    }


def _plain_dump(patient) -> str:
    """The baseline: the same reads as $everything, each row dumped as plain JSON."""
    from interop.fhir.records import load

    loaded = load([patient])
    record = loaded.patients[patient.pk]
    rows = [_row(patient)]
    for prescription in record.prescriptions:
        rows.append(_row(prescription))
        rows.extend(_row(e) for e in prescription.events.all())
    rows.extend(_row(d) for d in record.doses)
    rows.extend(_row(log) for log in record.logs.values())
    rows.extend(_row(r) for r in record.reports)
    rows.extend(_row(a) for a in record.alerts)
    return json.dumps(rows, cls=DjangoJSONEncoder)


def _measure(fn, reps: int) -> list[float]:
    fn()  # warm up (templates, first connection, caches)
    times = []
    for _ in range(reps):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return times


def run(results: Results, *, reps: int) -> None:
    from patients.models import CareTeam

    bench = "6. FHIR $everything"
    now = timezone.now()
    data.truncate_all()
    team = CareTeam.objects.create(name="Bench FHIR team", advice_line_phone="0161 000 0000")
    nurse = User.objects.create(username="bench-fhir-nurse")
    nurse.groups.add(Group.objects.get(name="nurse"))
    team.members.add(nurse)
    year, logs, reports = _patient(
        "year", team, nurse, 365, now, doses_wanted=730, reports_wanted=52
    )
    month, _month_logs, month_reports = _patient(
        "month", team, nurse, 30, now, doses_wanted=60, reports_wanted=4
    )

    client = Client(raise_request_exception=True)
    client.force_login(nurse)

    def everything(patient):
        response = client.get(f"/fhir/r4/Patient/{patient.pk}/$everything")
        if response.status_code != 200:
            raise RuntimeError(f"$everything answered {response.status_code}")
        return response

    counts = {}
    for name, patient in (("year", year), ("month", month)):
        everything(patient)
        with CaptureQueriesContext(connection) as captured:
            response = everything(patient)
        counts[name] = (len(captured), json.loads(response.content)["total"], len(response.content))
    product = _measure(lambda: everything(year), reps)
    baseline = _measure(lambda: _plain_dump(year), reps)
    results.add(
        Row(
            bench,
            f"median $everything, a year ({logs} dose logs, {reports} reports)",
            median(product),
            "s",
            median(baseline),
            "same reads as plain JSON",
            note=f"{reps} requests; {counts['year'][1]} resources",
        )
    )
    results.add(
        Row(
            bench,
            "SQL queries, a year",
            counts["year"][0],
            "queries",
            counts["month"][0],
            f"a month ({month_reports} reports)",
            target="constant",
            met=counts["year"][0] == counts["month"][0],
        )
    )
    results.note(
        f"$everything for a year: {counts['year'][1]} resources, "
        f"{counts['year'][2] / 1024:.0f} KiB of FHIR JSON; a month: {counts['month'][1]} resources"
    )
