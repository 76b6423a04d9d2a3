"""profile search text: name, title, place, vocabulary labels and bio, folded (lower case, no
accents), with a trigram index on PostgreSQL (replaces the English full-text index)

Revision ID: b7e3c1d95a42
Revises: 8e4b2f6a9c13
Create Date: 2026-11-30 03:30:00

"""
import re
import unicodedata
from importlib import resources

from alembic import op
import sqlalchemy as sa


revision = 'b7e3c1d95a42'
down_revision = '8e4b2f6a9c13'
branch_labels = None
depends_on = None

BATCH = 1000


def upgrade():
    with op.batch_alter_table('specialist_profiles', schema=None) as batch_op:
        batch_op.add_column(sa.Column('search_text', sa.Text(), server_default='', nullable=False))
    bind = op.get_bind()
    if bind.dialect.name == 'postgresql':
        op.execute('DROP INDEX IF EXISTS ix_specialist_profiles_search')
        available = bind.execute(sa.text("SELECT 1 FROM pg_available_extensions WHERE name = 'pg_trgm'")).first()
        if available is not None:  # without it, search works on the column alone (slower at scale)
            op.execute('CREATE EXTENSION IF NOT EXISTS pg_trgm')
            op.execute('CREATE INDEX ix_specialist_profiles_search_text ON specialist_profiles '
                       'USING gin (search_text gin_trgm_ops)')
    _backfill(bind)


def downgrade():
    bind = op.get_bind()
    if bind.dialect.name == 'postgresql':
        op.execute('DROP INDEX IF EXISTS ix_specialist_profiles_search_text')
        op.execute(
            "CREATE INDEX ix_specialist_profiles_search ON specialist_profiles USING gin "
            "(to_tsvector('english'::regconfig, display_name || ' ' || coalesce(title, '') || ' ' || "
            "coalesce(bio_markdown, '')))"
        )
    with op.batch_alter_table('specialist_profiles', schema=None) as batch_op:
        batch_op.drop_column('search_text')


# --- backfill: a frozen copy of marketplace.specialists.search.profile_search_text at this revision ---

_LETTERS = str.maketrans({"ł": "l", "ø": "o", "đ": "d", "ð": "d", "þ": "th", "æ": "ae", "œ": "oe", "ı": "i"})
_NOT_WORD = re.compile(r"[\W_]+")


def _fold(text):
    if not text:
        return ""
    bare = text.lower()
    if not bare.isascii():
        decomposed = unicodedata.normalize("NFKD", text.casefold().translate(_LETTERS))
        bare = "".join(char for char in decomposed if not unicodedata.combining(char))
    return _NOT_WORD.sub(" ", bare).strip()


def _country_names():
    text = resources.files("tzdata").joinpath("zoneinfo/iso3166.tab").read_text(encoding="utf-8")
    names = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            code, _, name = line.partition("\t")
            names[code.strip()] = name.strip()
    return names


def _backfill(bind):
    countries = _country_names()
    labels = {}  # profile id -> {kind: [label, ...]}
    for kind, table, column, vocabulary in (("specialties", "profile_specialties", "specialty_id", "specialties"),
                                            ("approaches", "profile_approaches", "approach_id", "approaches"),
                                            ("languages", "profile_languages", "language_id", "languages")):
        rows = bind.execute(sa.text(
            f"SELECT l.profile_id, v.label FROM {table} l JOIN {vocabulary} v ON v.id = l.{column} "  # noqa: S608
            "ORDER BY l.profile_id, v.label"))
        for profile_id, label in rows:
            labels.setdefault(profile_id, {}).setdefault(kind, []).append(label)
    profiles = bind.execute(sa.text(
        "SELECT id, display_name, title, city, country, bio_markdown FROM specialist_profiles ORDER BY id")).all()
    update = sa.text("UPDATE specialist_profiles SET search_text = :search_text WHERE id = :id")
    rows = []
    for profile_id, name, title, city, country, bio in profiles:
        own = labels.get(profile_id, {})
        parts = [name, title, city, countries.get(country or "", "") if country else "",
                 *own.get("specialties", ()), *own.get("approaches", ()), *own.get("languages", ()), bio]
        rows.append({"id": profile_id, "search_text": _fold(" ".join(part for part in parts if part))})
        if len(rows) >= BATCH:
            bind.execute(update, rows)
            rows = []
    if rows:
        bind.execute(update, rows)
