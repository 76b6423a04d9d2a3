"""Domain CLI commands are registered here, each defined in its own package's ``cli.py``
(which exposes ``register(app)``)."""
from __future__ import annotations

from flask import Flask

from marketplace.clients import cli as clients_cli
from marketplace.consultations import cli as consultations_cli
from marketplace.messaging import cli as messaging_cli
from marketplace.payments import cli as payments_cli
from marketplace.specialists import cli as specialists_cli

DOMAIN_CLI_MODULES = (clients_cli, consultations_cli, messaging_cli, payments_cli, specialists_cli)


def register_domain_commands(app: Flask) -> None:
    for module in DOMAIN_CLI_MODULES:
        module.register(app)
