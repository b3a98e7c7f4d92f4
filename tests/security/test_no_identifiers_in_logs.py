"""No identifying data in logs (NHS DSPT; OWASP ASVS 7.1.1): a representative day of the
service, run with every logger at DEBUG, never writes a patient's name, NHS number, date of
birth, username, e-mail, phone or free-text notes to a log record or to the console.

What leaves the service for an alert (e-mail, webhook, SMS) is tested in
tests/notifications/test_deliveries.py::test_email_and_webhook_carry_no_patient_details.
"""

import logging

import pytest
from django.core.management import call_command
from django.test import override_settings

from patients.models import Patient

pytestmark = pytest.mark.django_db

GIVEN, FAMILY = "Zebedee", "Quixotic-Fairweather"
NHS = "943 476 5919"
USERNAME = "zebedee.quixotic"
EMAIL = "zebedee.q@example.org"
PASSWORD = "a-Strong-passphrase-77"
DOB = "1957-04-01"
MOBILE = "07700 900461"
SYMPTOM_NOTE = "PRIVATE-SYMPTOM-NOTE gums bleeding since Tuesday"
DOSE_NOTE = "PRIVATE-DOSE-NOTE felt sick after breakfast"
RESOLUTION_NOTE = "PRIVATE-RESOLUTION-NOTE spoke to daughter"
IDENTIFIERS = [
    GIVEN,
    FAMILY,
    "9434765919",
    NHS,
    USERNAME,
    EMAIL,
    DOB,
    "01/04/1957",
    MOBILE,
    "PRIVATE-",
    PASSWORD,
]


def _texts(records) -> list[str]:
    out = []
    for record in records:
        out.append(record.getMessage())
        out.append(repr(record.args))
        if record.exc_info:
            out.append(logging.Formatter().formatException(record.exc_info))
        out.extend(
            repr(value)
            for key, value in vars(record).items()
            if key not in logging.LogRecord("", 0, "", 0, "", (), None).__dict__
            and key not in {"message", "asctime", "request"}
        )
    return out


