"""Questionnaire, QuestionnaireResponse, Observation and Flag (docs/fhir.md).

A symptom report is one QuestionnaireResponse to `Questionnaire/symptom-report` (built from
the active triage rule set: one item per symptom code, its grades as answer options), and
one Observation per measurement (temperature LOINC 8310-5; blood pressure panel 85354-9
with systolic 8480-6 and diastolic 8462-4) and per symptom graded, each carrying the
triage level of that item as its interpretation (our code, and the nearest HL7 v3 one).
An open or acknowledged alert is a Flag.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fhir.resources.R4B.flag import Flag
from fhir.resources.R4B.observation import Observation
from fhir.resources.R4B.questionnaire import Questionnaire
from fhir.resources.R4B.questionnaireresponse import QuestionnaireResponse

from medications.models import SymptomReport
from notifications.models import Alert, AlertKind, AlertLevel

from . import codes
from .medication import meta, patient_reference
from .records import PatientRecord, Records

QUESTIONNAIRE_ID = "symptom-report"
MEASUREMENT_ITEMS = {"temperature": "temperature", "blood_pressure": "blood_pressure"}


def _symptom_kind(rules: dict, code: str) -> str | None:
    if code in rules.get("graded_symptoms", {}):
        return "graded"
    if code in rules.get("red_flags", {}):
        return "red_flag"
    return None


def _label(rules: dict, code: str) -> str:
    for section in ("graded_symptoms", "red_flags", "measurements"):
        entry = rules.get(section, {}).get(code)
        if entry:
            return entry.get("label") or code
    return code


def _grade_coding(rules: dict, code: str, grade: int) -> dict:
    grades = rules["graded_symptoms"][code].get("grades") or []
    text = grades[grade] if 0 <= grade < len(grades) else str(grade)
    return codes.coding(codes.our_system(f"symptom-grade/{code}"), str(grade), text)


# --- Questionnaire ---------------------------------------------------------------------------


def questionnaire(records: Records) -> Questionnaire:
    rules = records.rules
    symptom_items = []
    for code, entry in rules.get("graded_symptoms", {}).items():
        symptom_items.append(
            {
                "linkId": code,
                "text": entry.get("label") or code,
                "code": [codes.coding(codes.our_system("symptom"), code, entry.get("label"))],
                "type": "choice",
                "answerOption": [
                    {"valueCoding": _grade_coding(rules, code, grade)}
                    for grade in range(len(entry.get("grades") or []))
                ],
            }
        )
    for code, entry in rules.get("red_flags", {}).items():
        symptom_items.append(
            {
                "linkId": code,
                "text": entry.get("meaning") or entry.get("label") or code,
                "code": [codes.coding(codes.our_system("symptom"), code, entry.get("label"))],
                "type": "boolean",
            }
        )
    validation = rules.get("validation", {})

    def measurement(link: str, loinc: tuple[str, str, str], kind: str) -> dict:
        spec = validation.get(link, {})
        unit = spec.get("unit", "")
        return {
            "linkId": link,
            "text": f"{(spec.get('label') or link).capitalize()} ({unit})".replace(" ()", ""),
            "code": [codes.coding(*loinc)],
            "type": kind,
        }

    return Questionnaire(
        id=QUESTIONNAIRE_ID,
        meta=meta(records.ruleset_created_at),
        url=codes.questionnaire_url(),
        version=str(records.ruleset_version),
        name="SymptomReport",
        title="Symptom report (red/amber/green triage)",
        status="active",
        subjectType=["Patient"],
        description=(
            "How the patient feels, graded 0-3 per symptom (CTCAE v5 and PRO-CTCAE style "
            "plain descriptions), red-flag symptoms present or not, optional temperature "
            f"and blood pressure. Triage rule set version {records.ruleset_version}."
        ),
        item=[
            {"linkId": "symptoms", "text": "Symptoms", "type": "group", "item": symptom_items},
            {
                "linkId": "measurements",
                "text": "Measurements",
                "type": "group",
                "item": [
                    measurement("temperature_c", codes.TEMPERATURE, "decimal"),
                    measurement("systolic_bp", codes.SYSTOLIC, "integer"),
                    measurement("diastolic_bp", codes.DIASTOLIC, "integer"),
                ],
            },
            {"linkId": "notes", "text": "Anything else", "type": "text", "maxLength": 2000},
        ],
    )


# --- QuestionnaireResponse -------------------------------------------------------------------


def report_last_updated(report: SymptomReport) -> datetime:
    return max(report.reported_at, report.triaged_at or report.reported_at)


def questionnaire_responses(record: PatientRecord, records: Records):
    return [
        (str(r.pk), report_last_updated(r), lambda r=r: _response(r, record, records))
        for r in record.reports
    ]


def _symptom_items(report: SymptomReport) -> list[dict[str, Any]]:
    items = report.symptoms if isinstance(report.symptoms, list) else []
    return [
        item
        for item in items
        if isinstance(item, dict)
        and isinstance(item.get("code"), str)
        and isinstance(item.get("grade"), int)
    ]


def _response(report: SymptomReport, record: PatientRecord, records: Records):
    rules = records.rules
    answers = []
    for item in _symptom_items(report):
        code, grade = item["code"], item["grade"]
        kind = _symptom_kind(rules, code)
        if kind == "graded":
            answer = {"valueCoding": _grade_coding(rules, code, grade)}
        elif kind == "red_flag":
            answer = {"valueBoolean": bool(grade)}
        else:
            answer = {"valueInteger": grade}
        answers.append({"linkId": code, "text": _label(rules, code), "answer": [answer]})
    groups = []
    if answers:
        groups.append({"linkId": "symptoms", "text": "Symptoms", "item": answers})
    measurements = []
    if report.temperature_c is not None:
        measurements.append(
            {"linkId": "temperature_c", "answer": [{"valueDecimal": float(report.temperature_c)}]}
        )
    for link in ("systolic_bp", "diastolic_bp"):
        value = getattr(report, link)
        if value is not None:
            measurements.append({"linkId": link, "answer": [{"valueInteger": value}]})
    if measurements:
        groups.append({"linkId": "measurements", "text": "Measurements", "item": measurements})
    if report.notes:
        groups.append({"linkId": "notes", "answer": [{"valueString": report.notes}]})
    resource: dict[str, Any] = {
        "id": str(report.pk),
        "meta": meta(report_last_updated(report)),
        "questionnaire": f"{codes.questionnaire_url()}|{report.ruleset_version or ''}".rstrip("|"),
        "status": "completed",
        "subject": patient_reference(report.patient_id),
        "authored": report.reported_at.isoformat(),
        "item": groups,
    }
    if report.entered_by_id == record.patient.user_id:
        resource["author"] = patient_reference(report.patient_id)
        resource["source"] = patient_reference(report.patient_id)
    if report.triage_level:
        resource["extension"] = [
            {
                "url": codes.our_extension("triage-level"),
                "valueCoding": _level_coding(report.triage_level),
            }
        ]
    return QuestionnaireResponse(**resource)


# --- Observation ----------------------------------------------------------------------------


def _level_coding(level: str) -> dict:
    return codes.coding(codes.our_system("triage-level"), level, level.capitalize())


def _interpretation(level: str | None) -> list[dict] | None:
    if not level:
        return None
    v3 = codes.LEVEL_INTERPRETATION.get(level)
    codings = [_level_coding(level)]
    if v3:
        codings.append(codes.coding(codes.INTERPRETATION, *v3))
    return [{"coding": codings, "text": f"Triage level {level}"}]


def _category(code: str, display: str) -> list[dict]:
    return [codes.concept(codes.coding(codes.OBSERVATION_CATEGORY, code, display))]


def observation_ids(report: SymptomReport) -> list[tuple[str, list[str]]]:
    """(id, search tokens of its code) of each Observation a report makes."""
    out = []
    if report.temperature_c is not None:
        out.append((f"{report.pk}-temperature", _tokens(codes.TEMPERATURE)))
    if report.systolic_bp is not None and report.diastolic_bp is not None:
        out.append((f"{report.pk}-blood-pressure", _tokens(codes.BLOOD_PRESSURE)))
    for item in _symptom_items(report):
        code = item["code"]
        out.append(
            (
                f"{report.pk}-{code}".replace("_", "-")[:64],
                [code, f"{codes.our_system('symptom')}|{code}"],
            )
        )
    return out


def _tokens(system_code: tuple[str, str, str]) -> list[str]:
    system, code, _display = system_code
    return [code, f"{system}|{code}"]


def observations(record: PatientRecord, records: Records):
    out = []
    for report in record.reports:
        updated = report_last_updated(report)
        built: dict[str, Observation] = {}

        def build(obs_id, report=report, built=built):
            if not built:
                built.update({o.id: o for o in _observations(report, records)})
            return built[obs_id]

        for obs_id, tokens in observation_ids(report):
            out.append((obs_id, updated, lambda i=obs_id, b=build: b(i), tokens))
    return out


def _observations(report: SymptomReport, records: Records) -> list[Observation]:
    levels = report.triage_item_levels if isinstance(report.triage_item_levels, dict) else {}
    base = {
        "status": "final",
        "subject": patient_reference(report.patient_id),
        "effectiveDateTime": report.reported_at.isoformat(),
        "derivedFrom": [{"reference": f"QuestionnaireResponse/{report.pk}"}],
        "meta": meta(report_last_updated(report)),
    }
    out = []
    if report.temperature_c is not None:
        obs = {
            **base,
            "id": f"{report.pk}-temperature",
            "category": _category("vital-signs", "Vital Signs"),
            "code": codes.concept(codes.coding(*codes.TEMPERATURE), text="Temperature"),
            "valueQuantity": {
                "value": float(report.temperature_c),
                "unit": "°C",
                "system": codes.UCUM,
                "code": "Cel",
            },
        }
        if interpretation := _interpretation(levels.get("temperature")):
            obs["interpretation"] = interpretation
        out.append(Observation(**obs))
    if report.systolic_bp is not None and report.diastolic_bp is not None:

        def mmhg(value: int) -> dict:
            return {"value": value, "unit": "mmHg", "system": codes.UCUM, "code": "mm[Hg]"}

        obs = {
            **base,
            "id": f"{report.pk}-blood-pressure",
            "category": _category("vital-signs", "Vital Signs"),
            "code": codes.concept(codes.coding(*codes.BLOOD_PRESSURE), text="Blood pressure"),
            "component": [
                {
                    "code": codes.concept(codes.coding(*codes.SYSTOLIC)),
                    "valueQuantity": mmhg(report.systolic_bp),
                },
                {
                    "code": codes.concept(codes.coding(*codes.DIASTOLIC)),
                    "valueQuantity": mmhg(report.diastolic_bp),
                },
            ],
        }
        if interpretation := _interpretation(levels.get("blood_pressure")):
            obs["interpretation"] = interpretation
        out.append(Observation(**obs))
    for item in _symptom_items(report):
        code, grade = item["code"], item["grade"]
        label = _label(records.rules, code)
        obs = {
            **base,
            "id": f"{report.pk}-{code}".replace("_", "-")[:64],
            "category": _category("survey", "Survey"),
            "code": codes.concept(
                codes.coding(codes.our_system("symptom"), code, label), text=label
            ),
        }
        if _symptom_kind(records.rules, code) == "graded":
            obs["valueCodeableConcept"] = codes.concept(_grade_coding(records.rules, code, grade))
            obs["valueCodeableConcept"]["text"] = f"Grade {grade}"
        else:
            obs["valueBoolean"] = bool(grade)
        if interpretation := _interpretation(levels.get(code)):
            obs["interpretation"] = interpretation
        out.append(Observation(**obs))
    return out


# --- Flag -----------------------------------------------------------------------------------

FLAG_CATEGORY = {
    AlertKind.SYMPTOM: ("clinical", "Clinical"),
    AlertKind.MISSED_DOSE: ("drug", "Drug"),
    AlertKind.SUPPLY: ("drug", "Drug"),
    AlertKind.LOW_ADHERENCE: ("drug", "Drug"),
    AlertKind.MISSED_INFUSION: ("admin", "Administrative"),
}


def flags(record: PatientRecord, records: Records):
    return [(str(a.pk), a.updated_at, lambda a=a: _flag(a)) for a in record.alerts]


def _flag(alert: Alert) -> Flag:
    kind_label = dict(AlertKind.choices).get(alert.kind, alert.kind)
    category = FLAG_CATEGORY.get(alert.kind, ("clinical", "Clinical"))
    priority = codes.LEVEL_FLAG_PRIORITY.get(alert.level)
    text = alert.summary or f"{kind_label} ({alert.level})"
    resource: dict[str, Any] = {
        "id": str(alert.pk),
        "meta": meta(alert.updated_at),
        "status": "active",
        "category": [codes.concept(codes.coding(codes.FLAG_CATEGORY, *category))],
        "code": codes.concept(
            codes.coding(codes.our_system("alert-kind"), alert.kind, kind_label),
            _level_coding(alert.level),
            text=text,
        ),
        "subject": patient_reference(alert.patient_id),
        "period": {"start": alert.created_at.isoformat()},
        "author": {"reference": f"Organization/{alert.care_team_id}"},
    }
    if priority:
        resource["extension"] = [
            {
                "url": codes.FLAG_PRIORITY_EXTENSION,
                "valueCodeableConcept": codes.concept(codes.coding(codes.FLAG_PRIORITY, *priority)),
            }
        ]
    if alert.level not in AlertLevel.values:
        resource.pop("extension", None)
    return Flag(**resource)
