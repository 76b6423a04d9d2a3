"""Enums are compared by identity, never by their value's spelling (issue 15).

``c.state.value == 'requested'`` keeps working when the member is renamed or its value changes
and silently turns false on a typo; ``c.state is sameas ConsultationState.REQUESTED`` (Jinja) or
``c.state is ConsultationState.REQUESTED`` (Python) fails loudly instead. The enum classes reach
templates as globals registered by the domain that owns them (``templating.expose_enums``).

This scans every template and every module under marketplace/ for an ``.value`` compared with a
string literal (``==``, ``!=``, ``in ('…', …)``). Comparing ``.value`` with a string from the
request (``s.value == status`` in payments/admin_list.html, where ``status`` is the query's
``?status=``) or building a URL from it is fine, and is not matched: only literals are.
"""
from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

_LITERAL = r"""(?:'[^']*'|"[^"]*")"""
VALUE_VS_LITERAL = re.compile(
    rf"""\.value\s*(?:==|!=)\s*{_LITERAL}"""  # x.value == 'a'
    rf"""|{_LITERAL}\s*(?:==|!=)\s*[\w.()|]+\.value\b"""  # 'a' == x.value
    rf"""|\.value\s+(?:not\s+)?in\s*[(\[{{]\s*{_LITERAL}"""  # x.value in ('a', 'b')
)

# (file, the exact text matched, why it stays). Keep it short.
ALLOWED = {
    ("templates/macros/forms.html", ".value != ''"):
        "a WTForms choice (not an enum): a select whose first choice has an empty value is optional",
}


def _sources() -> list[Path]:
    templates = [p for p in (ROOT / "templates").rglob("*") if p.is_file()]
    return sorted(templates + list((ROOT / "marketplace").rglob("*.py")))


def _matches() -> list[tuple[str, int, str]]:
    found = []
    for path in _sources():
        rel = path.relative_to(ROOT).as_posix()
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            found.extend((rel, number, m.group(0)) for m in VALUE_VS_LITERAL.finditer(line))
    return found


def test_no_enum_value_compared_with_a_string_literal() -> None:
    offending = [f"{rel}:{number}: {text}" for rel, number, text in _matches() if (rel, text) not in ALLOWED]
    assert not offending, (
        "compare enums by identity: `x is sameas Enum.MEMBER` in templates (the domain registers the enum "
        "with templating.expose_enums), `x is Enum.MEMBER` in Python:\n" + "\n".join(offending))


def test_allow_list_has_no_stale_entries() -> None:
    matched = {(rel, text) for rel, _, text in _matches()}
    assert not set(ALLOWED) - matched, "remove allow-list entries that no longer occur"


@pytest.mark.parametrize("snippet", [
    "{% if c.state.value == 'requested' %}",
    '{% if c.state.value != "requested" %}',
    "{% if payment.status.value in ('refunded', 'refund_failed') %}",
    "if payment.status.value == \"pending\":",
    "if 'off' == o.kind.value:",
])
def test_the_scan_finds_comparisons_with_literals(snippet: str) -> None:
    assert VALUE_VS_LITERAL.search(snippet)


@pytest.mark.parametrize("snippet", [
    "{% if s.value == status %}",
    "url_for('admin.payments', status=s.value)",
    "{% if c.state is sameas ConsultationState.REQUESTED %}",
    '"status": p.status.value,',
])
def test_the_scan_leaves_other_uses_alone(snippet: str) -> None:
    assert not VALUE_VS_LITERAL.search(snippet)
