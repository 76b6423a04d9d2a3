"""Domain CLI commands are registered here, each defined in its own package's ``cli.py``.

A domain's ``cli.py`` exposes ``register(app)``; missing modules contribute nothing.
"""
from __future__ import annotations

import importlib

from flask import Flask

DOMAIN_CLI_MODULES = [
    "marketplace.clients.cli",
    "marketplace.consultations.cli",
    "marketplace.payments.cli",
    "marketplace.specialists.cli",
]


def register_domain_commands(app: Flask) -> None:
    for name in DOMAIN_CLI_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
            continue
        module.register(app)
