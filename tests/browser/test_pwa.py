"""The installable web app in real headless Chromium, under the site's real CSP (no
bypass): the manifest and the service worker register; with the network cut the offline page
shows the advice-line number and 999 and nothing of the patient; from the Account page the
patient turns notifications on (a real browser subscription, stored) and off again; a push
delivered to the service worker shows the reminder with its two actions.

See tests/browser/fake_gcm.py for why subscribing needs a stand-in GCM server here and what
that does and does not exercise."""

import base64
import json
import tempfile

import pytest

from patients.models import PushSubscription
from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS, PHONE, assert_accessible, screenshot
from tests.browser.fake_gcm import FakeGCM
from tests.factories import PASSWORD, CareTeamFactory, PatientFactory

pytestmark = pytest.mark.django_db(transaction=True)
ADVICE_LINE = "0161 446 3658"


@pytest.fixture
def patient():
    team = CareTeamFactory(name="Liver Oncology Advice Line", advice_line_phone=ADVICE_LINE)
    return PatientFactory(
        care_team=team, given_name="Sam", family_name="Taylor", mobile_phone="07700 900456"
    )


@pytest.fixture
def strict_page(browser):
    """A phone-sized page with the site's Content-Security-Policy enforced."""
    context = browser.new_context(viewport=PHONE, locale="en-GB")
    context.set_default_timeout(15_000)
    page = context.new_page()
    problems = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    yield context, page, problems
    context.close()


