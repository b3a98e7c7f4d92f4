"""Pure alerting rules, table-driven: deadlines by level, missed-dose levels, back-off."""

from datetime import timedelta

import pytest

from notifications import rules

from .helpers import utc


@pytest.mark.parametrize(
    ("level", "now", "due"),
    [
        ("red", utc(2026, 3, 2, 10), utc(2026, 3, 2, 10, 30)),
        ("amber", utc(2026, 3, 2, 10), utc(2026, 3, 2, 14)),
        ("amber", utc(2026, 3, 6, 22), utc(2026, 3, 7, 2)),  # nights and weekends too
        # Green: 09:00 London on the next working day.
        ("green", utc(2026, 3, 2, 7), utc(2026, 3, 3, 9)),  # Monday 07:00 -> Tuesday
        ("green", utc(2026, 3, 2, 23, 30), utc(2026, 3, 3, 9)),  # Monday night -> Tuesday
        ("green", utc(2026, 3, 6, 10), utc(2026, 3, 9, 9)),  # Friday -> Monday
        ("green", utc(2026, 3, 7, 10), utc(2026, 3, 9, 9)),  # Saturday -> Monday
        ("green", utc(2026, 3, 8, 10), utc(2026, 3, 9, 9)),  # Sunday -> Monday
        # Summer time: 09:00 BST is 08:00 UTC.
        ("green", utc(2026, 6, 1, 12), utc(2026, 6, 2, 8)),
        # The clocks go forward on Sunday 29 March 2026: Friday 27th -> Monday 30th 08:00 UTC.
        ("green", utc(2026, 3, 27, 12), utc(2026, 3, 30, 8)),
        # 23:30 UTC on a summer Monday is already Tuesday in London -> Wednesday.
        ("green", utc(2026, 6, 1, 23, 30), utc(2026, 6, 3, 8)),
    ],
)
def test_due_by(level, now, due):
    assert rules.due_by_for(level, now) == due


@pytest.mark.parametrize(
    ("missed", "consecutive", "taken", "expected", "level", "codes"),
    [
        (1, False, 13, 14, "green", ["missed_dose"]),
        (1, False, 12, 14, "green", ["missed_dose"]),  # 85.7%
        (1, False, 4, 5, "green", ["missed_dose"]),  # exactly 80% is not below 80%
        (1, False, 79, 100, "amber", ["missed_dose", "low_adherence_7d"]),
        (1, False, 0, 1, "amber", ["missed_dose", "low_adherence_7d"]),  # first dose missed
        (1, True, 13, 14, "amber", ["missed_dose", "consecutive_missed_doses"]),
        (2, True, 2, 6, "amber", ["missed_dose", "consecutive_missed_doses", "low_adherence_7d"]),
        (1, False, 0, 0, "green", ["missed_dose"]),  # nothing expected: no percentage
    ],
)
def test_missed_dose_level(missed, consecutive, taken, expected, level, codes):
    result = rules.assess_missed_doses(
        newly_missed=missed, consecutive_missed=consecutive, taken_7d=taken, expected_7d=expected
    )
    assert result.level == level
    assert [r["code"] for r in result.reasons] == codes
    assert all(r["level"] in ("green", "amber") for r in result.reasons)


@pytest.mark.parametrize(
    ("attempts", "delay"),
    [
        (1, timedelta(seconds=30)),
        (2, timedelta(minutes=2)),
        (3, timedelta(minutes=10)),
        (4, timedelta(minutes=30)),
        (5, timedelta(hours=1)),
        (9, timedelta(hours=1)),  # capped
    ],
)
def test_retry_delay(attempts, delay):
    assert rules.retry_delay(attempts) == delay


def test_gives_up_after_the_last_attempt():
    assert not rules.gives_up(rules.MAX_DELIVERY_ATTEMPTS - 1)
    assert rules.gives_up(rules.MAX_DELIVERY_ATTEMPTS)


@pytest.mark.parametrize(
    ("a", "b", "higher"),
    [("green", "amber", "amber"), ("red", "amber", "red"), ("amber", "amber", "amber")],
)
def test_the_higher_level_wins(a, b, higher):
    assert rules.higher_level(a, b) == higher == rules.higher_level(b, a)


def test_only_red_and_amber_escalate():
    assert [lvl for lvl in rules.LEVELS if rules.escalates(lvl)] == ["amber", "red"]
