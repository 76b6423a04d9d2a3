"""cancellation terms: each specialist's notice windows (on the profile) (free / paid) and late-cancellation refund,
snapshotted on every booking; a late cancellation flag (a free consultation cancelled late still
uses up the client's one free consultation with that specialist); the refunded amount of a payment

Revision ID: 594c4f22dbcc
Revises: c4e8a2f6d1b9
Create Date: 2026-11-30 10:30:00

Existing rows get the rule that applied before: no notice for free consultations, 24 hours and no
refund after that for paid sessions; refunds made so far were of the whole amount.
"""
from alembic import op
import sqlalchemy as sa


revision = '594c4f22dbcc'
down_revision = 'c4e8a2f6d1b9'
branch_labels = None
depends_on = None

# (the specialist's no-show gives the free consultation back: c5e8a2f4d719)
OLD_WHERE = "kind = 'free' AND state NOT IN ('cancelled', 'expired', 'specialist_no_show')"
NEW_WHERE = "kind = 'free' AND (state NOT IN ('cancelled', 'expired', 'specialist_no_show') OR late_cancellation)"


def _one_free_per_pair(where):
    op.create_index('uq_consultations_one_free_per_pair', 'consultations', ['client_id', 'specialist_id'],
                    unique=True, sqlite_where=sa.text(where), postgresql_where=sa.text(where))


def upgrade():
    with op.batch_alter_table('specialist_profiles', schema=None) as batch_op:
        batch_op.add_column(sa.Column('free_cancel_notice_hours', sa.Integer(), server_default=sa.text('0'),
                                      nullable=False))
        batch_op.add_column(sa.Column('paid_cancel_notice_hours', sa.Integer(), server_default=sa.text('24'),
                                      nullable=False))
        batch_op.add_column(sa.Column('paid_late_refund', sa.String(length=8), server_default='none',
                                      nullable=False))
        batch_op.create_check_constraint(op.f('ck_specialist_profiles_free_cancel_notice_range'),
                                         'free_cancel_notice_hours >= 0 AND free_cancel_notice_hours <= 168')
        batch_op.create_check_constraint(op.f('ck_specialist_profiles_paid_cancel_notice_range'),
                                         'paid_cancel_notice_hours >= 0 AND paid_cancel_notice_hours <= 168')

    with op.batch_alter_table('consultations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('cancel_notice_hours', sa.Integer(), server_default=sa.text('0'),
                                      nullable=False))
        batch_op.add_column(sa.Column('late_refund', sa.String(length=8), server_default='none', nullable=False))
        batch_op.add_column(sa.Column('late_cancellation', sa.Boolean(), server_default=sa.false(),
                                      nullable=False))
    # Paid sessions booked so far: the fixed 24-hour rule (free consultations had no notice: 0).
    op.execute("UPDATE consultations SET cancel_notice_hours = 24 WHERE kind = 'paid'")
    op.drop_index('uq_consultations_one_free_per_pair', table_name='consultations')
    _one_free_per_pair(NEW_WHERE)

    with op.batch_alter_table('payments', schema=None) as batch_op:
        batch_op.add_column(sa.Column('refund_minor', sa.Integer(), nullable=True))
    op.execute("UPDATE payments SET refund_minor = amount_minor WHERE status IN ('refunded', 'refund_failed')")


def downgrade():
    with op.batch_alter_table('payments', schema=None) as batch_op:
        batch_op.drop_column('refund_minor')

    op.drop_index('uq_consultations_one_free_per_pair', table_name='consultations')
    _one_free_per_pair(OLD_WHERE)
    with op.batch_alter_table('consultations', schema=None) as batch_op:
        batch_op.drop_column('late_cancellation')
        batch_op.drop_column('late_refund')
        batch_op.drop_column('cancel_notice_hours')

    with op.batch_alter_table('specialist_profiles', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_specialist_profiles_paid_cancel_notice_range'), type_='check')
        batch_op.drop_constraint(op.f('ck_specialist_profiles_free_cancel_notice_range'), type_='check')
        batch_op.drop_column('paid_late_refund')
        batch_op.drop_column('paid_cancel_notice_hours')
        batch_op.drop_column('free_cancel_notice_hours')
