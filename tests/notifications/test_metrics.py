"""/nurse/metrics/ on a scripted history whose figures are worked out by hand below.

The period is Thursday 22 to Tuesday 27 October 2026 (local days). The clocks go back at
01:00 UTC on Sunday 25 October (02:00 BST -> 01:00 GMT), so 07:30 UTC is 08:30 (in hours) on
the Friday but 07:30 (out of hours) on the Monday, and the first local day starts at 23:00
UTC the day before.
"""

import csv
import io
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser

import pytest
import time_machine

from medications.models import CheckIn, SymptomReport
from notifications.models import Alert, AlertKind, AlertOutcome
from tests.factories import PatientFactory

NOW = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)
PERIOD = "first_day=2026-10-22&last_day=2026-10-27"


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 10, day, hour, minute, tzinfo=UTC)


def alert(patient, level, created, *, kind=AlertKind.SYMPTOM, ack=None, resolve=None, **extra):
    """ack / resolve: minutes after `created` (None: never)."""
    due = {"red": timedelta(minutes=30), "amber": timedelta(hours=4)}.get(level)
    status = "resolved" if resolve is not None else "acknowledged" if ack is not None else "open"
    return Alert.objects.create(
        patient=patient,
        care_team=patient.care_team,
        kind=kind,
        level=level,
        status=status,
        created_at=created,
        due_by=created + due if due else extra.pop("due_by"),
        acknowledged_at=None if ack is None else created + timedelta(minutes=ack),
        resolved_at=None if resolve is None else created + timedelta(minutes=resolve),
        **extra,
    )


@pytest.fixture
def history(team, other_team):
    patient = PatientFactory(care_team=team)
    stranger = PatientFactory(care_team=other_team)
    o = AlertOutcome
    # Red (all symptom reports).          local time          ack  resolve
    alert(patient, "red", at(22, 9), ack=10, resolve=40, outcome=o.ADVICE_BY_PHONE)  # Thu 10:00
    alert(patient, "red", at(23, 17, 30), ack=20, resolve=60, outcome=o.SAME_DAY_ASSESSMENT)
    #                                                                  Fri 18:30 BST: evening
    alert(  # Sat 13:00: weekend; acknowledged late (45 min), escalated at 30
        patient,
        "red",
        at(24, 12),
        ack=45,
        resolve=120,
        outcome=o.TOLD_TO_CALL_999,
        escalated_at=at(24, 12, 30),
    )
    # Mon 07:30 GMT (after the change): out of hours; resolved straight from open at 25 min.
    alert(patient, "red", at(26, 7, 30), resolve=25, outcome=o.TREATMENT_HELD)
    # Tue 08:30 GMT: in hours; never acknowledged, deadline long past, escalated.
    alert(patient, "red", at(27, 8, 30), escalated_at=at(27, 9))
    # Amber.
    alert(  # Thu 21:00 BST: evening
        patient,
        "amber",
        at(22, 20),
        kind=AlertKind.MISSED_DOSE,
        ack=180,
        resolve=300,
        outcome=o.NO_ACTION_NEEDED,
    )
    alert(  # Sun 01:30 BST, just before the clocks go back: weekend; late, escalated
        patient,
        "amber",
        at(25, 0, 30),
        kind=AlertKind.SUPPLY,
        ack=300,
        resolve=360,
        outcome=o.ADVICE_BY_PHONE,
        escalated_at=at(25, 4, 30),
    )
    alert(patient, "amber", at(21, 23, 30), ack=60)  # Thu 00:30 BST: the first local day
    alert(patient, "amber", at(27, 16))  # Tue 16:00 GMT: in hours, never acknowledged
    # Green: Sat 10:00 UTC (11:00 BST), due Mon 09:00; acknowledged Mon 09:10 GMT.
    alert(
        patient,
        "green",
        at(24, 10),
        ack=47 * 60 + 10,
        resolve=47 * 60 + 15,
        outcome=o.NO_ACTION_NEEDED,
        due_by=at(26, 9),
    )
    # Outside the period: Wed 23:59 BST and Wed 28 00:00 GMT.
    alert(patient, "red", at(21, 22, 59), ack=5)
    alert(patient, "red", datetime(2026, 10, 28, 0, 0, tzinfo=UTC), ack=5)
    # Another team's alert: admins see it, the nurse does not.
    alert(stranger, "red", at(22, 10))
    # 16 symptom reports in the period, one before it; two of another team's patient.
    for hour in range(16):
        SymptomReport.objects.create(patient=patient, reported_at=at(23, hour, 5))
    SymptomReport.objects.create(patient=patient, reported_at=at(21, 22, 0))
    SymptomReport.objects.create(patient=stranger, reported_at=at(23, 1))
    SymptomReport.objects.create(patient=stranger, reported_at=at(23, 2))
    # Check-ins opened in the period: 3 completed and 1 missed are due (75%); a paused one was
    # not asked and an open one is not counted yet. Not counted either: one that opened the day
    # before the period, one of the other team's patient.
    for n, (status, opens) in enumerate(
        [
            ("completed", at(22, 9)),
            ("completed", at(24, 9)),
            ("completed", at(26, 10)),
            ("missed", at(27, 10)),
            ("paused", at(23, 9)),
            ("open", at(27, 12)),
            ("completed", at(21, 9)),
        ]
    ):
        check_in(patient, n, status, opens)
    check_in(stranger, 99, "completed", at(23, 9))
    return patient


