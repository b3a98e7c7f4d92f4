"""The pure rules of scheduled check-ins (clinical/checkins.md), table-driven: when they
open (10:00 local, across daylight saving), chase, close and miss; what two misses mean;
follow-up focus and end; blood pressure by week."""

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from medications.symptoms import check_in_rules as rules

LONDON = ZoneInfo("Europe/London")
NEW_YORK = ZoneInfo("America/New_York")


def utc(*args):
    return datetime(*args, tzinfo=UTC)


@pytest.mark.parametrize(
    ("after", "weekday", "zone", "opens"),
    [
        # Monday 2 March 2026 09:00 UTC (GMT): Monday's 10:00 is still ahead.
        (utc(2026, 3, 2, 9), 0, LONDON, utc(2026, 3, 2, 10)),
        (utc(2026, 3, 2, 10), 0, LONDON, utc(2026, 3, 2, 10)),  # at the moment itself
        (utc(2026, 3, 2, 10, 1), 0, LONDON, utc(2026, 3, 9, 10)),  # just missed: next week
        (utc(2026, 3, 2, 9), 3, LONDON, utc(2026, 3, 5, 10)),  # Thursday
        # Clocks go forward on Sunday 29 March: 10:00 BST is 09:00 UTC.
        (utc(2026, 3, 24, 12), 0, LONDON, utc(2026, 3, 30, 9)),
        # ... and back on Sunday 25 October: 10:00 GMT is 10:00 UTC again.
        (utc(2026, 10, 20, 12), 0, LONDON, utc(2026, 10, 26, 10)),
        # Another zone: 10:00 in New York (EST, UTC-5).
        (utc(2026, 3, 2, 9), 0, NEW_YORK, utc(2026, 3, 2, 15)),
        # Late Sunday evening in New York is already Monday in UTC: the local day counts.
        (utc(2026, 3, 2, 3), 6, NEW_YORK, utc(2026, 3, 8, 14)),  # 8 March: EDT, UTC-4
    ],
)
def test_weekly_opening_is_10_local_on_the_weekday(after, weekday, zone, opens):
    assert rules.weekly_opening(after, weekday, zone) == opens


@pytest.mark.parametrize(
    ("given_at", "opens"),
    [
        (utc(2026, 3, 2, 14), utc(2026, 3, 9, 10)),
        (utc(2026, 3, 23, 23, 30), utc(2026, 3, 30, 9)),  # given 23:30 GMT; day 7 is BST
    ],
)
def test_post_infusion_check_in_opens_on_day_7_at_10(given_at, opens):
    assert rules.post_infusion_opening(given_at, LONDON) == opens


OPEN = utc(2026, 3, 2, 10)


@pytest.mark.parametrize(
    ("reminders_sent", "reminder_at", "look_at"),
    [
        (0, OPEN, OPEN),  # a reminder when it opens
        (1, OPEN + timedelta(hours=24), OPEN + timedelta(hours=24)),  # chased at +24 h
        (2, None, OPEN + timedelta(hours=72)),  # then nothing until it is missed at 72 h
    ],
)
def test_chasing_then_missing(reminders_sent, reminder_at, look_at):
    assert rules.next_reminder_at(OPEN, reminders_sent) == reminder_at
    assert rules.next_look_at(OPEN, reminders_sent) == look_at
    assert rules.closes_at(OPEN) == OPEN + timedelta(hours=72)


@pytest.mark.parametrize(
    ("outcomes", "level"),
    [
        (["missed"], "green"),
        (["missed", "completed"], "green"),
        (["missed", "missed"], "amber"),  # two in a row: no contact for two weeks
        (["missed", "missed", "completed"], "amber"),
        (["completed", "missed"], "green"),
        ([], "green"),
    ],
)
def test_missed_alert_level(outcomes, level):
    assert rules.missed_alert_level(outcomes) == level


GRADED = ["diarrhoea", "rash", "fatigue", "hand_foot"]


@pytest.mark.parametrize(
    ("item_levels", "focus"),
    [
        ({"diarrhoea": "amber", "fatigue": "green"}, ["diarrhoea"]),
        ({"diarrhoea": "red"}, ["diarrhoea"]),  # raised to red by a combination rule
        ({"chest_pain": "red", "blood_pressure": "amber"}, []),  # not graded symptoms
        ({"rash": "green"}, []),
    ],
)
def test_follow_up_focus_is_the_items_that_were_amber(item_levels, focus):
    assert rules.follow_up_focus(item_levels, GRADED) == focus


@pytest.mark.parametrize(
    ("focus", "grades", "still"),
    [
        (["diarrhoea"], {"diarrhoea": 2}, ["diarrhoea"]),  # still amber: another follow-up
        (["diarrhoea"], {"diarrhoea": 1}, []),  # grade 1: the follow-ups end
        (["diarrhoea"], {}, []),  # not reported: grade 0
        (["diarrhoea", "rash"], {"diarrhoea": 3, "rash": 1}, ["diarrhoea"]),
    ],
)
def test_follow_ups_continue_until_the_items_are_grade_1_or_less(focus, grades, still):
    assert rules.follow_up_still_open(focus, grades) == still


@pytest.mark.parametrize(
    ("week", "asked"),
    [(1, True), (2, False), (3, True), (4, False), (5, True), (7, True), (8, False)]
    + [(9, False), (10, False), (11, True), (12, False), (15, True), (19, True), (0, False)],
)
def test_lenvatinib_blood_pressure_weeks(week, asked):
    assert rules.lenvatinib_bp_week(week) is asked


START = date(2026, 3, 2)


@pytest.mark.parametrize(
    ("monitor", "lenvatinib_start", "on", "bevacizumab_soon", "asked"),
    [
        (True, START, START + timedelta(days=3), False, True),  # week 1
        (True, START, START + timedelta(days=8), False, False),  # week 2
        (False, START, START + timedelta(days=3), False, False),  # no home monitor
        (True, None, START, True, True),  # the check-in before a bevacizumab infusion
        (True, None, START, False, False),
        (False, None, START, True, False),
    ],
)
def test_asks_bp(monitor, lenvatinib_start, on, bevacizumab_soon, asked):
    assert (
        rules.asks_bp(
            has_monitor=monitor,
            lenvatinib_start=lenvatinib_start,
            on=on,
            bevacizumab_infusion_within_7_days=bevacizumab_soon,
        )
        is asked
    )
