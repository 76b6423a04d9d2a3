"""payments: provider-neutral names — payments.provider (+ provider_checkout_id, unique per
provider; provider_payment_id), stripe_events → payment_events (unique provider + event id).
Existing rows are Stripe's.

Revision ID: b3d7f0a2c915
Revises: a8c4e2f61d37
Create Date: 2026-11-30 06:50:00

"""
from alembic import op
import sqlalchemy as sa


revision = 'b3d7f0a2c915'
down_revision = 'a8c4e2f61d37'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('payments', schema=None) as batch_op:
        batch_op.add_column(sa.Column('provider', sa.String(length=32), nullable=True))
        batch_op.drop_constraint('uq_payments_stripe_checkout_session_id', type_='unique')
        batch_op.drop_index('ix_payments_payment_intent_id')
        batch_op.alter_column('stripe_checkout_session_id', new_column_name='provider_checkout_id',
                              existing_type=sa.String(length=255), existing_nullable=True)
        batch_op.alter_column('payment_intent_id', new_column_name='provider_payment_id',
                              existing_type=sa.String(length=255), existing_nullable=True)
    op.execute(sa.text("UPDATE payments SET provider = 'stripe'"))
    with op.batch_alter_table('payments', schema=None) as batch_op:
        batch_op.alter_column('provider', existing_type=sa.String(length=32), nullable=False)
        batch_op.create_unique_constraint('uq_payments_provider_provider_checkout_id',
                                          ['provider', 'provider_checkout_id'])
        batch_op.create_index('ix_payments_provider_payment_id', ['provider_payment_id'], unique=False)

    op.create_table('payment_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('provider', sa.String(length=32), nullable=False),
    sa.Column('event_id', sa.String(length=255), nullable=False),
    sa.Column('type', sa.String(length=100), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_payment_events')),
    sa.UniqueConstraint('provider', 'event_id', name=op.f('uq_payment_events_provider_event_id'))
    )
    op.execute(sa.text("INSERT INTO payment_events (provider, event_id, type, received_at) "
                       "SELECT 'stripe', id, type, received_at FROM stripe_events"))
    op.drop_table('stripe_events')


def downgrade():
    op.create_table('stripe_events',
    sa.Column('id', sa.String(length=255), nullable=False),
    sa.Column('type', sa.String(length=100), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_stripe_events'))
    )
    op.execute(sa.text("INSERT INTO stripe_events (id, type, received_at) "
                       "SELECT event_id, type, received_at FROM payment_events WHERE provider = 'stripe'"))
    op.drop_table('payment_events')

    with op.batch_alter_table('payments', schema=None) as batch_op:
        batch_op.drop_index('ix_payments_provider_payment_id')
        batch_op.drop_constraint('uq_payments_provider_provider_checkout_id', type_='unique')
        batch_op.alter_column('provider_payment_id', new_column_name='payment_intent_id',
                              existing_type=sa.String(length=255), existing_nullable=True)
        batch_op.alter_column('provider_checkout_id', new_column_name='stripe_checkout_session_id',
                              existing_type=sa.String(length=255), existing_nullable=True)
        batch_op.drop_column('provider')
    with op.batch_alter_table('payments', schema=None) as batch_op:
        batch_op.create_unique_constraint('uq_payments_stripe_checkout_session_id', ['stripe_checkout_session_id'])
        batch_op.create_index('ix_payments_payment_intent_id', ['payment_intent_id'], unique=False)
