"""The admin's new-prescription form: Times of day default from the drug's schedule (once
daily 09:00; sorafenib 08:00 and 20:00), a check against the dose ladder in plain words next
to the field, the field before Override reason, and errors in words (no codes, no ids)."""

import re

import pytest
import time_machine
from django.test import Client

from medications.models import Drug, Prescription
from tests.factories import PatientFactory

pytestmark = pytest.mark.django_db
ADD = "/admin/medications/prescription/add/"


@pytest.fixture
def admin_client_(admin_user):
    client = Client()
    client.force_login(admin_user)
    return client


def form_for(patient, code, **extra):
    return {
        "patient": patient.pk,
        "drug": Drug.objects.get(code=code).pk,
        "dose_mg": "",
        "times_text": "",
        "start_date": "2026-03-02",
        **extra,
    }


def errors_next_to(response, name: str) -> str:
    return " ".join(str(e) for e in response.context["adminform"].form.errors.get(name, []))


@time_machine.travel("2026-03-02 07:00Z", tick=False)
@pytest.mark.parametrize(
    "code, dose, times",
    [
        ("lenvatinib", "", ["09:00"]),  # weight-based 12 mg once daily
        ("cabozantinib", "60", ["09:00"]),
        ("sorafenib", "400", ["08:00", "20:00"]),  # top step: twice daily
        ("sorafenib", "200", ["09:00"]),  # lowest step: once daily
    ],
)
def test_empty_times_take_the_drugs_usual_times(admin_client_, team, code, dose, times):
    patient = PatientFactory(care_team=team)
    # A reason to prescribe anyway covers the other checks (second-line drugs, reduced
    # starting doses); the times still come from the drug.
    reason = "" if code == "lenvatinib" else "MDT decision"
    response = admin_client_.post(
        ADD, form_for(patient, code, dose_mg=dose, override_reason=reason)
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    assert Prescription.objects.get().times == times


def test_the_form_shows_times_before_override_reason_and_knows_each_drugs_times(admin_client_):
    html = admin_client_.get(ADD).content.decode()
    assert html.index('name="times_text"') < html.index('name="override_reason"')
    assert html.index('name="dose_mg"') < html.index('name="times_text"')
    sorafenib = Drug.objects.get(code="sorafenib").pk
    lenvatinib = Drug.objects.get(code="lenvatinib").pk
    usual = re.search(r'data-usual-times="([^"]+)"', html).group(1).replace("&quot;", '"')
    assert f'"{sorafenib}": "08:00, 20:00"' in usual
    assert f'"{lenvatinib}": "09:00"' in usual
    field = re.search(r'<input[^>]*name="times_text"[^>]*>', html).group(0)
    assert " value=" not in field  # no 08:00, 20:00 for every drug any more
    assert "js/admin.js" in html


@time_machine.travel("2026-03-02 07:00Z", tick=False)
def test_times_that_do_not_fit_the_ladder_are_refused_next_to_the_field(admin_client_, team):
    patient = PatientFactory(care_team=team)
    refused = admin_client_.post(
        ADD, form_for(patient, "lenvatinib", dose_mg="12", times_text="08:00, 20:00")
    )
    assert refused.status_code == 200
    assert errors_next_to(refused, "times_text") == (
        "Lenvatinib 12 mg is taken once a day on its dose ladder, but 2 times of day were "
        "given. Give 1 time of day (for example 09:00), or give a reason to prescribe anyway."
    )
    assert not Prescription.objects.exists()
    # With a reason the prescriber may go ahead; the unmet check is kept as a warning.
    done = admin_client_.post(
        ADD,
        form_for(
            patient,
            "lenvatinib",
            dose_mg="12",
            times_text="08:00, 20:00",
            override_reason="Split dosing agreed with pharmacy",
        ),
    )
    assert done.status_code == 302
    assert [w["code"] for w in Prescription.objects.get().warnings] == ["dose_not_on_ladder"]


@time_machine.travel("2026-03-02 07:00Z", tick=False)
def test_errors_are_words_without_codes_or_ids(admin_client_, team):
    patient = PatientFactory(care_team=team, child_pugh_class="B", prior_systemic_therapies=[])
    refused = admin_client_.post(ADD, form_for(patient, "regorafenib", dose_mg="160"))
    html = refused.content.decode()
    assert "egorafenib" in html and "sorafenib" in html
    assert not re.search(r"\([a-z]+(_[a-z]+)+\)", html), "an internal code is shown"
    assert "#" + str(patient.pk) not in html
    done = admin_client_.post(
        ADD,
        form_for(patient, "regorafenib", dose_mg="160", override_reason="MDT decision"),
        follow=True,
    )
    message = " ".join(str(m) for m in done.context["messages"])
    assert f"regorafenib 160 mg for {patient.given_name} {patient.family_name}" in message
    assert "#" not in message
