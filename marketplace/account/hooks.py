"""Registry through which each domain contributes to data export and account deletion.

A domain registers in its own ``services`` module::

    @data_exporter("consultations")
    def export_consultations(user) -> list[dict]: ...

    @deletion_hook
    def cancel_future_consultations(user) -> None: ...
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

EXPORTERS: dict[str, Callable[[Any], Any]] = {}
DELETION_HOOKS: list[Callable[[Any], None]] = []
_HOOK_ORDER: dict[Callable[[Any], None], int] = {}


def data_exporter(section: str) -> Callable:
    def decorator(func: Callable[[Any], Any]) -> Callable[[Any], Any]:
        EXPORTERS[section] = func
        return func

    return decorator


def deletion_hook(func: Callable[[Any], None] | None = None, *, order: int = 50) -> Any:
    """Register an account-deletion step. Lower ``order`` runs first: steps that notify other people
    (cancelling consultations) run before steps that erase names (order 90)."""

    def register(f: Callable[[Any], None]) -> Callable[[Any], None]:
        if f not in DELETION_HOOKS:
            DELETION_HOOKS.append(f)
        _HOOK_ORDER[f] = order
        DELETION_HOOKS.sort(key=lambda hook: _HOOK_ORDER.get(hook, 50))
        return f

    return register(func) if func is not None else register
