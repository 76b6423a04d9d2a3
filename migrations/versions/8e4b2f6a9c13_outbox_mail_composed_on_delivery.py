"""outbox mail composed on delivery: the action records what to say (composer + arguments), the
worker writes the body and attachments

Revision ID: 8e4b2f6a9c13
Revises: 7d2a9c4e1f05
Create Date: 2026-11-30 00:20:00

"""
from alembic import op
import sqlalchemy as sa


revision = '8e4b2f6a9c13'
down_revision = '7d2a9c4e1f05'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('outbox_mail', schema=None) as batch_op:
        batch_op.add_column(sa.Column('composer', sa.String(length=80), nullable=True))
        batch_op.add_column(sa.Column('compose_args', sa.JSON(), nullable=True))


def downgrade():
    with op.batch_alter_table('outbox_mail', schema=None) as batch_op:
        batch_op.drop_column('compose_args')
        batch_op.drop_column('composer')
