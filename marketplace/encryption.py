"""Encryption at rest of private text (specialists' notes about their clients, the iCal addresses
of their other calendars), with ``cryptography``'s Fernet (AES-128-CBC + HMAC-SHA256,
authenticated, timestamped tokens).

Keys come from ``NOTES_KEYS``: comma-separated Fernet keys, the first is the current one (used to
encrypt), the others are only tried when decrypting (``MultiFernet``). To rotate: put a new key
first, keep the old ones after it, run ``flask --app wsgi rotate-note-keys`` (re-encrypts every
note and calendar address with the new key: ``reencrypt_column``), then remove the old keys.
Production refuses to start without keys (``config.insecure_settings``); development generates
one key once in ``instance/notes.key`` so ``make run`` stays one command; tests set a fixed key.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from flask import Flask, current_app
from sqlalchemy import select
from sqlalchemy.orm import InstrumentedAttribute

from marketplace.extensions import db

CONFIG_KEY = "NOTES_KEYS"
DEVELOPMENT_KEY_FILE = "notes.key"
_EXTENSION = "notes_cipher"
ROTATION_BATCH = 500


class KeyConfigurationError(RuntimeError):
    """``NOTES_KEYS`` is missing or holds something that is not a Fernet key."""


class UnreadableText(Exception):
    """A stored token none of the configured keys opens (a key was removed too early, or the
    value was tampered with)."""


def parse_keys(value: str | None) -> list[Fernet]:
    """The Fernet keys of ``value`` (comma-separated, first is current); raises
    ``KeyConfigurationError`` naming the position of a bad key (never the key itself)."""
    parts = [part.strip() for part in (value or "").split(",") if part.strip()]
    if not parts:
        raise KeyConfigurationError(f"{CONFIG_KEY} is empty: set at least one Fernet key (python -c "
                                    "'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())').")
    keys = []
    for position, part in enumerate(parts, start=1):
        try:
            keys.append(Fernet(part.encode("ascii")))
        except (ValueError, UnicodeEncodeError) as exc:
            raise KeyConfigurationError(f"{CONFIG_KEY}: key {position} is not a Fernet key "
                                        "(32 url-safe base64-encoded bytes).") from exc
    return keys


def development_key(instance_path: str) -> str:
    """The key of this development/test instance: ``instance/notes.key``, created once (atomically,
    so a web process and a worker starting together agree on one key)."""
    path = Path(instance_path) / DEVELOPMENT_KEY_FILE
    if not path.exists():
        temporary = path.with_name(f".{DEVELOPMENT_KEY_FILE}.{os.getpid()}")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(Fernet.generate_key())
        try:
            os.link(temporary, path)  # fails if another process created it first: theirs is kept
        except FileExistsError:
            pass
        finally:
            temporary.unlink()
    return path.read_text(encoding="ascii").strip()


@dataclass(frozen=True)
class _Cipher:
    source: str  # the NOTES_KEYS value it was built from
    fernet: MultiFernet


def init_app(app: Flask) -> None:
    """Check the keys at start (a bad key stops the app, not the first note). Outside production an
    unset ``NOTES_KEYS`` is filled with the instance's development key."""
    if not app.config.get(CONFIG_KEY) and app.config.get("ENV_NAME") != "production":
        app.config[CONFIG_KEY] = development_key(app.instance_path)
    source = app.config.get(CONFIG_KEY) or ""
    app.extensions[_EXTENSION] = _Cipher(source, MultiFernet(parse_keys(source)))


def _cipher() -> MultiFernet:
    """The app's MultiFernet, rebuilt when ``NOTES_KEYS`` was changed (a test adding a key)."""
    source = current_app.config.get(CONFIG_KEY) or ""
    cached: _Cipher | None = current_app.extensions.get(_EXTENSION)
    if cached is None or cached.source != source:
        cached = _Cipher(source, MultiFernet(parse_keys(source)))
        current_app.extensions[_EXTENSION] = cached
    return cached.fernet


def encrypt_text(plaintext: str) -> str:
    """A Fernet token (ASCII) of ``plaintext`` under the current key."""
    return _cipher().encrypt(plaintext.encode("utf-8")).decode("ascii")


def decrypt_text(token: str) -> str:
    """The plaintext of ``token``, trying every configured key; ``UnreadableText`` if none opens it."""
    try:
        return _cipher().decrypt(token.encode("ascii")).decode("utf-8")
    except (InvalidToken, UnicodeError) as exc:
        raise UnreadableText("stored text cannot be decrypted with the configured keys") from exc


def reencrypt_text(token: str) -> str:
    """``token`` re-encrypted under the current key (``MultiFernet.rotate``); ``UnreadableText`` if
    no configured key opens it."""
    try:
        return _cipher().rotate(token.encode("ascii")).decode("ascii")
    except (InvalidToken, UnicodeError) as exc:
        raise UnreadableText("stored text cannot be decrypted with the configured keys") from exc


def token_length(plaintext_bytes: int) -> int:
    """The length of the Fernet token of ``plaintext_bytes`` bytes (to size a column): version,
    timestamp, IV, the AES blocks (PKCS7 always pads), the HMAC, all url-safe base64 with padding."""
    raw = 1 + 8 + 16 + (plaintext_bytes // 16 + 1) * 16 + 32
    return 4 * ((raw + 2) // 3)


@dataclass
class RotationResult:
    rotated: int = 0
    unreadable: list[int] = field(default_factory=list)  # ids of rows no configured key opens


def reencrypt_column(column: InstrumentedAttribute[str], batch_size: int = ROTATION_BATCH) -> RotationResult:
    """Re-encrypt the token in ``column`` (a mapped attribute such as ``ClientNote.body_encrypted``)
    of every row with the current (first) key, a batch at a time, each batch committed (a token is
    valid under either key, so a stop halfway loses nothing). Rows no configured key opens are left
    as they are and reported by id."""
    model: Any = column.class_
    result = RotationResult()
    after = 0
    while True:
        batch = list(db.session.scalars(select(model).where(model.id > after).order_by(model.id).limit(batch_size)))
        if not batch:
            return result
        for row in batch:
            try:
                setattr(row, column.key, reencrypt_text(getattr(row, column.key)))
                result.rotated += 1
            except UnreadableText:
                result.unreadable.append(row.id)
        after = batch[-1].id
        db.session.commit()
