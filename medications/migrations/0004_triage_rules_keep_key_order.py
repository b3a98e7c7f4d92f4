"""Store triage rule sets as JSON text, so their keys keep their order.

PostgreSQL's jsonb re-sorts object keys (by length, then bytes), which put the symptoms of
a rule set in an order no nurse chose: the order symptoms are offered to patients and
published in docs/triage.md. Rows stored as jsonb have lost their order already; they are
put back in the product defaults' order (keys the defaults do not have follow, as stored).
"""

import medications.fields
from django.db import migrations


def _ordered_like(value, reference):
    if isinstance(value, dict):
        ref = reference if isinstance(reference, dict) else {}
        keys = [key for key in ref if key in value] + [key for key in value if key not in ref]
        return {key: _ordered_like(value[key], ref.get(key)) for key in keys}
    if isinstance(value, list):
        ref = reference if isinstance(reference, list) else []
        return [
            _ordered_like(item, ref[index] if index < len(ref) else None)
            for index, item in enumerate(value)
        ]
    return value


def restore_key_order(apps, schema_editor):
    from medications.symptoms.rules import DEFAULT_RULES

    TriageRuleSet = apps.get_model("medications", "TriageRuleSet")
    for ruleset in TriageRuleSet.objects.all():
        ordered = _ordered_like(ruleset.rules, DEFAULT_RULES)
        TriageRuleSet.objects.filter(pk=ruleset.pk).update(rules=ordered)


class Migration(migrations.Migration):
    dependencies = [("medications", "0003_triage_rules_v1")]

    operations = [
        migrations.AlterField(
            model_name="triageruleset",
            name="rules",
            field=medications.fields.OrderedJSONField(),
        ),
        migrations.RunPython(restore_key_order, migrations.RunPython.noop),
    ]
