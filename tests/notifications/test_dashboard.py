"""The advice-line nurse dashboard (/nurse/): who may see what, the queue's order, filters and
words, acknowledging and resolving (with and without htmx), the live refresh, and the
patient page's actions (through the medications services)."""

import re
from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from medications.models import (
    PrescriptionStatus,
)
from notifications.models import (
    Alert,
    AlertEventKind,
    AlertOutcome,
    AlertStatus,
    Channel,
    ChannelKind,
)
from tests.factories import NurseFactory, PatientFactory
from tests.notifications.dashboard_helpers import HTMX, make_alert, report, row_order, text
from tests.notifications.helpers import prescribe

# --- who may see what -------------------------------------------------------------------------


@pytest.mark.django_db
def test_signed_out_people_are_sent_to_sign_in(client):
    response = client.get("/nurse/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=/nurse/")


@pytest.mark.django_db
def test_the_live_refresh_of_a_signed_out_page_sends_the_browser_to_sign_in(client):
    response = client.get("/nurse/queue/rows/", **HTMX)
    assert response.status_code == 200
    assert response["HX-Redirect"].startswith("/accounts/login/")
    assert b"<tr" not in response.content


@pytest.mark.django_db
def test_patients_cannot_open_any_nurse_page(client, patient):
    alert = make_alert(patient)
    client.force_login(patient.user)
    for url in (
        "/nurse/",
        "/nurse/queue/rows/",
        "/nurse/queue/pulse/",
        "/nurse/patients/",
        f"/nurse/patients/{patient.pk}/",
        f"/nurse/alerts/{alert.pk}/",
    ):
        assert client.get(url).status_code == 404, url
    assert client.post(f"/nurse/alerts/{alert.pk}/acknowledge/").status_code == 404
    alert.refresh_from_db()
    assert alert.status == AlertStatus.OPEN


@pytest.mark.django_db
def test_a_nurse_never_sees_another_teams_alerts_or_patients(client, nurse, other_patient):
    alert = make_alert(other_patient)
    prescription = prescribe(other_patient, now=timezone.now())
    client.force_login(nurse)
    queue = client.get("/nurse/?status=all")
    assert other_patient.family_name not in text(queue)
    assert other_patient.family_name not in text(client.get("/nurse/patients/"))
    for url in (
        f"/nurse/alerts/{alert.pk}/",
        f"/nurse/patients/{other_patient.pk}/",
        f"/nurse/patients/{other_patient.pk}/timeline/",
    ):
        assert client.get(url).status_code == 404, url
    posts = {
        f"/nurse/alerts/{alert.pk}/acknowledge/": {},
        f"/nurse/alerts/{alert.pk}/resolve/": {
            f"alert{alert.pk}-outcome": "no_action_needed",
            f"alert{alert.pk}-note": "x",
        },
        f"/nurse/patients/{other_patient.pk}/prescriptions/{prescription.pk}/stop/": {
            f"rx{prescription.pk}-stop-reason": "x"
        },
    }
    for url, data in posts.items():
        assert client.post(url, data).status_code == 404, url
    alert.refresh_from_db()
    prescription.refresh_from_db()
    assert alert.status == AlertStatus.OPEN
    assert prescription.status == PrescriptionStatus.ACTIVE


@pytest.mark.django_db
def test_a_pulse_never_announces_another_teams_red_alert(client, nurse, other_patient):
    client.force_login(nurse)
    make_alert(other_patient, level="red")
    response = client.get("/nurse/queue/pulse/?red_base=0&red_seen=0")
    assert other_patient.family_name not in response.content.decode()


@pytest.mark.django_db
def test_an_admin_sees_every_team(client, admin_user, patient, other_patient):
    make_alert(patient)
    make_alert(other_patient)
    client.force_login(admin_user)
    page = text(client.get("/nurse/"))
    assert patient.family_name in page and other_patient.family_name in page
    assert client.get(f"/nurse/patients/{other_patient.pk}/").status_code == 200


@pytest.mark.django_db
def test_a_huge_id_is_a_404_not_an_error(client, nurse):
    client.force_login(nurse)
    assert client.get(f"/nurse/alerts/{2**70}/").status_code == 404
    assert client.get(f"/nurse/patients/{2**70}/").status_code == 404


# --- the queue --------------------------------------------------------------------------------


