"""availability snapshots: each specialist's free slots precomputed by the refresh job

Revision ID: 7d3f9b1c4e82
Revises: 5c0e1d7a2b31
Create Date: 2026-11-29 22:00:00

After upgrading, run ``flask refresh-availability`` once (until then pages compute slots
on the fly, and the periodic job fills the table in batches).
"""
from alembic import op
import sqlalchemy as sa


revision = '7d3f9b1c4e82'
down_revision = '5c0e1d7a2b31'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('availability_snapshots',
    sa.Column('profile_id', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('computed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('min_notice_minutes', sa.Integer(), nullable=False),
    sa.Column('slots', sa.JSON(), nullable=False),
    sa.Column('next_available_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('refresh_due_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['profile_id'], ['specialist_profiles.id'], name=op.f('fk_availability_snapshots_profile_id_specialist_profiles'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('profile_id', name=op.f('pk_availability_snapshots'))
    )
    with op.batch_alter_table('availability_snapshots', schema=None) as batch_op:
        batch_op.create_index('ix_availability_snapshots_refresh_due_at', ['refresh_due_at'], unique=False)


def downgrade():
    with op.batch_alter_table('availability_snapshots', schema=None) as batch_op:
        batch_op.drop_index('ix_availability_snapshots_refresh_due_at')

    op.drop_table('availability_snapshots')
