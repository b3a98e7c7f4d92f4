"""The missed-dose sweep's batch in one PostgreSQL statement (docs/benchmarks.md, benchmark 1).

`UPDATE ... RETURNING` marks the claimed doses missed; in the same statement the
prescriptions' consecutive misses and 7-day adherence are read (the doses just marked count
as missed), each prescription is graded, new alerts are inserted (`ON CONFLICT DO NOTHING`)
with their "created" events and their outbox rows, and the statement answers the new alerts,
the outbox rows to enqueue, and the graded problems whose alert already exists (merged by
`_alerts_raise`, as before). A new alert whose team has no channel at all is left to
`outbox._deliveries_create`, which gives the team its fallback e-mail channel.

The grading is the one of `notifications.rules.assess_missed_doses`: the thresholds and the
reasons' words come from rules.py (`rules.MISSED_DOSE_RULES`), and
tests/notifications/test_missed_dose_sql.py proves the SQL and the Python agree on a table
of cases. SQLite keeps the Python path (sources.py).
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import NamedTuple

from django.db import connection

from medications.models import DoseState

from .. import rules
from ..models import (
    AlertEventKind,
    AlertKind,
    AlertStatus,
    ChannelPurpose,
    DeliveryPurpose,
    DeliveryStatus,
)
from .alerts import MISSED_DOSE_KEY


def _format_sql(template: str, **args: str) -> str:
    """A rules.py sentence ("{taken}/{expected}") as a PostgreSQL format() call (in a
    statement executed with parameters)."""
    names = re.findall(r"\{(\w+)\}", template)
    # Doubled for psycopg's placeholders: "%%%%" reaches PostgreSQL as "%%" (a literal % in
    # format()), "%%s" as "%s".
    literal = template.replace("%", "%%%%").replace("'", "''")
    literal = re.sub(r"\{\w+\}", "%%s", literal)
    return f"format('{literal}', {', '.join(args[n] for n in names)})" if names else f"'{literal}'"


def iso_sql(column: str) -> str:
    """notifications.services.common._iso in SQL: UTC, 'Z', microseconds only if any."""
    utc = f"({column} AT TIME ZONE 'UTC')"
    return (
        f"(to_char({utc}, 'YYYY-MM-DD\"T\"HH24:MI:SS') || CASE WHEN "
        f"date_part('microseconds', {utc})::int %% 1000000 <> 0 "
        f"THEN to_char({utc}, '.US') ELSE '' END || 'Z')"
    )


def grade_sql(*, n: str, consecutive: str, taken: str, expected: str) -> dict[str, str]:
    """SQL expressions for the level, reasons (jsonb) and percent of a prescription's
    missed-dose alert, over columns holding rules.assess_missed_doses' four inputs."""
    low = (
        f"({expected} > 0 AND 100 * {taken} < {int(rules.ADHERENCE_AMBER_BELOW_PERCENT)} "
        f"* {expected})"
    )
    percent = f"(CASE WHEN {expected} > 0 THEN (100 * {taken}) / {expected} END)"
    texts = rules.MISSED_DOSE_RULES

    def reason(code: str, level: str, text: str) -> str:
        pairs = f"'code', '{code}', 'level', '{level}', 'rule', {text}"
        return f"jsonb_build_array(jsonb_build_object({pairs}))"

    below = str(int(rules.ADHERENCE_AMBER_BELOW_PERCENT))
    reasons = (
        reason(
            "missed_dose",
            "green",
            f"CASE WHEN {n} = 1 THEN {_format_sql(texts['missed_one'])} "
            f"ELSE {_format_sql(texts['missed_many'], n=n)} END",
        )
        + f" || CASE WHEN {consecutive} THEN "
        + reason(
            "consecutive_missed_doses",
            "amber",
            _format_sql(texts["consecutive"], consecutive=str(rules.CONSECUTIVE_MISSES_AMBER)),
        )
        + " ELSE '[]'::jsonb END"
        + f" || CASE WHEN {low} THEN "
        + reason(
            "low_adherence_7d",
            "amber",
            _format_sql(
                texts["low_adherence"],
                taken=taken,
                expected=expected,
                percent=percent,
                below=f"'{below}'",
            ),
        )
        + " ELSE '[]'::jsonb END"
    )
    level = f"(CASE WHEN {consecutive} OR {low} THEN 'amber' ELSE 'green' END)"
    return {"level": level, "reasons": f"({reasons})", "percent": percent}


