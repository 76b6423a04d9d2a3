"""CLI: ``flask --app wsgi demo-data | create-admin | deliver-mail | …``.

Each command is one unit of work: it commits once, then delivers queued mail.
"""
from __future__ import annotations

import click
from flask import Flask

from marketplace.database import commit


def register(app: Flask) -> None:
    @app.cli.command("demo-data")
    @click.option("--specialists", "bulk", type=int, default=0,
                  help="Also generate this many extra specialists (bulk, for benchmarks).")
    @click.option("--if-empty", is_flag=True, help="Only load when the database has no users.")
    def demo_data(bulk: int, if_empty: bool) -> None:
        """Load realistic demo data (idempotent) and print the logins."""
        from marketplace.demo.loader import load_demo_data

        summary = load_demo_data(bulk=bulk, if_empty=if_empty)
        commit()
        click.echo(summary)

    @app.cli.command("create-admin")
    @click.argument("email")
    @click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
    @click.option("--name", default="Balance admin")
    def create_admin(email: str, password: str, name: str) -> None:
        """Create an admin account (or promote an existing one)."""
        from marketplace.auth.services import AccountError, create_or_promote_admin

        try:
            create_or_promote_admin(email=email, password=password, display_name=name)
        except AccountError as exc:
            raise click.ClickException(str(exc)) from exc
        commit()
        click.echo(f"Admin ready: {email}")

    @app.cli.command("deliver-mail")
    @click.option("--limit", default=200)
    def deliver_mail(limit: int) -> None:
        """Retry delivering queued e-mail (safe to run from cron on any one host)."""
        from marketplace.notifications.mail import deliver_pending

        click.echo(f"delivered {deliver_pending(limit)} e-mail(s)")

    # Domains add their own commands (send-reminders, release-expired-holds, …).
    from marketplace.commands import register_domain_commands

    register_domain_commands(app)
