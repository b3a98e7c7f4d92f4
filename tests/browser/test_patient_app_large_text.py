"""Large text on the patient pages (issue 13 point 7; WCAG 1.4.4 Resize text, 1.4.10
Reflow): at 200% browser zoom (a 640-pixel window: 320 CSS pixels wide) and at 200% text
size on a 390x844 touch phone, no page scrolls sideways, no two controls overlap, and the
header takes at most a quarter of the screen (a Menu button instead of wrapping links)."""

import pytest
from django.conf import settings

from tests.browser.conftest import assert_accessible, screenshot, sign_in
from tests.browser.patient_helpers import touch_phone

pytestmark = pytest.mark.django_db(transaction=True)

PAGES = [
    ("/me/", "today"),
    ("/me/symptoms/report/", "report"),
    ("/me/symptoms/new/", "report-whole-form"),
    ("/me/history/", "history"),
    ("/me/treatment/", "treatment"),
]

OVERLAPS = """() => {
  const els = [...document.querySelectorAll(
    'main a.button, main button, main input:not([type=hidden]), main select, main textarea, ' +
    'main label.choice, main summary, header a, header button')]
    .filter(e => e.checkVisibility({checkVisibilityCSS: true}) && e.getClientRects().length);
  const boxes = els.map(e => [e, e.getBoundingClientRect()]);
  const found = [];
  for (let i = 0; i < boxes.length; i++) {
    for (let j = i + 1; j < boxes.length; j++) {
      const [a, ra] = boxes[i], [b, rb] = boxes[j];
      if (a.contains(b) || b.contains(a)) continue;
      const w = Math.min(ra.right, rb.right) - Math.max(ra.left, rb.left);
      const h = Math.min(ra.bottom, rb.bottom) - Math.max(ra.top, rb.top);
      if (w > 1 && h > 1) found.push((a.textContent || a.name || a.tagName).trim().slice(0, 30) +
        ' / ' + (b.textContent || b.name || b.tagName).trim().slice(0, 30));
    }
  }
  return found;
}"""

WIDER = """() => [...document.querySelectorAll('body *')]
  .filter(e => e.getBoundingClientRect().right > document.documentElement.clientWidth + 1)
  .map(e => e.tagName + '.' + e.className + ' ' + (e.textContent || '').trim().slice(0, 40))
  .slice(0, 8)"""


@pytest.fixture
def demo(live_server):
    from tracker.demo import seed_demo

    seed_demo()
    return settings.DEMO_PASSWORD


def check_page(page, live_server, path, name):
    page.goto(f"{live_server.url}{path}")
    page.wait_for_load_state("networkidle")
    width = page.evaluate("document.documentElement.scrollWidth")
    client = page.evaluate("document.documentElement.clientWidth")
    assert width <= client, f"{path} scrolls sideways ({width} > {client}): {page.evaluate(WIDER)}"
    assert page.evaluate(OVERLAPS) == [], f"{path}: controls overlap"
    header = page.locator("header.site-header").bounding_box()
    height = page.viewport_size["height"]
    assert header["height"] <= height / 4, f"{path}: header {header['height']} of {height}"
    assert_accessible(page)
    screenshot(page, name)


def test_200_percent_zoom_at_320_css_pixels(live_server, demo, browser):
    # 200% zoom of a 640x900 window: 320x450 CSS pixels, each drawn with 2x2 device pixels.
    context, page = touch_phone(
        browser, viewport={"width": 320, "height": 450}, device_scale_factor=2
    )
    try:
        sign_in(page, live_server, "sam", demo)
        for path, name in PAGES:
            check_page(page, live_server, path, f"patient-zoom200-{name}")
        # The menu opens and closes with a tap and lists every page.
        page.goto(f"{live_server.url}/me/")
        menu = page.get_by_role("button", name="Menu")
        assert menu.get_attribute("aria-expanded") == "false"
        menu.tap()
        assert menu.get_attribute("aria-expanded") == "true"
        nav = page.get_by_role("navigation", name="Main")
        for link in ("Today", "Symptoms", "Treatment", "History", "Account"):
            assert nav.get_by_role("link", name=link, exact=True).is_visible()
        assert page.evaluate(OVERLAPS) == []
        screenshot(page, "patient-zoom200-menu-open")
    finally:
        context.close()


def test_200_percent_text_size_on_a_phone(live_server, demo, browser):
    context, page = touch_phone(browser)
    # The browser's text-size setting at 200% (default font 16 -> 32 px): every rem and em
    # doubles, media queries in em included, as on a phone set to its largest text.
    cdp = context.new_cdp_session(page)
    cdp.send("Page.enable")
    cdp.send("Page.setFontSizes", {"fontSizes": {"standard": 32, "fixed": 26}})
    try:
        sign_in(page, live_server, "sam", demo)
        for path, name in PAGES:
            check_page(page, live_server, path, f"patient-text200-{name}")
    finally:
        context.close()
