"""Test-process speed-up: Werkzeug's URL-rule builders compiled once per process, not once per app.

Every test builds its own app (``create_app``), and Werkzeug compiles two builder functions
per URL rule with ``ast`` + ``compile`` when the rule is added: ≈ 90 % of ``create_app``
(≈ 35 ms of ≈ 40 ms for ~95 rules, on a quiet machine; seven times that under load), repeated
for ~2,000 apps per run. The generated code is a pure function of the rule's text, its parsed
trace and its defaults (converters are looked up on the rule when the builder runs), so the same
rule in the next app reuses the function; it is bound to each rule object as before.
Production builds one app per process and is not touched. If Werkzeug changes this private
method, the patch steps aside and the tests only run slower (``install`` returns False).
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from werkzeug.routing.rules import Rule


def install() -> bool:
    original = getattr(Rule, "_compile_builder", None)
    if original is None or getattr(original, "memoized", False):
        return original is not None
    memo: dict[tuple[Any, ...], Callable[..., tuple[str, str]]] = {}

    def compile_builder(self: Rule, append_unknown: bool = True) -> Callable[..., tuple[str, str]]:
        key = (self.rule, self.subdomain, self.host, self.merge_slashes, tuple(self._trace),
               tuple(sorted((name, repr(value)) for name, value in (self.defaults or {}).items())),
               append_unknown)
        builder = memo.get(key)
        if builder is None:
            builder = memo[key] = original(self, append_unknown)
        return builder

    compile_builder.memoized = True  # type: ignore[attr-defined]
    compile_builder.original = original  # type: ignore[attr-defined]
    Rule._compile_builder = compile_builder  # type: ignore[method-assign]
    return True