def test_a_representative_day_logs_no_identifying_data(api, nurse, team, caplog, capfd, settings):
    settings.AXES_ENABLED = True  # sign-in failures are logged by django-axes: check them too
    caplog.set_level(logging.DEBUG)
    staff = api(nurse)

    # Enrolment, with a bad attempt first (400s are logged by django.request).
    body = {
        "username": USERNAME,
        "password": PASSWORD,
        "given_name": GIVEN,
        "family_name": FAMILY,
        "nhs_number": NHS,
        "date_of_birth": DOB,
        "weight_kg": "68.5",
        "child_pugh_class": "A",
        "performance_status": 1,
        "email": EMAIL,
    }
    assert (
        staff.post("/api/v1/patients/", {**body, "nhs_number": "943 476 5918"}).status_code == 400
    )
    response = staff.post("/api/v1/patients/", body, format="json")
    assert response.status_code == 201, response.json()
    patient = Patient.objects.get(pk=response.json()["id"])
    Patient.objects.filter(pk=patient.pk).update(mobile_phone=MOBILE)
    assert staff.get(f"/api/v1/patients/{patient.pk}/").status_code == 200

    # Treatment, then the patient signs in (one wrong password first) and uses the API.
    prescription = staff.post(
        "/api/v1/prescriptions/",
        {
            "patient": patient.pk,
            "drug": "sorafenib",
            "times": ["08:00", "20:00"],
            "start_date": "2020-01-01",
        },
        format="json",
    )
    assert prescription.status_code in (201, 400), prescription.json()
    anonymous = api(None)
    wrong = {"username": USERNAME, "password": "not-the-password"}
    assert anonymous.post("/api/v1/auth/token/", wrong, format="json").status_code == 400
    right = {"username": USERNAME, "password": PASSWORD}
    token = anonymous.post("/api/v1/auth/token/", right, format="json").json()["token"]
    me = api(None)
    me.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    doses = me.get("/api/v1/doses/").json()["results"]
    if doses:
        me.post(
            f"/api/v1/doses/{doses[0]['id']}/log/",
            {"action": "skipped", "reason": "vomited", "note": DOSE_NOTE},
            format="json",
        )
    report = me.post(
        "/api/v1/symptom-reports/",
        {"symptoms": [{"code": "bleeding", "grade": 1}], "notes": SYMPTOM_NOTE},
        format="json",
    )
    assert report.status_code == 201, report.json()
    bad = me.post("/api/v1/symptom-reports/", {"symptoms": "x", "notes": SYMPTOM_NOTE})
    assert bad.status_code == 400

    # The advice line: alerts, acknowledge, resolve with a note; the sign-in page too.
    alerts = staff.get("/api/v1/alerts/", {"patient": patient.pk}).json()["results"]
    assert alerts, "the red report raised an alert"
    for alert in alerts:
        staff.post(f"/api/v1/alerts/{alert['id']}/acknowledge/", {}, format="json")
        staff.post(
            f"/api/v1/alerts/{alert['id']}/resolve/",
            {"outcome": "advice_given_by_phone", "note": RESOLUTION_NOTE},
            format="json",
        )
    from django.test import Client

    browser = Client()
    browser.post("/accounts/login/", {"username": USERNAME, "password": "wrong-again"})
    signed_in = browser.post("/accounts/login/", {"username": USERNAME, "password": PASSWORD})
    assert signed_in.status_code == 302
    assert browser.get("/me/").status_code == 200
    staff_browser = Client()
    staff_browser.force_login(nurse)
    staff_browser.get("/nurse/", {"q": FAMILY})
    staff_browser.get(f"/nurse/patients/{patient.pk}/")
    staff_browser.get("/admin/patients/patient/", {"q": NHS})

    # Background work: every periodic job once (deliveries of the alert, escalations...).
    with override_settings(EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend"):
        call_command("sweep")

    assert len(caplog.records) > 5, "the flow should have logged something"
    assert any(r.name == "axes.watch_login" or r.name.startswith("axes") for r in caplog.records)
    captured = capfd.readouterr()
    texts = _texts(caplog.records) + [captured.out, captured.err]
    for identifier in IDENTIFIERS:
        leaks = [text for text in texts if identifier in text]
        assert not leaks, f"{identifier!r} was logged: {leaks[:3]}"


def test_error_reports_never_show_posted_fields(rf):
    """A 500 on a form post (e.g. a symptom note) reaches an error report without its text."""
    from django.views.debug import ExceptionReporter

    request = rf.post("/me/symptoms/new/", {"notes": SYMPTOM_NOTE, "given_name": GIVEN})
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        import sys

        reporter = ExceptionReporter(request, *sys.exc_info())
        text = reporter.get_traceback_text()
    assert SYMPTOM_NOTE not in text and GIVEN not in text
    assert "notes" in text  # the field name stays, its value is hidden


def test_dev_server_request_lines_lose_their_query_strings():
    from core.privacy import StripQueryStrings

    record = logging.LogRecord(
        "django.server",
        logging.INFO,
        "",
        0,
        '"%s" %s %s',
        (f"GET /admin/?q={FAMILY} HTTP/1.1", 200, 5),
        None,
    )
    StripQueryStrings().filter(record)
    assert FAMILY not in record.getMessage()
    assert record.getMessage().startswith('"GET /admin/?')


def test_gunicorn_access_log_has_no_query_string_or_referrer():
    from pathlib import Path

    namespace: dict = {}
    config = Path(__file__).resolve().parents[2] / "gunicorn.conf.py"
    exec(compile(config.read_text(), str(config), "exec"), namespace)  # noqa: S102
    fmt = namespace["access_log_format"]
    assert "%(U)s" in fmt  # the path alone
    for field in ("%(r)s", "%(q)s", "%(f)s", "%(a)s"):  # request line, query, referrer, agent
        assert field not in fmt
