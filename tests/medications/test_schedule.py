"""Schedule expansion (medications/schedule.py): pure, table-driven, no database."""

import importlib
from datetime import UTC, date, datetime, time
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from medications import schedule
from medications.schedule import Hold, LateWindow, Plan, Regimen, expand

LONDON = ZoneInfo("Europe/London")
NEW_YORK = ZoneInfo("America/New_York")
CATALOGUE = {
    d["code"]: d
    for d in importlib.import_module("medications.migrations.0002_drug_catalogue").CATALOGUE
}


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def local(text: str, zone=LONDON) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=zone)


SIX_HOURS = LateWindow("hours", Decimal(6))


def regimen(times=("08:00", "20:00"), dose="400", at="2000-01-01T00:00", **cycle) -> Regimen:
    return Regimen(
        effective_at=utc(at),
        dose_mg=Decimal(dose),
        times=tuple(schedule.parse_time(t) for t in times),
        **cycle,
    )


def make_plan(
    *,
    regimens=None,
    start=date(2026, 3, 2),
    recorded_at=None,
    zone=LONDON,
    window=SIX_HOURS,
    end=None,
    stopped_at=None,
    holds=(),
) -> Plan:
    return Plan(
        zone=zone,
        start_date=start,
        recorded_at=recorded_at or datetime.combine(start, time(0), tzinfo=zone),
        regimens=regimens or [regimen()],
        late_window=window,
        end_date=end,
        stopped_at=stopped_at,
        holds=holds,
    )


def dues(doses) -> list[str]:
    return [d.due_at.strftime("%Y-%m-%d %H:%M") for d in doses]