@pytest.mark.django_db
def test_red_before_amber_before_green_then_oldest_first(client, nurse, team):
    # One patient each: one patient's alerts share a row (test_queue_grouping.py).
    people = [PatientFactory(care_team=team) for _ in range(5)]
    green_old = make_alert(people[0], level="green", minutes_ago=600)
    amber_new = make_alert(people[1], level="amber", minutes_ago=5)
    red_new = make_alert(people[2], level="red", minutes_ago=2)
    amber_old = make_alert(people[3], level="amber", minutes_ago=200)
    red_old = make_alert(people[4], level="red", minutes_ago=20)
    client.force_login(nurse)
    order = row_order(client.get("/nurse/"))
    assert order == [red_old.pk, red_new.pk, amber_old.pk, amber_new.pk, green_old.pk]


@pytest.mark.django_db
def test_a_row_says_who_what_why_and_how_long(client, nurse, patient):
    made = report(patient, days_ago=0, symptoms={"diarrhoea": 3, "nausea": 2})
    alert = Alert.objects.get(symptom_report=made)
    client.force_login(nurse)
    page = text(client.get("/nurse/"))
    assert patient.full_name in page
    assert f"NHS {patient.formatted_nhs_number}" in page
    assert "Red" in page and "Symptom report" in page
    # Symptom labels from the triage rules, with the grade the patient chose.
    assert "Diarrhoea, grade 3" in page
    assert "Feeling sick (nausea), grade 2" in page
    assert re.search(r"\d+ min left", page)
    assert alert.get_status_display() in page


@pytest.mark.django_db
def test_overdue_alerts_say_overdue(client, nurse, patient):
    make_alert(patient, level="red", minutes_ago=45)
    client.force_login(nurse)
    response = client.get("/nurse/")
    assert 'class="overdue"' in response.content.decode()
    assert "Overdue by 15 min" in text(response)
    assert "1 red ; 1 overdue" in text(response)


@pytest.mark.django_db
def test_acknowledged_alerts_say_who_acknowledged_them(client, nurse, patient):
    from notifications import services

    nurse.first_name, nurse.last_name = "Nia", "Evans"
    nurse.save()
    alert = make_alert(patient)
    services.alert_acknowledge(alert=alert, user=nurse)
    client.force_login(nurse)
    page = text(client.get("/nurse/"))
    assert "Acknowledged by Nia Evans" in page
    assert "Acknowledged in time" in page


@pytest.mark.django_db
def test_missed_dose_reasons_are_in_words(client, nurse, patient):
    make_alert(
        patient,
        level="amber",
        kind="missed_dose",
        summary="Missed Sorafenib dose",
        reasons=[
            {
                "code": "consecutive_missed_doses",
                "level": "amber",
                "rule": "2 or more consecutive expected doses missed",
            }
        ],
    )
    client.force_login(nurse)
    page = text(client.get("/nurse/"))
    assert "Missed dose Missed Sorafenib dose" in page
    assert "2 or more consecutive expected doses missed" in page
    assert "consecutive_missed_doses" not in page


@pytest.mark.django_db
def test_the_default_shows_open_and_acknowledged_not_resolved(client, nurse, patient, team):
    open_ = make_alert(patient, status=AlertStatus.OPEN)
    acknowledged = make_alert(PatientFactory(care_team=team), status=AlertStatus.ACKNOWLEDGED)
    resolved = make_alert(patient, status=AlertStatus.RESOLVED)
    client.force_login(nurse)
    assert set(row_order(client.get("/nurse/"))) == {open_.pk, acknowledged.pk}
    assert row_order(client.get("/nurse/?status=resolved")) == [resolved.pk]
    assert len(row_order(client.get("/nurse/?status=all"))) == 3


@pytest.mark.django_db
def test_filters_by_level_kind_and_team(client, team, other_team):
    nurse = NurseFactory(teams=[team, other_team])
    mine = PatientFactory(care_team=team)
    theirs = PatientFactory(care_team=other_team)
    red = make_alert(mine, level="red")
    amber_supply = make_alert(
        PatientFactory(care_team=team), level="amber", kind="supply", reasons=[]
    )
    other_team_red = make_alert(theirs, level="red")
    client.force_login(nurse)
    assert set(row_order(client.get("/nurse/?level=red"))) == {red.pk, other_team_red.pk}
    assert row_order(client.get("/nurse/?kind=supply")) == [amber_supply.pk]
    assert set(row_order(client.get(f"/nurse/?team={team.pk}"))) == {red.pk, amber_supply.pk}
    assert row_order(client.get(f"/nurse/?team={other_team.pk}&level=red")) == [other_team_red.pk]