def check_in(patient, n, status, opens):
    CheckIn.objects.create(
        patient=patient,
        kind="weekly",
        source_key=f"test:{patient.pk}:{n}",
        opens_at=opens,
        closes_at=opens + timedelta(hours=72),
        status=status,
    )


class TableReader(HTMLParser):
    """The metrics tables of a page as (table title, row, column, cell text) tuples."""

    def __init__(self):
        super().__init__()
        self.cells, self.table, self.columns, self.row = [], None, [], None
        self.text, self.in_cell, self.col = "", None, 0

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "table" and "data-metrics-table" in attrs:
            self.table, self.columns = "", []
        elif self.table is not None and tag in ("caption", "th", "td"):
            self.in_cell, self.text = (tag, attrs.get("scope")), ""

    def handle_endtag(self, tag):
        if self.table is None:
            return
        if tag == "table":
            self.table = None
        elif tag == "tr":
            self.col = 0
        elif self.in_cell and tag == self.in_cell[0]:
            words = " ".join(self.text.split())
            kind, scope = self.in_cell
            if kind == "caption":
                self.table = words
            elif scope == "col":
                self.columns.append(words)
            elif scope == "row":
                self.row, self.col = words, 1
            else:
                self.cells.append((self.table, self.row, self.columns[self.col], words))
                self.col += 1
            self.in_cell = None

    def handle_data(self, data):
        if self.in_cell:
            self.text += data


def page_cells(html: str) -> dict:
    reader = TableReader()
    reader.feed(html)
    return {(table, row, column): text for table, row, column, text in reader.cells}


