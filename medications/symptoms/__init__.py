"""Symptom reports and their triage: the pure grading engine (triage.py) and its default
rule data (rules.py, stored as versioned rule sets), reports (services.py, selectors.py),
their API, admin and demo history (triage.md)."""
