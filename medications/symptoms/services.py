"""Writes for symptom reports and the triage rule set (../shared/clinical/triage.md).

A report is validated, graded and stored in one transaction, and the patient gets the result
in the same request: nothing on the patient's path waits for a background job. Red and
amber reports raise one alert each; that is the notifications app's receiver of
medications.signals.symptom_report_triaged, sent here inside the transaction.
"""

from __future__ import annotations

import copy
import json
import logging
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from patients.models import Patient
from patients.services import lock_patient

from ..models import SymptomReport, TriageRuleSet
from ..signals import symptom_report_triaged
from . import baselines, checkins, rules_docs, triage
from .selectors import active_ruleset, patient_context, symptom_reports_untriaged

logger = logging.getLogger(__name__)

# The fields of a report body (API.md, POST /api/v1/symptom-reports/, without `patient`).
REPORT_FIELDS = ("symptoms", "temperature_c", "systolic_bp", "diastolic_bp", "notes")
SYMPTOM_ITEM_FIELDS = ("code", "grade")
NOTES_MAX_LENGTH = 2000  # SymptomReport.notes
# A report time a little ahead of the server's clock is a device clock, not a typo.
CLOCK_SKEW = timedelta(minutes=5)
# checkins.md, "Resends are one report": the same items and values from the same patient
# within this long are the same report sent again (a flaky connection, a double tap).
RESEND_WINDOW = timedelta(minutes=10)
IDEMPOTENCY_KEY_MAX_LENGTH = 128


class IdempotencyKeyReused(ValidationError):
    """The Idempotency-Key was used before for a different report body (API: 422)."""


# --- validation ---------------------------------------------------------------------------------


def symptom_report_errors(data: Any, rules: triage.Rules) -> dict[str, list[str]]:
    """Field -> messages for a report body; {} when it can be graded and stored.

    triage.validate_report checks what the rules decide (codes, grades, ranges, both blood
    pressure figures); this adds what storing needs: no unknown fields (a misspelt clinical
    field must never pass unnoticed), temperature to the tenth of a degree the record keeps,
    notes that fit.
    """
    if not isinstance(data, Mapping):
        return {"non_field_errors": ["The report must be an object."]}
    errors: dict[str, list[str]] = {}
    for name in sorted(set(data) - set(REPORT_FIELDS), key=str):
        errors[str(name)] = ["Unknown field."]
    symptoms = data.get("symptoms")
    codes = len(rules["graded_symptoms"]) + len(rules["red_flags"])
    if isinstance(symptoms, list | tuple) and len(symptoms) > codes:
        # Each code may appear once, so a longer list cannot be valid; say so without
        # checking (and listing) every item of an arbitrarily long list.
        errors["symptoms"] = [f"Report at most {codes} symptoms, each once."]
        data = {key: value for key, value in data.items() if key != "symptoms"}
        data["symptoms"] = []
    for field, messages in triage.validate_report(data, rules).items():
        errors.setdefault(field, []).extend(messages)
    if isinstance(symptoms, list | tuple) and "symptoms" not in errors:
        extra = _symptom_item_extra_fields(symptoms)
        if extra:
            errors["symptoms"] = extra
    temperature = data.get("temperature_c")
    if temperature is not None and "temperature_c" not in errors and not _one_decimal(temperature):
        errors["temperature_c"] = ["Give the temperature to one decimal place, e.g. 37.8."]
    notes = data.get("notes")
    if isinstance(notes, str) and "notes" not in errors:
        if len(notes) > NOTES_MAX_LENGTH:
            errors["notes"] = [f"Keep notes to {NOTES_MAX_LENGTH} characters."]
        elif "\x00" in notes:
            errors["notes"] = ["Notes cannot contain null characters."]
    return {
        field[:100]: [_short(message) for message in messages] for field, messages in errors.items()
    }


def _short(message: str, limit: int = 300) -> str:
    # Messages may quote what was sent (an unknown code); never echo a huge value back.
    return message if len(message) <= limit else message[: limit - 3] + "..."