def sign_in(page, base, username):
    page.goto(f"{base}/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state("networkidle")


def wait_for_worker(page) -> str:
    """The scope of the service worker once it is active for this page."""
    return page.evaluate("async () => (await navigator.serviceWorker.ready).scope")


def test_manifest_and_service_worker_register_under_the_strict_csp(
    live_server, strict_page, patient
):
    context, page, problems = strict_page
    sign_in(page, live_server.url, patient.user.username)
    page.goto(f"{live_server.url}/me/")

    assert wait_for_worker(page) == f"{live_server.url}/"
    manifest_url = page.eval_on_selector("link[rel=manifest]", "link => link.href")
    manifest = page.evaluate("async (url) => (await fetch(url)).json()", manifest_url)
    assert manifest["display"] == "standalone"
    assert manifest["start_url"] == "/me/"
    assert manifest["theme_color"] == "#003d78"
    assert {icon["sizes"] for icon in manifest["icons"]} >= {"192x192", "512x512"}
    assert any(icon.get("purpose") == "maskable" for icon in manifest["icons"])
    for icon in manifest["icons"]:
        status = page.evaluate("async (src) => (await fetch(src)).status", icon["src"])
        assert status == 200, icon
    content_type = page.evaluate(
        "async (url) => (await fetch(url)).headers.get('content-type')", manifest_url
    )
    assert content_type.startswith("application/manifest+json")
    assert not [p for p in problems if "Content Security Policy" in p], problems


def test_offline_the_app_shows_the_advice_line_and_999_and_no_patient_data(
    live_server, strict_page, patient
):
    context, page, problems = strict_page
    sign_in(page, live_server.url, patient.user.username)
    page.goto(f"{live_server.url}/me/")
    wait_for_worker(page)
    page.reload()  # now controlled by the worker
    page.wait_for_function("navigator.serviceWorker.controller !== null")

    context.set_offline(True)
    page.goto(f"{live_server.url}/me/history/")

    assert page.get_by_role("heading", name="You are offline").is_visible()
    text = page.inner_text("main")
    assert ADVICE_LINE in text and "999" in text
    assert page.locator(f"a[href='tel:{ADVICE_LINE.replace(' ', '')}']").count() == 1
    assert "Sam" not in page.content() and "Taylor" not in page.content()
    cached = page.evaluate(
        """async () => {
            const urls = [];
            for (const name of await caches.keys()) {
                for (const request of await (await caches.open(name)).keys()) {
                    urls.push(new URL(request.url).pathname);
                }
            }
            return urls.sort();
        }"""
    )
    assert cached == ["/offline/", "/static/css/site.css", "/static/pwa/icon-192.png"]
    assert_accessible(page)
    screenshot(page, "patient-offline-phone")
    context.set_offline(False)


@pytest.fixture
def push_browser(browser):
    """Chromium with a normal (not incognito) profile whose GCM client talks to FakeGCM
    (a second browser process, from the session's Playwright)."""
    gcm = FakeGCM()
    with tempfile.TemporaryDirectory() as profile:
        context = browser.browser_type.launch_persistent_context(
            profile,
            executable_path=CHROMIUM,
            args=[*CHROMIUM_ARGS, *gcm.chromium_args()],
            headless=True,
            viewport=PHONE,
            locale="en-GB",
        )
        context.set_default_timeout(20_000)
        yield context, gcm
        context.close()
    gcm.close()


def test_turning_notifications_on_from_the_account_page_stores_this_devices_subscription(
    live_server, push_browser, patient
):
    context, gcm = push_browser
    context.grant_permissions(["notifications"], origin=live_server.url)
    page = context.new_page()
    sign_in(page, live_server.url, patient.user.username)
    page.goto(f"{live_server.url}/accounts/")
    wait_for_worker(page)
    assert page.get_by_text("Notifications are off on this device.").is_visible()

    page.get_by_role("button", name="Turn on notifications on this device").click()
    page.get_by_text("Notifications are on for this device.").wait_for()

    (stored,) = PushSubscription.objects.filter(patient=patient)
    browser_side = page.evaluate(
        """async () => (await (await navigator.serviceWorker.ready)
            .pushManager.getSubscription()).toJSON()"""
    )
    assert stored.endpoint == browser_side["endpoint"]
    assert stored.p256dh == browser_side["keys"]["p256dh"]
    assert stored.auth == browser_side["keys"]["auth"]
    assert len(base64.urlsafe_b64decode(stored.p256dh + "==")) == 65
    assert stored.device.startswith("Chrome")
    # The browser registered with the server's VAPID key as its sender.
    from core.vapid import vapid_keys

    # (Chromium may also register on its own, with its built-in sender id, at any moment:
    # look for ours among the registrations rather than at the last one.)
    assert vapid_keys().public_key in [r["sender"] for r in gcm.registrations]
    assert page.get_by_text("Notifications: on 1 device").is_visible()
    # Chromium offers installing the app (beforeinstallprompt): the hint shows.
    page.locator("[data-install-hint]").wait_for(state="visible")
    assert page.get_by_role("button", name="Add to home screen").is_visible()
    assert_accessible(page)
    screenshot(page, "patient-account-reminders-phone")

    # A reminder pushed to this device is shown with its words and two actions.
    payload = {
        "title": "It's time for your 08:00 medicine",
        "body": "",
        "tag": "dose-1",
        "actions": [{"action": "taken", "title": "Taken"}, {"action": "open", "title": "Open"}],
        "taken_url": f"{live_server.url}/api/v1/push/taken/1/?t=x",
        "open_url": f"{live_server.url}/me/",
    }
    cdp = context.new_cdp_session(page)
    registrations = []
    cdp.on(
        "ServiceWorker.workerRegistrationUpdated",
        lambda event: registrations.extend(event["registrations"]),
    )
    cdp.send("ServiceWorker.enable")
    page.wait_for_timeout(500)
    registration = next(r for r in registrations if r["scopeURL"] == f"{live_server.url}/")
    # Headless Chromium may close a shown notification again a moment later, so a poller
    # started in the page *before* the push keeps the first list it sees. (An async predicate
    # cannot be given to wait_for_function: its Promise is truthy at once, whatever it holds.)
    page.evaluate(
        """() => {
            window.shownNotifications = null;
            (async () => {
                const registration = await navigator.serviceWorker.ready;
                const deadline = Date.now() + 20000;
                while (window.shownNotifications === null && Date.now() < deadline) {
                    const shown = await registration.getNotifications();
                    if (shown.length > 0) {
                        window.shownNotifications = shown.map(n => ({
                            title: n.title, body: n.body, tag: n.tag,
                            actions: n.actions.map(a => a.action)}));
                    }
                    await new Promise(resolve => setTimeout(resolve, 20));
                }
            })();
        }"""
    )
    cdp.send(
        "ServiceWorker.deliverPushMessage",
        {
            "origin": live_server.url,
            "registrationId": registration["registrationId"],
            "data": json.dumps(payload),
        },
    )
    shown = page.wait_for_function("() => window.shownNotifications").json_value()
    assert shown == [
        {
            "title": "It's time for your 08:00 medicine",
            "body": "",
            "tag": "dose-1",
            "actions": ["taken", "open"],
        }
    ]

    page.get_by_role("button", name="Turn off notifications on this device").click()
    page.get_by_text("Notifications are off on this device.").wait_for()
    assert not PushSubscription.objects.filter(patient=patient).exists()
