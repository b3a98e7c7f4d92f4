"""The triage rule set as versioned data (clinical/triage.md: a Trust changes it without a
code change; every result records the version that produced it)."""

import copy
from datetime import timedelta

import pytest
import time_machine
from django.core.exceptions import ValidationError

from medications.models import SymptomReport, TriageRuleSet
from medications.symptoms import services as symptom_services
from medications.symptoms.rules import DEFAULT_RULES
from medications.symptoms.rules_docs import render_rules_markdown
from medications.symptoms.selectors import active_rules, active_ruleset

from .conftest import utc

pytestmark = pytest.mark.django_db
URL = "/api/v1/symptom-reports/"
NOW = utc(2026, 2, 10, 9, 0)
PRESSURE = {"symptoms": [], "systolic_bp": 135, "diastolic_bp": 85}


def post(client, body, when=NOW):
    with time_machine.travel(when, tick=False):
        return client.post(URL, body, format="json")


def stricter_blood_pressure() -> dict:
    """Version 1 with amber blood pressure from systolic 130 instead of 140."""
    rules = copy.deepcopy(DEFAULT_RULES)
    amber = rules["measurements"]["blood_pressure"]["levels"]["amber"]
    amber[0]["at_or_above"] = 130
    return rules


def test_the_migration_seeds_version_1_active_from_the_product_defaults():
    ruleset = TriageRuleSet.objects.get()
    assert ruleset.version == 1 and ruleset.is_active
    assert ruleset.rules == DEFAULT_RULES
    # Stored as written: symptoms keep their order (jsonb would sort keys by length).
    assert list(active_rules()["graded_symptoms"]) == list(DEFAULT_RULES["graded_symptoms"])
    assert list(active_rules()["red_flags"]) == list(DEFAULT_RULES["red_flags"])
    # So docs/triage.md (generated from DEFAULT_RULES, test_triage_docs.py) is what runs.
    assert render_rules_markdown(active_rules()) == render_rules_markdown(DEFAULT_RULES)


def test_a_new_version_grades_new_reports_and_old_reports_keep_theirs(api, patient, admin_user):
    client = api(patient.user)
    before = post(client, PRESSURE)
    assert before.json()["triage"]["level"] == "green"
    assert before.json()["triage"]["ruleset_version"] == 1

    version_2 = symptom_services.triage_ruleset_publish(
        rules=stricter_blood_pressure(), notes="Trust governance 2026-02", created_by=admin_user
    )

    assert version_2.version == 2 and version_2.is_active and version_2.rules["version"] == 2
    assert TriageRuleSet.objects.get(version=1).is_active is False
    after = post(client, PRESSURE, NOW + timedelta(days=3))
    assert after.json()["triage"]["level"] == "amber"
    assert after.json()["triage"]["ruleset_version"] == 2
    assert {(r["code"], r["level"]) for r in after.json()["triage"]["reasons"]} == {
        ("blood_pressure", "amber")
    }

    old = SymptomReport.objects.get(pk=before.json()["id"])
    assert (old.triage_level, old.ruleset_version, old.ruleset.version) == ("green", 1, 1)
    assert client.get(f"{URL}{old.pk}/").json()["triage"]["ruleset_version"] == 1
    new = SymptomReport.objects.get(pk=after.json()["id"])
    assert (new.ruleset_version, new.ruleset_id) == (2, version_2.pk)


def test_going_back_to_an_earlier_version(api, patient):
    symptom_services.triage_ruleset_publish(
        rules=stricter_blood_pressure(), notes="", created_by=None
    )
    symptom_services.triage_ruleset_activate(ruleset=TriageRuleSet.objects.get(version=1))

    assert active_ruleset().version == 1
    response = post(api(patient.user), PRESSURE)
    assert response.json()["triage"]["level"] == "green"
    assert response.json()["triage"]["ruleset_version"] == 1
    assert TriageRuleSet.objects.filter(is_active=True).count() == 1


def test_the_cached_rule_set_notices_a_new_active_version_at_once(django_assert_num_queries):
    assert active_ruleset().version == 1
    with django_assert_num_queries(1):  # warm: only "which version is active?"
        assert active_ruleset().version == 1
    symptom_services.triage_ruleset_publish(
        rules=stricter_blood_pressure(), notes="", created_by=None
    )
    assert active_ruleset().version == 2


@pytest.mark.parametrize(
    ("breakage", "message"),
    [
        (lambda r: r.pop("levels"), "wrong shape"),
        (lambda r: r["grade_levels"]["graded"].update({"2": "purple"}), "unknown level"),
        (lambda r: r["graded_symptoms"]["rash"].update({"self_care": ""}), "self-care"),
        (lambda r: r["combination_rules"]["immunotherapy"]["codes"].append("hiccups"), "hiccups"),
        (lambda r: r["measurements"]["temperature"]["levels"]["red"][0].pop("at_or_above"), "need"),
        (lambda r: r["combination_rules"]["repeat_amber"].update({"window_hours": "48"}), "shape"),
        (lambda r: r.update({"graded_symptoms": []}), "shape"),
    ],
)
def test_an_unsound_rule_set_is_refused_and_nothing_changes(breakage, message):
    rules = copy.deepcopy(DEFAULT_RULES)
    breakage(rules)
    with pytest.raises(ValidationError) as caught:
        symptom_services.triage_ruleset_publish(rules=rules, notes="", created_by=None)
    assert message in " ".join(caught.value.messages)
    assert list(TriageRuleSet.objects.values_list("version", "is_active")) == [(1, True)]


def test_sound_default_rules_have_no_problems():
    assert symptom_services.triage_ruleset_problems(copy.deepcopy(DEFAULT_RULES)) == []
    assert symptom_services.triage_ruleset_problems([1, 2]) == [
        "The rule set must be a JSON object."
    ]


# --- admin -------------------------------------------------------------------------------------

ADMIN = "/admin/medications/triageruleset/"


@pytest.fixture
def admin_site(client, admin_user):
    client.force_login(admin_user)
    return client


# The table editor (new versions from the admin): tests/medications/test_admin_triage_rules.py.


def test_admin_action_makes_an_earlier_version_active_again(admin_site):
    symptom_services.triage_ruleset_publish(
        rules=stricter_blood_pressure(), notes="", created_by=None
    )
    version_1 = TriageRuleSet.objects.get(version=1)
    response = admin_site.post(
        ADMIN, {"action": "make_active", "_selected_action": [version_1.pk]}, follow=True
    )
    assert "Version 1 is now active." in response.content.decode()
    assert active_ruleset().version == 1


def test_rule_sets_cannot_be_deleted_in_admin(admin_site):
    version_1 = TriageRuleSet.objects.get()
    assert admin_site.get(f"{ADMIN}{version_1.pk}/delete/").status_code == 403
