"""Shared helpers for the notifications tests: times, treatments, a local webhook receiver."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from django.db import transaction
from django.db.models import F

from medications import services as medication_services
from medications.models import DoseState, Drug, ExpectedDose, SymptomReport
from medications.signals import symptom_report_triaged
from notifications.models import Channel, ChannelKind, ChannelPurpose


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def prescribe(patient, code: str = "sorafenib", *, now: datetime, times=("08:00", "20:00")):
    """A real prescription (through the medications service), expected doses 14 days ahead."""
    drug = Drug.objects.get(code=code)
    return medication_services.prescription_create(
        patient=patient,
        drug=drug,
        dose_mg=Decimal(str(drug.standard_dose_mg)) if drug.standard_dose_mg else Decimal("400"),
        times=list(times),
        start_date=now.date(),
        now=now,
        override_reason="test set-up",
    )


def take_doses(prescription, *, before: datetime) -> int:
    """History: every dose due before `before` was taken on time."""
    return ExpectedDose.objects.filter(
        prescription=prescription, due_at__lt=before, state=DoseState.PENDING
    ).update(state=DoseState.TAKEN, taken_at=F("due_at"), state_changed_at=F("due_at"))


def dose_at(prescription, due_at: datetime) -> ExpectedDose:
    return prescription.expected_doses.get(due_at=due_at)


def red_report(patient, *, notes: str = "", symptoms=None) -> SymptomReport:
    """A red symptom report, through the symptom service when it exists (it sends the signal
    inside its transaction); otherwise the stored, triaged row and the signal by hand."""
    symptoms = symptoms or [{"code": "chest_pain", "grade": 1}]
    try:
        from medications.symptoms.services import symptom_report_create
    except ImportError:  # the symptom engineer's service is not there yet
        symptom_report_create = None
    if symptom_report_create is not None:
        data = {"symptoms": symptoms}
        if notes:
            data["notes"] = notes
        return symptom_report_create(patient=patient, data=data, entered_by=patient.user)
    return triaged_report(patient, level="red", notes=notes, symptoms=symptoms)


def triaged_report(patient, *, level: str, notes: str = "", symptoms=None, send=True):
    """A stored report with its triage result, and (optionally) the signal, in one
    transaction: what the symptom service does."""
    from django.utils import timezone

    with transaction.atomic():
        report = SymptomReport.objects.create(
            patient=patient,
            entered_by=patient.user,
            symptoms=symptoms or [{"code": "chest_pain", "grade": 1}],
            notes=notes,
            triage_level=level,
            triage_reasons=[{"code": "chest_pain", "level": level, "rule": "red flag: present"}],
            triaged_at=timezone.now(),
            ruleset_version=1,
        )
        if send:
            symptom_report_triaged.send(sender=SymptomReport, report=report)
    return report


def webhook_channel(team, url: str, *, secret="s3cret-key", min_level="amber", **kwargs):
    return Channel.objects.create(
        name=kwargs.pop("name", "Paging system"),
        care_team=team,
        kind=ChannelKind.WEBHOOK,
        purpose=kwargs.pop("purpose", ChannelPurpose.BOTH),
        target=url,
        secret=secret,
        min_level=min_level,
        **kwargs,
    )


@dataclass
class Received:
    at: float
    headers: dict
    body: bytes

    @property
    def json(self) -> dict:
        return json.loads(self.body)


@dataclass
class WebhookReceiver:
    """A tiny HTTP server on 127.0.0.1 (a free port) that records every POST.

    `statuses`: answers in order (then 200). `sleep_first`: seconds to wait before answering
    the first request (a slow receiver, for the worker-killed test)."""

    statuses: list[int] = field(default_factory=list)
    sleep_first: float = 0.0
    received: list[Received] = field(default_factory=list)

    def __post_init__(self):
        receiver = self
        self._lock = threading.Lock()
        self._count = 0

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with receiver._lock:
                    receiver.received.append(Received(time.monotonic(), dict(self.headers), body))
                    receiver._count += 1
                    number = receiver._count
                    status = receiver.statuses.pop(0) if receiver.statuses else 200
                if number == 1 and receiver.sleep_first:
                    time.sleep(receiver.sleep_first)
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def wait_for(self, count: int, timeout: float = 30.0) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if len(self.received) >= count:
                return True
            time.sleep(0.02)
        return False

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def later(moment: datetime, **kwargs) -> datetime:
    return moment + timedelta(**kwargs)
