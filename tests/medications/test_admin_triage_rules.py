"""The triage rules as a table in the admin: one row per item and grade, combination rules
as fields, validation in words, a preview of what changes against the live version, and a
new active version on save (the live one kept as it was)."""

import re

import pytest
from django.test import Client

from medications.models import TriageRuleSet
from medications.symptoms import services as symptom_services
from medications.symptoms.rules import DEFAULT_RULES
from medications.symptoms.rules_editor import TriageRulesForm, changes
from medications.symptoms.selectors import active_ruleset

pytestmark = pytest.mark.django_db
EDIT = "/admin/medications/triageruleset/edit/"


@pytest.fixture
def admin_client_(admin_user):
    client = Client()
    client.force_login(admin_user)
    return client


def current_values(rules=DEFAULT_RULES) -> dict:
    """What the form sends back unchanged (its initial values, as a browser would post)."""
    form = TriageRulesForm(base=rules)
    data = {}
    for name in form.fields:
        value = form[name].value()
        if isinstance(value, list):
            data[name] = value
        elif value is not None:
            data[name] = str(value)
    return data


def test_the_page_is_a_table_of_items_and_grades(admin_client_):
    page = admin_client_.get(EDIT)
    assert page.status_code == 200
    html = page.content.decode()
    assert "rules_json" not in html and "Rules (JSON)" not in html
    # A row per graded symptom and grade (words; a level from grade 1), one per red flag.
    grades = sum(len(s["grades"]) for s in DEFAULT_RULES["graded_symptoms"].values())
    assert html.count('name="words__') == grades > 50
    symptoms = len(DEFAULT_RULES["graded_symptoms"])
    flags = len(DEFAULT_RULES["red_flags"])
    assert html.count('<select name="level__') == grades - symptoms + flags
    assert 'aria-label="Diarrhoea, grade 3: level"' in html
    assert 'name="threshold__blood_pressure__amber__0" value="140"' in html
    assert 'name="two_ambers_count" value="2"' in html
    assert 'name="repeat_amber_hours" value="48"' in html
    # The add button and an old version's page lead here.
    assert admin_client_.get("/admin/medications/triageruleset/add/").url == EDIT
    version_1 = TriageRuleSet.objects.get()
    change = admin_client_.get(f"/admin/medications/triageruleset/{version_1.pk}/change/")
    assert f"{EDIT}?from={version_1.pk}" in change.content.decode()
    assert 'name="_save"' not in change.content.decode()  # a version is never edited


def test_preview_says_what_changes_and_saves_nothing(admin_client_):
    data = current_values()
    data.update(
        {
            "level__diarrhoea__2": "red",
            "threshold__blood_pressure__amber__0": "130",
            "two_ambers_count": "3",
            "immunotherapy_codes": [c for c in data["immunotherapy_codes"] if c != "cough"],
            "words__nausea__1": "Feeling a bit sick, eating normally",
            "_preview": "Preview",
        }
    )
    response = admin_client_.post(EDIT, data)
    assert response.status_code == 200
    preview = re.search(
        r'<section class="rules-preview".*?</section>', response.content.decode(), re.S
    )
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", preview.group(0)))
    assert "What changes against the live version 1" in text
    assert "Diarrhoea, grade 2: amber → red." in text
    assert "Blood pressure: amber when systolic at or above 140 → 130." in text
    assert "Amber items that make a report red: 2 → 3." in text
    assert "Cough taken off the immunotherapy rule." in text
    assert "Feeling sick (nausea), grade 1: “" in text
    assert TriageRuleSet.objects.count() == 1


