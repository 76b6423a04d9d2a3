"""CLI of the messaging domain (cron-safe, idempotent):

* ``flask --app wsgi refresh-responsiveness`` — measure every specialist's median reply and
  confirmation times over the last 90 days and store the figures that changed (the job queue does
  this hourly; run it after a deploy or where no job consumer runs).
"""
from __future__ import annotations

import click
from flask import Flask

from marketplace.database import commit


def register(app: Flask) -> None:
    @app.cli.command("refresh-responsiveness")
    def refresh_responsiveness_command() -> None:
        """Recompute the "usually replies / confirms within" figures of every specialist."""
        from marketplace.messaging.responsiveness import refresh_responsiveness

        changed = refresh_responsiveness()
        commit()
        click.echo(f"responsiveness refreshed: {changed} profile(s) changed")
