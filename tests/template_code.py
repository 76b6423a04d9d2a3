"""Test-process speed-up: Jinja templates compiled once per process, not once per app.

Every test builds its own app, and each app's Jinja environment parses, generates and compiles
every template it renders afresh: ≈ 0.03 s per template (232 compiles, 6.6 s of test_consultations.py's
42 s under cProfile). Jinja's own remedy is a bytecode cache; this one keeps the compiled code
objects in memory for the test process, keyed by template name + file (Jinja's key), the source's
checksum (Jinja's check: an edited template is compiled again) and the environment's compile-time
options (a differently configured environment never gets another's code). The code names filters,
tests and globals, which each app's environment resolves when the template runs, as before.
Every Flask app of the test process gets it through ``Flask.jinja_options``; production builds one
app per process and is not touched. ``tests/unit/test_template_code.py`` holds it to a fresh compile.
"""
from __future__ import annotations

from types import CodeType
from typing import Any

from flask import Flask
from jinja2 import Environment
from jinja2.bccache import Bucket, BytecodeCache


def compile_options(environment: Environment) -> tuple[Any, ...]:
    """What the generated code depends on besides the source."""
    return (environment.block_start_string, environment.block_end_string, environment.variable_start_string,
            environment.variable_end_string, environment.comment_start_string, environment.comment_end_string,
            environment.line_statement_prefix, environment.line_comment_prefix, environment.trim_blocks,
            environment.lstrip_blocks, environment.newline_sequence, environment.keep_trailing_newline,
            environment.optimized, environment.is_async, callable(environment.autoescape) or environment.autoescape,
            tuple(sorted(environment.extensions)))


class SharedTemplateCode(BytecodeCache):
    def __init__(self) -> None:
        self.code: dict[tuple[Any, ...], CodeType] = {}

    def _key(self, bucket: Bucket) -> tuple[Any, ...]:
        return (bucket.key, bucket.checksum, compile_options(bucket.environment))

    def load_bytecode(self, bucket: Bucket) -> None:
        bucket.code = self.code.get(self._key(bucket))

    def dump_bytecode(self, bucket: Bucket) -> None:
        if bucket.code is not None:
            self.code[self._key(bucket)] = bucket.code

    def clear(self) -> None:
        self.code.clear()


SHARED = SharedTemplateCode()


def install() -> None:
    if Flask.jinja_options.get("bytecode_cache") is not SHARED:
        Flask.jinja_options = {**Flask.jinja_options, "bytecode_cache": SHARED}
