"""Phone widths: no page scrolls sideways at 360 px, for every page the quality world renders, as
every role (issue 14), and the header stays one line (its menu folds behind a toggle). The check
is the document's own ``scrollWidth`` against the screen's width; on a failure the widest elements
that stick out are named, so the fix is obvious.

The same page load also checks the CSP in the real browser (one load per page and role, not two):
an init script (``context.add_init_script`` runs regardless of CSP) records every
``securitypolicyviolation`` event into ``window.__cspViolations``; console errors and uncaught page
errors are collected, requests to any other host are blocked and recorded — all must be none.
"""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.quality.conftest import BrowserSessions, World, page_cases, page_url

pytestmark = pytest.mark.xdist_group("quality_browser_narrow")

RECORD_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener('securitypolicyviolation', function (e) {
  window.__cspViolations.push({directive: e.violatedDirective, blocked: e.blockedURI,
                               source: e.sourceFile, line: e.lineNumber, sample: e.sample});
});
"""

WIDTH = 360
HEADER_MAX = 80  # brand and "Menu" on one line (the header was ≈200 px, four lines, before)

# Elements wider than the viewport (their right edge past it), outermost first: what to fix.
OVERFLOW_SCRIPT = """(width) => {
  const out = [];
  for (const el of document.querySelectorAll('body *')) {
    const r = el.getBoundingClientRect();
    if (r.width === 0 && r.height === 0) continue;
    if (r.right > width + 1 || r.left < -1) {
      const name = el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') +
        (el.className && typeof el.className === 'string' ? '.' + el.className.trim().split(/\\s+/).join('.') : '');
      out.push(name + ' [' + Math.round(r.left) + '..' + Math.round(r.right) + ']');
    }
    if (out.length >= 8) break;
  }
  const header = document.querySelector('.site-header').getBoundingClientRect().height;
  return {scroll: document.documentElement.scrollWidth, inner: window.innerWidth, offenders: out, header: header};
}"""


@pytest.fixture(scope="module")
def sessions(browser: Any, quality_live: Any, quality_app: Any, world: World) -> Iterator[BrowserSessions]:
    s = BrowserSessions(browser, quality_live, quality_app, world,
                        viewport={"width": WIDTH, "height": 740}, is_mobile=True, has_touch=True)
    s.init_script = RECORD_VIOLATIONS
    yield s
    s.close()


@pytest.mark.parametrize(("role", "name"), page_cases())
def test_page_does_not_scroll_sideways_at_360px_nor_break_its_csp(role: str, name: str, sessions: BrowserSessions) -> None:
    url = page_url(sessions.world, role, name)
    page = sessions.page(role)
    response = page.goto(url)
    expected = 404 if name == "not-found" else 200
    assert response is not None and response.status == expected, f"{role} {url}: HTTP {response and response.status}"
    measured = page.evaluate(OVERFLOW_SCRIPT, WIDTH)
    # A phone browser zooms out to fit a too-wide page (innerWidth grows with it): compare with the
    # screen's width, not with innerWidth.
    assert measured["scroll"] <= WIDTH and measured["inner"] == WIDTH, (
        f"{role} {url} scrolls sideways at {WIDTH}px: scrollWidth {measured['scroll']}, "
        f"innerWidth {measured['inner']}; "
        f"sticking out: {measured['offenders']}")
    assert measured["header"] <= HEADER_MAX, f"{role} {url}: header is {measured['header']}px tall at {WIDTH}px"
    _assert_no_csp_violation(role, name, url, response, page, sessions)


def _assert_no_csp_violation(role: str, name: str, url: str, response: Any, page: Any,
                             sessions: BrowserSessions) -> None:
    headers = response.headers
    csp = headers.get("content-security-policy", "")
    violations = page.evaluate("window.__cspViolations")
    console, foreign = list(sessions.console[role]), list(sessions.foreign[role])
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp, f"{role} {url}: weak CSP {csp!r}"
    assert headers.get("x-content-type-options") == "nosniff" and headers.get("x-frame-options") == "DENY"
    assert violations == [], f"{role} {url}: CSP violations {violations}"
    # A 404 page logs "Failed to load resource" for itself; that is the expected status, not an error.
    console = [c for c in console if not (name == "not-found" and "404" in c)]
    assert console == [], f"{role} {url}: console errors {console}"
    assert foreign == [], f"{role} {url}: requests to other hosts {foreign}"


def test_folded_menu_is_a_keyboard_disclosure(sessions: BrowserSessions) -> None:
    page = sessions.page("specialist")
    page.goto("/consultations")
    toggle = page.locator("[data-menu-toggle]")
    availability = page.locator("#site-menu").get_by_role("link", name="Availability")
    assert toggle.get_attribute("aria-expanded") == "false"
    assert not availability.is_visible()
    toggle.focus()
    page.keyboard.press("Enter")
    assert toggle.get_attribute("aria-expanded") == "true"
    assert availability.is_visible()
    page.keyboard.press("Escape")
    assert toggle.get_attribute("aria-expanded") == "false"
    assert not availability.is_visible()
    assert page.evaluate("document.activeElement.hasAttribute('data-menu-toggle')")
    page.keyboard.press(" ")
    assert availability.is_visible()
    page.keyboard.press("Tab")  # the first link of the opened menu follows the toggle
    assert page.evaluate("document.getElementById('site-menu').contains(document.activeElement)")


def test_wide_screens_show_the_whole_menu(browser: Any, quality_live: Any) -> None:
    ctx = browser.new_context(base_url=quality_live.url, viewport={"width": 1280, "height": 800})
    try:
        page = ctx.new_page()
        page.goto("/")
        assert not page.locator("[data-menu-toggle]").is_visible()
        assert page.get_by_role("navigation", name="Main").get_by_role("link", name="Questions").is_visible()
    finally:
        ctx.close()


def test_menu_opens_without_script(browser: Any, quality_live: Any) -> None:
    ctx = browser.new_context(base_url=quality_live.url, viewport={"width": WIDTH, "height": 740},
                              java_script_enabled=False)
    try:
        page = ctx.new_page()
        page.goto("/")
        questions = page.get_by_role("navigation", name="Main").get_by_role("link", name="Questions")
        assert not questions.is_visible()
        page.locator("[data-menu-toggle]").click()  # a link to #site-menu: :target opens it
        assert questions.is_visible()
    finally:
        ctx.close()


def test_directory_filters_fold_so_results_come_first(sessions: BrowserSessions) -> None:
    page = sessions.page("visitor")
    page.goto("/specialists?free=1")
    panel = page.locator("details[data-fold-narrow]")
    assert panel.evaluate("el => el.open") is False
    assert "1 applied" in page.get_by_test_id("filter-summary").inner_text()
    first_card = page.locator(".specialist-grid > *").first
    top = first_card.evaluate("el => el.getBoundingClientRect().top")
    assert top < 740, f"the first result starts at {top}px: below the first screen"
    page.get_by_test_id("filter-summary").click()
    assert page.get_by_label("Specialty", exact=True).is_visible()
