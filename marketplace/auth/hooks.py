"""Hooks through which later domains take part in account rules without this domain importing
them (imports go one way: specialists → auth).

The specialists domain registers, at import time of its ``services`` module::

    @registration_hooks.specialist_registered
    def create_draft_profile(user) -> ...: ...   # a new specialist account gets its draft profile
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

Listener = Callable[[Any], object]
L = TypeVar("L", bound=Listener)


@dataclass
class RegistrationHooks:
    specialist_listeners: list[Listener] = field(default_factory=list)

    def specialist_registered(self, func: L) -> L:
        if func not in self.specialist_listeners:
            self.specialist_listeners.append(func)
        return func

    # --- used by auth.services -----------------------------------------------------------------

    def notify_specialist_registered(self, user: Any) -> None:
        for listener in self.specialist_listeners:
            listener(user)


registration_hooks = RegistrationHooks()
