"""specialist_profiles: indexes for the directory's fee orders ("Fee: low to high" on both
databases, "Fee: high to low" with NULLS LAST on PostgreSQL only), over published profiles.

Revision ID: f14d5a7e2c01
Revises: a14c7e2d9f60
Create Date: 2026-11-30 04:05:00

"""
from alembic import op
import sqlalchemy as sa


revision = 'f14d5a7e2c01'
down_revision = 'a14c7e2d9f60'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('specialist_profiles', schema=None) as batch_op:
        batch_op.create_index('ix_specialist_profiles_fee_order', ['fee_eur_cents', 'display_name', 'id'], unique=False,
                              postgresql_where=sa.text('is_published'), sqlite_where=sa.text('is_published'))
    if op.get_bind().dialect.name == 'postgresql':
        op.execute(sa.text('CREATE INDEX ix_specialist_profiles_fee_desc_order ON specialist_profiles '
                           '(fee_eur_cents DESC NULLS LAST, display_name, id) WHERE is_published'))


def downgrade():
    if op.get_bind().dialect.name == 'postgresql':
        op.execute(sa.text('DROP INDEX IF EXISTS ix_specialist_profiles_fee_desc_order'))
    with op.batch_alter_table('specialist_profiles', schema=None) as batch_op:
        batch_op.drop_index('ix_specialist_profiles_fee_order', postgresql_where=sa.text('is_published'),
                            sqlite_where=sa.text('is_published'))
