"""The admin's new forms in real Chromium: "Add nurse" with an invite link, a new
prescription whose Times of day follow the chosen drug, the searchable patient field with an
accessible name, and the audit list; axe-core finds no serious or critical problem on any of
them. Screenshots for docs/admin.md."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from medications.models import Drug
from tests.browser.conftest import assert_accessible, axe_violations, screenshot, sign_in
from tests.factories import PASSWORD, PatientFactory


@pytest.mark.django_db(transaction=True)
def test_add_a_nurse_in_one_form(live_server, page, admin_user, team):
    sign_in(page, live_server, admin_user.username, PASSWORD)
    page.goto(f"{live_server.url}/admin/patients/nurse/add/")
    assert_accessible(page)
    page.get_by_label("First name").fill("Grace")
    page.get_by_label("Last name").fill("Adeyemi")
    page.get_by_label("Username").fill("gadeyemi")
    page.get_by_label("E-mail").fill("grace@example.org")
    page.get_by_label(team.name).check()
    screenshot(page, "admin-add-nurse")
    page.get_by_role("button", name="Save", exact=True).click()
    message = page.locator(".messagelist").inner_text()
    assert "Send this invite link to Grace Adeyemi" in message
    link = re.search(r"(http://\S+/accounts/invite/\S+/)", message).group(1)
    assert "gadeyemi" in page.locator("#result_list").inner_text()
    assert_accessible(page)

    # The new nurse, in her own browser, sets a password and reaches the queue.
    nurse_page = page.context.browser.new_context(bypass_csp=True).new_page()
    nurse_page.goto(link)
    nurse_page.get_by_label("New password", exact=True).fill("lantern-orchid-42")
    nurse_page.get_by_label("New password confirmation").fill("lantern-orchid-42")
    nurse_page.get_by_role("button", name="Set my password").click()
    assert nurse_page.get_by_role("heading", name="Your password is set").is_visible()
    sign_in(nurse_page, live_server, "gadeyemi", "lantern-orchid-42")
    nurse_page.goto(f"{live_server.url}/nurse/")
    assert nurse_page.get_by_role("heading", name="Alert queue").is_visible()
    nurse_page.context.close()


@pytest.mark.django_db(transaction=True)
def test_new_prescription_times_follow_the_drug(live_server, page, admin_user, team):
    patient = PatientFactory(care_team=team, given_name="Rose", family_name="Okafor")
    drugs = {d.code: str(d.pk) for d in Drug.objects.all()}
    sign_in(page, live_server, admin_user.username, PASSWORD)
    page.goto(f"{live_server.url}/admin/medications/prescription/add/")
    page.wait_for_load_state("load")
    # The searchable patient field has a name (Select2's own has none until a choice).
    combobox = page.get_by_role("combobox", name=re.compile("^Patient"))
    expect(combobox).to_have_count(1)
    assert_accessible(page)
    times = page.get_by_label("Times of day")
    assert times.input_value() == ""
    page.get_by_label("Drug").select_option(value=drugs["lenvatinib"])
    assert times.input_value() == "09:00"
    page.get_by_label("Drug").select_option(value=drugs["sorafenib"])
    assert times.input_value() == "08:00, 20:00"
    # Typed times are the prescriber's: a change of drug leaves them alone.
    times.fill("07:30, 19:30")
    page.get_by_label("Drug").select_option(value=drugs["lenvatinib"])
    assert times.input_value() == "07:30, 19:30"
    times.fill("")
    page.get_by_label("Drug").select_option(value=drugs["sorafenib"])
    assert times.input_value() == "08:00, 20:00"

    combobox.click()
    page.locator(".select2-search__field").fill("Okafor")
    page.get_by_role("option", name=re.compile("Okafor")).click()
    page.get_by_label("Start date").fill("2026-12-01")
    page.get_by_label("Drug").select_option(value=drugs["lenvatinib"])
    times.fill("08:00, 20:00")
    page.get_by_label("Dose mg").fill("12")
    page.get_by_role("button", name="Save", exact=True).click()
    error = page.locator(".errorlist").first.inner_text()
    assert "Lenvatinib 12 mg is taken once a day on its dose ladder" in error
    assert not re.search(r"\([a-z]+_[a-z_]+\)", page.content())
    assert axe_violations(page) == []
    screenshot(page, "admin-prescription-times")
    times.fill("")
    page.get_by_role("button", name="Save", exact=True).click()
    assert f"lenvatinib 12 mg for {patient.full_name}" in page.locator(".messagelist").inner_text()


@pytest.mark.django_db(transaction=True)
def test_audit_list_and_team_page_are_accessible(live_server, page, admin_user, team, nurse):
    sign_in(page, live_server, admin_user.username, PASSWORD)
    page.goto(f"{live_server.url}/admin/patients/auditevent/")
    assert page.get_by_role("link", name="Reads").is_visible()
    assert_accessible(page)
    page.goto(f"{live_server.url}/admin/patients/careteam/{team.pk}/change/")
    assert_accessible(page)
    page.goto(f"{live_server.url}/admin/patients/patient/add/")
    page.wait_for_load_state("load")
    expect(page.get_by_role("combobox", name=re.compile("^User"))).to_have_count(1)
    expect(page.get_by_role("combobox", name=re.compile("^Care team"))).to_have_count(1)
    assert_accessible(page)


@pytest.mark.django_db(transaction=True)
def test_triage_rules_as_a_table_preview_then_save(live_server, page, admin_user):
    sign_in(page, live_server, admin_user.username, PASSWORD)
    page.goto(f"{live_server.url}/admin/medications/triageruleset/add/")
    assert page.get_by_role("heading", name="Symptoms: what each grade says and its level")
    assert_accessible(page)
    page.get_by_label("Diarrhoea, grade 2: level").select_option("red")
    page.get_by_label("Amber items in one report that make it red").fill("3")
    page.get_by_role("button", name="Preview the changes").click()
    preview = page.locator(".rules-preview").inner_text()
    assert "Diarrhoea, grade 2: amber → red." in preview
    assert "Amber items that make a report red: 2 → 3." in preview
    assert_accessible(page)
    screenshot(page, "admin-triage-rules-preview")
    page.get_by_label("What changed and why").fill("Governance review")
    page.get_by_role("button", name="Save as a new version").click()
    assert "Saved as version 2, now active" in page.locator(".messagelist").inner_text()
