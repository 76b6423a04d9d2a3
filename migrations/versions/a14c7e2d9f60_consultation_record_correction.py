"""an outcome / no-show may be corrected within 24 hours: when it was recorded

Revision ID: a14c7e2d9f60
Revises: c0f1e2d3a4b5
Create Date: 2026-11-30 04:00:00

Records made before this column existed have no time and are not correctable.
"""
from alembic import op
import sqlalchemy as sa


revision = 'a14c7e2d9f60'
down_revision = 'c0f1e2d3a4b5'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('consultations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('outcome_recorded_at', sa.DateTime(timezone=True), nullable=True))


def downgrade():
    with op.batch_alter_table('consultations', schema=None) as batch_op:
        batch_op.drop_column('outcome_recorded_at')
