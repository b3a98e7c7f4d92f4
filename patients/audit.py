"""Audit trail of access to patient records: who, which patient, what, when, from where.

Every signed-in request that reads or writes a patient's record leaves one AuditEvent per
patient touched (NHS Data Security and Protection Toolkit; OWASP ASVS 7.2 / 8.3). It is
designed so that nobody writing a view has to remember it:

* ``AuditMiddleware`` opens a per-request scope (a contextvar) and, after the response, writes
  the events when the request succeeded (status < 400).
* Any Patient row loaded from the database while the scope is open is noted (a ``post_init``
  receiver): scoped selectors, ``select_related("patient")`` in lists, the admin, templates.
* ``patients.selectors.patient_for`` notes its patient explicitly.
* URL arguments naming a patient (``patient_id`` anywhere, ``pk`` of ``/api/v1/patients/{pk}/``,
  ``?patient=``) and patient ids in an API response body (``"patient": id``) are noted too.
* Views can say more with ``touch(request, patient, "what")`` (e.g. a page that counts a
  patient's doses without loading the patient row).

Nothing identifying is written to ``what``: the view name, ids and the path only. Rows are
append-only (see AuditEvent). Background jobs (sweeps, Celery) run without a request and are
not audited here; they log ids only.
"""

from __future__ import annotations

import contextvars
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from urllib.parse import urlencode

from django.conf import settings
from django.db import DatabaseError
from django.db.models.signals import post_delete, post_init

from .models import AuditEvent, Patient
from .roles import role_of

logger = logging.getLogger(__name__)

# Paths never audited: they cannot carry patient data.
_SKIP_PREFIXES = ("/static/", "/healthz/", "/readyz/", "/favicon")
_MAX_IDS_FROM_BODY = 1000  # a page is at most 500 items; this bounds the work per request


@dataclass
class AuditScope:
    """What one request touched: patient id -> notes (view-provided, non-identifying)."""

    touched: dict[int, set[str]] = field(default_factory=dict)
    loaded: list[Patient] = field(default_factory=list)
    # Patient instances with an id seen in this request, and ids deleted in it: a patient
    # read from the database here and not deleted exists, so record() need not ask again
    # (docs/benchmarks.md, benchmark 2).
    instances: list[Patient] = field(default_factory=list)
    deleted: set[int] = field(default_factory=set)

    def read_ids(self) -> set[int]:
        # `_state.adding` is False once Django has loaded the row (set after post_init).
        return {p.pk for p in self.instances if not p._state.adding} - self.deleted

    def note(self, patient_id: int, what: str = "") -> None:
        notes = self.touched.setdefault(int(patient_id), set())
        if what:
            notes.add(what)


_scope: contextvars.ContextVar[AuditScope | None] = contextvars.ContextVar(
    "patient_audit_scope", default=None
)


def current_scope() -> AuditScope | None:
    return _scope.get()


def touch(request, patient: Patient | int, what: str = "") -> None:
    """Record that this request read or wrote `patient` (an instance or an id).

    `what` says what was touched in non-identifying terms (e.g. "symptom report 12"). Outside
    a request (a task, the shell) this does nothing. `request` is accepted for readability at
    call sites; the scope is per request already.
    """
    scope = _scope.get()
    if scope is None:
        return
    patient_id = patient.pk if isinstance(patient, Patient) else patient
    if patient_id is None:
        if isinstance(patient, Patient):
            scope.loaded.append(patient)  # created in this request: its id comes on save
        return
    scope.note(int(patient_id), what[:100])


def _patient_loaded(sender, instance: Patient, **kwargs) -> None:
    scope = _scope.get()
    if scope is not None:
        # Instances built in memory (pk None) get their id when saved: keep them to look.
        if instance.pk is None:
            scope.loaded.append(instance)
        else:
            scope.touched.setdefault(instance.pk, set())
            scope.instances.append(instance)


def _patient_deleted(sender, instance: Patient, **kwargs) -> None:
    scope = _scope.get()
    if scope is not None:
        scope.deleted.add(instance.pk)


post_init.connect(_patient_loaded, sender=Patient, dispatch_uid="patients.audit.loaded")
post_delete.connect(_patient_deleted, sender=Patient, dispatch_uid="patients.audit.deleted")


def _action_for(method: str, status: int) -> str:
    if method in ("GET", "HEAD", "OPTIONS"):
        return "read"
    if method == "DELETE":
        return "delete"
    if method == "POST" and status == 201:
        return "create"
    return "update"


def _ids_from_body(data, out: set[int], *, patient_resource: bool) -> None:
    """Patient ids in an API answer: `"patient": <id>` anywhere, and `"id"` of patient
    resources (which carry an `nhs_number`)."""
    stack = [data]
    while stack and len(out) < _MAX_IDS_FROM_BODY:
        item = stack.pop()
        if isinstance(item, dict):
            value = item.get("patient")
            if isinstance(value, int) and not isinstance(value, bool):
                out.add(value)
            if patient_resource and "nhs_number" in item and isinstance(item.get("id"), int):
                out.add(item["id"])
            stack.extend(v for v in item.values() if isinstance(v, dict | list))
        elif isinstance(item, list):
            stack.extend(v for v in item if isinstance(v, dict | list))