def _one_decimal(value: Any) -> bool:
    # The record keeps tenths of a degree; a finer value would be stored as something other
    # than what was graded, so it is refused rather than rounded.
    number = Decimal(str(value))
    return number == number.quantize(Decimal("0.1"))


def _symptom_item_extra_fields(symptoms: list | tuple) -> list[str]:
    messages = []
    for position, item in enumerate(symptoms, start=1):
        if isinstance(item, Mapping):
            extra = sorted(str(key) for key in set(item) - set(SYMPTOM_ITEM_FIELDS))
            if extra:
                names = ", ".join(f'"{name}"' for name in extra)
                messages.append(f"Symptom {position} has unknown field(s) {names}.")
    return messages


def _check_reported_at(reported_at: datetime, now: datetime) -> None:
    if timezone.is_naive(reported_at):
        raise ValidationError({"reported_at": ["Give the time with its UTC offset."]})
    if reported_at > now + CLOCK_SKEW:
        raise ValidationError({"reported_at": ["A report cannot be made in the future."]})


# --- grading and storing ------------------------------------------------------------------------


def _figures(data: Mapping[str, Any]) -> dict[str, Any]:
    temperature = data.get("temperature_c")
    return {
        "temperature_c": Decimal(str(temperature)) if temperature is not None else None,
        "systolic_bp": data.get("systolic_bp"),
        "diastolic_bp": data.get("diastolic_bp"),
    }


def _triage_fields(
    result: triage.TriageResult,
    ruleset: TriageRuleSet,
    now: datetime,
    *,
    report: triage.ReportInput,
    patient: Patient,
) -> dict[str, Any]:
    stored = result.as_dict()
    expected: tuple[str, ...] = ()
    if result.level == triage.AMBER:  # baselines only ever matter for amber
        grades = baselines.expected_grades(patient, at=report.reported_at)
        expected = triage.expected_items_only(result, report, grades)
    return {
        "expected_codes": list(expected),
        "expected_only": bool(expected),
        "triage_level": result.level,
        "triage_reasons": stored["reasons"],
        "triage_advice": stored["advice"],
        "triage_item_levels": stored["item_levels"],
        "call_advice_line": result.call_advice_line,
        "ruleset": ruleset,
        "ruleset_version": result.ruleset_version,
        "triaged_at": now,
    }


def _announce(report: SymptomReport) -> None:
    """Tell the notifications app, inside this transaction, that the report is graded.

    The receiver writes the alert in its own savepoint; this savepoint as well means that
    whatever a receiver does wrong, the patient's report is still stored (and its result
    shown): the alert sweep raises an alert that was not raised here.
    """
    try:
        with transaction.atomic():
            symptom_report_triaged.send(sender=SymptomReport, report=report)
    except Exception:
        logger.exception(
            "symptom_report_triaged receiver failed for report %s; the sweep will raise its alert",
            report.pk,
        )


def _content(data: Mapping[str, Any]) -> tuple:
    """What makes two reports "the same items and values" (order of items aside)."""
    figures = _figures(data)
    return (
        tuple(sorted((str(item["code"]), int(item["grade"])) for item in data["symptoms"])),
        figures["temperature_c"],
        figures["systolic_bp"],
        figures["diastolic_bp"],
        (data.get("notes") or "").strip(),
    )


def _stored_content(report: SymptomReport) -> tuple:
    return _content({**_stored_body(report), "notes": report.notes})


def _earlier_same_report(
    *,
    patient: Patient,
    data: Mapping[str, Any],
    entered_by: User | None,
    key: str | None,
    now: datetime,
    reported_at: datetime,
) -> SymptomReport | None:
    """The report this one resends, if any. Called under the patient's lock, so two copies
    sent at once take turns and the second finds the first."""
    if key:
        earlier = SymptomReport.objects.filter(entered_by=entered_by, idempotency_key=key).first()
        if earlier is not None:
            if earlier.patient_id != patient.pk or _stored_content(earlier) != _content(data):
                raise IdempotencyKeyReused(
                    {
                        "idempotency_key": [
                            "This Idempotency-Key was already used for another report."
                        ]
                    }
                )
            return earlier
    wanted = _content(data)
    # Sent in the last minutes and about the same moment: history entered for past days
    # (the admin, the demo) is never a resend of itself.
    for earlier in SymptomReport.objects.filter(
        patient=patient,
        triaged_at__gte=now - RESEND_WINDOW,
        reported_at__gte=reported_at - RESEND_WINDOW,
        reported_at__lte=reported_at + RESEND_WINDOW,
    ).order_by("triaged_at", "pk"):
        if _stored_content(earlier) == wanted:
            return earlier
    return None


