"""users: confirmed e-mail address (email_confirmed_at) and an address change waiting for its
confirmation (pending_email). Accounts that exist already predate the rule: they count as confirmed.

Revision ID: c0f1e2d3a4b5
Revises: e5a1c9d3b7f2
Create Date: 2026-11-30 03:20:00

"""
from alembic import op
import sqlalchemy as sa


revision = 'c0f1e2d3a4b5'
down_revision = 'e5a1c9d3b7f2'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('email_confirmed_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('pending_email', sa.String(length=254), nullable=True))
    # Existing accounts were created before addresses were confirmed: backfilled as confirmed
    # (at their creation), so nobody already using Balance is suddenly held back.
    op.execute(sa.text("UPDATE users SET email_confirmed_at = created_at WHERE email_confirmed_at IS NULL"))


def downgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('pending_email')
        batch_op.drop_column('email_confirmed_at')
