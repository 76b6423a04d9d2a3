"""CLI of the consultations domain (cron-safe, idempotent):

* ``flask --app wsgi send-reminders`` — 24 h and 1 h reminders, each sent once.
* ``flask --app wsgi refresh-availability`` — recompute every profile's soonest free slot
  (slots move forward in time, so run it every few minutes).
"""
from __future__ import annotations

import click
from flask import Flask

from marketplace.database import commit


def register(app: Flask) -> None:
    @app.cli.command("send-reminders")
    def send_reminders_command() -> None:
        """Send due consultation reminders (safe to run every minute, on any one or more hosts)."""
        from marketplace.consultations.notifications import send_reminders

        sent = send_reminders()
        commit()
        click.echo(f"reminders sent: {sent['24h']} × 24 h, {sent['1h']} × 1 h")

    @app.cli.command("refresh-availability")
    def refresh_availability_command() -> None:
        """Recompute next_available_at of every specialist profile."""
        from marketplace.consultations.availability import refresh_next_available

        count = refresh_next_available()
        commit()
        click.echo(f"refreshed {count} profile(s)")
