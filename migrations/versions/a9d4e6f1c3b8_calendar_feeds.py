"""calendar_feeds: each person's private calendar subscription URL (the SHA-256 of its token only).

Revision ID: a9d4e6f1c3b8
Revises: b3d7f0a2c915
Create Date: 2026-11-30 07:40:00

"""
from alembic import op
import sqlalchemy as sa


revision = 'a9d4e6f1c3b8'
down_revision = 'b3d7f0a2c915'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'calendar_feeds',
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('token_hash', sa.String(length=64), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_calendar_feeds_user_id_users'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('user_id', name=op.f('pk_calendar_feeds')),
        sa.UniqueConstraint('token_hash', name=op.f('uq_calendar_feeds_token_hash')),
    )


def downgrade():
    op.drop_table('calendar_feeds')