def _statement() -> str:
    grade = grade_sql(n="g.n", consecutive="g.consecutive", taken="g.taken", expected="g.expected")
    key_prefix = MISSED_DOSE_KEY.format("")
    levels = ", ".join(f"'{level}'" for level in rules.LEVELS)

    def rank(column: str) -> str:  # rules.LEVEL_RANK in SQL
        return f"array_position(ARRAY[{levels}]::text[], {column}::text)"

    # Only constants of this code are formatted in; every value is a parameter.
    return f"""
WITH claimed AS (
    -- A batch of overdue doses, locked; rows another process holds (a sweep running at the
    -- same time, a dose being logged) are skipped.
    SELECT id FROM medications_expecteddose
    WHERE state = '{DoseState.PENDING}' AND late_until <= %(now)s
    ORDER BY late_until, id
    LIMIT %(limit)s
    FOR UPDATE SKIP LOCKED
), marked AS (
    UPDATE medications_expecteddose SET state = '{DoseState.MISSED}', state_changed_at = %(now)s
    WHERE id IN (SELECT id FROM claimed) AND state = '{DoseState.PENDING}'
      AND late_until <= %(now)s
    RETURNING id, prescription_id, due_at
), rx AS (
    SELECT m.prescription_id AS pid, p.patient_id, pt.care_team_id, p.drug_id,
           count(*) AS n, max(m.due_at) AS last_due,
           jsonb_agg(jsonb_build_object(
               'dose_id', m.id, 'due_at', {iso_sql("m.due_at")},
               'local', to_char(m.due_at AT TIME ZONE pt.timezone, 'YYYY-MM-DD HH24:MI'))
               ORDER BY m.due_at, m.id) AS missed
    FROM marked m
    JOIN medications_prescription p ON p.id = m.prescription_id
    JOIN patients_patient pt ON pt.id = p.patient_id
    GROUP BY m.prescription_id, p.patient_id, pt.care_team_id, p.drug_id
), history AS (
    -- One pass over the prescriptions' closed doses of the lookback (the doses just marked
    -- count as missed): 7-day adherence, and the states of the most recent ones.
    SELECT r.pid,
           count(*) FILTER (WHERE r.due_at > %(since_adherence)s) AS expected,
           count(*) FILTER (
               WHERE r.due_at > %(since_adherence)s
                 AND r.state IN ('{DoseState.TAKEN}', '{DoseState.TAKEN_LATE}')) AS taken,
           (array_agg(r.state ORDER BY r.due_at DESC, r.id DESC))[1:%(consecutive)s] AS latest
    FROM (
        SELECT d.prescription_id AS pid, d.id, d.due_at,
               CASE WHEN mk.id IS NOT NULL THEN '{DoseState.MISSED}' ELSE d.state END AS state
        FROM medications_expecteddose d
        LEFT JOIN marked mk ON mk.id = d.id
        WHERE d.prescription_id IN (SELECT pid FROM rx)
          AND d.due_at > %(since_consecutive)s AND d.due_at <= %(now)s
          AND (mk.id IS NOT NULL OR d.state NOT IN ('{DoseState.HELD}', '{DoseState.PENDING}'))
    ) r
    GROUP BY r.pid
), graded AS (
    SELECT rx.pid, rx.n, rx.missed, rx.last_due, rx.patient_id, rx.care_team_id,
           d.name AS drug_name,
           coalesce(cardinality(array_positions(h.latest, '{DoseState.MISSED}'::varchar))
                    >= %(consecutive)s, false) AS consecutive,
           coalesce(h.taken, 0) AS taken, coalesce(h.expected, 0) AS expected
    FROM rx
    JOIN medications_drug d ON d.id = rx.drug_id
    LEFT JOIN history h ON h.pid = rx.pid
), specs AS (
    SELECT g.pid, g.patient_id, g.care_team_id, g.n,
           '{key_prefix}' || g.pid AS dedup_key,
           {grade["level"]} AS level, {grade["reasons"]} AS reasons,
           left('Missed ' || g.drug_name || ' dose', 300) AS summary,
           jsonb_build_object(
               'missed', g.missed,
               'last_missed_due_at', {iso_sql("g.last_due")},
               'adherence_7d', jsonb_build_object(
                   'taken', g.taken, 'expected', g.expected, 'percent', {grade["percent"]})
           ) AS details
    FROM graded g
), inserted AS (
    INSERT INTO notifications_alert
        (patient_id, care_team_id, kind, level, status, reasons, summary, dedup_key,
         prescription_id, occurrences, details, created_at, updated_at, due_by,
         outcome, resolution_note)
    SELECT patient_id, care_team_id, '{AlertKind.MISSED_DOSE}', level, '{AlertStatus.OPEN}',
           reasons, summary, dedup_key, pid, n, details, %(now)s, %(now)s,
           CASE level WHEN 'amber' THEN %(due_amber)s ELSE %(due_green)s END, '', ''
    FROM specs
    ORDER BY dedup_key
    ON CONFLICT (dedup_key) DO NOTHING
    RETURNING id, dedup_key, level, care_team_id, reasons, occurrences, due_by
), events AS (
    INSERT INTO notifications_alertevent (alert_id, at, kind, data)
    SELECT i.id, %(now)s, '{AlertEventKind.CREATED}', jsonb_build_object(
        'level', i.level, 'kind', '{AlertKind.MISSED_DOSE}',
        'reasons', jsonb_path_query_array(i.reasons, '$[*].code'),
        'occurrences', i.occurrences, 'due_by', {iso_sql("i.due_by")})
    FROM inserted i
), channels AS (
    SELECT c.id, c.care_team_id, {rank("c.min_level")} AS min_rank
    FROM notifications_channel c
    WHERE c.care_team_id IN (SELECT care_team_id FROM inserted) AND c.is_active
      AND c.purpose IN ('{ChannelPurpose.ALERTS}', '{ChannelPurpose.BOTH}')
), delivered AS (
    INSERT INTO notifications_delivery
        (alert_id, channel_id, purpose, status, attempts, next_attempt_at, last_error,
         created_at)
    SELECT i.id, c.id, '{DeliveryPurpose.ALERT}', '{DeliveryStatus.PENDING}', 0, %(now)s, '',
           %(now)s
    FROM inserted i JOIN channels c ON c.care_team_id = i.care_team_id
    WHERE {rank("i.level")} >= c.min_rank
    ORDER BY i.id, c.id
    ON CONFLICT (alert_id, channel_id, purpose) WHERE alert_id IS NOT NULL DO NOTHING
    RETURNING id
)
SELECT 'existing', s.pid, s.care_team_id, s.level, s.n, s.patient_id, s.dedup_key,
       s.reasons::text, s.details::text, s.summary, NULL::boolean
FROM specs s
WHERE NOT EXISTS (SELECT FROM inserted i WHERE i.dedup_key = s.dedup_key)
UNION ALL
SELECT 'claimed', count(*), NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL
FROM claimed
UNION ALL
SELECT 'created', i.id, i.care_team_id, i.level, i.occurrences, NULL, NULL, NULL, NULL, NULL,
       NOT EXISTS (SELECT FROM notifications_channel c WHERE c.care_team_id = i.care_team_id)
FROM inserted i
UNION ALL
SELECT 'delivery', d.id, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL
FROM delivered d
"""  # noqa: S608