def _check_ins_after(report: SymptomReport, rules: triage.Rules, now: datetime) -> None:
    """The report completes the patient's open check-ins and may start a follow-up
    (checkins.md). In a savepoint: whatever goes wrong there, the report is stored."""
    try:
        with transaction.atomic():
            checkins.check_ins_after_report(
                report=report, graded_codes=list(rules["graded_symptoms"]), now=now
            )
    except Exception:
        logger.exception("check-ins after symptom report %s failed", report.pk)


def symptom_report_create(
    *,
    patient: Patient,
    data: Mapping[str, Any],
    entered_by: User | None,
    reported_at: datetime | None = None,
    idempotency_key: str | None = None,
) -> SymptomReport:
    """Validate, grade and store a report, and announce it; one transaction.

    `data` is the report body (REPORT_FIELDS). Bad input raises ValidationError naming each
    field, and nothing is stored. A resend (the same `idempotency_key` from the same sender,
    or the same items and values from the same patient within RESEND_WINDOW) stores and
    raises nothing: the first report is returned with `is_resend` True (checkins.md). The
    same key with a different body raises IdempotencyKeyReused.
    """
    key = (idempotency_key or "").strip()[:IDEMPOTENCY_KEY_MAX_LENGTH] or None
    with transaction.atomic():
        ruleset = active_ruleset()
        rules = ruleset.rules
        errors = symptom_report_errors(data, rules)
        if errors:
            raise ValidationError(errors)
        lock_patient(patient)
        # The clock is read after the lock, so a report graded later is also later.
        now = timezone.now()
        if reported_at is None:
            reported_at = now
        _check_reported_at(reported_at, now)
        earlier = _earlier_same_report(
            patient=patient,
            data=data,
            entered_by=entered_by,
            key=key,
            now=now,
            reported_at=reported_at,
        )
        if earlier is not None:
            earlier.is_resend = True
            logger.info("symptom report %s sent again; answered with the first", earlier.pk)
            return earlier
        context = patient_context(patient, reported_at=reported_at, rules=rules)
        report_input = triage.report_input_from_data(data, reported_at)
        result = triage.grade_report(report_input, context, rules)
        report = SymptomReport.objects.create(
            patient=patient,
            reported_at=reported_at,
            entered_by=entered_by,
            entered_by_staff=entered_by is not None and entered_by.pk != patient.user_id,
            symptoms=[
                {"code": item["code"], "grade": item["grade"]}
                for item in data.get("symptoms") or []
            ],
            notes=data.get("notes") or "",
            idempotency_key=key,
            **_figures(data),
            **_triage_fields(result, ruleset, now, report=report_input, patient=patient),
        )
        report.is_resend = False
        _check_ins_after(report, rules, now)
        _announce(report)
    logger.info(
        "symptom report %s for patient %s graded %s (rules v%s)",
        report.pk,
        patient.pk,
        report.triage_level,
        report.ruleset_version,
    )
    return report


def _stored_body(report: SymptomReport) -> dict[str, Any]:
    return {
        "symptoms": report.symptoms,
        "temperature_c": report.temperature_c,
        "systolic_bp": report.systolic_bp,
        "diastolic_bp": report.diastolic_bp,
    }


