"""Accessibility: axe-core in a real browser on every main page, for visitors and logged-in roles.

No serious or critical violation is allowed (moderate/minor ones are printed, not failed).
axe is injected with ``page.evaluate`` (DevTools evaluation is not subject to the page's CSP,
so the strict ``script-src 'self'`` stays on while scanning).
"""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.quality.conftest import MAIN_PAGES, BrowserSessions, World, page_cases, page_url

pytestmark = pytest.mark.xdist_group("quality_browser_axe")

BLOCKING = {"serious", "critical"}


@pytest.fixture(scope="module")
def sessions(browser: Any, quality_live: Any, quality_app: Any, world: World) -> Iterator[BrowserSessions]:
    s = BrowserSessions(browser, quality_live, quality_app, world)
    yield s
    s.close()


@pytest.fixture(scope="module")
def axe() -> Any:
    from axe_playwright_python.sync_playwright import Axe

    return Axe()


def _describe(violations: list[dict[str, Any]]) -> str:
    lines = []
    for v in violations:
        targets = "; ".join(", ".join(n["target"]) + " " + n.get("html", "")[:120] for n in v["nodes"][:4])
        lines.append(f"[{v['impact']}] {v['id']}: {v['help']} ({len(v['nodes'])}x) -> {targets}")
    return "\n  ".join(lines)


@pytest.mark.parametrize(("role", "name"), page_cases())
def test_page_has_no_serious_accessibility_violations(role: str, name: str, sessions: BrowserSessions,
                                                       axe: Any) -> None:
    url = page_url(sessions.world, role, name)
    page = sessions.page(role)
    response = page.goto(url)
    expected = 404 if name == "not-found" else 200
    assert response is not None and response.status == expected, f"{role} {url}: HTTP {response and response.status}"
    results = axe.run(page).response
    violations = results["violations"]
    blocking = [v for v in violations if v.get("impact") in BLOCKING]
    others = [v for v in violations if v.get("impact") not in BLOCKING]
    if others:
        print(f"\n{role} {url}: non-blocking axe findings:\n  {_describe(others)}")
    assert not blocking, f"{role} {url}: serious/critical axe violations:\n  {_describe(blocking)}"


def test_pages_scanned_are_reported(capsys: pytest.CaptureFixture[str]) -> None:
    with capsys.disabled():
        print(f"\naxe: {sum(len(p) for p in MAIN_PAGES.values())} page scans over roles "
              + ", ".join(f"{role} ({len(pages)})" for role, pages in MAIN_PAGES.items()))
