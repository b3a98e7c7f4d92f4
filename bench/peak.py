"""Benchmark 8: the 08:00 peak, on real processes (gunicorn, PostgreSQL, Redis, a Celery
worker with 2 processes) and a local push receiver.

N patients each have a dose due at the same moment (the run's "08:00") and a Web Push
subscription whose endpoint is the receiver on loopback (it counts the pushes per
endpoint). The clock is the machine's own: the patients' time zone is chosen (Etc/GMT+-h)
so that the run's start is 08:mm there, outside quiet hours. The periodic jobs are
published to the worker by this process on beat's schedule (dose reminders every 60 s,
delivery sweep every 30 s), the first dose-reminder tick at the due time, as a beat whose
minute tick falls on 08:00; celery beat itself is not run (it would start every other
periodic job too, e.g. generating 14 days of doses, and its first tick is not at 08:00).

From the due time, 70% of the patients log the dose through gunicorn over the window
(15 minutes compressed 10x: 90 s at full scale, at a steady arrival rate), while a
constant endpoint behind the same middleware gets 10% as many requests in the same window
(the baseline "in the same conditions") and 20 nurses poll the open-alert list every 15 s.
Then the clock of the unlogged doses is moved 30 minutes on (their times moved back), the
08:30 tick runs, and the repeat must reach exactly the patients who did not log.
"""

from __future__ import annotations

import base64
import random
import tempfile
import threading
import time
from collections import Counter
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import requests
from django.db import connection
from django.utils import timezone

from . import data, env
from .harness import Results, Row, percentile
from .http_benches import _loadgen, celery_worker, gunicorn
from .loader import copy_rows, next_id

BENCH = "8. 08:00 peak"
LOG_SHARE = 0.7
CONSTANT_SHARE = 0.1
NURSES = 20
NURSE_POLL_SECONDS = 15.0
REMINDER_TICK = 60.0  # settings.PERIODIC_JOBS["dose-reminders"]
DELIVERY_TICK = 30.0  # settings.PERIODIC_JOBS["alert-deliveries"]
HANDLED = ("sent", "cancelled", "failed")


class _PushReceiver(BaseHTTPRequestHandler):
    """Stands in for the browsers' push service: 201 to every POST, counted per endpoint."""

    hits: Counter = Counter()
    arrivals: list[tuple[float, str]] = []
    lock = threading.Lock()

    def do_POST(self):  # noqa: N802 - http.server's name
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        with _PushReceiver.lock:
            _PushReceiver.hits[self.path] += 1
            _PushReceiver.arrivals.append((time.time(), self.path))
        self.send_response(201)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


@contextmanager
def push_receiver():
    _PushReceiver.hits = Counter()
    _PushReceiver.arrivals = []
    server = ThreadingHTTPServer(("127.0.0.1", env.free_port()), _PushReceiver)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def _zone_for_eight(moment: datetime) -> str:
    """An Etc/GMT zone in which `moment` is 08:mm (Etc/GMT-5 is UTC+5)."""
    offset = (8 - moment.astimezone(UTC).hour) % 24
    if offset > 14:
        offset -= 24
    return "Etc/GMT" if offset == 0 else f"Etc/GMT{-offset:+d}"


def _browser_keys() -> tuple[str, str]:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    def b64(raw: bytes) -> str:
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

    public = (
        ec.generate_private_key(ec.SECP256R1())
        .public_key()
        .public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    )
    return b64(public), b64(b"bench-auth-16byt")


