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
from .alerts import DETAILS_LIST_LIMIT, MISSED_DOSE_KEY


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

    def reason_rank(reason: str) -> str:  # LEVEL_RANK.get(reason.get("level"), 0)
        return f"coalesce({rank(f'({reason} ->> {chr(39)}level{chr(39)})')}, 1)"

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
    -- Joined by id, not by row address: a row another transaction changed after this
    -- statement's snapshot (a reminder stamped on it) is locked in its new version, and
    -- only the id finds it again; the conditions are checked on that version.
    UPDATE medications_expecteddose d SET state = '{DoseState.MISSED}', state_changed_at = %(now)s
    FROM claimed c
    WHERE d.id = c.id AND d.state = '{DoseState.PENDING}' AND d.late_until <= %(now)s
    RETURNING d.id, d.prescription_id, d.due_at
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
        -- The statement reads the doses as they were before it: the ones it marked are
        -- still pending there, so they come from `marked` instead.
        SELECT d.prescription_id AS pid, d.id, d.due_at, d.state
        FROM medications_expecteddose d
        WHERE d.prescription_id IN (SELECT pid FROM rx)
          AND d.due_at > %(since_consecutive)s AND d.due_at <= %(now)s
          AND d.state NOT IN ('{DoseState.HELD}', '{DoseState.PENDING}')
        UNION ALL
        SELECT m.prescription_id, m.id, m.due_at, '{DoseState.MISSED}'
        FROM marked m
        WHERE m.due_at > %(since_consecutive)s AND m.due_at <= %(now)s
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
), current AS (
    -- The open or acknowledged alerts of these problems, locked in id order (as
    -- _alerts_raise locks them); a resolved one, or one another sweep inserts meanwhile, is
    -- left to _alerts_raise.
    SELECT a.id, a.dedup_key, a.level, a.status, a.due_by, a.reasons, a.details, a.occurrences
    FROM notifications_alert a
    WHERE a.dedup_key IN (SELECT dedup_key FROM specs)
      AND a.status IN ('{AlertStatus.OPEN}', '{AlertStatus.ACKNOWLEDGED}')
    ORDER BY a.id
    FOR UPDATE
), merged AS (
    -- alerts._merge in SQL (tests/notifications/test_missed_dose_sql.py): the level only
    -- rises (the deadline tightens, an acknowledgement no longer covers it); reasons merge
    -- by code; the list of missed doses grows (no repeats, the last {DETAILS_LIST_LIMIT} kept),
    -- the last missed time is the later one, adherence is the new figure; the doses add to
    -- the occurrences.
    SELECT c.id, c.dedup_key, s.n, c.level AS old_level,
           {rank("s.level")} > {rank("c.level")} AS raised,
           c.status = '{AlertStatus.ACKNOWLEDGED}' AS was_acknowledged,
           CASE WHEN {rank("s.level")} > {rank("c.level")} THEN s.level ELSE c.level END
               AS level,
           CASE WHEN {rank("s.level")} > {rank("c.level")}
                THEN least(c.due_by, CASE s.level WHEN 'amber' THEN %(due_amber)s
                                                  ELSE %(due_green)s END)
                ELSE c.due_by END AS due_by,
           (SELECT coalesce(jsonb_agg(r.reason ORDER BY r.position), '[]'::jsonb) FROM (
               SELECT o.position, CASE
                   WHEN n.reason IS NOT NULL
                        AND {reason_rank("n.reason")} >= {reason_rank("o.reason")}
                   THEN n.reason ELSE o.reason END AS reason
               FROM jsonb_array_elements(c.reasons) WITH ORDINALITY o(reason, position)
               LEFT JOIN jsonb_array_elements(s.reasons) n(reason)
                   ON n.reason -> 'code' = o.reason -> 'code'
               UNION ALL
               SELECT 1000000 + n.position, n.reason
               FROM jsonb_array_elements(s.reasons) WITH ORDINALITY n(reason, position)
               WHERE NOT EXISTS (SELECT FROM jsonb_array_elements(c.reasons) o(reason)
                                 WHERE o.reason -> 'code' = n.reason -> 'code')
           ) r) AS reasons,
           (SELECT jsonb_agg(n.reason -> 'code' ORDER BY n.reason ->> 'code' COLLATE "C")
            FROM jsonb_array_elements(s.reasons) n(reason)
            WHERE NOT EXISTS (SELECT FROM jsonb_array_elements(c.reasons) o(reason)
                              WHERE o.reason -> 'code' = n.reason -> 'code')) AS codes_added,
           coalesce(c.details, '{{}}'::jsonb) || jsonb_build_object(
               'missed', CASE WHEN jsonb_typeof(c.details -> 'missed') = 'array' THEN (
                   SELECT coalesce(jsonb_agg(kept.dose ORDER BY kept.position), '[]'::jsonb)
                   FROM (
                       SELECT every.dose, every.position,
                              row_number() OVER (ORDER BY every.position DESC) AS from_end
                       FROM (
                           SELECT o.dose, o.position
                           FROM jsonb_array_elements(c.details -> 'missed')
                                WITH ORDINALITY o(dose, position)
                           UNION ALL
                           SELECT n.dose, 1000000 + n.position
                           FROM jsonb_array_elements(s.details -> 'missed')
                                WITH ORDINALITY n(dose, position)
                           WHERE NOT EXISTS (
                               SELECT FROM jsonb_array_elements(c.details -> 'missed') o(dose)
                               WHERE o.dose = n.dose)
                       ) every
                   ) kept WHERE kept.from_end <= {DETAILS_LIST_LIMIT})
                   ELSE s.details -> 'missed' END,
               'last_missed_due_at', CASE
                   WHEN coalesce(c.details ->> 'last_missed_due_at', '') <> ''
                   THEN to_jsonb(greatest(c.details ->> 'last_missed_due_at' COLLATE "C",
                                          s.details ->> 'last_missed_due_at' COLLATE "C"))
                   ELSE s.details -> 'last_missed_due_at' END,
               'adherence_7d', s.details -> 'adherence_7d') AS details,
           c.occurrences + s.n AS occurrences, s.summary
    FROM current c JOIN specs s ON s.dedup_key = c.dedup_key
), updated AS (
    UPDATE notifications_alert a SET
        level = m.level, due_by = m.due_by, reasons = m.reasons, details = m.details,
        occurrences = m.occurrences, summary = m.summary, updated_at = %(now)s,
        escalated_at = CASE WHEN m.raised THEN NULL ELSE a.escalated_at END,
        status = CASE WHEN m.raised THEN '{AlertStatus.OPEN}' ELSE a.status END,
        acknowledged_at = CASE WHEN m.raised THEN NULL ELSE a.acknowledged_at END,
        acknowledged_by_id = CASE WHEN m.raised THEN NULL ELSE a.acknowledged_by_id END
    FROM merged m WHERE a.id = m.id
    RETURNING a.id, a.care_team_id, a.level
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
    UNION ALL
    SELECT m.id, %(now)s,
           CASE WHEN m.raised THEN '{AlertEventKind.LEVEL_RAISED}'
                ELSE '{AlertEventKind.UPDATED}' END,
           jsonb_build_object('occurrences', m.occurrences, 'added', m.n)
           || CASE WHEN m.raised THEN jsonb_build_object('from', m.old_level, 'to', m.level)
                   ELSE '{{}}'::jsonb END
           || CASE WHEN m.raised AND m.was_acknowledged THEN '{{"reopened": true}}'::jsonb
                   ELSE '{{}}'::jsonb END
           || CASE WHEN m.codes_added IS NOT NULL
                   THEN jsonb_build_object('reasons_added', m.codes_added)
                   ELSE '{{}}'::jsonb END
    FROM merged m
), told AS (
    -- Who must hear: the new alerts, and the alerts whose level rose.
    SELECT id, care_team_id, level FROM inserted
    UNION ALL
    SELECT u.id, u.care_team_id, u.level FROM updated u JOIN merged m ON m.id = u.id
    WHERE m.raised
), channels AS (
    SELECT c.id, c.care_team_id, {rank("c.min_level")} AS min_rank
    FROM notifications_channel c
    WHERE c.care_team_id IN (SELECT care_team_id FROM told) AND c.is_active
      AND c.purpose IN ('{ChannelPurpose.ALERTS}', '{ChannelPurpose.BOTH}')
), delivered AS (
    INSERT INTO notifications_delivery
        (alert_id, channel_id, purpose, status, attempts, next_attempt_at, last_error,
         created_at)
    SELECT t.id, c.id, '{DeliveryPurpose.ALERT}', '{DeliveryStatus.PENDING}', 0, %(now)s, '',
           %(now)s
    FROM told t JOIN channels c ON c.care_team_id = t.care_team_id
    WHERE {rank("t.level")} >= c.min_rank
    ORDER BY t.id, c.id
    ON CONFLICT (alert_id, channel_id, purpose) WHERE alert_id IS NOT NULL DO NOTHING
    RETURNING id
), told_again AS (
    -- A channel told at the lower level is told again through its row (outbox renotify).
    UPDATE notifications_delivery d SET
        status = '{DeliveryStatus.PENDING}', next_attempt_at = %(now)s, attempts = 0,
        sent_at = NULL
    FROM notifications_channel c
    WHERE c.id = d.channel_id AND c.is_active
      AND d.alert_id IN (SELECT id FROM merged WHERE raised)
      AND d.purpose = '{DeliveryPurpose.ALERT}'
      AND d.status IN ('{DeliveryStatus.SENT}', '{DeliveryStatus.FAILED}')
    RETURNING d.id
)
SELECT 'existing', s.pid, s.care_team_id, s.level, s.n, s.patient_id, s.dedup_key,
       s.reasons::text, s.details::text, s.summary, NULL::boolean
