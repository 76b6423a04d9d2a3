"""CLI of the clients domain:

* ``flask --app wsgi rotate-note-keys`` — re-encrypt every client note and every calendar address
  (a specialist's other calendars, ``consultations.external_calendars``) with the current (first)
  key of ``NOTES_KEYS``. Rotate by putting a new key first (old ones after it), running this, then
  removing the old keys.
"""
from __future__ import annotations

import click
from flask import Flask

from marketplace.clients.services import rotate_note_keys
from marketplace.consultations.external_calendars import rotate_calendar_url_keys


def register(app: Flask) -> None:
    @app.cli.command("rotate-note-keys")
    def rotate_note_keys_command() -> None:
        """Re-encrypt notes and calendar addresses with the first key of NOTES_KEYS (then old keys can go)."""
        notes = rotate_note_keys()
        calendars = rotate_calendar_url_keys()
        click.echo(f"re-encrypted {notes.rotated} note(s) and {calendars.rotated} calendar address(es) "
                   "with the current key")
        problems = [f"{len(found)} {what} (ids {', '.join(map(str, found[:20]))})"
                    for what, found in (("note(s)", notes.unreadable), ("calendar address(es)", calendars.unreadable))
                    if found]
        if problems:
            raise click.ClickException(
                f"{' and '.join(problems)} could not be decrypted with any key in NOTES_KEYS; "
                "they were left unchanged — keep the old keys.")
