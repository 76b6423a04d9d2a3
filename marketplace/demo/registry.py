"""Demo-data seeders, one per domain, run in order by ``flask demo-data``.

A domain adds ``marketplace/<domain>/demo.py`` (imported by ``marketplace/demo/loader.py``) with::

    @demo_seeder(order=20)
    def seed_availability(ctx: DemoContext) -> None: ...

``ctx`` carries what earlier seeders created (users, profiles) so later ones can use them.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

SEEDERS: list[tuple[int, str, Callable[[DemoContext], None]]] = []


@dataclass
class DemoContext:
    admin: Any = None
    clients: list[Any] = field(default_factory=list)
    specialist_users: list[Any] = field(default_factory=list)
    profiles: list[Any] = field(default_factory=list)
    password: str = "balance-demo-2026"
    extra: dict[str, Any] = field(default_factory=dict)


def demo_seeder(order: int) -> Callable:
    def decorator(func: Callable[[DemoContext], None]) -> Callable[[DemoContext], None]:
        if all(f is not func for _, _, f in SEEDERS):
            SEEDERS.append((order, func.__qualname__, func))
        return func

    return decorator


def ordered_seeders() -> list[Callable[[DemoContext], None]]:
    return [f for _, _, f in sorted(SEEDERS, key=lambda s: (s[0], s[1]))]
