"""outbox mail lease: a claimed mail whose worker died is claimed again after claimed_until

Revision ID: 5c0e1d7a2b31
Revises: 42323e5e778e
Create Date: 2026-11-29 21:10:00

"""
from alembic import op
import sqlalchemy as sa


revision = '5c0e1d7a2b31'
down_revision = '42323e5e778e'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('outbox_mail', schema=None) as batch_op:
        batch_op.add_column(sa.Column('claimed_until', sa.DateTime(timezone=True), nullable=True))
        batch_op.drop_index('ix_outbox_mail_status')
        batch_op.create_index('ix_outbox_mail_status', ['status', 'claimed_until'], unique=False)


def downgrade():
    with op.batch_alter_table('outbox_mail', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_mail_status')
        batch_op.create_index('ix_outbox_mail_status', ['status'], unique=False)
        batch_op.drop_column('claimed_until')
