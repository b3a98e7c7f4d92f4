"""Prescribing checks (medications/checks.py) and dose ladders (medications/ladders.py):
pure, table-driven, no database. Rules: clinical/drugs.md "Prescribing checks"."""

import importlib
from datetime import date
from decimal import Decimal

import pytest

from medications import checks, ladders
from medications.checks import PatientFacts, TreatmentOnRecord

CATALOGUE = {
    d["code"]: d
    for d in importlib.import_module("medications.migrations.0002_drug_catalogue").CATALOGUE
}
START = date(2026, 3, 2)


def drug(code: str) -> checks.DrugFacts:
    entry = CATALOGUE[code]
    standard = entry["standard_dose_mg"]
    return checks.DrugFacts(
        code=code,
        name=entry["name"],
        route=entry["route"],
        dose_ladder=entry["dose_ladder"],
        standard_dose_mg=Decimal(standard) if standard else None,
    )


def facts(**overrides) -> PatientFacts:
    values = {
        "child_pugh_class": "A",
        "performance_status": 1,
        "weight_kg": Decimal("70"),
        "prior_systemic_therapies": frozenset(),
        "sorafenib_tolerated": None,
        "last_upper_endoscopy_on": date(2026, 1, 10),
    }
    values.update(overrides)
    return PatientFacts(**values)


def oral(code, dose, per_day=1, cycle=(None, None), patient=None, history=(), end=None):
    return {
        c.code
        for c in checks.check_prescription(
            drug=drug(code),
            dose_mg=Decimal(dose),
            doses_per_day=per_day,
            cycle_days_on=cycle[0],
            cycle_days_off=cycle[1],
            start_date=START,
            end_date=end,
            patient=patient or facts(),
            history=list(history),
        )
    }


SORAFENIB_BEFORE = [TreatmentOnRecord("sorafenib", date(2025, 6, 1), date(2026, 2, 1), False)]
ORAL_CASES = [
    # id, arguments, unmet check codes
    ("sorafenib, Child-Pugh A", {"code": "sorafenib", "dose": "400", "per_day": 2}, set()),
    (
        "sorafenib, Child-Pugh B",
        {"code": "sorafenib", "dose": "400", "per_day": 2, "patient": facts(child_pugh_class="B")},
        {"child_pugh_not_a"},
    ),
    (
        "sorafenib 300 mg is not a ladder level",
        {"code": "sorafenib", "dose": "300", "per_day": 2},
        {"dose_not_on_ladder"},
    ),
    ("sorafenib 400 mg once daily is a ladder level", {"code": "sorafenib", "dose": "400"}, set()),
    ("lenvatinib 12 mg at 70 kg", {"code": "lenvatinib", "dose": "12"}, set()),
    (
        "lenvatinib 8 mg at 70 kg: not the weight-based dose (but on the ladder)",
        {"code": "lenvatinib", "dose": "8"},
        {"dose_differs_from_weight_based"},
    ),
    (
        "lenvatinib 8 mg at 55 kg",
        {"code": "lenvatinib", "dose": "8", "patient": facts(weight_kg=Decimal("55"))},
        set(),
    ),
    (
        "lenvatinib 12 mg at 55 kg: wrong for the weight and off the < 60 kg ladder",
        {"code": "lenvatinib", "dose": "12", "patient": facts(weight_kg=Decimal("55"))},
        {"dose_differs_from_weight_based", "dose_not_on_ladder"},
    ),
    (
        "lenvatinib at exactly 60 kg is 12 mg",
        {"code": "lenvatinib", "dose": "12", "patient": facts(weight_kg=Decimal("60"))},
        set(),
    ),
    (
        "lenvatinib is first line only",
        {
            "code": "lenvatinib",
            "dose": "12",
            "patient": facts(prior_systemic_therapies={"sorafenib"}),
        },
        {"previous_systemic_therapy"},
    ),
    (
        "lenvatinib after sorafenib given in this service",
        {"code": "lenvatinib", "dose": "12", "history": SORAFENIB_BEFORE},
        {"previous_systemic_therapy"},
    ),
    (
        "lenvatinib, Child-Pugh B and performance status 2",
        {
            "code": "lenvatinib",
            "dose": "12",
            "patient": facts(child_pugh_class="B", performance_status=2),
        },
        {"child_pugh_not_a", "performance_status"},
    ),
    (
        "regorafenib without sorafenib",
        {"code": "regorafenib", "dose": "160", "cycle": (21, 7)},
        {"no_previous_sorafenib"},
    ),
    (
        "regorafenib after sorafenib, tolerance not recorded",
        {"code": "regorafenib", "dose": "160", "cycle": (21, 7), "history": SORAFENIB_BEFORE},
        {"sorafenib_not_tolerated"},
    ),
    (
        "regorafenib after sorafenib that was not tolerated",
        {
            "code": "regorafenib",
            "dose": "160",
            "cycle": (21, 7),
            "patient": facts(prior_systemic_therapies={"sorafenib"}, sorafenib_tolerated=False),
        },
        {"sorafenib_not_tolerated"},
    ),
    (
        "regorafenib after tolerated sorafenib",
        {
            "code": "regorafenib",
            "dose": "160",
            "cycle": (21, 7),
            "patient": facts(prior_systemic_therapies={"sorafenib"}, sorafenib_tolerated=True),
        },
        set(),
    ),
    (
        "regorafenib continuous (no 21/7 cycle) is off the ladder",
        {
            "code": "regorafenib",
            "dose": "160",
            "patient": facts(prior_systemic_therapies={"sorafenib"}, sorafenib_tolerated=True),
        },
        {"dose_not_on_ladder"},
    ),
    (
        "regorafenib, performance status 2",
        {
            "code": "regorafenib",
            "dose": "120",
            "cycle": (21, 7),
            "patient": facts(
                prior_systemic_therapies={"sorafenib"},
                sorafenib_tolerated=True,
                performance_status=2,
            ),
        },
        {"performance_status"},
    ),
    (
        "cabozantinib after sorafenib, Child-Pugh A",
        {"code": "cabozantinib", "dose": "60", "history": SORAFENIB_BEFORE},
        set(),
    ),
    (
        "cabozantinib without sorafenib",
        {"code": "cabozantinib", "dose": "60"},
        {"no_previous_sorafenib"},
    ),
    (
        "cabozantinib, Child-Pugh B at 60 mg: start at 40 mg",
        {
            "code": "cabozantinib",
            "dose": "60",
            "history": SORAFENIB_BEFORE,
            "patient": facts(child_pugh_class="B"),
        },
        {"child_pugh_b_start_40"},
    ),
    (
        "cabozantinib, Child-Pugh B at 40 mg",
        {
            "code": "cabozantinib",
            "dose": "40",
            "history": SORAFENIB_BEFORE,
            "patient": facts(child_pugh_class="B"),
        },
        set(),
    ),
    (
        "cabozantinib, Child-Pugh C: avoid",
        {
            "code": "cabozantinib",
            "dose": "20",
            "history": SORAFENIB_BEFORE,
            "patient": facts(child_pugh_class="C"),
        },
        {"child_pugh_c_avoid"},
    ),
    (
        "two oral targeted drugs at once",
        {
            "code": "cabozantinib",
            "dose": "60",
            "history": [TreatmentOnRecord("sorafenib", date(2025, 6, 1))],
        },
        {"other_oral_drug_active"},
    ),
    (
        "the other drug ends before this one starts: no clash",
        {
            "code": "cabozantinib",
            "dose": "60",
            "history": [TreatmentOnRecord("sorafenib", date(2025, 6, 1), date(2026, 3, 1))],
        },
        set(),
    ),
    (
        "this one ends before the other (planned) starts: no clash",
        {
            "code": "sorafenib",
            "dose": "400",
            "per_day": 2,
            "end": date(2026, 3, 31),
            "history": [TreatmentOnRecord("cabozantinib", date(2026, 4, 1))],
        },
        set(),
    ),
    (
        "the same drug twice",
        {
            "code": "sorafenib",
            "dose": "400",
            "per_day": 2,
            "history": [TreatmentOnRecord("sorafenib", date(2026, 1, 1))],
        },
        {"other_oral_drug_active"},
    ),
]