def symptom_report_triage(*, report_id: int) -> str:
    """Grade one stored report that was not graded (entered by import or in the admin).

    Returns "graded", "already_graded", "invalid" (left ungraded, logged) or "missing".
    Safe to run twice or concurrently: only the run whose conditional update changes the
    row announces it, so a report is graded, and its alert raised, once.
    """
    with transaction.atomic():
        patient_id = (
            SymptomReport.objects.filter(pk=report_id, triaged_at__isnull=True)
            .values_list("patient_id", flat=True)
            .first()
        )
        if patient_id is None:
            exists = SymptomReport.objects.filter(pk=report_id).exists()
            return "already_graded" if exists else "missing"
        patient = Patient.objects.select_for_update().get(pk=patient_id)
        report = SymptomReport.objects.filter(pk=report_id, triaged_at__isnull=True).first()
        if report is None:
            return "already_graded"
        ruleset = active_ruleset()
        rules = ruleset.rules
        body = _stored_body(report)
        if triage.validate_report(body, rules):
            logger.warning("symptom report %s cannot be graded: its data is invalid", report.pk)
            return "invalid"
        context = patient_context(
            patient, reported_at=report.reported_at, rules=rules, exclude_report_id=report.pk
        )
        report_input = triage.report_input_from_data(body, report.reported_at)
        result = triage.grade_report(report_input, context, rules)
        fields = _triage_fields(
            result, ruleset, timezone.now(), report=report_input, patient=patient
        )
        updated = SymptomReport.objects.filter(pk=report.pk, triaged_at__isnull=True).update(
            **fields
        )
        if updated != 1:
            return "already_graded"
        for name, value in fields.items():
            setattr(report, name, value)
        report.patient = patient
        _announce(report)
    logger.info("symptom report %s graded %s by the sweep", report.pk, report.triage_level)
    return "graded"


def symptom_reports_triage_pending(*, limit: int = 1000) -> dict[str, int]:
    """The sweep: grade every stored report not graded yet (oldest first)."""
    ids = list(symptom_reports_untriaged().values_list("pk", flat=True)[:limit])
    summary = {"graded": 0, "invalid": 0}
    for report_id in ids:
        outcome = symptom_report_triage(report_id=report_id)
        if outcome in summary:
            summary[outcome] += 1
    return summary


# --- the rule set, as versioned data ------------------------------------------------------------


def triage_ruleset_problems(rules: Any) -> list[str]:
    """What makes a rule set unsafe to run; [] when it is sound.

    triage.check_rules, then a dry run of every code at every grade, every figure at its
    limits and every combination rule, so a rule set that would fail on a patient's report
    is refused here instead.
    """
    if not isinstance(rules, dict):
        return ["The rule set must be a JSON object."]
    try:
        json.dumps(rules)
        problems = triage.check_rules(rules)
        if not problems:
            _dry_run(rules)
            rules_docs.render_rules_markdown(rules)
    except Exception as exc:  # noqa: BLE001 - any failure means the rule set is unusable
        missing = f"missing {exc}" if isinstance(exc, KeyError) else str(exc)
        return [f"The rule set has the wrong shape ({exc.__class__.__name__}: {missing})."]
    return problems


def _dry_run(rules: triage.Rules) -> None:
    now = timezone.now()
    exposed = triage.PatientContext(
        on_atezolizumab=True,
        last_atezolizumab_at=now,
        recent_reports=(
            triage.PriorReport(
                reported_at=now - timedelta(hours=1),
                item_levels=dict.fromkeys(
                    [*rules["graded_symptoms"], *rules["measurements"]], triage.AMBER
                ),
            ),
        ),
    )
    samples: list[dict[str, Any]] = [{"symptoms": []}]
    for code in [*rules["graded_symptoms"], *rules["red_flags"]]:
        for grade in triage.allowed_grades(rules, code):
            samples.append({"symptoms": [{"code": code, "grade": grade}]})
    samples.append(
        {
            "symptoms": [
                {"code": code, "grade": triage.allowed_grades(rules, code)[-1]}
                for code in rules["graded_symptoms"]
            ]
        }
    )
    for figure, spec in rules["validation"].items():
        for limit in ("min", "max"):
            samples.append({"symptoms": [], figure: _figure_value(spec, spec[limit])})
    for sample in samples:
        # Measurements with several figures need all of them.
        for measurement in rules["measurements"].values():
            given = [figure for figure in measurement["figures"] if figure in sample]
            if given:
                for figure in measurement["figures"]:
                    spec = rules["validation"][figure]
                    sample.setdefault(figure, _figure_value(spec, spec["max"]))
        for higher, lower in rules["higher_than"]:
            if higher in sample and lower in sample and sample[higher] <= sample[lower]:
                sample[higher] = _figure_value(rules["validation"][higher], sample[lower] + 1)
        if triage.validate_report(sample, rules):
            continue
        report = triage.report_input_from_data(sample, now)
        for context in (triage.PatientContext(), exposed):
            triage.grade_report(report, context, rules)


