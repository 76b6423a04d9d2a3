"""CLI of the consultations domain (cron-safe, idempotent):

* ``flask --app wsgi send-reminders`` — 24 h and 1 h reminders, and the specialist's reminder of a
  request unanswered for 12 hours, each sent once.
* ``flask --app wsgi expire-requests`` — expire the requests not confirmed by their deadline (slot
  released, client and specialist e-mailed once).
* ``flask --app wsgi refresh-availability`` — recompute every profile's availability snapshot
  and soonest free slot (after a deploy; the job queue's periodic refresh keeps them current).
  ``--stale`` does one run of that periodic refresh (where no job consumer runs).
"""
from __future__ import annotations

import click
from flask import Flask

from marketplace.database import commit


def register(app: Flask) -> None:
    @app.cli.command("send-reminders")
    def send_reminders_command() -> None:
        """Send due consultation reminders (safe to run every minute, on any one or more hosts)."""
        from marketplace.consultations.follow_up import send_request_reminders
        from marketplace.consultations.notifications import send_reminders

        sent = send_reminders()
        commit()
        requests = send_request_reminders()
        commit()
        click.echo(f"reminders sent: {sent['24h']} × 24 h, {sent['1h']} × 1 h, {requests} × request waiting 12 h")

    @app.cli.command("expire-requests")
    def expire_requests_command() -> None:
        """Expire requests not confirmed by their deadline (safe to run every minute, on any hosts)."""
        from marketplace.consultations.follow_up import expire_requests

        expired = expire_requests()
        commit()
        click.echo(f"requests expired: {expired}")

    @app.cli.command("refresh-availability")
    @click.option("--stale", is_flag=True, help="Only the snapshots that are missing or due (the periodic job).")
    def refresh_availability_command(stale: bool) -> None:
        """Recompute availability snapshots and next_available_at (all profiles, or only stale ones)."""
        from marketplace.consultations.availability import refresh_in_batches, refresh_stale_availability

        count = refresh_stale_availability() if stale else refresh_in_batches()
        commit()
        click.echo(f"refreshed {count} profile(s)")
