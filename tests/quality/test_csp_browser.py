"""CSP and security headers in a real browser: no violation, no console error, nothing from other hosts.

An init script (``context.add_init_script`` runs regardless of CSP) records every
``securitypolicyviolation`` event into ``window.__cspViolations``; console errors and uncaught page
errors are collected too. Requests to any other host are blocked and recorded (must be none).
"""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.quality.conftest import BrowserSessions, World, page_cases, page_url

pytestmark = pytest.mark.xdist_group("quality_browser_csp")

RECORD_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener('securitypolicyviolation', function (e) {
  window.__cspViolations.push({directive: e.violatedDirective, blocked: e.blockedURI,
                               source: e.sourceFile, line: e.lineNumber, sample: e.sample});
});
"""


@pytest.fixture(scope="module")
def sessions(browser: Any, quality_live: Any, quality_app: Any, world: World) -> Iterator[BrowserSessions]:
    s = BrowserSessions(browser, quality_live, quality_app, world)
    s.init_script = RECORD_VIOLATIONS
    yield s
    s.close()


@pytest.mark.parametrize(("role", "name"), page_cases())
def test_page_has_no_csp_violations(role: str, name: str, sessions: BrowserSessions) -> None:
    url = page_url(sessions.world, role, name)
    page = sessions.page(role)
    response = page.goto(url)
    expected = 404 if name == "not-found" else 200
    assert response is not None and response.status == expected, f"{role} {url}: HTTP {response and response.status}"
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
