"""The check-in card on the patient's Today page and the order of the symptom form
(clinical/checkins.md): an open check-in comes first; a follow-up asks first about the
items that were amber; a reading of blood pressure is asked for when the schedule says so."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from medications.models import CheckIn, CheckInKind
from medications.symptoms import checkins, triage
from patients.models import Patient


@dataclass(frozen=True)
class CheckInCard:
    check_in: CheckIn
    title: str
    focus_labels: tuple[str, ...]
    asks_bp: bool
    closes_at: datetime


def check_in_card(patient: Patient, now: datetime, rules: Mapping[str, Any]) -> CheckInCard | None:
    check_in = checkins.open_check_in_for(patient, now)
    if check_in is None:
        return None
    labels = tuple(triage.item_label(rules, code) for code in check_in.focus_codes or [])
    if check_in.kind == CheckInKind.FOLLOW_UP and labels:
        title = f"Your follow-up check-in: how is your {', '.join(labels).lower()} now?"
    elif check_in.kind == CheckInKind.POST_INFUSION:
        title = "Your check-in a week after your infusion: how have you been?"
    else:
        title = "Your weekly check-in: how have you been?"
    return CheckInCard(
        check_in=check_in,
        title=title,
        focus_labels=labels,
        asks_bp=check_in.asks_bp,
        closes_at=check_in.closes_at.astimezone(patient.zone),
    )


def focus_first(choices: Sequence[Mapping[str, Any]], card: CheckInCard | None) -> list:
    """The symptom form's choices with a follow-up's focus items first (stable otherwise)."""
    if card is None or not card.check_in.focus_codes:
        return list(choices)
    focus = list(card.check_in.focus_codes)
    rank = {code: position for position, code in enumerate(focus)}
    return sorted(choices, key=lambda choice: rank.get(choice["code"], len(focus)))
