"""Pause, resume and the weekday of check-ins from the nurse's patient page."""

import pytest

from medications.models import CheckInPlan

pytestmark = pytest.mark.django_db


def test_pause_with_a_reason_then_resume(client, nurse, patient):
    client.force_login(nurse)
    base = f"/nurse/patients/{patient.pk}/check-ins/"
    refused = client.post(f"{base}pause/", {"reason": ""}, follow=True)
    assert "Say why check-ins are paused." in refused.content.decode()
    assert not CheckInPlan.objects.filter(paused_at__isnull=False).exists()

    page = client.post(f"{base}pause/", {"reason": "in hospital"}, follow=True).content.decode()
    assert "Paused: in hospital" in page
    plan = CheckInPlan.objects.get(patient=patient)
    assert plan.paused_by == nurse and plan.pause_reason == "in hospital"

    client.post(f"{base}resume/")
    plan.refresh_from_db()
    assert plan.paused_at is None


def test_the_weekday_is_chosen_per_patient(client, nurse, patient):
    client.force_login(nurse)
    base = f"/nurse/patients/{patient.pk}/check-ins/"
    page = client.post(f"{base}weekday/", {"weekday": "3"}, follow=True).content.decode()
    assert "Weekly check-ins are now on Thursday." in page
    assert CheckInPlan.objects.get(patient=patient).weekday == 3
    client.post(f"{base}weekday/", {"weekday": "9"})
    assert CheckInPlan.objects.get(patient=patient).weekday == 3  # refused


def test_another_teams_nurse_and_patients_cannot(client, other_nurse, patient):
    client.force_login(other_nurse)
    assert (
        client.post(f"/nurse/patients/{patient.pk}/check-ins/pause/", {"reason": "x"}).status_code
        == 404
    )
    client.force_login(patient.user)
    assert (
        client.post(f"/nurse/patients/{patient.pk}/check-ins/pause/", {"reason": "x"}).status_code
        == 404
    )
    assert not CheckInPlan.objects.exists()


def test_paused_and_resumed_before_it_opened_the_check_in_is_asked_after_all(patient, nurse):
    import time_machine

    from medications.models import CheckIn
    from medications.symptoms import checkins
    from notifications.services.check_ins import check_ins_sweep

    from .helpers import prescribe, utc

    start = utc(2026, 3, 2, 9)
    with time_machine.travel(start, tick=False):
        prescribe(patient, now=start)
        check_ins_sweep()
        checkins.check_ins_pause(patient=patient, reason="scan day", user=nurse)
        checkins.check_ins_resume(patient=patient)
        check_ins_sweep()
    (check_in,) = CheckIn.objects.filter(patient=patient)
    assert check_in.status == "scheduled" and check_in.opens_at == utc(2026, 3, 2, 10)


def test_a_patient_whose_treatment_stopped_is_not_asked_or_chased(patient, nurse):
    import time_machine

    from medications import services as medication_services
    from medications.models import CheckIn
    from notifications.models import Alert
    from notifications.services.check_ins import check_ins_sweep

    from .helpers import prescribe, utc

    start = utc(2026, 3, 2, 8)
    with time_machine.travel(start, tick=False):
        prescription = prescribe(patient, now=start)
        check_ins_sweep()
        assert CheckIn.objects.filter(patient=patient, status="scheduled").exists()
        medication_services.prescription_stop(
            prescription=prescription, reason="progression", recorded_by=nurse, now=start
        )
        check_ins_sweep()
    assert not CheckIn.objects.filter(patient=patient).exists()
    with time_machine.travel(utc(2026, 3, 6, 12), tick=False):
        check_ins_sweep()
    assert not Alert.objects.filter(patient=patient).exists()
