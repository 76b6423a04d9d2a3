"""CLI of the payments domain: ``flask --app wsgi release-expired-holds`` (cron)."""
from __future__ import annotations

import click
from flask import Flask

from marketplace.database import commit


def register(app: Flask) -> None:
    @app.cli.command("release-expired-holds")
    def release_expired_holds_command() -> None:
        """Release paid-session holds whose payment window lapsed (idempotent; safe from cron
        on any host, also concurrently), then expire their Stripe Checkout Sessions."""
        from marketplace.payments.services import expire_checkout_sessions, release_expired_holds

        released = release_expired_holds()
        commit()
        expired = expire_checkout_sessions(released)
        click.echo(f"released {len(released)} hold(s); expired {expired} checkout session(s) at Stripe")
