"""external_calendars.url → url_encrypted: a specialist's iCal addresses (whoever has one reads
their whole calendar) are stored encrypted at rest, a Fernet token under NOTES_KEYS like the
client notes; existing addresses are encrypted here, and the downgrade decrypts them back

Revision ID: e7c3a9f15b28
Revises: d2f8a4c6e1b3
Create Date: 2026-11-30 14:00:00

Columns are added and dropped in place (ALTER TABLE … ADD/DROP COLUMN; SQLite has DROP COLUMN
since 3.35), never by batch mode's table copy: on SQLite, with foreign keys on (the app's engine
turns them on and a migration runs inside a transaction, where the pragma cannot be turned off),
dropping the old copy of external_calendars would delete every calendar's busy times by cascade.
So the new NOT NULL column carries a server default of '' while it is filled; PostgreSQL drops it
afterwards, SQLite keeps it (the app always writes the column).

The keys are the app's: Flask-Migrate runs this in an app context whose NOTES_KEYS is set (the
instance's development key outside production). The encryption is a frozen copy of
marketplace.encryption at this revision (migrations do not import the application).
"""
from alembic import op
import sqlalchemy as sa
from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from flask import current_app


revision = 'e7c3a9f15b28'
down_revision = 'd2f8a4c6e1b3'
branch_labels = None
depends_on = None

URL_LENGTH = 2000
TOKEN_LENGTH = 10764  # the Fernet token of 2000 characters of 4 UTF-8 bytes each
BATCH = 1000

calendars = sa.table(
    'external_calendars',
    sa.column('id', sa.Integer()),
    sa.column('url', sa.String()),
    sa.column('url_encrypted', sa.String()),
)


def upgrade():
    op.add_column('external_calendars',
                  sa.Column('url_encrypted', sa.String(length=TOKEN_LENGTH), server_default='', nullable=False))
    _convert(calendars.c.url, calendars.c.url_encrypted,
             lambda cipher, url: cipher.encrypt(url.encode('utf-8')).decode('ascii'))
    _drop_fill_default('url_encrypted')
    op.drop_column('external_calendars', 'url')


def downgrade():
    bind = op.get_bind()
    unreadable = []
    if bind.execute(sa.select(calendars.c.id).limit(1)).first() is not None:
        cipher = _cipher()
        for calendar_id, token in bind.execute(sa.select(calendars.c.id, calendars.c.url_encrypted)):
            try:
                cipher.decrypt(token.encode('ascii'))
            except (InvalidToken, UnicodeError):
                unreadable.append(calendar_id)
    if unreadable:  # checked before any change: the plaintext of these cannot be restored
        raise RuntimeError(f"external calendars {', '.join(map(str, unreadable[:20]))}: their addresses cannot be "
                           "decrypted with NOTES_KEYS; add the old keys (or remove these calendars) to downgrade.")
    op.add_column('external_calendars',
                  sa.Column('url', sa.String(length=URL_LENGTH), server_default='', nullable=False))
    _convert(calendars.c.url_encrypted, calendars.c.url,
             lambda cipher, token: cipher.decrypt(token.encode('ascii')).decode('utf-8'))
    _drop_fill_default('url')
    op.drop_column('external_calendars', 'url_encrypted')


def _convert(source, target, convert):
    """``target = convert(cipher, source)`` for every calendar, a batch at a time."""
    bind = op.get_bind()
    cipher = None
    after = 0
    while True:
        rows = bind.execute(sa.select(calendars.c.id, source).where(calendars.c.id > after)
                            .order_by(calendars.c.id).limit(BATCH)).all()
        if not rows:
            return
        cipher = cipher or _cipher()  # only when there is something to convert: keys are then needed
        bind.execute(calendars.update().where(calendars.c.id == sa.bindparam('calendar_id'))
                     .values({target.name: sa.bindparam('value')}),
                     [{'calendar_id': row_id, 'value': convert(cipher, value)} for row_id, value in rows])
        after = rows[-1][0]


def _drop_fill_default(column):
    if op.get_bind().dialect.name != 'sqlite':  # SQLite cannot drop a default without copying the table
        op.alter_column('external_calendars', column, server_default=None)


# --- a frozen copy of marketplace.encryption's keys at this revision --------------------------------

def _cipher():
    """The app's keys (NOTES_KEYS: comma-separated Fernet keys, the first encrypts, all decrypt)."""
    keys = [key.strip() for key in str(current_app.config.get('NOTES_KEYS') or '').split(',') if key.strip()]
    if not keys:
        raise RuntimeError("NOTES_KEYS is not set: the calendar addresses are encrypted with it.")
    return MultiFernet([Fernet(key.encode('ascii')) for key in keys])
