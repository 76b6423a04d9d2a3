"""CLI of the clients domain:

* ``flask --app wsgi rotate-note-keys`` — re-encrypt every client note with the current (first)
  key of ``NOTES_KEYS``. Rotate by putting a new key first (old ones after it), running this, then
  removing the old keys.
"""
from __future__ import annotations

import click
from flask import Flask

from marketplace.clients.services import rotate_note_keys


def register(app: Flask) -> None:
    @app.cli.command("rotate-note-keys")
    def rotate_note_keys_command() -> None:
        """Re-encrypt every client note with the first key of NOTES_KEYS (then old keys can go)."""
        result = rotate_note_keys()
        click.echo(f"re-encrypted {result.rotated} note(s) with the current key")
        if result.unreadable:
            raise click.ClickException(
                f"{len(result.unreadable)} note(s) could not be decrypted with any key in NOTES_KEYS "
                f"(ids {', '.join(map(str, result.unreadable[:20]))}); they were left unchanged — keep the old keys.")
