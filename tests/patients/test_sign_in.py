"""Signing in without losing anything (issue 13, point 3): "Keep me signed in on this
phone" (patients: a sliding 30-day session; staff: short sessions always), the advice line
and 999 on the sign-in page, password reset by e-mail, the nurse's one-time sign-in link
(24 hours, single use, audited) and the session state the expiry warning asks."""

import re
from datetime import timedelta

import pytest
import time_machine
from django.conf import settings
from django.core import mail
from django.utils import timezone

from patients.models import AuditEvent, SignInLink
from tests.factories import PASSWORD, CareTeamFactory, PatientFactory

pytestmark = pytest.mark.django_db
DAY = timedelta(days=1)


def sign_in(client, user, remember=True):
    body = {"username": user.username, "password": PASSWORD}
    if remember:
        body["remember"] = "on"
    response = client.post("/accounts/login/", body)
    assert response.status_code == 302, response.content.decode()[:500]
    return response


def signed_in(client) -> bool:
    return client.get("/accounts/session/").status_code == 200


def test_a_patient_who_ticks_keep_me_signed_in_stays_for_30_days_after_each_visit(client, patient):
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        sign_in(client, patient.user)
        assert client.session.get_expiry_age() == 30 * 24 * 3600
    with time_machine.travel(start + 29 * DAY, tick=False):
        assert client.get("/me/").status_code == 200  # a visit moves the end on
    with time_machine.travel(start + 58 * DAY, tick=False):
        assert client.get("/me/").status_code == 200
    with time_machine.travel(start + 89 * DAY, tick=False):
        response = client.get("/me/")
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_without_the_box_a_patient_session_ends_after_30_idle_minutes(client, patient):
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        sign_in(client, patient.user, remember=False)
    with time_machine.travel(start + timedelta(minutes=31), tick=False):
        assert not signed_in(client)


def test_staff_keep_short_sessions_even_if_they_tick_the_box(client, nurse):
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        sign_in(client, nurse)
        assert client.session.get_expiry_age() == 30 * 60
    with time_machine.travel(start + timedelta(minutes=31), tick=False):
        assert not signed_in(client)


def test_session_state_says_how_long_is_left(client, nurse):
    assert client.get("/accounts/session/").json() == {"signed_in": False}
    sign_in(client, nurse)
    assert client.get("/accounts/session/").json() == {"signed_in": True, "seconds_left": 1800}


def test_the_sign_in_page_shows_the_advice_line_999_and_password_help(client, team):
    page = client.get("/accounts/login/").content.decode()
    phone = team.advice_line_phone
    assert f'href="tel:{phone.replace(" ", "")}"' in page and phone in page
    assert 'href="tel:999"' in page
    assert "Keep me signed in on this phone" in page
    assert 'href="/accounts/password-reset/"' in page


def test_with_teams_of_different_numbers_the_default_number_shows(client, settings, team):
    CareTeamFactory(advice_line_phone="0113 000 1111")
    settings.DEFAULT_ADVICE_LINE_PHONE = "0800 123 4567"
    assert "0800 123 4567" in client.get("/accounts/login/").content.decode()


def test_password_reset_by_email(client, patient):
    patient.user.email = "sam@example.org"
    patient.user.save()
    response = client.post(
        "/accounts/password-reset/", {"email": "sam@example.org"}, HTTP_HOST="localhost"
    )
    assert response["Location"] == "/accounts/password-reset/sent/"
    (message,) = mail.outbox
    assert message.to == ["sam@example.org"]
    # The link is on SITE_URL whatever Host the request named; the e-mail names no illness.
    assert "//localhost" not in message.body and "cancer" not in message.body + message.subject
    site = re.escape(settings.SITE_URL)
    link = re.search(site + r"(/accounts/password-reset/\S+/)", message.body).group(1)
    form = client.get(link, follow=True)
    assert "Choose a new password" in form.content.decode()
    new = "a-brand-new-password-77"
    response = client.post(form.redirect_chain[-1][0], {"new_password1": new, "new_password2": new})
    assert response["Location"] == "/accounts/password-reset/done/"
    assert client.login(username=patient.user.username, password=new)


def test_password_reset_for_an_unknown_address_sends_nothing_and_says_the_same(client):
    response = client.post("/accounts/password-reset/", {"email": "nobody@example.org"})
    assert response["Location"] == "/accounts/password-reset/sent/"
    assert mail.outbox == []


# --- the nurse's one-time sign-in link ---------------------------------------------------


def issue_link(client, nurse, patient) -> str:
    client.force_login(nurse)
    page = client.get(f"/accounts/patients/{patient.pk}/sign-in-link/")
    assert page.status_code == 200 and "Make a one-time sign-in link" in page.content.decode()
    response = client.post(f"/accounts/patients/{patient.pk}/sign-in-link/")
    html = response.content.decode()
    link = re.search(r'value="https?://[^/"]+(/accounts/link/[^"]+/)"', html).group(1)
    client.logout()
    return link


def test_a_nurse_issues_a_link_that_signs_the_patient_in_once(client, nurse, patient):
    link = issue_link(client, nurse, patient)
    assert AuditEvent.objects.filter(
        actor=nurse, patient=patient, what__contains="sign-in link issued"
    ).exists()
    opened = client.get(link)
    assert opened.status_code == 200 and "Sign in with your link" in opened.content.decode()
    assert not signed_in(client)  # opening (a link preview) does not spend it
    response = client.post(link)
    assert response["Location"] == "/accounts/link-password/"
    assert signed_in(client)
    assert AuditEvent.objects.filter(
        actor=patient.user, patient=patient, what__contains="sign-in link used"
    ).exists()
    new = "chosen-after-the-link-42"
    response = client.post("/accounts/link-password/", {"new_password1": new, "new_password2": new})
    assert response.status_code == 302
    client.logout()
    assert client.post(link).status_code == 410  # single use
    assert client.login(username=patient.user.username, password=new)


def test_a_link_expires_after_24_hours(client, nurse, patient):
    link = issue_link(client, nurse, patient)
    with time_machine.travel(timezone.now() + timedelta(hours=24, minutes=1)):
        assert "This link no longer works" in client.get(link).content.decode()
        assert client.post(link).status_code == 410
    assert not signed_in(client)


def test_a_new_link_stops_the_earlier_one(client, nurse, patient):
    first = issue_link(client, nurse, patient)
    second = issue_link(client, nurse, patient)
    assert client.post(first).status_code == 410
    assert client.post(second).status_code == 302
    assert SignInLink.objects.filter(user=patient.user).count() == 2


def test_only_the_patients_own_team_can_issue_a_link(client, other_nurse, patient):
    client.force_login(other_nurse)
    assert client.post(f"/accounts/patients/{patient.pk}/sign-in-link/").status_code == 404
    other = PatientFactory()
    client.force_login(patient.user)
    assert client.post(f"/accounts/patients/{other.pk}/sign-in-link/").status_code == 404
    assert client.post(f"/accounts/patients/{patient.pk}/sign-in-link/").status_code == 404
    assert not SignInLink.objects.exists()


def test_the_link_is_offered_on_the_nurse_patient_page(client, nurse, patient):
    client.force_login(nurse)
    page = client.get(f"/nurse/patients/{patient.pk}/").content.decode()
    assert f'href="/accounts/patients/{patient.pk}/sign-in-link/"' in page
