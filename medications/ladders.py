"""Dose ladders (drugs.md, "Dose ladders"): which dose levels a drug may be stepped through.

Pure: works on the JSON stored in Drug.dose_ladder, a list of ladders each shaped
    {"applies_when": {} | {"weight_kg_at_least": 60} | {"weight_kg_below": 60},
     "steps": [{"id", "dose_mg", "doses_per_day", "cycle_days_on"?, "cycle_days_off"?,
                "label", "alternative_to"?}, ...],          # highest first
     "below_lowest": "..."}
Lenvatinib has two ladders chosen by body weight; sorafenib's steps change how often the
dose is taken (400 mg twice daily -> 400 mg once daily -> 200 mg once daily).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any


@dataclass(frozen=True)
class Step:
    id: str
    dose_mg: Decimal
    doses_per_day: int
    cycle_days_on: int | None
    cycle_days_off: int | None
    label: str
    alternative_to: str | None = None

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> Step:
        return cls(
            id=str(data.get("id") or data.get("label") or data["dose_mg"]),
            dose_mg=Decimal(str(data["dose_mg"])),
            doses_per_day=int(data.get("doses_per_day") or 1),
            cycle_days_on=data.get("cycle_days_on") or None,
            cycle_days_off=data.get("cycle_days_off") or None,
            label=str(data.get("label") or f"{data['dose_mg']} mg"),
            alternative_to=data.get("alternative_to") or None,
        )

    def matches(
        self,
        dose_mg: Decimal,
        doses_per_day: int,
        cycle_days_on: int | None,
        cycle_days_off: int | None,
    ) -> bool:
        return (
            self.dose_mg == Decimal(dose_mg)
            and self.doses_per_day == doses_per_day
            and (self.cycle_days_on or None) == (cycle_days_on or None)
            and (self.cycle_days_off or None) == (cycle_days_off or None)
        )


def _applies(condition: Mapping[str, Any], weight_kg: Decimal | None) -> bool:
    if not condition:
        return True
    if weight_kg is None:
        return False
    try:
        if "weight_kg_at_least" in condition and not (
            Decimal(weight_kg) >= Decimal(str(condition["weight_kg_at_least"]))
        ):
            return False
        if "weight_kg_below" in condition and not (
            Decimal(weight_kg) < Decimal(str(condition["weight_kg_below"]))
        ):
            return False
    except InvalidOperation:
        return False
    return True


def ladder_for(dose_ladder: Sequence[Mapping[str, Any]], weight_kg: Decimal | None) -> list[Step]:
    """The steps of the ladder that applies to this patient (first matching ladder)."""
    for ladder in dose_ladder or ():
        if _applies(ladder.get("applies_when") or {}, weight_kg):
            return [Step.from_data(step) for step in ladder.get("steps", ())]
    return []


def all_steps(dose_ladder: Sequence[Mapping[str, Any]]) -> list[Step]:
    return [Step.from_data(step) for ladder in dose_ladder or () for step in ladder["steps"]]


def find_step(
    steps: Sequence[Step],
    *,
    dose_mg: Decimal,
    doses_per_day: int,
    cycle_days_on: int | None,
    cycle_days_off: int | None,
) -> Step | None:
    for step in steps:
        if step.matches(dose_mg, doses_per_day, cycle_days_on, cycle_days_off):
            return step
    return None


def resolve_change(
    steps: Sequence[Step],
    *,
    current: Step | None,
    dose_mg: Decimal,
    doses_per_day: int | None = None,
    step_id: str | None = None,
) -> Step | None:
    """The step a dose change asks for, or None when it is off the ladder.

    A bare dose can name more than one step (sorafenib 400 mg is "twice daily", "once daily"
    and "every other day"). A step id or the number of daily times settles it; otherwise
    the nearest step below the current one wins, because a change along a ladder is a
    reduction unless the prescriber says otherwise. Alternative steps (sorafenib's "400 mg
    every other day", an alternative to 200 mg once daily) are only chosen by name or when
    nothing else fits. The current step may come back: the caller treats that as no change.
    """
    candidates = [s for s in steps if s.dose_mg == Decimal(dose_mg)]
    if step_id is not None:
        return next((s for s in candidates if s.id == step_id), None)
    if doses_per_day is not None:
        candidates = [s for s in candidates if s.doses_per_day == doses_per_day]
    if len(candidates) <= 1:
        return candidates[0] if candidates else None
    preferred = [s for s in candidates if not s.alternative_to] or candidates
    if current is not None:
        order = {s.id: i for i, s in enumerate(steps)}
        here = order.get(current.id, -1)
        below = [s for s in preferred if order[s.id] > here]
        if below:
            return below[0]
        if any(s.id == current.id for s in preferred):
            return current
    return preferred[0]
