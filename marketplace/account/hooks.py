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


def data_exporter(section: str) -> Callable:
    def decorator(func: Callable[[Any], Any]) -> Callable[[Any], Any]:
        EXPORTERS[section] = func
        return func

    return decorator


def deletion_hook(func: Callable[[Any], None]) -> Callable[[Any], None]:
    if func not in DELETION_HOOKS:
        DELETION_HOOKS.append(func)
    return func