def test_save_makes_a_new_active_version_and_keeps_the_live_one(admin_client_, admin_user):
    data = current_values()
    data.update(
        {
            "level__headache__1": "amber",
            "repeat_amber_hours": "72",
            "change_note": "Governance 2026-11: headache",
            "_save": "Save",
        }
    )
    response = admin_client_.post(EDIT, data, follow=True)
    assert response.status_code == 200
    message = " ".join(str(m) for m in response.context["messages"])
    assert "Saved as version 2, now active" in message
    assert "Version 1 is kept unchanged." in message
    assert "Headache, grade 1: green → amber." in message
    version_1, version_2 = TriageRuleSet.objects.order_by("version")
    assert version_1.rules == DEFAULT_RULES and not version_1.is_active
    assert version_2.is_active and version_2.created_by == admin_user
    assert version_2.notes == "Governance 2026-11: headache"
    headache = version_2.rules["graded_symptoms"]["headache"]
    assert headache["grade_levels"] == {"0": None, "1": "amber", "2": "amber", "3": "red"}
    assert "grade_levels" not in version_2.rules["graded_symptoms"]["diarrhoea"]
    assert version_2.rules["combination_rules"]["repeat_amber"]["window_hours"] == 72
    # Everything else is version 1's, exactly.
    others = {k: v for k, v in version_2.rules.items() if k not in ("version", "graded_symptoms")}
    assert others == {
        k: v
        for k, v in DEFAULT_RULES.items()
        if k not in ("version", "graded_symptoms", "combination_rules")
    } | {"combination_rules": version_2.rules["combination_rules"]}
    assert active_ruleset().version == 2


@pytest.mark.parametrize(
    "change, field, message",
    [
        (
            {"level__diarrhoea__3": "green"},
            None,
            "Diarrhoea: grade 3 cannot be a lower level than grade 2",
        ),
        ({"level__chest_pain__1": "green"}, "level__chest_pain__1", "Select a valid choice"),
        ({"words__rash__2": ""}, "words__rash__2", "This field is required."),
        ({"two_ambers_count": "1"}, "two_ambers_count", "greater than or equal to 2"),
        (
            {"threshold__temperature__red__0": "50.0"},
            "threshold__temperature__red__0",
            "less than or equal to 45.0",
        ),
        ({"_save": "Save", "change_note": ""}, None, "Nothing changes against the live version 1"),
        (
            {"level__cough__1": "amber", "_save": "Save", "change_note": " "},
            "change_note",
            "Say what changed and why",
        ),
    ],
)
def test_problems_are_in_words_and_nothing_is_saved(admin_client_, change, field, message):
    data = {**current_values(), "_preview": "Preview", **change}
    if "_save" in change:
        data.pop("_preview")
    response = admin_client_.post(EDIT, data)
    assert response.status_code == 400
    html = response.content.decode()
    assert message in html
    assert "Please correct" in html
    if field:
        assert f'id="id_{field}-error"' in html
        assert re.search(rf'<[^>]*name="{field}"[^>]*aria-invalid="true"', html)
    assert TriageRuleSet.objects.count() == 1


def test_a_red_flag_may_be_amber_but_never_nothing():
    data = {**current_values(), "level__chest_pain__1": "amber"}
    form = TriageRulesForm(data, base=DEFAULT_RULES)
    assert form.is_valid(), form.errors
    assert form.rules()["red_flags"]["chest_pain"]["grade_levels"] == {"0": None, "1": "amber"}
    assert "Chest pain or tightness, “Yes”: red → amber." in changes(DEFAULT_RULES, form.rules())


def test_starting_from_an_older_version_previews_against_the_live_one(admin_client_):
    stricter = {**DEFAULT_RULES, "combination_rules": {**DEFAULT_RULES["combination_rules"]}}
    stricter["combination_rules"]["two_ambers"] = {"count": 3}
    symptom_services.triage_ruleset_publish(rules=stricter, notes="", created_by=None)
    version_1 = TriageRuleSet.objects.get(version=1)
    page = admin_client_.get(f"{EDIT}?from={version_1.pk}").content.decode()
    assert "Starting from <strong>version 1</strong>" in page
    assert 'name="two_ambers_count" value="2"' in page
    preview = admin_client_.post(
        f"{EDIT}?from={version_1.pk}", {**current_values(), "_preview": "Preview"}
    )
    assert "Amber items that make a report red: 3 → 2." in preview.content.decode()