CASES = [
    # (id, plan, since, until, expected due times in UTC)
    (
        "twice daily, winter (GMT = UTC)",
        make_plan(),
        utc("2026-03-02T00:00"),
        utc("2026-03-04T00:00"),
        ["2026-03-02 08:00", "2026-03-02 20:00", "2026-03-03 08:00", "2026-03-03 20:00"],
    ),
    (
        "once daily",
        make_plan(regimens=[regimen(times=("09:30",))]),
        utc("2026-03-02T00:00"),
        utc("2026-03-05T00:00"),
        ["2026-03-02 09:30", "2026-03-03 09:30", "2026-03-04 09:30"],
    ),
    (
        "summer time: 08:00 local is 07:00 UTC",
        make_plan(regimens=[regimen(times=("08:00",))], start=date(2026, 6, 1)),
        utc("2026-06-01T00:00"),
        utc("2026-06-03T00:00"),
        ["2026-06-01 07:00", "2026-06-02 07:00"],
    ),
    (
        "start part-way through a day: only the evening dose on day one",
        make_plan(recorded_at=local("2026-03-02T14:00")),
        utc("2026-03-02T00:00"),
        utc("2026-03-03T12:00"),
        ["2026-03-02 20:00", "2026-03-03 08:00"],
    ),
    (
        "recorded exactly at a due time: that dose is expected",
        make_plan(recorded_at=local("2026-03-02T08:00")),
        utc("2026-03-01T00:00"),
        utc("2026-03-02T21:00"),
        ["2026-03-02 08:00", "2026-03-02 20:00"],
    ),
    (
        "start date in the past: no backlog before the prescription was recorded",
        make_plan(start=date(2026, 2, 1), recorded_at=local("2026-03-02T09:00")),
        utc("2026-02-01T00:00"),
        utc("2026-03-03T00:00"),
        ["2026-03-02 20:00"],
    ),
    (
        "clocks go forward (London, Sun 29 March 2026): 08:00 stays 08:00 local",
        make_plan(regimens=[regimen(times=("08:00",))], start=date(2026, 3, 28)),
        utc("2026-03-28T00:00"),
        utc("2026-03-31T00:00"),
        ["2026-03-28 08:00", "2026-03-29 07:00", "2026-03-30 07:00"],
    ),
    (
        "clocks go back (London, Sun 25 October 2026): 08:00 stays 08:00 local",
        make_plan(regimens=[regimen(times=("08:00", "20:00"))], start=date(2026, 10, 24)),
        utc("2026-10-24T00:00"),
        utc("2026-10-26T00:00"),
        ["2026-10-24 07:00", "2026-10-24 19:00", "2026-10-25 08:00", "2026-10-25 20:00"],
    ),
    (
        "a time that does not exist (01:30 on 29 March) is taken an hour later on the clock",
        make_plan(regimens=[regimen(times=("01:30",))], start=date(2026, 3, 28)),
        utc("2026-03-28T00:00"),
        utc("2026-03-30T12:00"),
        ["2026-03-28 01:30", "2026-03-29 01:30", "2026-03-30 00:30"],
    ),
    (
        "a time that happens twice (01:30 on 25 October) is the first one",
        make_plan(regimens=[regimen(times=("01:30",))], start=date(2026, 10, 25)),
        utc("2026-10-24T00:00"),
        utc("2026-10-26T12:00"),
        ["2026-10-25 00:30", "2026-10-26 01:30"],
    ),
    (
        "end date: the last day's doses are included, none after",
        make_plan(end=date(2026, 3, 3)),
        utc("2026-03-02T00:00"),
        utc("2026-03-10T00:00"),
        ["2026-03-02 08:00", "2026-03-02 20:00", "2026-03-03 08:00", "2026-03-03 20:00"],
    ),
    (
        "stopped: nothing from the stop on",
        make_plan(stopped_at=utc("2026-03-03T08:00")),
        utc("2026-03-02T00:00"),
        utc("2026-03-10T00:00"),
        ["2026-03-02 08:00", "2026-03-02 20:00"],
    ),
    (
        "New York patient: times are New York times",
        make_plan(regimens=[regimen(times=("09:00",))], zone=NEW_YORK, start=date(2026, 1, 5)),
        utc("2026-01-05T00:00"),
        utc("2026-01-07T00:00"),
        ["2026-01-05 14:00", "2026-01-06 14:00"],
    ),
    (
        "New York changes clocks on 8 March 2026, London three weeks later",
        make_plan(regimens=[regimen(times=("09:00",))], zone=NEW_YORK, start=date(2026, 3, 7)),
        utc("2026-03-07T00:00"),
        utc("2026-03-10T00:00"),
        ["2026-03-07 14:00", "2026-03-08 13:00", "2026-03-09 13:00"],
    ),
    (
        "every other day (cycle 1 on, 1 off) from the cycle start",
        make_plan(
            regimens=[regimen(times=("08:00",), cycle_days_on=1, cycle_days_off=1)],
            start=date(2026, 3, 2),
        ),
        utc("2026-03-02T00:00"),
        utc("2026-03-08T00:00"),
        ["2026-03-02 08:00", "2026-03-04 08:00", "2026-03-06 08:00"],
    ),
]