# Query parameters whose values are ids, dates, numbers or fixed words, never a person's
# details (a `__lookup` suffix is ignored): their values are kept in the trail. Every other
# value (a search, a signed token, anything new) is stored as "~".
_QUERY_VALUES_KEPT = frozenset(
    {"patient", "status", "level", "kind", "from", "to", "days", "page", "page_size", "drug",
     "state", "ordering", "o", "p", "shown", "format", "code", "action", "purpose", "route",
     "period", "outcome", "e", "all", "channel", "care_team", "prescription", "role", "id",
     "method", "actor_role", "triage_level", "is_active", "reminders_enabled"}
)  # fmt: skip


def safe_query(request) -> str:
    """The request's query string with the values that could identify a person removed."""
    parts = []
    for key, values in request.GET.lists():
        keep = key.split("__")[0] in _QUERY_VALUES_KEPT
        parts.extend(urlencode({key: value if keep else "~"}) for value in values)
    return "&".join(parts)[:500]


def _int_or_none(value) -> int | None:
    try:
        number = int(str(value))
    except (TypeError, ValueError):
        return None
    return number if 0 < number < 2**63 else None


def _ids_from_request(request, response) -> set[int]:
    ids: set[int] = set()
    match = getattr(request, "resolver_match", None)
    if match is not None:
        kwargs = match.kwargs or {}
        for key in ("patient_id", "patient_pk"):
            if (value := _int_or_none(kwargs.get(key))) is not None:
                ids.add(value)
        if match.url_name in ("patient-detail",) and (value := _int_or_none(kwargs.get("pk"))):
            ids.add(value)
    data = getattr(response, "data", None)
    api_answer = data is not None and request.path.startswith("/api/")
    # An API list filtered by `?patient=` read that patient only if its answer holds their
    # rows (found in the body below); pages name the patient they show.
    if not api_answer and (value := _int_or_none(request.GET.get("patient"))) is not None:
        ids.add(value)
    if api_answer:
        patient_resource = bool(match and (match.url_name or "").startswith("patient"))
        _ids_from_body(data, ids, patient_resource=patient_resource)
    return ids


def _client_ip(request) -> str | None:
    header = getattr(settings, "AUDIT_CLIENT_IP_HEADER", "")
    value = request.META.get(header, "") if header else ""
    value = (value.split(",")[0].strip() if value else "") or request.META.get("REMOTE_ADDR", "")
    return value or None


def record(request, response, scope: AuditScope) -> int:
    """Write one AuditEvent per patient this request touched; returns how many."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or response.status_code >= 400:
        return 0
    for patient in scope.loaded:
        if patient.pk is not None:
            scope.touched.setdefault(patient.pk, set())
    for patient_id in _ids_from_request(request, response):
        scope.touched.setdefault(patient_id, set())
    if not scope.touched:
        return 0
    # Ids named by the URL or the answer, or of patients created here, may not (or no
    # longer) exist; patients read from the database in this request do.
    read = scope.read_ids()
    unsure = [pk for pk in scope.touched if pk not in read]
    existing = set(scope.touched) - set(unsure)
    if unsure:
        existing |= set(
            Patient.objects.filter(pk__in=unsure).order_by().values_list("pk", flat=True)
        )
    match = getattr(request, "resolver_match", None)
    view = (match.view_name if match else "") or "unresolved"
    role = role_of(user)
    action = _action_for(request.method, response.status_code)
    events = [
        AuditEvent(
            actor=user,
            actor_username=user.get_username()[:150],
            actor_role=str(role or ""),
            patient_id=patient_id,
            patient_ref=patient_id,
            action=action,
            what="; ".join([view, *sorted(scope.touched[patient_id])])[:200],
            path=request.path[:500],
            query=safe_query(request),
            method=request.method[:8],
            ip_address=_client_ip(request),
            status_code=response.status_code,
        )
        for patient_id in sorted(existing)
    ]
    if len(events) == 1:
        # The usual case: one autocommit INSERT. bulk_create wraps even one row in BEGIN and
        # COMMIT, two more round trips on every API request (docs/benchmarks.md, benchmark 2).
        events[0].save(force_insert=True)
    else:
        AuditEvent.objects.bulk_create(events)
    return len(events)


class AuditMiddleware:
    """Opens the audit scope for each request and writes the trail after the response.

    Place after AuthenticationMiddleware. A failure to write the trail is logged (ids only)
    and does not turn a completed clinical action into an error page.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path.startswith(_SKIP_PREFIXES):
            return self.get_response(request)
        scope = AuditScope()
        token = _scope.set(scope)
        try:
            response = self.get_response(request)
            try:
                record(request, response, scope)
            except DatabaseError:
                logger.exception(
                    "audit trail write failed path=%s user_id=%s",
                    request.path,
                    getattr(getattr(request, "user", None), "pk", None),
                )
            return response
        finally:
            _scope.reset(token)


def record_without_session(
    request, *, user, patient: Patient, action: str, what: str, status_code: int
) -> AuditEvent:
    """One event for a request that acts for a user without signing them in (a signed,
    single-use link such as a reminder's "Taken" action): the middleware only records signed-in
    requests, so such a view records its own, as that user."""
    return AuditEvent.objects.create(
        actor=user,
        actor_username=user.get_username()[:150],
        actor_role=str(role_of(user) or ""),
        patient=patient,
        patient_ref=patient.pk,
        action=action,
        what=what[:200],
        path=request.path[:500],
        query=safe_query(request),
        method=request.method[:8],
        ip_address=_client_ip(request),
        status_code=status_code,
    )


def events_for(patient_ids: Iterable[int]):
    """Audit events of these patients, newest first (for admin and governance reports)."""
    return AuditEvent.objects.filter(patient_ref__in=list(patient_ids)).select_related("actor")
