"""Seeds the triage rule set: version 1, active, from medications.symptoms.rules.DEFAULT_RULES
(the product defaults of ../shared/clinical/triage.md).

A Trust changes the rules later in the admin, which stores each change as a new version;
this only fills an empty table, so re-running it never touches a Trust's versions.
"""

import copy

from django.db import migrations


def seed_rules(apps, schema_editor):
    from medications.symptoms.rules import DEFAULT_RULES

    TriageRuleSet = apps.get_model("medications", "TriageRuleSet")
    if TriageRuleSet.objects.exists():
        return
    rules = copy.deepcopy(DEFAULT_RULES)
    TriageRuleSet.objects.create(
        version=int(rules["version"]),
        rules=rules,
        is_active=True,
        notes="Product defaults (clinical/triage.md: UKONS 24-hour triage tool).",
    )


def unseed_rules(apps, schema_editor):
    TriageRuleSet = apps.get_model("medications", "TriageRuleSet")
    TriageRuleSet.objects.filter(version=1, reports__isnull=True, created_by__isnull=True).delete()


class Migration(migrations.Migration):
    dependencies = [("medications", "0002_drug_catalogue")]

    operations = [migrations.RunPython(seed_rules, unseed_rules)]
