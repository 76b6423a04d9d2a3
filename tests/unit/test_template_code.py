"""The test harness's shared template code (tests/template_code.py) is what Jinja would compile."""
from __future__ import annotations

from flask import Flask

from marketplace import create_app
from tests.template_code import SHARED, compile_options


def _names(app: Flask) -> list[str]:
    return sorted(name for name in app.jinja_env.list_templates() if name.endswith((".html", ".txt", ".ics")))


def test_every_template_gets_the_code_a_fresh_compile_gives(tmp_path):
    first = create_app("testing", {"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'x.db'}"})
    second = create_app("testing", {"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'x.db'}"})
    assert first.jinja_env.bytecode_cache is SHARED and second.jinja_env.bytecode_cache is SHARED
    names = _names(first)
    assert len(names) > 50
    for name in names:
        first.jinja_env.get_template(name)  # compiled (or already shared)
        source, filename, _ = second.jinja_loader.get_source(second.jinja_env, name)
        bucket = SHARED.get_bucket(second.jinja_env, name, filename, source)
        assert bucket.code is not None, f"{name} not shared"
        assert bucket.code == second.jinja_env.compile(source, name, filename), name


def test_an_edited_template_or_another_configuration_is_compiled_again():
    app = Flask("toy")
    env = app.jinja_env
    SHARED.set_bucket(_compiled(env, "x.html", "Hello {{ name }}"))
    assert SHARED.get_bucket(env, "x.html", None, "Hello {{ name }}").code is not None
    assert SHARED.get_bucket(env, "x.html", None, "Bye {{ name }}").code is None
    other = env.overlay(trim_blocks=True)
    assert compile_options(other) != compile_options(env)
    assert SHARED.get_bucket(other, "x.html", None, "Hello {{ name }}").code is None


def _compiled(env, name, source):
    bucket = SHARED.get_bucket(env, name, None, source)
    bucket.code = env.compile(source, name, None)
    return bucket