@pytest.mark.django_db
def test_a_team_outside_the_nurses_teams_is_ignored_not_shown(client, nurse, patient, other_team):
    other = make_alert(PatientFactory(care_team=other_team))
    mine = make_alert(patient)
    client.force_login(nurse)
    assert row_order(client.get(f"/nurse/?team={other_team.pk}")) == [mine.pk]
    assert other.pk not in row_order(client.get(f"/nurse/?team={other_team.pk}&status=all"))


@pytest.mark.django_db
def test_search_by_name_or_nhs_number_with_or_without_spaces(client, nurse, team):
    rose = PatientFactory(care_team=team, given_name="Rose", family_name="Okafor")
    ken = PatientFactory(care_team=team, given_name="Ken", family_name="Adeyemi")
    rose_alert, ken_alert = make_alert(rose), make_alert(ken)
    client.force_login(nurse)
    assert row_order(client.get("/nurse/?q=okafor")) == [rose_alert.pk]
    assert row_order(client.get("/nurse/?q=Rose+Okafor")) == [rose_alert.pk]
    assert row_order(client.get(f"/nurse/?q={ken.formatted_nhs_number}")) == [ken_alert.pk]
    assert row_order(client.get(f"/nurse/?q={ken.nhs_number}")) == [ken_alert.pk]
    assert row_order(client.get("/nurse/?q=Nobody")) == []


@pytest.mark.django_db
def test_pages_of_25(client, nurse, team):
    for minutes in range(30):
        make_alert(PatientFactory(care_team=team), level="amber", minutes_ago=100 - minutes)
    client.force_login(nurse)
    first = client.get("/nurse/")
    second = client.get("/nurse/?page=2")
    assert len(row_order(first)) == 25 and len(row_order(second)) == 5
    assert "Page 1 of 2" in text(first)
    assert 'href="?page=2"' in first.content.decode()


@pytest.mark.django_db
def test_empty_states(client, nurse, patient):
    client.force_login(nurse)
    assert "No open alerts for your teams" in text(client.get("/nurse/"))
    make_alert(patient, level="green")
    assert "No alerts match these filters" in text(client.get("/nurse/?level=red"))


@pytest.mark.django_db
def test_the_refresh_keeps_the_filters_and_page_and_swaps_only_rows(client, nurse, patient):
    red = make_alert(patient, level="red")
    make_alert(patient, level="amber")
    client.force_login(nurse)
    page = client.get("/nurse/?level=red&q=Alex").content.decode()
    poll = re.search(r'<tbody id="queue-rows" hx-get="([^"]+)" hx-trigger="every (\d+)s"', page)
    assert poll, "the table body polls"
    url = poll.group(1).replace("&amp;", "&")
    assert "level=red" in url and "q=Alex" in url and "page=1" in url
    fragment = client.get(url, **HTMX)
    body = fragment.content.decode()
    assert body.lstrip().startswith("<tr")
    assert row_order(fragment) == [red.pk]
    assert "<table" not in body and "<html" not in body
    assert 'id="queue-summary" hx-swap-oob' in body


@pytest.mark.django_db
def test_the_refresh_interval_is_a_setting(client, nurse, settings):
    settings.NURSE_QUEUE_POLL_SECONDS = 12
    client.force_login(nurse)
    assert 'hx-trigger="every 12s"' in client.get("/nurse/").content.decode()


# --- live: new red alerts are announced ----------------------------------------------------


