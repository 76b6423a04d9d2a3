"""session_series and series_charges: weekly paid-session series booked in one step, the card
saved through the provider and each occurrence charged off-session 24 hours before it.

Revision ID: b7e3d5a9c2f4
Revises: 594c4f22dbcc
Create Date: 2026-11-30 10:50:00

"""
from alembic import op
import sqlalchemy as sa


revision = 'b7e3d5a9c2f4'
down_revision = '594c4f22dbcc'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'session_series',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('client_id', sa.Integer(), nullable=False),
        sa.Column('specialist_id', sa.Integer(), nullable=False),
        sa.Column('sessions', sa.Integer(), nullable=False),
        sa.Column('timezone', sa.String(length=64), nullable=False),
        sa.Column('state', sa.Enum('awaiting_card', 'active', 'released', name='seriesstate', native_enum=False,
                                   length=16), nullable=False),
        sa.Column('provider', sa.String(length=32), nullable=False),
        sa.Column('provider_checkout_id', sa.String(length=255), nullable=True),
        sa.Column('checkout_url', sa.String(length=2000), nullable=True),
        sa.Column('provider_customer_id', sa.String(length=255), nullable=True),
        sa.Column('provider_payment_method_id', sa.String(length=255), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('card_saved_at', sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint('sessions BETWEEN 2 AND 12', name=op.f('ck_session_series_series_session_count')),
        sa.ForeignKeyConstraint(['client_id'], ['users.id'], name=op.f('fk_session_series_client_id_users'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['specialist_id'], ['specialist_profiles.id'],
                                name=op.f('fk_session_series_specialist_id_specialist_profiles'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_session_series')),
        sa.UniqueConstraint('provider', 'provider_checkout_id',
                            name=op.f('uq_session_series_provider_provider_checkout_id')),
    )
    with op.batch_alter_table('session_series', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_session_series_client_id'), ['client_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_session_series_specialist_id'), ['specialist_id'], unique=False)

    op.create_table(
        'series_charges',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('series_id', sa.Integer(), nullable=False),
        sa.Column('consultation_id', sa.Integer(), nullable=False),
        sa.Column('payment_id', sa.Integer(), nullable=False),
        sa.Column('due_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('charge_state', sa.Enum('awaiting_card', 'scheduled', 'charging', 'charged', 'declined',
                                          'released', 'cancelled', name='chargestate', native_enum=False,
                                          length=16), nullable=False),
        sa.Column('attempted_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('declined_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('release_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('decline_reason', sa.String(length=255), nullable=True),
        sa.ForeignKeyConstraint(['consultation_id'], ['consultations.id'],
                                name=op.f('fk_series_charges_consultation_id_consultations')),
        sa.ForeignKeyConstraint(['payment_id'], ['payments.id'], name=op.f('fk_series_charges_payment_id_payments')),
        sa.ForeignKeyConstraint(['series_id'], ['session_series.id'],
                                name=op.f('fk_series_charges_series_id_session_series'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_series_charges')),
        sa.UniqueConstraint('consultation_id', name=op.f('uq_series_charges_consultation_id')),
        sa.UniqueConstraint('payment_id', name=op.f('uq_series_charges_payment_id')),
    )
    with op.batch_alter_table('series_charges', schema=None) as batch_op:
        batch_op.create_index('ix_series_charges_state_due', ['charge_state', 'due_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_series_charges_series_id'), ['series_id'], unique=False)


def downgrade():
    with op.batch_alter_table('series_charges', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_series_charges_series_id'))
        batch_op.drop_index('ix_series_charges_state_due')
    op.drop_table('series_charges')
    with op.batch_alter_table('session_series', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_session_series_specialist_id'))
        batch_op.drop_index(batch_op.f('ix_session_series_client_id'))
    op.drop_table('session_series')
