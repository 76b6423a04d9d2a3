"""requests never go unanswered: a request's confirmation deadline and 12 h reminder, the expired
state (an expired free consultation does not use up the client's one free consultation), and the
specialist's "time to confirm a request" setting

Revision ID: e5a1c9d3b7f2
Revises: b7e3c1d95a42
Create Date: 2026-11-30 03:30:00

The consultation state is a plain VARCHAR(20) (no database enum or CHECK), so "expired" needs no
change of type on either database.
"""
from alembic import op
import sqlalchemy as sa


revision = 'e5a1c9d3b7f2'
down_revision = 'b7e3c1d95a42'
branch_labels = None
depends_on = None

OLD_WHERE = "kind = 'free' AND state != 'cancelled'"
NEW_WHERE = "kind = 'free' AND state NOT IN ('cancelled', 'expired')"


def _one_free_per_pair(where):
    op.create_index('uq_consultations_one_free_per_pair', 'consultations', ['client_id', 'specialist_id'],
                    unique=True, sqlite_where=sa.text(where), postgresql_where=sa.text(where))


def upgrade():
    with op.batch_alter_table('consultations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('confirm_by_utc', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('request_reminder_sent_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index('ix_consultations_state_confirm_by', ['state', 'confirm_by_utc'], unique=False)
    op.drop_index('uq_consultations_one_free_per_pair', table_name='consultations')
    _one_free_per_pair(NEW_WHERE)

    with op.batch_alter_table('scheduling_settings', schema=None) as batch_op:
        batch_op.add_column(sa.Column('confirm_within_hours', sa.Integer(), server_default=sa.text('48'),
                                      nullable=False))
        batch_op.create_check_constraint(op.f('ck_scheduling_settings_scheduling_confirm_within_range'),
                                         'confirm_within_hours >= 1 AND confirm_within_hours <= 168')


def downgrade():
    with op.batch_alter_table('scheduling_settings', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_scheduling_settings_scheduling_confirm_within_range'), type_='check')
        batch_op.drop_column('confirm_within_hours')

    # An expired request would break the older rule (one non-cancelled free consultation per pair).
    op.execute("UPDATE consultations SET state = 'cancelled', cancel_reason = 'Expired: not confirmed in time' "
               "WHERE state = 'expired'")
    op.drop_index('uq_consultations_one_free_per_pair', table_name='consultations')
    _one_free_per_pair(OLD_WHERE)
    with op.batch_alter_table('consultations', schema=None) as batch_op:
        batch_op.drop_index('ix_consultations_state_confirm_by')
        batch_op.drop_column('request_reminder_sent_at')
        batch_op.drop_column('confirm_by_utc')
