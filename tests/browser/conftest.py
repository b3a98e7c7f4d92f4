"""Real headless Chromium (Debian's package) driven by Python Playwright.

Never `playwright install`: the browser is /usr/bin/chromium (see DEVELOPERS.md). Pages are
served by pytest-django's live_server. Screenshots go to test-output/screenshots/ and are
referenced from docs/.
"""

import os
import shutil
from pathlib import Path

import pytest

# Playwright's sync API keeps an event loop in this thread; Django's ORM refuses to run
# there unless told it is safe (it is: one thread drives the browser, the ORM is ours).
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

from tests.conftest import IN_CI  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOTS = ROOT / "test-output" / "screenshots"
AXE_SOURCE = (ROOT / "tests" / "vendor" / "axe.min.js").read_text()
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}


def pytest_collection_modifyitems(config, items):
    here = str(Path(__file__).parent)
    for item in items:
        if str(item.fspath).startswith(here):
            item.add_marker(pytest.mark.browser)
            if not Path(CHROMIUM).exists() and not shutil.which("chromium"):
                if IN_CI:
                    raise pytest.UsageError(f"CI=true but no Chromium at {CHROMIUM}")
                item.add_marker(pytest.mark.skip(reason=f"no Chromium at {CHROMIUM}"))


@pytest.fixture(scope="session", autouse=True)
def _one_request_at_a_time_on_sqlite():
    """With SQLite the test database is in memory, and Django's live server hands its one
    connection to every request thread. Two requests at once (a page and its service
    worker, say) then use it together: "cannot start a transaction within a transaction",
    and every later browser test fails on a connection left inside a transaction (seen in
    CI on a loaded machine). On SQLite the live server answers one request at a time
    (Django closes each connection after its answer when the server has no threads);
    PostgreSQL gives each request thread its own connection and keeps the threads."""
    from django.core.servers.basehttp import WSGIServer
    from django.db import connection
    from django.test.testcases import LiveServerThread

    class OneAtATimeWSGIServer(WSGIServer):
        def __init__(self, *args, connections_override=None, **kwargs):
            # Requests run in the live server's own thread, which already uses the
            # overridden connections.
            super().__init__(*args, **kwargs)

    if connection.vendor != "sqlite":
        yield
        return
    threaded = LiveServerThread.server_class
    LiveServerThread.server_class = OneAtATimeWSGIServer
    yield
    LiveServerThread.server_class = threaded


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
        )
        yield browser
        browser.close()


def _new_page(browser, viewport):
    # bypass_csp lets the tests inject axe-core; the app's own CSP stays strict.
    context = browser.new_context(viewport=viewport, bypass_csp=True, locale="en-GB")
    context.set_default_timeout(15_000)
    return context, context.new_page()


@pytest.fixture
def page(browser):
    context, page = _new_page(browser, DESKTOP)
    yield page
    context.close()


@pytest.fixture
def phone_page(browser):
    context, page = _new_page(browser, PHONE)
    yield page
    context.close()


@pytest.fixture
def new_page(browser):
    """Factory for extra pages (a second user in the same test)."""
    contexts = []

    def make(viewport=DESKTOP):
        context, page = _new_page(browser, viewport)
        contexts.append(context)
        return page

    yield make
    for context in contexts:
        context.close()


def sign_in(page, live_server, username: str, password: str) -> None:
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state("networkidle")


def axe_violations(page, impacts=("serious", "critical")) -> list[dict]:
    """Run axe-core on the page; return violations of the given impacts."""
    page.evaluate(AXE_SOURCE)
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    return [
        {
            "id": v["id"],
            "impact": v["impact"],
            "help": v["help"],
            "nodes": [n["target"] for n in v["nodes"]][:5],
        }
        for v in result["violations"]
        if v["impact"] in impacts
    ]


def assert_accessible(page) -> None:
    violations = axe_violations(page)
    assert violations == [], f"axe-core found serious/critical violations: {violations}"


def screenshot(page, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