@pytest.mark.django_db
def test_a_new_red_alert_is_announced_once_and_stays_in_the_banner(client, nurse, patient):
    before = make_alert(patient, level="red", minutes_ago=30)
    client.force_login(nurse)
    page = client.get("/nurse/").content.decode()
    assert f'id="red-base" name="red_base" value="{before.pk}"' in page
    assert 'aria-live="assertive"' in page

    quiet = client.get(f"/nurse/queue/pulse/?red_base={before.pk}&red_seen={before.pk}")
    assert "queue-announcer" not in quiet.content.decode()
    assert "New red alert" not in quiet.content.decode()

    rose = PatientFactory(care_team=patient.care_team, given_name="Rose", family_name="Okafor")
    new = make_alert(rose, level="red", minutes_ago=0)
    make_alert(rose, level="amber", minutes_ago=0)  # amber: not announced
    pulse = client.get(f"/nurse/queue/pulse/?red_base={before.pk}&red_seen={before.pk}")
    body = pulse.content.decode()
    announcer = re.search(r'<div id="queue-announcer" hx-swap-oob="innerHTML">(.*?)</div>', body)
    assert announcer and "New red alert: Rose Okafor" in announcer.group(1)
    assert "Chest pain or tightness" in announcer.group(1)
    assert f'id="red-seen" name="red_seen" value="{new.pk}"' in body
    assert "Rose Okafor" in text(pulse)

    # Next pulse: not announced again, still in the banner until acknowledged.
    again = client.get(f"/nurse/queue/pulse/?red_base={before.pk}&red_seen={new.pk}")
    assert "queue-announcer" not in again.content.decode()
    assert "Rose Okafor" in text(again)
    from notifications import services

    services.alert_acknowledge(alert=new, user=nurse)
    after = client.get(f"/nurse/queue/pulse/?red_base={before.pk}&red_seen={new.pk}")
    assert "Rose Okafor" not in text(after)


@pytest.mark.django_db
def test_failing_channels_show_as_a_warning(client, nurse, team, other_team):
    Channel.objects.create(
        name="On-call pager",
        care_team=team,
        kind=ChannelKind.WEBHOOK,
        target="https://pager.example.org/hook",
        consecutive_failures=Channel.FAILING_AFTER,
    )
    Channel.objects.create(
        name="Other team's pager",
        care_team=other_team,
        kind=ChannelKind.WEBHOOK,
        target="https://x.example.org/",
        consecutive_failures=9,
    )
    client.force_login(nurse)
    page = text(client.get("/nurse/"))
    assert "Alert messages are not getting through" in page
    assert "On-call pager" in page and "Other team's pager" not in page
    assert "On-call pager" in text(client.get("/nurse/queue/pulse/"))


@pytest.mark.django_db
def test_the_refresh_does_not_keep_an_idle_session_alive(client, nurse, settings):
    client.force_login(nurse)
    client.get("/nurse/")
    with time_machine.travel(timezone.now() + timedelta(seconds=settings.SESSION_COOKIE_AGE - 60)):
        assert client.get("/nurse/queue/rows/", **HTMX).status_code == 200
        assert "HX-Redirect" not in client.get("/nurse/queue/rows/", **HTMX)
    with time_machine.travel(timezone.now() + timedelta(seconds=settings.SESSION_COOKIE_AGE + 60)):
        response = client.get("/nurse/queue/rows/", **HTMX)
        assert response["HX-Redirect"].startswith("/accounts/login/")
    assert client.get("/nurse/").status_code == 302  # signed out


# --- acknowledge and resolve ---------------------------------------------------------------


@pytest.mark.django_db
def test_acknowledge_without_javascript_redirects_back_and_records_who(client, nurse, patient):
    alert = make_alert(patient)
    client.force_login(nurse)
    response = client.post(
        f"/nurse/alerts/{alert.pk}/acknowledge/", {"next": "/nurse/?level=red&page=1"}
    )
    assert response.status_code == 302 and response["Location"] == "/nurse/?level=red&page=1"
    alert.refresh_from_db()
    assert alert.status == AlertStatus.ACKNOWLEDGED and alert.acknowledged_by == nurse
    event = alert.events.get(kind=AlertEventKind.ACKNOWLEDGED)
    assert event.actor == nurse


@pytest.mark.django_db
def test_acknowledge_never_redirects_off_site(client, nurse, patient):
    alert = make_alert(patient)
    client.force_login(nurse)
    response = client.post(
        f"/nurse/alerts/{alert.pk}/acknowledge/", {"next": "https://evil.example/"}
    )
    assert response["Location"] == f"/nurse/alerts/{alert.pk}/"


@pytest.mark.django_db
def test_acknowledge_with_htmx_returns_the_row(client, nurse, patient):
    alert = make_alert(patient)
    client.force_login(nurse)
    response = client.post(f"/nurse/alerts/{alert.pk}/acknowledge/", **HTMX)
    assert response.status_code == 200
    assert row_order(response) == [alert.pk]
    assert "Acknowledged" in text(response)
    assert 'id="queue-status" hx-swap-oob="innerHTML"' in response.content.decode()
    assert f'id="ack-{alert.pk}"' not in response.content.decode()  # no second acknowledge


