"""external_calendars and external_busy_times: a specialist's other calendars (iCal addresses) whose
events block free slots, and the busy intervals last read from each

Revision ID: c4e8b2f6a1d9
Revises: c4e8a2f6b1d7
Create Date: 2026-11-30 10:10:00

"""
from alembic import op
import sqlalchemy as sa


revision = 'c4e8b2f6a1d9'
down_revision = 'c4e8a2f6b1d7'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'external_calendars',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('specialist_id', sa.Integer(), nullable=False),
        sa.Column('url', sa.String(length=2000), nullable=False),
        sa.Column('url_sha256', sa.String(length=64), nullable=False),
        sa.Column('host', sa.String(length=255), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('last_attempt_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('last_success_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('failing_since', sa.DateTime(timezone=True), nullable=True),
        sa.Column('error', sa.String(length=300), nullable=True),
        sa.Column('busy_count', sa.Integer(), server_default=sa.text('0'), nullable=False),
        sa.ForeignKeyConstraint(['specialist_id'], ['specialist_profiles.id'],
                                name=op.f('fk_external_calendars_specialist_id_specialist_profiles'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_external_calendars')),
        sa.UniqueConstraint('specialist_id', 'url_sha256', name='uq_external_calendars_specialist_url'),
    )
    with op.batch_alter_table('external_calendars', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_external_calendars_specialist_id'), ['specialist_id'], unique=False)

    op.create_table(
        'external_busy_times',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('calendar_id', sa.Integer(), nullable=False),
        sa.Column('specialist_id', sa.Integer(), nullable=False),
        sa.Column('start_utc', sa.DateTime(timezone=True), nullable=False),
        sa.Column('end_utc', sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint('end_utc > start_utc', name=op.f('ck_external_busy_times_external_busy_end_after_start')),
        sa.ForeignKeyConstraint(['calendar_id'], ['external_calendars.id'],
                                name=op.f('fk_external_busy_times_calendar_id_external_calendars'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['specialist_id'], ['specialist_profiles.id'],
                                name=op.f('fk_external_busy_times_specialist_id_specialist_profiles'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_external_busy_times')),
    )
    with op.batch_alter_table('external_busy_times', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_external_busy_times_calendar_id'), ['calendar_id'], unique=False)
        batch_op.create_index('ix_external_busy_times_specialist_end', ['specialist_id', 'end_utc'], unique=False)


def downgrade():
    op.drop_table('external_busy_times')
    op.drop_table('external_calendars')