@pytest.mark.parametrize(
    ("plan", "since", "until", "expected"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_expansion(plan, since, until, expected):
    assert dues(expand(plan, since=since, until=until)) == expected


def test_21_7_cycles_over_three_cycles():
    # Regorafenib: days 1-21 of each 28-day cycle, then 7 days off.
    plan = make_plan(
        regimens=[regimen(times=("09:00",), dose="160", cycle_days_on=21, cycle_days_off=7)],
        start=date(2026, 1, 5),
        window=LateWindow("same_day"),
    )
    doses = expand(plan, since=utc("2026-01-01T00:00"), until=utc("2026-04-01T00:00"))
    days = [d.due_at.date() for d in doses]
    # 5 Jan + 84 days = 30 Mar: three whole cycles, then cycle 4 starts on 30 Mar.
    assert len([d for d in days if d < date(2026, 3, 30)]) == 63
    assert days[0] == date(2026, 1, 5)
    assert days[20] == date(2026, 1, 25)  # day 21 of cycle 1
    assert days[21] == date(2026, 2, 2)  # day 1 of cycle 2 (26 Jan - 1 Feb off)
    for off_day in range(26, 32):
        assert date(2026, 1, off_day) not in days
    assert date(2026, 2, 1) not in days
    assert date(2026, 2, 22) in days and date(2026, 2, 23) not in days  # cycle 2: day 21, 22
    assert date(2026, 3, 1) not in days and date(2026, 3, 2) in days  # cycle 3 starts 2 Mar
    assert date(2026, 3, 22) in days and date(2026, 3, 29) not in days
    assert days[-2:] == [date(2026, 3, 30), date(2026, 3, 31)]  # cycle 4 begins
    assert all(d.dose_mg == Decimal("160") for d in doses)


def test_cycle_counts_from_the_start_date_even_if_recorded_later():
    plan = make_plan(
        regimens=[regimen(times=("09:00",), cycle_days_on=21, cycle_days_off=7)],
        start=date(2026, 1, 5),
        recorded_at=local("2026-01-27T12:00"),  # day 23: an off day
    )
    doses = expand(plan, since=utc("2026-01-01T00:00"), until=utc("2026-02-04T00:00"))
    assert dues(doses) == ["2026-02-02 09:00", "2026-02-03 09:00"]


def test_hold_makes_doses_inside_it_held_and_no_others():
    plan = make_plan(holds=[Hold(utc("2026-03-03T12:00"), utc("2026-03-04T12:00"))])
    doses = expand(plan, since=utc("2026-03-03T00:00"), until=utc("2026-03-05T00:00"))
    assert [(d.due_at.strftime("%d %H:%M"), d.held) for d in doses] == [
        ("03 08:00", False),
        ("03 20:00", True),
        ("04 08:00", True),
        ("04 20:00", False),
    ]


def test_open_ended_hold_holds_everything_after_it():
    plan = make_plan(holds=[Hold(utc("2026-03-03T00:00"))])
    doses = expand(plan, since=utc("2026-03-02T00:00"), until=utc("2026-03-06T00:00"))
    assert [d.held for d in doses] == [False, False] + [True] * 6


def test_dose_change_applies_from_its_effective_time():
    # Sorafenib 400 mg twice daily -> 400 mg once daily from 4 March 10:00 (ladder step 2),
    # then 200 mg once daily from 6 March 00:00 (step 3).
    plan = make_plan(
        regimens=[
            regimen(),
            regimen(times=("08:00",), dose="400", at="2026-03-04T10:00"),
            regimen(times=("08:00",), dose="200", at="2026-03-06T00:00"),
        ]
    )
    doses = expand(plan, since=utc("2026-03-04T00:00"), until=utc("2026-03-07T00:00"))
    assert [(d.due_at.strftime("%d %H:%M"), str(d.dose_mg)) for d in doses] == [
        ("04 08:00", "400"),  # before the change: still twice daily
        ("05 08:00", "400"),  # the 20:00 doses are gone
        ("06 08:00", "200"),
    ]


def test_dose_change_to_every_other_day_counts_from_its_own_cycle_start():
    plan = make_plan(
        regimens=[
            regimen(times=("08:00",), dose="4"),
            regimen(
                times=("08:00",),
                dose="4",
                at="2026-03-05T00:00",
                cycle_days_on=1,
                cycle_days_off=1,
                cycle_start=date(2026, 3, 5),
            ),
        ]
    )
    doses = expand(plan, since=utc("2026-03-03T00:00"), until=utc("2026-03-10T00:00"))
    assert [d.due_at.day for d in doses] == [3, 4, 5, 7, 9]


def test_since_and_until_bound_the_window_half_open():
    plan = make_plan()
    doses = expand(plan, since=utc("2026-03-02T08:00"), until=utc("2026-03-03T08:00"))
    assert dues(doses) == ["2026-03-02 08:00", "2026-03-02 20:00"]


@pytest.mark.parametrize("bad", ["8:00", "24:00", "08:60", "0800", "08:00:00", "", "noon", None, 8])
def test_times_must_be_hh_mm(bad):
    with pytest.raises(ValueError, match="HH:MM"):
        schedule.parse_time(bad)


# --- late windows: every drug, from the catalogue data -------------------------------------------

LATE_WINDOW_CASES = [
    # drug, zone, due (local), window closes (local)
    ("sorafenib", LONDON, "2026-03-02T08:00", "2026-03-02T14:00"),
    ("sorafenib", LONDON, "2026-03-02T20:00", "2026-03-03T02:00"),
    ("lenvatinib", LONDON, "2026-03-02T09:00", "2026-03-02T21:00"),
    ("cabozantinib", LONDON, "2026-03-02T22:00", "2026-03-03T10:00"),
    ("regorafenib", LONDON, "2026-03-02T09:00", "2026-03-03T00:00"),
    ("regorafenib", LONDON, "2026-03-02T23:30", "2026-03-03T00:00"),
    # regorafenib's "same calendar day" is the patient's day, not the server's:
    ("regorafenib", NEW_YORK, "2026-01-05T09:00", "2026-01-06T00:00"),
    ("regorafenib", NEW_YORK, "2026-01-05T21:00", "2026-01-06T00:00"),
    ("regorafenib", NEW_YORK, "2026-07-06T09:00", "2026-07-07T00:00"),
    # hours are elapsed hours: 6 h after 00:30 GMT on 29 March is 07:30 BST
    ("sorafenib", LONDON, "2026-03-29T00:30", "2026-03-29T07:30"),
    ("lenvatinib", LONDON, "2026-10-25T00:30", "2026-10-25T11:30"),
]


@pytest.mark.parametrize(("code", "zone", "due", "closes"), LATE_WINDOW_CASES)
def test_each_drug_late_window(code, zone, due, closes):
    entry = CATALOGUE[code]
    hours = entry["late_window_hours"]
    window = LateWindow(entry["late_window_rule"], Decimal(hours) if hours else None)
    closes_at = window.closes_at(local(due, zone).astimezone(UTC), zone)
    assert closes_at == local(closes, zone).astimezone(UTC)
    assert closes_at.tzinfo == UTC


def test_regorafenib_new_york_window_in_utc():
    # 09:00 EST on 5 Jan is 14:00 UTC; the window closes at New York midnight, 05:00 UTC.
    window = LateWindow("same_day")
    assert window.closes_at(utc("2026-01-05T14:00"), NEW_YORK) == utc("2026-01-06T05:00")
    # The server's (London) day would have closed it at 00:00 UTC: not the rule.
    assert window.closes_at(utc("2026-01-05T14:00"), LONDON) == utc("2026-01-06T00:00")


def test_planned_doses_carry_their_late_window():
    plan = make_plan(window=LateWindow("hours", Decimal(12)), regimens=[regimen(times=("09:00",))])
    (dose,) = expand(plan, since=utc("2026-03-02T00:00"), until=utc("2026-03-03T00:00"))
    assert dose.late_until == utc("2026-03-02T21:00")


def test_every_oral_drug_has_a_usable_late_window_and_infusions_none():
    for entry in CATALOGUE.values():
        if entry["route"] == "oral":
            hours = entry["late_window_hours"]
            LateWindow(entry["late_window_rule"], Decimal(hours) if hours else None)
        else:
            assert entry["late_window_hours"] is None


def test_bad_late_window_data_is_refused():
    with pytest.raises(ValueError):
        LateWindow("hours", None)
    with pytest.raises(ValueError):
        LateWindow("next_week")


def test_naive_bounds_are_refused():
    with pytest.raises(ValueError):
        expand(make_plan(), since=datetime(2026, 3, 2), until=utc("2026-03-03T00:00"))
