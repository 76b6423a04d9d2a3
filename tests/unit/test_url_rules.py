"""The test harness's shared URL builders (tests/url_rules.py) build what Werkzeug's own would."""
from __future__ import annotations

from werkzeug.routing.rules import Rule

from marketplace import create_app


def _outcome(build, values):
    try:
        return build(**values)
    except ValueError as exc:  # e.g. an AnyConverter refusing 1: both must refuse alike
        return repr(exc)


def test_every_rule_builds_the_same_url_as_a_fresh_compile(tmp_path):
    assert getattr(Rule._compile_builder, "memoized", False), "tests/conftest.py installs the shared builders"
    original = Rule._compile_builder.original
    urls = []
    for _ in range(2):  # the second app takes every builder from the first
        app = create_app("testing", {"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'x.db'}"})
        built = []
        for rule in app.url_map.iter_rules():
            values = {name: 1 for name in rule.arguments}
            for append_unknown, shared in ((False, rule._build), (True, rule._build_unknown)):
                fresh = original(rule, append_unknown).__get__(rule, None)
                assert _outcome(shared, values) == _outcome(fresh, values), rule.rule
                built.append(_outcome(shared, values))
        urls.append(built)
    assert urls[0] == urls[1] and len(urls[0]) > 100
