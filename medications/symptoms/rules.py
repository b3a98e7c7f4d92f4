"""Version 1 of the red/amber/green symptom triage rule set (the product defaults).

Source: /work/shared/clinical/triage.md (UKONS 24-hour triage tool; grades follow CTCAE v5
and PRO-CTCAE-style plain descriptions). A Trust reviews and changes these as a new,
versioned rule set, never by editing the engine: everything the engine decides comes from
this data. It must stay JSON-serialisable (str, int, float, bool, None, list, dict) so a
rule set can be stored in the database or a file; decimal thresholds are strings so they
compare exactly.

docs/triage.md is generated from this data: after any change run
`python -m medications.symptoms.rules_docs > docs/triage.md`.
"""

from typing import Any

DEFAULT_RULES: dict[str, Any] = {
    "version": 1,
    "name": "Product default rule set",
    "source": (
        "the UK Oncology Nursing Society (UKONS) 24-hour triage tool, with grades following "
        "CTCAE v5 and plain patient-reported (PRO-CTCAE style) descriptions"
    ),
    # What each level means and what happens next (triage.md, "Levels and what they mean").
    "levels": {
        "red": {
            "label": "Red",
            "meaning": "Considerable risk; may need same-day face-to-face assessment.",
            "call_advice_line": True,
            "alert": True,
            "acknowledge_within_minutes": 30,
            "escalate_if_not_acknowledged": True,
        },
        "amber": {
            "label": "Amber",
            "meaning": "Moderate risk; needs review.",
            "call_advice_line": False,
            "alert": True,
            "acknowledge_within_minutes": 240,
            "escalate_if_not_acknowledged": True,
        },
        "green": {
            "label": "Green",
            "meaning": "Low risk.",
            "call_advice_line": False,
            "alert": False,
            "acknowledge_within_minutes": None,
            "escalate_if_not_acknowledged": False,
        },
    },
    # Grade (as a string, for JSON) -> level. None means "nothing to report".
    "grade_levels": {
        "graded": {"0": None, "1": "green", "2": "amber", "3": "red"},
        "red_flag": {"0": None, "1": "red"},
    },
    # What the patient picks for a red flag; the list index is the grade.
    "red_flag_answers": ["No", "Yes"],
    # Graded symptoms: "grades" is indexed by grade (0 = not present), so its length sets
    # the highest grade a patient can choose.
    "graded_symptoms": {
        "diarrhoea": {
            "label": "Diarrhoea",
            "grades": [
                "No diarrhoea; bowels as usual",
                "Up to 3 more stools a day than usual",
                "4 to 6 more stools a day than usual, or having to open bowels at night",
                "7 or more stools a day more than usual, or unable to control bowels, "
                "or dizzy or dehydrated",
            ],
            "self_care": (
                "Drink plenty of fluids, in small sips through the day. Take loperamide "
                "(Imodium) only as your team has prescribed. Eat small, plain meals and avoid "
                "spicy, fatty or high-fibre food, alcohol and caffeine."
            ),
        },
        "nausea": {
            "label": "Feeling sick (nausea)",
            "grades": [
                "Not at all",
                "Off food but eating and drinking about as normal",
                "Eating and drinking much less than usual",
                "Hardly eating or drinking anything for 24 hours",
            ],
            "self_care": (
                "Take your anti-sickness medicine as prescribed, before meals if you can. Eat "
                "small amounts often, try plain or cold food, and keep sipping fluids."
            ),
        },
        "vomiting": {
            "label": "Being sick (vomiting)",
            "grades": [
                "Not at all",
                "Once in 24 hours",
                "2 to 5 times in 24 hours",
                "6 or more times in 24 hours, or cannot keep fluids or tablets down",
            ],
            "self_care": (
                "Take your anti-sickness medicine as prescribed and sip clear fluids slowly "
                "and often. If you are sick after a dose of your cancer tablets, do not take an "
                "extra dose: take the next one at the usual time."
            ),
        },
        "mouth_sores": {
            "label": "Sore mouth or mouth ulcers",
            "grades": [
                "Not at all",
                "Sore mouth, eating normally",
                "Painful sores; eating and drinking with changes",
                "Cannot eat or drink because of pain",
            ],
            "self_care": (
                "Clean your teeth gently with a soft toothbrush after meals and use the "
                "mouthwash your team recommends (not one with alcohol in it). Choose soft, moist "
                "food and avoid spicy, acidic or very hot food and drink."
            ),
        },
        "constipation": {
            "label": "Constipation",
            "grades": [
                "Not at all; bowels as usual",
                "Mild, helped by an occasional laxative",
                "Needs laxatives regularly",
                "No bowel movement for 3 days or more, with pain, bloating or vomiting",
            ],
            "self_care": (
                "Drink plenty of fluids, eat more fibre if you can and keep gently active. "
                "Take your laxatives as your team has advised."
            ),
        },
        "hand_foot": {
            "label": "Hand or foot skin reaction",
            "grades": [
                "Not at all",
                "Red, swollen or thickened skin, no pain",
                "Painful, peeling or blistering skin; makes household tasks hard",
                "Severe pain, blisters or cracks; cannot walk or look after yourself",
            ],
            "self_care": (
                "Moisturise your hands and feet often with a thick, unperfumed cream. Wear "
                "comfortable, well-fitting shoes and cotton socks, and avoid hot water, "
                "pressure and rubbing on your hands and feet."
            ),
        },
        "rash": {
            "label": "Skin rash",
            "grades": [
                "No rash",
                "Small areas, less than a tenth of the skin",
                "A tenth to a third of the skin, or itchy enough to limit household tasks",
                "More than a third of the skin, or blistering or peeling, or sores in the "
                "mouth or eyes",
            ],
            "self_care": (
                "Wash with a mild, unperfumed soap substitute, pat your skin dry and moisturise "
                "often. Protect your skin from the sun and try not to scratch."
            ),
        },
        "fatigue": {
            "label": "Tiredness (fatigue)",
            "grades": [
                "No more tired than usual",
                "Tired but better after rest",
                "Not better after rest; limits household tasks",
                "Limits washing and dressing; in bed most of the day",
            ],
            "self_care": (
                "Balance rest with gentle activity, such as a short walk. Plan your day around "
                "when you have most energy, and accept help with tasks."
            ),
        },
        "breathlessness": {
            "label": "Breathlessness",
            "grades": [
                "No more breathless than usual",
                "When climbing stairs or hurrying",
                "When walking on the flat or dressing",
                "At rest, or it came on suddenly",
            ],
            "self_care": (
                "Sit upright, breathe slowly and pace yourself on stairs and with tasks. Cool "
                "air from a fan or an open window can help."
            ),
        },
        "cough": {
            "label": "Cough",
            "grades": [
                "No cough, or no more than usual",
                "Mild, now and then",
                "New or worse, and persistent",
                "Severe, disturbing sleep, or with chest discomfort",
            ],
            "self_care": (
                "Sip warm drinks; honey and lemon can soothe your throat. Avoid smoking and "
                "smoky or dusty places."
            ),
        },
        "abdominal_pain": {
            "label": "Tummy (abdominal) pain",
            "grades": [
                "None",
                "Mild",
                "Moderate; limits activities",
                "Severe, or with fever or vomiting",
            ],
            "self_care": (
                "Rest and take your usual painkillers as prescribed. Do not take ibuprofen or "
                "other anti-inflammatory painkillers unless your liver team has said they are "
                "safe for you."
            ),
        },
        "pain": {
            "label": "Other pain",
            "grades": [
                "None",
                "Mild",
                "Moderate; limits activities",
                "Severe; not controlled by usual painkillers",
            ],
            "self_care": (
                "Take your usual painkillers as prescribed; warmth, rest and gentle movement "
                "can help. Do not take ibuprofen or other anti-inflammatory painkillers unless "
                "your liver team has said they are safe for you."
            ),
        },
        "headache": {
            "label": "Headache",
            "grades": [
                "None",
                "Mild",
                "Moderate; not eased by paracetamol",
                "Severe or sudden",
            ],
            "self_care": (
                "Rest somewhere quiet and drink plenty of fluids. Take paracetamol only at the "
                "dose your team has advised for you. If you have a blood pressure monitor, "
                "check your blood pressure and report it."
            ),
        },
        "abdominal_swelling": {
            "label": "Swollen tummy (abdomen)",
            "grades": [
                "No more swollen than usual",
                "A little more than usual",
                "Steadily increasing; clothes feel tight",
                "Tense or rapidly increasing, or with pain or breathlessness",
            ],
            "self_care": (
                "Weigh yourself each morning and write it down. Follow your team's advice on "
                "salt and fluids, and wear loose, comfortable clothes."
            ),
        },
        "numbness": {
            "label": "Tingling or numb hands or feet",
            "grades": [
                "Not at all",
                "Mild",
                "Limits household tasks",
                "Limits washing and dressing, or new weakness",
            ],
            "self_care": (
                "Protect your hands and feet: wear gloves for washing up and gardening, test "
                "water temperature with your elbow, and take care on stairs and uneven ground."
            ),
        },
        "bruising": {
            "label": "Bruising",
            # No grade 3 (triage.md), so the highest grade a patient can choose is 2.
            "grades": [
                "No new bruises",
                "A few bruises where knocked",
                "Widespread bruises, or bruises without any knock",
            ],
            "self_care": (
                "Use a soft toothbrush and an electric razor, and take care to avoid knocks. Do "
                "not take aspirin or ibuprofen unless your team has told you to."
            ),
        },
    },
    # Present (grade 1) = red for every patient (triage.md, "Red flags").
    "red_flags": {
        "chest_pain": {
            "label": "Chest pain or tightness",
            "meaning": "Chest pain or tightness",
        },
        "vomiting_blood": {
            "label": "Vomiting blood",
            "meaning": "Vomiting blood or material like coffee grounds",
        },
        "black_stools": {
            "label": "Black stools",
            "meaning": "Black, tarry or sticky stools",
        },
        "blood_in_stool": {
            "label": "Blood or mucus in stools",
            "meaning": "Blood or mucus in stools",
        },
        "coughing_blood": {
            "label": "Coughing up blood",
            "meaning": "Coughing up blood",
        },
        "bleeding": {
            "label": "Bleeding that will not stop",
            "meaning": "Bleeding that does not stop within 10 minutes (nose, gums, wound)",
        },
        "jaundice": {
            "label": "Yellow skin or eyes (jaundice)",
            "meaning": "New yellowing of skin or eyes",
        },
        "dark_urine": {
            "label": "Dark urine",
            "meaning": "Urine the colour of tea or cola",
        },
        "confusion": {
            "label": "Confusion or drowsiness",
            "meaning": "New confusion, drowsiness, or change in behaviour",
        },
        "fainting": {
            "label": "Fainting",
            "meaning": "Fainting or near-fainting",
        },
        "seizure": {
            "label": "Fit (seizure)",
            "meaning": "A fit",
        },
        "vision_change": {
            "label": "Change in vision or eye pain",
            "meaning": "Sudden change in vision, or eye pain",
        },
        "shivering": {
            "label": "Shivering or shaking chills",
            "meaning": "Shivering or shaking chills (rigors)",
        },
        "reduced_urine": {
            "label": "Passing much less urine",
            "meaning": "Passing much less urine than usual over a day",
        },
        "swallowing_difficulty": {
            "label": "Choking or gagging when eating or drinking",
            "meaning": "Choking or gagging when eating or drinking",
        },
    },
    # Accepted values of each figure in a report (triage.md, "Inputs of one report").
    # "label" starts the patient-facing error message; "short_label" is used in tables.
    "validation": {
        "temperature_c": {
            "label": "temperature",
            "short_label": "temperature",
            "unit": "°C",
            "type": "decimal",
            "min": "30.0",
            "max": "45.0",
        },
        "systolic_bp": {
            "label": "the top (systolic) figure",
            "short_label": "systolic",
            "unit": "mmHg",
            "type": "integer",
            "min": 50,
            "max": 300,
        },
        "diastolic_bp": {
            "label": "the bottom (diastolic) figure",
            "short_label": "diastolic",
            "unit": "mmHg",
            "type": "integer",
            "min": 30,
            "max": 200,
        },
    },
    # Pairs where the first figure must be higher than the second.
    "higher_than": [["systolic_bp", "diastolic_bp"]],
    # Each measurement takes the highest level any one of its conditions meets
    # (triage.md, "Measurements"); a measurement is graded only when all its figures are given.
    "measurements": {
        "temperature": {
            "label": "Temperature",
            "figures": ["temperature_c"],
            "why": "possible infection or sepsis after anti-cancer treatment",
            "levels": {
                "red": [
                    {"figure": "temperature_c", "at_or_above": "37.5"},
                    {"figure": "temperature_c", "below": "36.0"},
                ],
            },
        },
        "blood_pressure": {
            "label": "Blood pressure",
            "figures": ["systolic_bp", "diastolic_bp"],
            "why": "high blood pressure is a common side effect of these medicines",
            "levels": {
                "red": [
                    {"figure": "systolic_bp", "at_or_above": 160},
                    {"figure": "diastolic_bp", "at_or_above": 100},
                    {"figure": "systolic_bp", "below": 90},
                ],
                # 140-159 / 90-99: anything higher already meets a red condition.
                "amber": [
                    {"figure": "systolic_bp", "at_or_above": 140},
                    {"figure": "diastolic_bp", "at_or_above": 90},
                ],
            },
        },
    },
    # triage.md, "Combination rules" (rule numbers as there).
    "combination_rules": {
        "two_ambers": {"count": 2},  # rule 2
        "repeat_amber": {"window_hours": 48},  # rule 3
        "immunotherapy": {  # rule 4
            "drug": "atezolizumab",
            "look_back_days": 365,  # "the last 12 months"
            "codes": [
                "diarrhoea",
                "abdominal_pain",
                "breathlessness",
                "cough",
                "rash",
                "headache",
            ],
        },
        "bp_with_headache": {  # rule 5
            "measurement": "blood_pressure",
            "symptom": "headache",
            "min_grade": 2,
        },
    },
    # Patient-facing advice per level: "lines" first, then self-care advice for each graded
    # symptom reported (when "include_self_care"), then "closing_lines". The caller adds
    # the patient's advice-line phone number.
    "advice": {
        "red": {
            "lines": [
                "Call your advice line now.",
                "Call 999 if you collapse, have severe bleeding, severe chest pain or "
                "difficulty breathing.",
            ],
            # Nothing should compete with "call now".
            "include_self_care": False,
            "closing_lines": [],
        },
        "amber": {
            "lines": [
                "The team will contact you within 24 hours. Call your advice line sooner if "
                "you get worse.",
            ],
            "include_self_care": True,
            "closing_lines": [],
        },
        "green": {
            "lines": [],
            "include_self_care": True,
            "closing_lines": [
                "Report again, or call your advice line, if it gets worse.",
            ],
        },
    },
}