def _figure_value(spec: Mapping[str, Any], value: Any) -> Any:
    return int(value) if spec["type"] == "integer" else Decimal(str(value))


def triage_ruleset_publish(
    *, rules: dict[str, Any], notes: str, created_by: User | None
) -> TriageRuleSet:
    """Store a changed rule set as a new version (highest + 1) and make it the active one.

    Versions are never edited: reports keep the version that graded them, and the old
    version stays as it was, so it can be made active again.
    """
    rules = copy.deepcopy(rules)
    with transaction.atomic():
        # Lock the versions so two publishes cannot take the same number.
        list(TriageRuleSet.objects.select_for_update().values_list("pk", flat=True))
        version = (TriageRuleSet.objects.aggregate(top=Max("version"))["top"] or 0) + 1
        rules["version"] = version
        problems = triage_ruleset_problems(rules)
        if problems:
            raise ValidationError({"rules": problems})
        TriageRuleSet.objects.filter(is_active=True).update(is_active=False)
        ruleset = TriageRuleSet.objects.create(
            version=version, rules=rules, is_active=True, notes=notes, created_by=created_by
        )
    logger.info("triage rule set version %s published and made active", version)
    return ruleset


def triage_ruleset_activate(*, ruleset: TriageRuleSet) -> TriageRuleSet:
    """Make an existing version the one new reports are graded with (e.g. to go back)."""
    with transaction.atomic():
        list(TriageRuleSet.objects.select_for_update().values_list("pk", flat=True))
        ruleset = TriageRuleSet.objects.get(pk=ruleset.pk)
        problems = triage_ruleset_problems(ruleset.rules)
        if not problems and ruleset.rules.get("version") != ruleset.version:
            problems = [f"Its rules say version {ruleset.rules.get('version')!r}."]
        if problems:
            raise ValidationError({"rules": problems})
        if not ruleset.is_active:
            TriageRuleSet.objects.filter(is_active=True).update(is_active=False)
            TriageRuleSet.objects.filter(pk=ruleset.pk).update(is_active=True)
            ruleset.is_active = True
    logger.info("triage rule set version %s made active", ruleset.version)
    return ruleset


# --- telling the patient (checkins.md, "Telling the patient") ------------------------------------


def symptom_reports_mark_seen(*, report_ids: Sequence[int], at: datetime) -> int:
    """The team has seen these reports (their alert was acknowledged). Idempotent: a report
    keeps the first time it was seen."""
    return SymptomReport.objects.filter(pk__in=list(report_ids), seen_at__isnull=True).update(
        seen_at=at
    )


def symptom_reports_mark_closed(
    *, report_ids: Sequence[int], at: datetime, outcome_text: str, message_to_patient: str = ""
) -> int:
    """The team has closed these reports (their alert was resolved): `outcome_text` says
    what happened in the patient's words, `message_to_patient` is the nurse's optional short
    message. A report closed without being acknowledged first counts as seen then too."""
    ids = list(report_ids)
    SymptomReport.objects.filter(pk__in=ids, seen_at__isnull=True).update(seen_at=at)
    return SymptomReport.objects.filter(pk__in=ids).update(
        closed_at=at,
        outcome_text=outcome_text[:300],
        message_to_patient=(message_to_patient or "").strip()[:500],
    )