def build(patients: int, receiver: str, now: datetime):
    """Population, tokens, 20 nurses, one pending dose per patient (due far ahead until the
    run sets it), one push subscription per patient. Returns (population, keys, doses,
    nurse tokens, endpoint path -> patient id)."""
    from django.contrib.auth.models import Group, User

    from medications.models import ExpectedDose
    from patients.models import CareTeam, Patient, PushSubscription

    data.truncate_all()
    population = data.build_population(
        patients=patients, teams=max(1, patients // 1000), now=now, tag="peak"
    )
    keys = data.tokens_for([p.user_id for p in population.prescriptions])
    nurse_group = Group.objects.get(name="nurse")
    nurse_ids = [population.nurse_user_id]
    for n in range(1, NURSES):
        user = User.objects.create(username=f"bench-peak-nurse-{n}", password="!")
        user.groups.add(nurse_group)
        nurse_ids.append(user.pk)
    for team in CareTeam.objects.filter(pk__in=population.team_ids):
        team.members.add(*nurse_ids)
    nurse_keys = list(data.tokens_for(nurse_ids).values())

    placeholder = now + timedelta(days=1)
    dose_start = next_id(ExpectedDose)
    doses = {}
    rows = []
    for n, p in enumerate(population.prescriptions):
        doses[p.user_id] = dose_start + n
        rows.append(
            {
                "id": dose_start + n,
                "prescription_id": p.id,
                "patient_id": p.patient_id,
                "due_at": placeholder,
                "late_until": placeholder + timedelta(hours=6),
                "dose_mg": Decimal(p.dose_mg),
                "state": "pending",
            }
        )
    copy_rows(ExpectedDose, rows)
    p256dh, auth = _browser_keys()
    paths = {f"/push/{p.patient_id}": p.patient_id for p in population.prescriptions}
    sub_start = next_id(PushSubscription)  # not inside the COPY below
    copy_rows(
        PushSubscription,
        (
            {
                "id": sub_start + n,
                "patient_id": pid,
                "endpoint": receiver + path,
                "p256dh": p256dh,
                "auth": auth,
                "device": "Bench phone",
                "created_at": now,
                "updated_at": now,
                "consecutive_failures": 0,
            }
            for n, (path, pid) in enumerate(paths.items())
        ),
    )
    Patient.objects.filter(pk__in=population.patient_ids).update(
        timezone=_zone_for_eight(now), reminder_minutes_before=0, reminders_enabled=True
    )
    data.analyze()
    return population, keys, doses, nurse_keys, paths


class Beat(threading.Thread):
    """Publishes the two periodic jobs to the worker on beat's schedule from `origin`."""

    def __init__(self, origin: float):
        super().__init__(daemon=True)
        from celery import Celery

        # Not the current app: tasks declared with shared_task follow the current app, and
        # this one must not take the product's publishing over (in the test process too).
        self.app = Celery("bench-peak-beat", broker=env.redis_url(), set_as_current=False)
        self.origin = origin
        self.stop = threading.Event()
        self.ticks = 0

    def restart(self, origin: float) -> None:
        self.origin = origin

    def run(self) -> None:
        sent: set[tuple[float, str, int]] = set()
        while not self.stop.is_set():
            now = time.time()
            origin = self.origin
            for period, task in (
                (REMINDER_TICK, "notifications.tasks.send_dose_reminders"),
                (DELIVERY_TICK, "notifications.tasks.sweep_deliveries"),
            ):
                if now < origin:
                    continue
                tick = int((now - origin) // period)
                if (origin, task, tick) not in sent:
                    sent.add((origin, task, tick))
                    self.app.send_task(task)
                    self.ticks += 1
            self.stop.wait(0.1)


class Sampler(threading.Thread):
    """The worker's queue length (Redis list "celery") every second, and the nurses' polls."""

    def __init__(self, base: str, nurse_keys: list[str]):
        super().__init__(daemon=True)
        import redis

        self.redis = redis.Redis.from_url(env.redis_url())
        self.base = base
        self.nurse_keys = nurse_keys
        self.stop = threading.Event()
        # (time, tasks in Redis + tasks the worker took and has not finished, reminders in the
        # outbox not yet sent)
        self.queue: list[tuple[float, int, int]] = []
        self.polls: list[float] = []
        self.poll_errors: list[str] = []

    def run(self) -> None:
        session = requests.Session()
        start = time.time()
        count = len(self.nurse_keys)
        next_poll = [start + NURSE_POLL_SECONDS * n / count for n in range(count)]
        while not self.stop.is_set():
            now = time.time()
            tasks = int(self.redis.llen("celery")) + int(self.redis.hlen("unacked"))
            self.queue.append((now, tasks, _outbox_waiting()))
            for n, key in enumerate(self.nurse_keys):
                if time.time() < next_poll[n]:
                    continue
                next_poll[n] += NURSE_POLL_SECONDS
                t0 = time.perf_counter()
                try:
                    r = session.get(
                        self.base + "/api/v1/alerts/?status=open",
                        headers={"Authorization": f"Token {key}"},
                        timeout=30,
                    )
                    if r.status_code != 200:
                        self.poll_errors.append(f"{r.status_code}: {r.text[:100]}")
                    self.polls.append(time.perf_counter() - t0)
                except requests.RequestException as exc:
                    self.poll_errors.append(type(exc).__name__)
            self.stop.wait(max(0.0, now + 1 - time.time()))
        connection.close()  # this thread's own connection


def _outbox_waiting() -> int:
    from notifications.models import Delivery

    return Delivery.objects.filter(status__in=["pending", "sending"]).count()


def _deliveries(dose_ids: list[int], repeat: int) -> Counter:
    from notifications.models import Delivery

    keys = [f"dose:{d}:{repeat}" for d in dose_ids]
    return Counter(
        Delivery.objects.filter(dedup_key__in=keys).values_list("status", flat=True).iterator()
    )


def _logged_before_reminded(dose_ids: list[int]) -> int:
    """Doses logged before the reminder job reached them: no reminder is queued for those
    (correctly), so they count as handled in the first round."""
    from medications.models import ExpectedDose
    from notifications.models import Delivery

    reminded = Delivery.objects.filter(dedup_key__in=[f"dose:{d}:0" for d in dose_ids])
    return (
        ExpectedDose.objects.filter(pk__in=dose_ids)
        .exclude(state="pending")
        .exclude(pk__in=reminded.values("expected_dose_id"))
        .count()
    )


def _wait_handled(dose_ids: list[int], repeat: int, expected: int, until: float) -> Counter:
    while True:
        status = _deliveries(dose_ids, repeat)
        if repeat == 0:
            status["logged before reminded"] = _logged_before_reminded(dose_ids)
        done = sum(status[s] for s in (*HANDLED, "logged before reminded"))
        if done >= expected or time.time() > until:
            return status
        time.sleep(0.5)


def _shift_clock_to_0830(dose_ids: list[int]) -> int:
    """The unlogged doses' times move 30 minutes back: for them it is now 08:30."""
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE medications_expecteddose SET due_at = due_at - interval '30 minutes', "
            "late_until = late_until - interval '30 minutes', "
            "reminder_sent_at = reminder_sent_at - interval '30 minutes', "
            "next_reminder_at = next_reminder_at - interval '30 minutes' "
            "WHERE id = ANY(%s) AND state = 'pending'",
            [dose_ids],
        )
        return cursor.rowcount


def run(results: Results, *, scale) -> None:
    if connection.in_atomic_block:
        raise RuntimeError("the peak benchmark needs committed data (no test transaction)")
    from medications.models import ExpectedDose

    patients, window = scale.peak_patients, scale.peak_window_seconds
    var_dir = tempfile.mkdtemp(prefix="tracker-bench-peak-")
    with push_receiver() as receiver:
        population, keys, doses, nurse_keys, paths = build(patients, receiver, timezone.now())
        users = [p.user_id for p in population.prescriptions]
        rng = random.Random(8)
        order = users[:]
        rng.shuffle(order)
        loggers = order[: round(patients * LOG_SHARE)]
        others = order[len(loggers) :]
        constant_users = (others * 2)[: max(1, round(patients * CONSTANT_SHARE))]
        dose_ids = [doses[u] for u in users]
        with gunicorn(var_dir) as base, celery_worker(var_dir):
            env.purge_queue(env.redis_url())
            sampler = Sampler(base, nurse_keys)
            sampler.start()
            due = (timezone.now() + timedelta(seconds=3)).replace(microsecond=0)
            ExpectedDose.objects.filter(pk__in=dose_ids).update(
                due_at=due, late_until=due + timedelta(hours=6)
            )
            t0 = due.timestamp()
            beat = Beat(t0)
            beat.start()
            time.sleep(max(0.0, t0 - time.time()))
            runs: dict[str, dict] = {}

            def load(kind: str, chosen: list[int], threads: int) -> None:
                reqs = [
                    {
                        "path": f"/api/v1/doses/{doses[u]}/log/"
                        if kind == "log"
                        else "/bench/constant/",
                        "token": keys[u],
                        "body": {"action": "taken"} if kind == "log" else {},
                    }
                    for u in chosen
                ]
                spec = {
                    "base": base,
                    "threads": threads,
                    "rate": len(reqs) / window,
                    "max_seconds": window + 60,
                    "requests": reqs,
                }
                runs[kind] = _loadgen(spec, var_dir)

            pool = [
                threading.Thread(target=load, args=("log", loggers, 16)),
                threading.Thread(target=load, args=("constant", constant_users, 4)),
            ]
            for t in pool:
                t.start()
            for t in pool:
                t.join()
            first = _wait_handled(dose_ids, 0, patients, t0 + scale.peak_wait_seconds)
            waited = time.time() - t0
            pending = list(
                ExpectedDose.objects.filter(pk__in=dose_ids, state="pending").values_list(
                    "pk", flat=True
                )
            )
            shifted = _shift_clock_to_0830(dose_ids)
            t1 = time.time()
            beat.restart(t1)
            repeat = _wait_handled(dose_ids, 1, len(pending), t1 + scale.peak_repeat_wait_seconds)
            beat.stop.set()
            sampler.stop.set()
            sampler.join()
    report(
        results,
        patients=patients,
        window=window,
        t0=t0,
        t1=t1,
        runs=runs,
        first=first,
        repeat=repeat,
        paths=paths,
        dose_ids=dose_ids,
        waited=waited,
        pending_patients={
            p.patient_id for p in population.prescriptions if doses[p.user_id] in set(pending)
        },
        shifted=shifted,
        sampler=sampler,
    )


def _sent_reminders(dose_ids: list[int]) -> list[tuple[int, int, datetime]]:
    """(patient id, repeat, sent_at) of every reminder of these doses the product sent."""
    from notifications.models import Delivery

    keys = [f"dose:{d}:{r}" for d in dose_ids for r in (0, 1)]
    return [
        (patient_id, int(key.rsplit(":", 1)[1]), sent_at)
        for patient_id, key, sent_at in Delivery.objects.filter(
            dedup_key__in=keys, status="sent"
        ).values_list("patient_id", "dedup_key", "sent_at")
    ]


def report(results: Results, *, patients, window, t0, t1, runs, first, repeat, **kw) -> None:
    paths, sampler, pending_patients = kw["paths"], kw["sampler"], kw["pending_patients"]
    sent = _sent_reminders(kw["dose_ids"])
    sent_per_patient = Counter(pid for pid, _, _ in sent)
    hits = Counter({paths[p]: n for p, n in _PushReceiver.hits.items() if p in paths})
    stray = sum(n for p, n in _PushReceiver.hits.items() if p not in paths)
    duplicates = sum(max(0, n - sent_per_patient[pid]) for pid, n in hits.items()) + stray
    missing = sum(max(0, n - hits[pid]) for pid, n in sent_per_patient.items())
    # Delivery.sent_at is the sweep's own "now" (when it started), not when each push went:
    # the receiver's clock says when it arrived. A patient's first push is their first
    # reminder, their last (if they had a repeat) the repeat.
    arrived: dict[int, list[float]] = {}
    for at, path in _PushReceiver.arrivals:
        if path in paths:
            arrived.setdefault(paths[path], []).append(at)
    first_to = {pid for pid, r, _ in sent if r == 0}
    first_sent = [min(arrived[pid]) for pid in first_to if pid in arrived]
    to_last = max(first_sent) - t0 if first_sent else None
    handled = sum(first[s] for s in (*HANDLED, "logged before reminded"))
    repeat_to = {pid for pid, r, _ in sent if r == 1}
    repeat_sent = [max(arrived[pid]) for pid in repeat_to if pid in arrived]
    wrong_repeat = len(repeat_to - pending_patients)
    missing_repeat = len(pending_patients - repeat_to)
    logs, constant = runs.get("log", {}), runs.get("constant", {})
    errors = (
        (logs.get("sent", 0) - logs.get("ok", 0))
        + (constant.get("sent", 0) - constant.get("ok", 0))
        + len(sampler.poll_errors)
        + first["failed"]
        + repeat["failed"]
    )
    results.add(
        Row(
            BENCH,
            "due -> last first reminder received",
            to_last,
            "s",
            target="< 60 s, all sent",
            met=to_last is not None and to_last < 60 and handled == patients,
            note=f"{handled:,}/{patients:,} handled by +{kw['waited']:.0f} s",
        )
    )
    results.add(
        Row(
            BENCH,
            "pushes received (once each)",
            sum(hits.values()),
            "",
            len(sent),
            "reminders sent",
            better="higher",
            target="= sent, 0 duplicates",
            met=duplicates == 0 and missing == 0,
            note=f"{duplicates} duplicates, {missing} missing",
        )
    )
    results.add(
        Row(
            BENCH,
            "08:30 repeats sent",
            len(repeat_to),
            "",
            len(pending_patients),
            "not logged",
            better="higher",
            target="= not logged, none to a logger",
            met=wrong_repeat == 0 and missing_repeat == 0,
        )
    )
    results.add(
        Row(
            BENCH,
            "08:30 tick -> last repeat received",
            max(repeat_sent) - t1 if repeat_sent else None,
            "s",
            target="< 60 s",
            met=bool(repeat_sent) and max(repeat_sent) - t1 < 60 and missing_repeat == 0,
        )
    )
    for pct in (50, 95):
        results.add(
            Row(
                BENCH,
                f"dose log p{pct} under the peak",
                logs.get(f"p{pct}_ms", float("nan")) / 1000,
                "s",
                constant.get(f"p{pct}_ms", float("nan")) / 1000,
                "constant endpoint, same window",
            )
        )
    results.add(
        Row(
            BENCH,
            "dose logs per second",
            logs.get("rps"),
            "req/s",
            logs.get("sent", 0) / window if window else None,
            "offered",
            better="higher",
        )
    )
    results.add(Row(BENCH, "errors", errors, "", target="0", met=errors == 0))
    results.add(
        Row(
            BENCH,
            "worker queue length, max",
            max((n for _, n, _ in sampler.queue), default=0),
            "",
            note="tasks in Redis + taken, not finished; sampled 1/s",
        )
    )
    results.add(
        Row(
            BENCH,
            "reminders waiting in the outbox, max",
            max((n for _, _, n in sampler.queue), default=0),
            "",
            note="sampled 1/s",
        )
    )
    series = "; ".join(f"+{t - t0:.0f} s: {n} / {m}" for t, n, m in sampler.queue[::10])
    results.note(
        f"08:00 peak: {patients:,} patients with a dose due at once and a push subscription; "
        f"{logs.get('ok', 0):,}/{logs.get('sent', 0):,} dose logs answered 2xx over "
        f"{window:g} s (statuses {logs.get('statuses')}), {constant.get('ok', 0):,} constant "
        f"requests in the same window; {len(sampler.polls)} nurse polls "
        f"(p95 {percentile(sampler.polls, 95) * 1000:.0f} ms, {len(sampler.poll_errors)} "
        f"errors); first reminders at +{kw['waited']:.0f} s {dict(first)} (cancelled = "
        f"logged before it was sent); {duplicates} duplicate and {missing} missing pushes; "
        f"at 08:30 {kw['shifted']:,} doses unlogged, repeats {dict(repeat)}, {wrong_repeat} "
        f"to patients who had logged, {missing_repeat} missing"
    )
    results.note(
        "08:00 peak: every 10 s from the due time, tasks queued or running / reminders "
        f"waiting in the outbox: {series}"
    )
    if logs.get("errors") or constant.get("errors"):
        results.note(f"08:00 peak errors: {logs.get('errors', [])[:2]} {constant.get('errors')}")
