"""session_series.card_checkout_id: the provider's setup checkout in which a client whose weekly
charge was declined saves another card (its webhook replaces the series' card and charges the
declined sessions again).

Revision ID: f3b9d1e7a264
Revises: e7c3a9f15b28
Create Date: 2026-12-01 01:20:00

"""
from alembic import op
import sqlalchemy as sa


revision = 'f3b9d1e7a264'
down_revision = 'e7c3a9f15b28'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('session_series') as batch_op:
        batch_op.add_column(sa.Column('card_checkout_id', sa.String(length=255), nullable=True))
    op.create_index('ix_session_series_card_checkout', 'session_series', ['provider', 'card_checkout_id'],
                    unique=True)


def downgrade():
    op.drop_index('ix_session_series_card_checkout', table_name='session_series')
    with op.batch_alter_table('session_series') as batch_op:
        batch_op.drop_column('card_checkout_id')
