"""client_notes: a specialist's private note about one of their clients, stored encrypted
(a Fernet token in body_encrypted, never the text; keys from NOTES_KEYS).

Revision ID: a8c4e2f61d37
Revises: 63634b6d4bed
Create Date: 2026-11-30 07:50:00

"""
from alembic import op
import sqlalchemy as sa


revision = 'a8c4e2f61d37'
down_revision = '63634b6d4bed'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'client_notes',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('specialist_id', sa.Integer(), nullable=False),
        sa.Column('client_id', sa.Integer(), nullable=False),
        sa.Column('body_encrypted', sa.Text(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['client_id'], ['users.id'], name=op.f('fk_client_notes_client_id_users'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['specialist_id'], ['specialist_profiles.id'],
                                name=op.f('fk_client_notes_specialist_id_specialist_profiles'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_client_notes')),
        sa.UniqueConstraint('specialist_id', 'client_id', name='uq_client_notes_specialist_client'),
    )
    with op.batch_alter_table('client_notes', schema=None) as batch_op:
        batch_op.create_index('ix_client_notes_client', ['client_id'], unique=False)


def downgrade():
    with op.batch_alter_table('client_notes', schema=None) as batch_op:
        batch_op.drop_index('ix_client_notes_client')
    op.drop_table('client_notes')
