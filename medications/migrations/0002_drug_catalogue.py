"""Seeds the drug catalogue: the six HCC medicines of ../shared/clinical/drugs.md.

Everything here is data a Trust may edit later in the admin (late windows, ladders, advice).
Re-running `seed_catalogue` only fills in drugs that are missing, so local edits survive.

Dose ladder shape (see docs/medications.md): a list of ladders, each
    {"applies_when": {} | {"weight_kg_at_least": 60} | {"weight_kg_below": 60},
     "steps": [{"id", "dose_mg", "doses_per_day", "cycle_days_on"?, "cycle_days_off"?,
                "label", "alternative_to"?}, ...],   # highest first
     "below_lowest": "what to do below the last step"}
"""

from django.db import migrations

CATALOGUE = [
    {
        "code": "sorafenib",
        "name": "sorafenib",
        "brand": "Nexavar",
        "route": "oral",
        "form": "200 mg film-coated tablets",
        "strengths_mg": ["200"],
        "standard_dose_mg": "400",
        "standard_dose_text": "400 mg (two 200 mg tablets) twice daily",
        "doses_per_day": 2,
        "schedule_text": "Twice daily, continuous (about 12 hours apart)",
        "food_rule": (
            "Take without food, or with a low- or moderate-fat meal. If the meal is high in "
            "fat, take the tablets at least 1 hour before or 2 hours after it."
        ),
        "line_of_therapy": "First line",
        "late_window_rule": "hours",
        "late_window_hours": "6",
        "missed_dose_advice": (
            "If you remember within 6 hours of the usual time, take it. Otherwise skip it and "
            "take the next dose at the usual time. Never take two doses together."
        ),
        "dose_ladder": [
            {
                "applies_when": {},
                "steps": [
                    {
                        "id": "400-twice-daily",
                        "dose_mg": "400",
                        "doses_per_day": 2,
                        "label": "400 mg twice daily",
                    },
                    {
                        "id": "400-once-daily",
                        "dose_mg": "400",
                        "doses_per_day": 1,
                        "label": "400 mg once daily",
                    },
                    {
                        "id": "200-once-daily",
                        "dose_mg": "200",
                        "doses_per_day": 1,
                        "label": "200 mg once daily",
                    },
                    {
                        "id": "400-every-other-day",
                        "dose_mg": "400",
                        "doses_per_day": 1,
                        "cycle_days_on": 1,
                        "cycle_days_off": 1,
                        "label": "400 mg every other day",
                        "alternative_to": "200-once-daily",
                    },
                ],
                "below_lowest": "Stop treatment below 200 mg once daily (or 400 mg every other day).",
            }
        ],
        "default_cycle_days_on": None,
        "default_cycle_days_off": None,
        "interval_days": None,
        "atc_code": "L01EX02",
        "snomed_code": "422042001",
        "common_side_effects": (
            "Hand-foot skin reaction, rash, diarrhoea, fatigue, high blood pressure."
        ),
        "urgent_warning_signs": (
            "Bleeding or unexplained bruising, black or tarry stools, coughing blood; severe "
            "tummy pain with fever or vomiting; painful blistering hands or feet; chest pain."
        ),
    },
    {
        "code": "lenvatinib",
        "name": "lenvatinib",
        "brand": "Lenvima",
        "route": "oral",
        "form": "4 mg and 10 mg hard capsules",
        "strengths_mg": ["4", "10"],
        "standard_dose_mg": None,
        "standard_dose_text": (
            "12 mg once daily if body weight is 60 kg or more; 8 mg once daily if under 60 kg"
        ),
        "doses_per_day": 1,
        "schedule_text": "Once daily, continuous, at the same time each day",
        "food_rule": "With or without food.",
        "line_of_therapy": "First line",
        "late_window_rule": "hours",
        "late_window_hours": "12",
        "missed_dose_advice": (
            "If you cannot take it within 12 hours of the usual time, skip it and take the "
            "next dose at the usual time. Never take two doses together. If you are sick "
            "(vomit) after taking it, do not take another dose."
        ),
        "dose_ladder": [
            {
                "applies_when": {"weight_kg_at_least": 60},
                "steps": [
                    {
                        "id": "12-once-daily",
                        "dose_mg": "12",
                        "doses_per_day": 1,
                        "label": "12 mg once daily",
                    },
                    {
                        "id": "8-once-daily",
                        "dose_mg": "8",
                        "doses_per_day": 1,
                        "label": "8 mg once daily",
                    },
                    {
                        "id": "4-once-daily",
                        "dose_mg": "4",
                        "doses_per_day": 1,
                        "label": "4 mg once daily",
                    },
                    {
                        "id": "4-every-other-day",
                        "dose_mg": "4",
                        "doses_per_day": 1,
                        "cycle_days_on": 1,
                        "cycle_days_off": 1,
                        "label": "4 mg every other day",
                    },
                ],
                "below_lowest": "Stop treatment below 4 mg every other day.",
            },
            {
                "applies_when": {"weight_kg_below": 60},
                "steps": [
                    {
                        "id": "8-once-daily",
                        "dose_mg": "8",
                        "doses_per_day": 1,
                        "label": "8 mg once daily",
                    },
                    {
                        "id": "4-once-daily",
                        "dose_mg": "4",
                        "doses_per_day": 1,
                        "label": "4 mg once daily",
                    },
                    {
                        "id": "4-every-other-day",
                        "dose_mg": "4",
                        "doses_per_day": 1,
                        "cycle_days_on": 1,
                        "cycle_days_off": 1,
                        "label": "4 mg every other day",
                    },
                ],
                "below_lowest": "Stop treatment below 4 mg every other day.",
            },
        ],
        "default_cycle_days_on": None,
        "default_cycle_days_off": None,
        "interval_days": None,
        "atc_code": "L01EX08",
        "snomed_code": "714108002",
        "common_side_effects": (
            "High blood pressure (44% of people with HCC), diarrhoea, poor appetite, fatigue, "
            "weight loss, protein in urine, underactive thyroid."
        ),
        "urgent_warning_signs": (
            "Confusion or drowsiness, yellow skin or eyes; black stools or vomiting blood; "
            "severe headache, stroke or heart-attack symptoms; severe diarrhoea or vomiting."
        ),
    },
    {
        "code": "regorafenib",
        "name": "regorafenib",
        "brand": "Stivarga",
        "route": "oral",
        "form": "40 mg film-coated tablets",
        "strengths_mg": ["40"],
        "standard_dose_mg": "160",
        "standard_dose_text": "160 mg (four 40 mg tablets) once daily on days 1-21 of 28",
        "doses_per_day": 1,
        "schedule_text": (
            "Once daily on days 1-21 of each 28-day cycle, then 7 days off; same time each day"
        ),
        "food_rule": "Take after a low-fat meal, at the same time each day.",
        "line_of_therapy": "Second line, after sorafenib",
        "late_window_rule": "same_day",
        "late_window_hours": None,
        "missed_dose_advice": (
            "If you forget a dose, take it the same day as soon as you remember. Never take "
            "two doses on one day to make up for a missed dose. If you are sick (vomit) "
            "after taking it, do not take another dose."
        ),
        "dose_ladder": [
            {
                "applies_when": {},
                "steps": [
                    {
                        "id": "160-once-daily-21-of-28",
                        "dose_mg": "160",
                        "doses_per_day": 1,
                        "cycle_days_on": 21,
                        "cycle_days_off": 7,
                        "label": "160 mg once daily, days 1-21",
                    },
                    {
                        "id": "120-once-daily-21-of-28",
                        "dose_mg": "120",
                        "doses_per_day": 1,
                        "cycle_days_on": 21,
                        "cycle_days_off": 7,
                        "label": "120 mg once daily, days 1-21",
                    },
                    {
                        "id": "80-once-daily-21-of-28",
                        "dose_mg": "80",
                        "doses_per_day": 1,
                        "cycle_days_on": 21,
                        "cycle_days_off": 7,
                        "label": "80 mg once daily, days 1-21",
                    },
                ],
                "below_lowest": "Stop treatment if 80 mg is not tolerated.",
            }
        ],
        "default_cycle_days_on": 21,
        "default_cycle_days_off": 7,
        "interval_days": None,
        "atc_code": "L01EX05",
        "snomed_code": "702804006",
        "common_side_effects": (
            "Hand-foot skin reaction, high blood pressure, fatigue, diarrhoea. It can "
            "seriously harm the liver."
        ),
        "urgent_warning_signs": (
            "Painful blisters or swelling of hands or feet; bruising or black sticky stools; "
            "chest pain or breathlessness; yellow skin or eyes, tea-coloured urine."
        ),
    },
    {
        "code": "cabozantinib",
        "name": "cabozantinib",
        "brand": "Cabometyx (tablets; not interchangeable with Cometriq capsules)",
        "route": "oral",
        "form": "20 mg, 40 mg and 60 mg film-coated tablets (Cabometyx)",
        "strengths_mg": ["20", "40", "60"],
        "standard_dose_mg": "60",
        "standard_dose_text": "60 mg once daily",
        "doses_per_day": 1,
        "schedule_text": "Once daily, continuous",
        "food_rule": (
            "Take on an empty stomach: nothing to eat for 2 hours before and 1 hour after "
            "the dose."
        ),
        "line_of_therapy": "Second line, after sorafenib",
        "late_window_rule": "hours",
        "late_window_hours": "12",
        "missed_dose_advice": (
            "If the next dose is 12 hours or more away, take the missed dose now. If the "
            "next dose is less than 12 hours away, skip it and take the next dose at the "
            "usual time. Never take two doses together."
        ),
        "dose_ladder": [
            {
                "applies_when": {},
                "steps": [
                    {
                        "id": "60-once-daily",
                        "dose_mg": "60",
                        "doses_per_day": 1,
                        "label": "60 mg once daily",
                    },
                    {
                        "id": "40-once-daily",
                        "dose_mg": "40",
                        "doses_per_day": 1,
                        "label": "40 mg once daily",
                    },
                    {
                        "id": "20-once-daily",
                        "dose_mg": "20",
                        "doses_per_day": 1,
                        "label": "20 mg once daily",
                    },
                ],
                "below_lowest": "Stop treatment if 20 mg is not tolerated.",
            }
        ],
        "default_cycle_days_on": None,
        "default_cycle_days_off": None,
        "interval_days": None,
        "atc_code": "L01EX07",
        "snomed_code": "718844003",
        "common_side_effects": (
            "Diarrhoea, fatigue, poor appetite, weight loss, nausea, hand-foot reaction, sore "
            "mouth, high blood pressure."
        ),
        "urgent_warning_signs": (
            "Severe tummy pain; choking or gagging when eating or drinking; unusual bleeding, "
            "bloody or black stools, coughing blood."
        ),
    },
    {
        "code": "atezolizumab",
        "name": "atezolizumab",
        "brand": "Tecentriq",
        "route": "iv",
        "form": "Infusion into a vein (drip through a cannula or central line)",
        "strengths_mg": ["1200"],
        "standard_dose_mg": "1200",
        "standard_dose_text": (
            "1200 mg flat dose on day 1 of every 21-day cycle; first infusion over 60 "
            "minutes, later ones over 30 minutes if tolerated"
        ),
        "doses_per_day": None,
        "schedule_text": "Day 1 of every 21-day cycle, before bevacizumab",
        "food_rule": "",
        "line_of_therapy": "First line, always with bevacizumab",
        "late_window_rule": "hours",
        "late_window_hours": None,
        "missed_dose_advice": (
            "A missed or postponed infusion is given as soon as possible; the next ones are "
            "then planned 21 days apart from the day it was actually given."
        ),
        # Dose reductions are not used for atezolizumab: treatment is interrupted instead.
        "dose_ladder": [],
        "default_cycle_days_on": None,
        "default_cycle_days_off": None,
        "interval_days": 21,
        "atc_code": "L01FF05",
        "snomed_code": "719371003",
        "common_side_effects": (
            "Immune reactions in any organ: bowel, liver, lungs, hormone glands, skin, "
            "kidneys. They can start during treatment or many months after it."
        ),
        "urgent_warning_signs": (
            "More frequent or loose stools, blood or mucus in stools, tummy pain; yellow skin "
            "or eyes, dark urine; new cough, breathlessness, chest pain; extreme tiredness, "
            "dizziness or fainting, headaches; rash or blistering; eye pain or vision change."
        ),
    },
    {
        "code": "bevacizumab",
        "name": "bevacizumab",
        "brand": "Avastin and biosimilars",
        "route": "iv",
        "form": "Infusion into a vein",
        "strengths_mg": [],
        "standard_dose_mg": None,
        "standard_dose_text": (
            "15 mg per kg body weight on day 1 of every 21-day cycle, after atezolizumab"
        ),
        "doses_per_day": None,
        "schedule_text": "Day 1 of every 21-day cycle, given after atezolizumab",
        "food_rule": "",
        "line_of_therapy": "First line, always with atezolizumab",
        "late_window_rule": "hours",
        "late_window_hours": None,
        "missed_dose_advice": (
            "A missed or postponed infusion is given as soon as possible; the next ones are "
            "then planned 21 days apart from the day it was actually given."
        ),
        "dose_ladder": [],
        "default_cycle_days_on": None,
        "default_cycle_days_off": None,
        "interval_days": 21,
        "atc_code": "L01FG01",
        "snomed_code": "409406007",
        "common_side_effects": (
            "High blood pressure, protein in urine, bleeding. It keeps acting for weeks after "
            "the last dose."
        ),
        "urgent_warning_signs": (
            "Any bleeding that will not stop, vomiting blood, black stools; severe tummy "
            "pain; severe headache."
        ),
    },
]


def seed_catalogue(apps, schema_editor=None):
    """Create any catalogue drug that is missing (never overwrites a Trust's edits)."""
    Drug = apps.get_model("medications", "Drug")
    for entry in CATALOGUE:
        fields = dict(entry)
        code = fields.pop("code")
        Drug.objects.get_or_create(code=code, defaults=fields)


def remove_catalogue(apps, schema_editor):
    Drug = apps.get_model("medications", "Drug")
    Drug.objects.filter(code__in=[entry["code"] for entry in CATALOGUE]).delete()


class Migration(migrations.Migration):
    dependencies = [("medications", "0001_initial")]

    operations = [migrations.RunPython(seed_catalogue, remove_catalogue)]
