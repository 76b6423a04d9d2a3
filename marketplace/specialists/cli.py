"""CLI commands of the specialists domain."""
from __future__ import annotations

import click
from flask import Flask
from sqlalchemy import select

from marketplace.extensions import db


def register(app: Flask) -> None:
    @app.cli.command("prune-photos")
    @click.option("--min-age", default=3600, show_default=True,
                  help="Keep files younger than this many seconds (uploads still committing).")
    def prune_photos(min_age: int) -> None:
        """Delete stored profile photos that no profile references (safe to run from cron)."""
        from marketplace.specialists.models import SpecialistProfile
        from marketplace.specialists.photos import prune_unreferenced_photos

        referenced = {name for name in db.session.scalars(
            select(SpecialistProfile.photo_filename).where(SpecialistProfile.photo_filename.is_not(None)))
            if name is not None}
        click.echo(f"removed {prune_unreferenced_photos(referenced, min_age)} unreferenced photo(s)")

    @app.cli.command("refresh-search-text")
    def refresh_search_text_command() -> None:
        """Recompute every profile's directory search text (after a vocabulary label changed)."""
        from marketplace.specialists.services import refresh_all_search_texts

        click.echo(f"updated the search text of {refresh_all_search_texts()} profile(s)")