@pytest.mark.django_db
@time_machine.travel(NOW, tick=False)
def test_metrics_page_figures_worked_out_by_hand(client, nurse, history):
    client.force_login(nurse)
    response = client.get(f"/nurse/metrics/?{PERIOD}")
    assert response.status_code == 200
    cells = page_cells(response.content.decode())
    got = lambda table, row, column: cells[(table, row, column)]  # noqa: E731

    # 10 alerts of the nurse's team raised on the six local days (not the other team's, not
    # 23:59 BST the day before, not 00:00 GMT the day after; 00:30 BST on the first day is in).
    assert got("Alerts by kind and level", "All kinds", "All levels") == "10"
    assert got("Alerts by kind and level", "All kinds", "Red") == "5"
    assert got("Alerts by kind and level", "All kinds", "Amber") == "4"
    assert got("Alerts by kind and level", "Symptom report", "Amber") == "2"
    assert got("Alerts by kind and level", "Missed dose", "All levels") == "1"
    assert got("Alerts by kind and level", "Ran out of tablets", "Amber") == "1"

    # Red acknowledged at 10, 20, 45 and (resolved straight away) 25 min: sorted 10 20 25 45.
    # Median (20 + 25) / 2 = 22.5 -> "23 min" (half a minute up); 90th percentile: rank
    # 0.9 x 3 = 2.7 -> 25 + 0.7 x (45 - 25) = 39 min.
    t = "Time to acknowledge"
    assert got(t, "Red", "Acknowledged") == "4"
    assert got(t, "Red", "Median") == "23 min"
    assert got(t, "Red", "90th percentile") == "39 min"
    # Amber at 60, 180, 300: median 180 = 3 h; 90th: 180 + 0.8 x 120 = 276 = 4 h 36 min.
    assert got(t, "Amber", "Median") == "3 h 00 min"
    assert got(t, "Amber", "90th percentile") == "4 h 36 min"
    # Green: one alert, acknowledged 47 h 10 min later (over the weekend and the change).
    assert got(t, "Green", "Median") == "47 h 10 min"
    # Red resolved at 25, 40, 60, 120: median 50; 90th: 60 + 0.7 x 60 = 102 = 1 h 42 min.
    r = "Time to resolve"
    assert got(r, "Red", "Median") == "50 min"
    assert got(r, "Red", "90th percentile") == "1 h 42 min"
    # Amber resolved at 300 and 360: median 330 = 5 h 30; 90th 300 + 0.9 x 60 = 354.
    assert got(r, "Amber", "Median") == "5 h 30 min"
    assert got(r, "Amber", "90th percentile") == "5 h 54 min"

    # Within target: red 3 of 5 (the 45-minute one and the never-acknowledged one miss);
    # amber 2 of 4 (300 min and never miss).
    w = "Acknowledged within target"
    assert got(w, "Red (within 30 minutes)", "Alerts due") == "5"
    assert got(w, "Red (within 30 minutes)", "Within target") == "3"
    assert got(w, "Red (within 30 minutes)", "Share") == "60.0%"
    assert got(w, "Amber (within 4 hours)", "Share") == "50.0%"

    assert got("Escalations", "Red", "Escalated") == "2"
    assert got("Escalations", "Red", "Share of alerts") == "40.0%"
    assert got("Escalations", "Amber", "Share of alerts") == "25.0%"
    assert got("Escalations", "All levels", "Share of alerts") == "30.0%"

    # 7 resolved: advice by phone 2 (28.6%), no action 2, three others 1 each (14.3%).
    assert got("Outcomes", "All resolved", "Alerts") == "7"
    assert got("Outcomes", "Advice given by phone", "Share of resolved") == "28.6%"
    assert got("Outcomes", "Treatment held", "Alerts") == "1"
    assert got("Outcomes", "Told to call 999", "Share of resolved") == "14.3%"
    assert got("Outcomes", "Other (see note)", "Alerts") == "0"

    # In hours: Thu 10:00 BST, Tue 08:30 GMT, Tue 16:00 GMT = 3. Weekday evenings and nights:
    # Fri 18:30 BST, Mon 07:30 GMT, Thu 21:00 BST, Thu 00:30 BST = 4. Weekend: Sat 13:00,
    # Sun 01:30 BST, Sat 11:00 = 3. Out of hours 7 of 10.
    h = "When alerts were raised"
    assert got(h, "Weekdays 08:00 to 18:00", "Alerts") == "3"
    assert got(h, "Weekdays 18:00 to 08:00", "Alerts") == "4"
    assert got(h, "Saturdays and Sundays", "Alerts") == "3"
    assert got(h, "Out of hours (evenings, nights, weekends)", "Share") == "70.0%"

    # 8 symptom-report alerts for 16 reports in the period: 50 per 100.
    assert got("Symptom reports", "Symptom reports sent", "Figure") == "16"
    assert got("Symptom reports", "Alerts from symptom reports", "Figure") == "8"
    assert got("Symptom reports", "Alerts per 100 reports", "Figure") == "50.0"

    c = "Check-in completion"
    assert got(c, "Check-ins due", "Figure") == "4"
    assert got(c, "Completed", "Figure") == "3"
    assert got(c, "Completion", "Figure") == "75.0%"

    # A chart per table, each with its title and a description in words.
    html = response.content.decode()
    assert html.count('<svg xmlns="http://www.w3.org/2000/svg" class="nd-chart"') == 9
    assert "7 of 10 alerts (70.0%) were raised out of hours." in html


@pytest.mark.django_db
@time_machine.travel(NOW, tick=False)
def test_csv_says_what_the_page_says(client, nurse, history):
    client.force_login(nurse)
    page = page_cells(client.get(f"/nurse/metrics/?{PERIOD}").content.decode())
    response = client.get(f"/nurse/metrics/metrics.csv?{PERIOD}")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert "advice-line-metrics-2026-10-22-to-2026-10-27.csv" in response["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0][2] == "22 Oct 2026 to 27 Oct 2026 (6 days)"
    assert rows[1] == ["Table", "Row", "Column", "Value", "Number"]
    from_csv = {(t, r, c): value for t, r, c, value, _ in rows[2:]}
    assert len(from_csv) == len(rows) - 2  # no cell twice
    assert from_csv == page
    numbers = {(t, r, c): n for t, r, c, _, n in rows[2:]}
    assert numbers[("Time to acknowledge", "Red", "Median")] == "22.5"
    assert numbers[("Time to acknowledge", "Red", "90th percentile")] == "39.0"
    assert numbers[("Acknowledged within target", "Red (within 30 minutes)", "Share")] == "60.0"


@pytest.mark.django_db
@time_machine.travel(NOW, tick=False)
def test_admin_sees_every_team_and_can_pick_one(client, admin_user, history, team, other_team):
    client.force_login(admin_user)
    cells = page_cells(client.get(f"/nurse/metrics/?{PERIOD}").content.decode())
    assert cells[("Alerts by kind and level", "All kinds", "All levels")] == "11"
    assert cells[("Symptom reports", "Symptom reports sent", "Figure")] == "18"
    assert cells[("Check-in completion", "Check-ins due", "Figure")] == "5"
    one = page_cells(client.get(f"/nurse/metrics/?{PERIOD}&team={other_team.pk}").content.decode())
    assert one[("Alerts by kind and level", "All kinds", "All levels")] == "1"
    assert one[("Symptom reports", "Symptom reports sent", "Figure")] == "2"
    assert one[("Check-in completion", "Completion", "Figure")] == "100.0%"
