"""The control-character check every request passes first (``security.has_control_characters``):
its boundaries, so the hostile-URL walk needs only one control character per parameter."""
from __future__ import annotations

import pytest
from flask import Flask, request

from marketplace.security import has_control_characters

APP = Flask(__name__)


def _refused(path: str = "/x", query: str = "", form: dict[str, str] | None = None) -> bool:
    method = "POST" if form is not None else "GET"
    with APP.test_request_context(path, query_string=query, method=method, data=form):
        return has_control_characters(request)


@pytest.mark.parametrize("char", ["\x00", "\x01", "\x08", "\x09", "\x0a", "\x0d", "\x1f", "\x7f"])
def test_every_c0_control_and_del_is_refused_in_query_values_and_names(char):
    assert _refused(query={"q": f"a{char}b"})
    assert _refused(query={f"q{char}": "a"})


@pytest.mark.parametrize("value", ["abc", " ", "\x20~", "\u202eevil\u202c", "a\u200bb", "\U0001f642", "\x80\xa0é"])
def test_printable_and_non_ascii_text_passes(value):
    assert not _refused(query={"q": value})
    assert not _refused(form={"body": value})


@pytest.mark.parametrize("char", ["\x00", "\x01", "\x08", "\x0b", "\x0c", "\x0e", "\x1f", "\x7f"])
def test_form_text_refuses_controls_but_keeps_line_breaks_and_tabs(char):
    assert _refused(form={"body": f"a{char}b"})


@pytest.mark.parametrize("kept", ["line\nbreak", "crlf\r\nline", "tab\there"])
def test_form_text_keeps_line_breaks_and_tabs(kept):
    assert not _refused(form={"body": kept})