@pytest.mark.django_db
def test_resolve_needs_an_outcome_and_a_note(client, nurse, patient):
    alert = make_alert(patient)
    client.force_login(nurse)
    prefix = f"alert{alert.pk}"
    response = client.post(f"/nurse/alerts/{alert.pk}/resolve/", {f"{prefix}-outcome": "other"})
    assert response.status_code == 400
    page = text(response)
    assert "There is a problem" in page
    assert "For “Other”, write what the outcome was." in page
    assert f'id="id_{prefix}-note-error"' in response.content.decode()
    assert 'aria-invalid="true"' in response.content.decode()
    response = client.post(f"/nurse/alerts/{alert.pk}/resolve/", {f"{prefix}-note": "Rang"})
    assert "Choose the outcome." in text(response)
    alert.refresh_from_db()
    assert alert.status == AlertStatus.OPEN


@pytest.mark.django_db
def test_resolve_with_htmx_shows_errors_in_the_row(client, nurse, patient):
    alert = make_alert(patient)
    client.force_login(nurse)
    response = client.post(
        f"/nurse/alerts/{alert.pk}/resolve/",
        {f"alert{alert.pk}-outcome": "advice_given_by_phone"},
        **HTMX,
    )
    assert response.status_code == 200  # htmx swaps 2xx only
    assert row_order(response) == [alert.pk]
    assert '<details class="resolve" open>' in response.content.decode()
    assert "Write a short note saying what was done." in text(response)


@pytest.mark.django_db
def test_resolve_records_outcome_note_who_and_when(client, nurse, patient):
    alert = make_alert(patient)
    client.force_login(nurse)
    prefix = f"alert{alert.pk}"
    response = client.post(
        f"/nurse/alerts/{alert.pk}/resolve/",
        {
            f"{prefix}-outcome": AlertOutcome.TOLD_TO_CALL_999,
            f"{prefix}-note": "Chest pain at rest: told to call 999 now.",
            "next": "/nurse/",
        },
        **HTMX,
    )
    assert "resolved: Told to call 999" in text(response)
    alert.refresh_from_db()
    assert alert.status == AlertStatus.RESOLVED
    assert alert.outcome == AlertOutcome.TOLD_TO_CALL_999
    assert alert.resolved_by == nurse and alert.resolved_at is not None
    assert alert.events.get(kind=AlertEventKind.RESOLVED).actor == nurse
    assert alert.pk not in row_order(client.get("/nurse/"))


@pytest.mark.django_db
def test_resolving_a_resolved_alert_says_so(client, nurse, patient):
    from notifications import services

    alert = make_alert(patient)
    services.alert_resolve(alert=alert, user=nurse, outcome="no_action_needed", note="ok")
    client.force_login(nurse)
    response = client.post(
        f"/nurse/alerts/{alert.pk}/resolve/",
        {f"alert{alert.pk}-outcome": "other", f"alert{alert.pk}-note": "again"},
    )
    assert response.status_code == 400
    assert "already resolved" in text(response)


@pytest.mark.django_db
def test_alert_page_shows_reasons_history_deliveries_and_patient(client, nurse, patient):
    from notifications import services
    from notifications.models import Delivery

    made = report(patient, days_ago=0, symptoms={"vomiting_blood": 1}, temperature_c=38.4)
    alert = Alert.objects.get(symptom_report=made)
    channel = Channel.objects.create(
        name="Ward e-mail", care_team=patient.care_team, kind=ChannelKind.EMAIL, target="w@x.org"
    )
    Delivery.objects.get_or_create(alert=alert, channel=channel, defaults={"status": "sent"})
    services.alert_acknowledge(alert=alert, user=nurse)
    client.force_login(nurse)
    response = client.get(f"/nurse/alerts/{alert.pk}/")
    page = text(response)
    assert "Vomiting blood" in page and "red flag" in page
    assert "Temperature : 38.4 °C" in page
    assert "Raised The system Red alert" in page
    assert "Raised" in page and "Acknowledged" in page
    assert nurse.username in page  # who acknowledged, in the history
    assert "Ward e-mail" in page
    assert f'href="/nurse/patients/{patient.pk}/"' in response.content.decode()