@pytest.mark.parametrize(
    ("arguments", "expected"), [c[1:] for c in ORAL_CASES], ids=[c[0] for c in ORAL_CASES]
)
def test_oral_prescribing_checks(arguments, expected):
    assert oral(**arguments) == expected


def test_two_oral_drugs_can_never_be_overridden():
    (check,) = checks.check_prescription(
        drug=drug("lenvatinib"),
        dose_mg=Decimal(12),
        doses_per_day=1,
        cycle_days_on=None,
        cycle_days_off=None,
        start_date=START,
        end_date=None,
        patient=facts(),
        history=[TreatmentOnRecord("sorafenib", START, None, True)],
    )[:1]
    assert check.code == "other_oral_drug_active" and check.overridable is False
    assert "sorafenib" in check.message


def infusion(codes, patient=None, history=(), first=START, active=False):
    return {
        c.code
        for c in checks.check_infusion_course(
            drug_codes=codes,
            first_infusion_on=first,
            patient=patient or facts(),
            history=list(history),
            has_active_course=active,
        )
    }


PAIR = ["atezolizumab", "bevacizumab"]
INFUSION_CASES = [
    ("all met", {"codes": PAIR}, set()),
    (
        "atezolizumab alone",
        {"codes": ["atezolizumab"]},
        {"atezolizumab_without_bevacizumab"},
    ),
    (
        "bevacizumab alone",
        {"codes": ["bevacizumab"]},
        {"bevacizumab_without_atezolizumab"},
    ),
    (
        "previous systemic therapy",
        {"codes": PAIR, "patient": facts(prior_systemic_therapies={"sorafenib"})},
        {"previous_systemic_therapy"},
    ),
    (
        "Child-Pugh B, performance status 2",
        {"codes": PAIR, "patient": facts(child_pugh_class="B", performance_status=2)},
        {"child_pugh_not_a", "performance_status"},
    ),
    (
        "no endoscopy on record",
        {"codes": PAIR, "patient": facts(last_upper_endoscopy_on=None)},
        {"no_recent_endoscopy"},
    ),
    (
        "endoscopy exactly 6 months before the first infusion",
        {"codes": PAIR, "patient": facts(last_upper_endoscopy_on=date(2025, 9, 2))},
        set(),
    ),
    (
        "endoscopy 6 months and a day before",
        {"codes": PAIR, "patient": facts(last_upper_endoscopy_on=date(2025, 9, 1))},
        {"no_recent_endoscopy"},
    ),
    ("an active course already", {"codes": PAIR, "active": True}, {"infusion_course_active"}),
]


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [c[1:] for c in INFUSION_CASES],
    ids=[c[0] for c in INFUSION_CASES],
)
def test_infusion_prescribing_checks(arguments, expected):
    assert infusion(**arguments) == expected


