"""docs/triage.md is generated from the running rule set, so the two cannot drift."""

import subprocess
import sys
from pathlib import Path

from medications.symptoms.rules import DEFAULT_RULES
from medications.symptoms.rules_docs import REGENERATE_DOCS_COMMAND, render_rules_markdown
from medications.symptoms.triage import item_label

REPO = Path(__file__).resolve().parents[2]
PUBLISHED = REPO / "docs" / "triage.md"


def test_published_rules_match_the_running_rules() -> None:
    rendered = render_rules_markdown(DEFAULT_RULES)
    published = PUBLISHED.read_text(encoding="utf-8") if PUBLISHED.exists() else ""
    assert published == rendered, (
        "docs/triage.md is out of date with medications/triage_rules.py. "
        f"Regenerate it from the repository root with: {REGENERATE_DOCS_COMMAND}"
    )


def test_the_regenerate_command_prints_the_rendered_rules() -> None:
    completed = subprocess.run(
        [sys.executable, "-m", "medications.symptoms.rules_docs"],
        cwd=REPO,
        capture_output=True,
        check=True,
    )
    assert completed.stdout.decode("utf-8") == render_rules_markdown(DEFAULT_RULES)


def test_the_page_shows_every_code_threshold_and_advice_line() -> None:
    page = render_rules_markdown(DEFAULT_RULES)
    assert page.startswith("# Symptom triage rules (version 1)\n")
    assert "Rule set version 1." in page
    for code in [*DEFAULT_RULES["graded_symptoms"], *DEFAULT_RULES["red_flags"]]:
        assert f"`{code}`" in page
        assert item_label(DEFAULT_RULES, code) in page
    for symptom in DEFAULT_RULES["graded_symptoms"].values():
        assert all(descriptor in page for descriptor in symptom["grades"])
        assert symptom["self_care"] in page
    for flag in DEFAULT_RULES["red_flags"].values():
        assert flag["meaning"] in page
    for advice in DEFAULT_RULES["advice"].values():
        assert all(line in page for line in [*advice["lines"], *advice["closing_lines"]])
    for text in [
        "37.5 °C or higher",
        "below 36.0 °C",
        "systolic 160 mmHg or higher",
        "diastolic 100 mmHg or higher",
        "systolic below 90 mmHg",
        "systolic 140 mmHg or higher",
        "diastolic 90 mmHg or higher",
        "30.0 to 45.0 °C",
        "50 to 300 mmHg",
        "30 to 200 mmHg",
        "48 hours",
        "365 days",
        "acknowledge within 30 minutes",
        "acknowledge within 4 hours",
    ]:
        assert text in page


def test_a_changed_rule_set_changes_the_page() -> None:
    import copy

    rules = copy.deepcopy(DEFAULT_RULES)
    rules["version"] = 2
    rules["combination_rules"]["repeat_amber"]["window_hours"] = 72
    page = render_rules_markdown(rules)
    assert "(version 2)" in page and "72 hours" in page and "48 hours" not in page