_SQL: str | None = None


class Marked(NamedTuple):
    """What one batch's statement did and left to do."""

    # Overdue doses claimed (and marked missed)
    claimed: int
    # New alerts: (id, care_team_id, level, doses missed)
    created: list[tuple[int, int, str, int]]
    # New alerts whose team has no channel at all (the outbox gives it its fallback channel)
    without_channels: list[tuple[int, int, str, int]]
    # Outbox rows written for the new alerts
    delivery_ids: list[int]
    # Graded problems whose alert exists: (prescription_id, care_team_id, level, doses
    # missed, patient_id, dedup_key, reasons json, details json, summary)
    existing: list[tuple]


def mark_and_raise(now: datetime, limit: int) -> Marked:
    """Mark the claimed doses missed, raise the new alerts with their events and write their
    outbox rows (one per active alert channel of the team at or below the alert's level, as
    outbox._deliveries_create does), in one statement."""
    global _SQL
    if _SQL is None:
        _SQL = _statement()
    params = {
        "limit": limit,
        "now": now,
        "since_consecutive": now - rules.CONSECUTIVE_LOOKBACK,
        "since_adherence": now - rules.ADHERENCE_WINDOW,
        "consecutive": rules.CONSECUTIVE_MISSES_AMBER,
        "due_amber": rules.due_by_for("amber", now),
        "due_green": rules.due_by_for("green", now),
    }
    with connection.cursor() as cursor:
        # A batch of thousands of doses can cost the statement above PostgreSQL's
        # jit_above_cost, and compiling it would take ~1 s for a ~0.1 s statement.
        cursor.execute("SET LOCAL jit = off")
        cursor.execute(_SQL, params)
        rows = cursor.fetchall()
    marked = Marked(0, [], [], [], [])
    for row in rows:
        if row[0] == "claimed":
            marked = marked._replace(claimed=row[1])
        elif row[0] == "created":
            marked.created.append(row[1:5])
            if row[10]:
                marked.without_channels.append(row[1:5])
        elif row[0] == "delivery":
            marked.delivery_ids.append(row[1])
        else:
            marked.existing.append(row[1:10])
    return marked
