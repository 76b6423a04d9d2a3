"""profile_view_weeks: how often each profile was viewed per week (UTC Mondays), for the funnel chart.

Revision ID: c4e8a2f6b1d7
Revises: c5e8a2f4d719
Create Date: 2026-11-30 10:00:00

"""
from alembic import op
import sqlalchemy as sa


revision = 'c4e8a2f6b1d7'
down_revision = 'c5e8a2f4d719'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'profile_view_weeks',
        sa.Column('profile_id', sa.Integer(), nullable=False),
        sa.Column('week_start', sa.Date(), nullable=False),
        sa.Column('views', sa.Integer(), server_default='0', nullable=False),
        sa.ForeignKeyConstraint(['profile_id'], ['specialist_profiles.id'],
                                name=op.f('fk_profile_view_weeks_profile_id_specialist_profiles'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('profile_id', 'week_start', name=op.f('pk_profile_view_weeks')),
    )


def downgrade():
    op.drop_table('profile_view_weeks')