FROM specs s
WHERE NOT EXISTS (SELECT FROM inserted i WHERE i.dedup_key = s.dedup_key)
  AND NOT EXISTS (SELECT FROM merged m WHERE m.dedup_key = s.dedup_key)
UNION ALL
SELECT 'claimed', count(*), NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL
FROM claimed
UNION ALL
SELECT 'created', i.id, i.care_team_id, i.level, i.occurrences, NULL, NULL, NULL, NULL, NULL,
       NOT EXISTS (SELECT FROM notifications_channel c WHERE c.care_team_id = i.care_team_id)
FROM inserted i
UNION ALL
SELECT CASE WHEN m.raised THEN 'raised' ELSE 'merged' END, u.id, u.care_team_id, u.level,
       m.n, NULL, NULL, NULL, NULL, NULL,
       NOT EXISTS (SELECT FROM notifications_channel c WHERE c.care_team_id = u.care_team_id)
FROM updated u JOIN merged m ON m.id = u.id
UNION ALL
SELECT 'delivery', d.id, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL
FROM delivered d
UNION ALL
SELECT 'delivery', d.id, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL
FROM told_again d
"""  # noqa: S608


_SQL: str | None = None


class Marked(NamedTuple):
    """What one batch's statement did and left to do."""

    # Overdue doses claimed (and marked missed)
    claimed: int
    # New alerts: (id, care_team_id, level, doses missed)
    created: list[tuple[int, int, str, int]]
    # Open alerts the doses were merged into: (id, care_team_id, level, doses missed, level
    # raised)
    merged: list[tuple[int, int, str, int, bool]]
    # New alerts, and alerts whose level rose, whose team has no channel at all (the outbox
    # gives the team its fallback channel): (id, care_team_id, level, level raised)
    without_channels: list[tuple[int, int, str, bool]]
    # Outbox rows written or put back to pending, to send
    delivery_ids: list[int]
    # Graded problems whose alert exists but was not merged here (resolved with its key
    # kept, or inserted by another transaction meanwhile): (prescription_id, care_team_id,
    # level, doses missed, patient_id, dedup_key, reasons json, details json, summary)
    existing: list[tuple]


def mark_and_raise(now: datetime, limit: int) -> Marked:
    """Claim a batch of overdue doses and mark them missed, raise the new alerts and merge
    into the open ones, with their events and outbox rows (one per active alert channel of
    the team at or below the alert's level, as outbox._deliveries_create does), in one
    statement."""
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
    marked = Marked(0, [], [], [], [], [])
    for kind, *row in rows:
        if kind == "claimed":
            marked = marked._replace(claimed=row[0])
        elif kind == "created":
            marked.created.append(tuple(row[:4]))
            if row[9]:
                marked.without_channels.append((*row[:3], False))
        elif kind in ("merged", "raised"):
            raised = kind == "raised"
            marked.merged.append((*row[:4], raised))
            if raised and row[9]:
                marked.without_channels.append((*row[:3], True))
        elif kind == "delivery":
            marked.delivery_ids.append(row[0])
        else:
            marked.existing.append(tuple(row[:9]))
    return marked
