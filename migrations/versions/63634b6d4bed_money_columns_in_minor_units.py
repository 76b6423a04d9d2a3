"""money columns say what they hold, minor units of their currency (yen for JPY, not cents):
specialist_profiles.fee_cents → fee_minor, fee_eur_cents → fee_eur_minor,
consultations.price_cents → price_minor, payments.amount_cents → amount_minor

Revision ID: 63634b6d4bed
Revises: d3f7a9c1e5b2
Create Date: 2026-11-30 07:00:00

A rename in place (ALTER TABLE … RENAME COLUMN on both databases; SQLite has it since 3.25):
the indexes on these columns (fee, fee_eur, the partial fee orders), the CHECK constraints naming
them and the data stay as they are, and none of their names mentions cents. Batch mode without
recreating the table, which would copy CHECK constraints that still name the old columns.
"""
from alembic import op


revision = '63634b6d4bed'
down_revision = 'd3f7a9c1e5b2'
branch_labels = None
depends_on = None

RENAMES = (
    ('specialist_profiles', 'fee_cents', 'fee_minor'),
    ('specialist_profiles', 'fee_eur_cents', 'fee_eur_minor'),
    ('consultations', 'price_cents', 'price_minor'),
    ('payments', 'amount_cents', 'amount_minor'),
)


def _rename(pairs):
    for table, old, new in pairs:
        with op.batch_alter_table(table, schema=None, recreate='never') as batch_op:
            batch_op.alter_column(old, new_column_name=new)


def upgrade():
    _rename(RENAMES)


def downgrade():
    _rename((table, new, old) for table, old, new in RENAMES)