@pytest.mark.parametrize(
    ("weight", "dose"), [("59.9", "8"), ("60", "12"), ("45", "8"), ("120", "12")]
)
def test_lenvatinib_dose_proposed_from_weight(weight, dose):
    assert checks.proposed_dose_mg(drug("lenvatinib"), Decimal(weight)) == Decimal(dose)


@pytest.mark.parametrize(
    ("code", "dose"),
    [("sorafenib", "400"), ("regorafenib", "160"), ("cabozantinib", "60")],
)
def test_standard_dose_proposed(code, dose):
    assert checks.proposed_dose_mg(drug(code), Decimal(70)) == Decimal(dose)


def test_months_before_clamps_to_month_end():
    assert checks.months_before(date(2026, 8, 31), 6) == date(2026, 2, 28)
    assert checks.months_before(date(2026, 3, 2), 6) == date(2025, 9, 2)


# --- dose ladders -----------------------------------------------------------------------------


def steps(code, weight="70"):
    return ladders.ladder_for(CATALOGUE[code]["dose_ladder"], Decimal(weight))


def step_for(code, current_id, dose, weight="70", **kwargs):
    all_steps = steps(code, weight)
    current = next(s for s in all_steps if s.id == current_id)
    found = ladders.resolve_change(all_steps, current=current, dose_mg=Decimal(dose), **kwargs)
    return found.id if found else None


LADDER_CASES = [
    # drug, current step, requested dose, extra, resolved step
    ("sorafenib", "400-twice-daily", "400", {}, "400-once-daily"),
    ("sorafenib", "400-once-daily", "200", {}, "200-once-daily"),
    ("sorafenib", "400-once-daily", "400", {}, "400-once-daily"),  # no change: caller refuses
    ("sorafenib", "200-once-daily", "400", {"doses_per_day": 2}, "400-twice-daily"),
    (
        "sorafenib",
        "400-once-daily",
        "400",
        {"step_id": "400-every-other-day"},
        "400-every-other-day",
    ),
    ("sorafenib", "400-twice-daily", "300", {}, None),
    ("lenvatinib", "12-once-daily", "8", {}, "8-once-daily"),
    ("lenvatinib", "4-once-daily", "4", {}, "4-every-other-day"),
    ("regorafenib", "160-once-daily-21-of-28", "120", {}, "120-once-daily-21-of-28"),
    ("regorafenib", "120-once-daily-21-of-28", "40", {}, None),
    ("cabozantinib", "60-once-daily", "40", {}, "40-once-daily"),
    ("cabozantinib", "40-once-daily", "60", {}, "60-once-daily"),  # back up the ladder
]


@pytest.mark.parametrize(("code", "current", "dose", "extra", "expected"), LADDER_CASES)
def test_dose_change_follows_the_ladder(code, current, dose, extra, expected):
    assert step_for(code, current, dose, **extra) == expected


def test_lenvatinib_has_two_ladders_by_weight():
    assert [s.label for s in steps("lenvatinib", "60")] == [
        "12 mg once daily",
        "8 mg once daily",
        "4 mg once daily",
        "4 mg every other day",
    ]
    assert [s.dose_mg for s in steps("lenvatinib", "59")] == [Decimal(8), Decimal(4), Decimal(4)]
    lowest = steps("lenvatinib", "59")[-1]
    assert (lowest.cycle_days_on, lowest.cycle_days_off) == (1, 1)


def test_sorafenib_ladder_changes_frequency():
    sorafenib = steps("sorafenib")
    assert [(s.dose_mg, s.doses_per_day) for s in sorafenib[:3]] == [
        (Decimal(400), 2),
        (Decimal(400), 1),
        (Decimal(200), 1),
    ]


def test_regorafenib_ladder_keeps_the_21_7_cycle():
    assert {(s.cycle_days_on, s.cycle_days_off) for s in steps("regorafenib")} == {(21, 7)}
    assert [s.dose_mg for s in steps("regorafenib")] == [Decimal(160), Decimal(120), Decimal(80)]
