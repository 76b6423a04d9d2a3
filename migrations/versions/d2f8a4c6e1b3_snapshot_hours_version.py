"""availability_snapshots.hours_version and hours_version_seen: a booking is validated against
the precomputed slots while they were computed from the specialist's current hours.

Revision ID: d2f8a4c6e1b3
Revises: b7e3d5a9c2f4
Create Date: 2026-11-30 13:30:00

"""
from alembic import op
import sqlalchemy as sa


revision = 'd2f8a4c6e1b3'
down_revision = 'b7e3d5a9c2f4'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('availability_snapshots') as batch_op:
        batch_op.add_column(sa.Column('hours_version', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('hours_version_seen', sa.Integer(), server_default='0', nullable=False))


def downgrade():
    with op.batch_alter_table('availability_snapshots') as batch_op:
        batch_op.drop_column('hours_version_seen')
        batch_op.drop_column('hours_version')
