"""CLI of the payments domain: ``flask --app wsgi release-expired-holds`` (cron)."""
from __future__ import annotations

import click
from flask import Flask

from marketplace.payments.tasks import release_and_expire


def register(app: Flask) -> None:
    @app.cli.command("release-expired-holds")
    def release_expired_holds_command() -> None:
        """Release paid-session holds whose payment window lapsed (idempotent; safe from cron
        on any host, also concurrently), then expire their checkouts at the payment provider."""
        released, expired = release_and_expire()  # what the periodic job does
        click.echo(f"released {released} hold(s); expired {expired} checkout session(s) at the provider")
