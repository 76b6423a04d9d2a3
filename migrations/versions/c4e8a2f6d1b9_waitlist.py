"""waitlist: clients waiting for an earlier (or any) time with a specialist, and the offers that
hold a freed time for one of them for 15 minutes (occupied blocks now belong to a booking or to
an offer)

Revision ID: c4e8a2f6d1b9
Revises: c4e8b2f6a1d9
Create Date: 2026-12-01 09:00:00

"""
from alembic import op
import sqlalchemy as sa


revision = 'c4e8a2f6d1b9'
down_revision = 'c4e8b2f6a1d9'
branch_labels = None
depends_on = None

ONE_OPEN_OFFER_WHERE = "state = 'offered'"


def upgrade():
    op.create_table(
        'waitlist_entries',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('client_id', sa.Integer(), nullable=False),
        sa.Column('specialist_id', sa.Integer(), nullable=False),
        sa.Column('before_utc', sa.DateTime(timezone=True), nullable=True),
        sa.Column('weekdays', sa.Integer(), nullable=False),
        sa.Column('parts', sa.String(length=40), nullable=False),
        sa.Column('timezone', sa.String(length=64), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint('weekdays >= 0 AND weekdays <= 127',
                           name=op.f('ck_waitlist_entries_waitlist_entry_weekdays_mask')),
        sa.ForeignKeyConstraint(['client_id'], ['users.id'], name=op.f('fk_waitlist_entries_client_id_users'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['specialist_id'], ['specialist_profiles.id'],
                                name=op.f('fk_waitlist_entries_specialist_id_specialist_profiles'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_waitlist_entries')),
        sa.UniqueConstraint('client_id', 'specialist_id', name='uq_waitlist_entries_client_specialist'),
    )
    op.create_index('ix_waitlist_entries_specialist_created', 'waitlist_entries', ['specialist_id', 'created_at'],
                    unique=False)

    op.create_table(
        'waitlist_offers',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('entry_id', sa.Integer(), nullable=True),
        sa.Column('client_id', sa.Integer(), nullable=False),
        sa.Column('specialist_id', sa.Integer(), nullable=False),
        sa.Column('start_utc', sa.DateTime(timezone=True), nullable=False),
        sa.Column('end_utc', sa.DateTime(timezone=True), nullable=False),
        sa.Column('state', sa.Enum('offered', 'claimed', 'expired', 'withdrawn', name='offerstate',
                                   native_enum=False, length=10), nullable=False),
        sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('consultation_id', sa.Integer(), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint('end_utc > start_utc', name=op.f('ck_waitlist_offers_waitlist_offer_end_after_start')),
        sa.ForeignKeyConstraint(['client_id'], ['users.id'], name=op.f('fk_waitlist_offers_client_id_users'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['consultation_id'], ['consultations.id'],
                                name=op.f('fk_waitlist_offers_consultation_id_consultations'), ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['entry_id'], ['waitlist_entries.id'],
                                name=op.f('fk_waitlist_offers_entry_id_waitlist_entries'), ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['specialist_id'], ['specialist_profiles.id'],
                                name=op.f('fk_waitlist_offers_specialist_id_specialist_profiles'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_waitlist_offers')),
    )
    op.create_index('ix_waitlist_offers_entry_id', 'waitlist_offers', ['entry_id'], unique=False)
    op.create_index('ix_waitlist_offers_state_expires', 'waitlist_offers', ['state', 'expires_at'], unique=False)
    op.create_index('ix_waitlist_offers_specialist_start', 'waitlist_offers', ['specialist_id', 'start_utc'],
                    unique=False)
    op.create_index('uq_waitlist_offers_one_open_per_pair', 'waitlist_offers', ['client_id', 'specialist_id'],
                    unique=True, sqlite_where=sa.text(ONE_OPEN_OFFER_WHERE),
                    postgresql_where=sa.text(ONE_OPEN_OFFER_WHERE))

    with op.batch_alter_table('occupied_blocks', schema=None) as batch_op:
        batch_op.add_column(sa.Column('waitlist_offer_id', sa.Integer(), nullable=True))
        batch_op.alter_column('consultation_id', existing_type=sa.Integer(), nullable=True)
        batch_op.create_foreign_key(op.f('fk_occupied_blocks_waitlist_offer_id_waitlist_offers'), 'waitlist_offers',
                                    ['waitlist_offer_id'], ['id'], ondelete='CASCADE')
        batch_op.create_index('ix_occupied_blocks_waitlist_offer', ['waitlist_offer_id'], unique=False)
        batch_op.create_check_constraint(op.f('ck_occupied_blocks_occupied_block_one_owner'),
                                         '(consultation_id IS NULL) <> (waitlist_offer_id IS NULL)')


def downgrade():
    op.execute('DELETE FROM occupied_blocks WHERE consultation_id IS NULL')
    with op.batch_alter_table('occupied_blocks', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_occupied_blocks_occupied_block_one_owner'), type_='check')
        batch_op.drop_index('ix_occupied_blocks_waitlist_offer')
        batch_op.drop_constraint(op.f('fk_occupied_blocks_waitlist_offer_id_waitlist_offers'), type_='foreignkey')
        batch_op.alter_column('consultation_id', existing_type=sa.Integer(), nullable=False)
        batch_op.drop_column('waitlist_offer_id')
    op.drop_index('uq_waitlist_offers_one_open_per_pair', table_name='waitlist_offers')
    op.drop_index('ix_waitlist_offers_specialist_start', table_name='waitlist_offers')
    op.drop_index('ix_waitlist_offers_state_expires', table_name='waitlist_offers')
    op.drop_index('ix_waitlist_offers_entry_id', table_name='waitlist_offers')
    op.drop_table('waitlist_offers')
    op.drop_index('ix_waitlist_entries_specialist_created', table_name='waitlist_entries')
    op.drop_table('waitlist_entries')
