"""measured responsiveness on specialist profiles (median reply and confirmation minutes, the
directory's "fast responders first" index) and no-shows both ways: the specialist_no_show state
(a free consultation the specialist did not come to does not use up the client's one free
consultation) and the no_show_reports the admin reviews

Revision ID: c5e8a2f4d719
Revises: a9d4e6f1c3b8
Create Date: 2026-11-30 09:10:00

The consultation state is a plain VARCHAR(20) (no database enum or CHECK): "specialist_no_show"
needs no change of type; only the partial unique index's predicate changes.
"""
from alembic import op
import sqlalchemy as sa


revision = 'c5e8a2f4d719'
down_revision = 'a9d4e6f1c3b8'
branch_labels = None
depends_on = None

OLD_WHERE = "kind = 'free' AND state NOT IN ('cancelled', 'expired')"
NEW_WHERE = "kind = 'free' AND state NOT IN ('cancelled', 'expired', 'specialist_no_show')"


def _one_free_per_pair(where):
    op.create_index('uq_consultations_one_free_per_pair', 'consultations', ['client_id', 'specialist_id'],
                    unique=True, sqlite_where=sa.text(where), postgresql_where=sa.text(where))


def upgrade():
    with op.batch_alter_table('specialist_profiles', schema=None) as batch_op:
        batch_op.add_column(sa.Column('reply_median_minutes', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('confirm_median_minutes', sa.Integer(), nullable=True))
        batch_op.create_index('ix_specialist_profiles_reply_order',
                              ['reply_median_minutes', 'confirm_median_minutes', 'display_name', 'id'], unique=False, postgresql_where=sa.text('is_published'),
                              sqlite_where=sa.text('is_published'))

    op.drop_index('uq_consultations_one_free_per_pair', table_name='consultations')
    _one_free_per_pair(NEW_WHERE)

    op.create_table(
        'no_show_reports',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('consultation_id', sa.Integer(), nullable=False),
        sa.Column('specialist_id', sa.Integer(), nullable=False),
        sa.Column('client_id', sa.Integer(), nullable=True),
        sa.Column('note', sa.String(length=1000), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('reviewed_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('reviewed_by_id', sa.Integer(), nullable=True),
        sa.Column('dismissed', sa.Boolean(), server_default=sa.text('false'), nullable=False),
        sa.ForeignKeyConstraint(['client_id'], ['users.id'], name=op.f('fk_no_show_reports_client_id_users'),
                                ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['consultation_id'], ['consultations.id'],
                                name=op.f('fk_no_show_reports_consultation_id_consultations'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['reviewed_by_id'], ['users.id'], name=op.f('fk_no_show_reports_reviewed_by_id_users'),
                                ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['specialist_id'], ['specialist_profiles.id'],
                                name=op.f('fk_no_show_reports_specialist_id_specialist_profiles'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_no_show_reports')),
        sa.UniqueConstraint('consultation_id', name=op.f('uq_no_show_reports_consultation_id')),
    )
    with op.batch_alter_table('no_show_reports', schema=None) as batch_op:
        batch_op.create_index('ix_no_show_reports_specialist_created', ['specialist_id', 'created_at'], unique=False)
        batch_op.create_index('ix_no_show_reports_reviewed_created', ['reviewed_at', 'created_at'], unique=False)


def downgrade():
    with op.batch_alter_table('no_show_reports', schema=None) as batch_op:
        batch_op.drop_index('ix_no_show_reports_reviewed_created')
        batch_op.drop_index('ix_no_show_reports_specialist_created')
    op.drop_table('no_show_reports')

    # A reported consultation would break the older rule if the client booked again: it was not held.
    op.execute("UPDATE consultations SET state = 'cancelled', cancel_reason = 'The specialist did not come' "
               "WHERE state = 'specialist_no_show'")
    op.drop_index('uq_consultations_one_free_per_pair', table_name='consultations')
    _one_free_per_pair(OLD_WHERE)

    with op.batch_alter_table('specialist_profiles', schema=None) as batch_op:
        batch_op.drop_index('ix_specialist_profiles_reply_order', postgresql_where=sa.text('is_published'),
                            sqlite_where=sa.text('is_published'))
        batch_op.drop_column('confirm_median_minutes')
        batch_op.drop_column('reply_median_minutes')
