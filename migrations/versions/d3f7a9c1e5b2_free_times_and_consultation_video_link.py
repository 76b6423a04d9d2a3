"""specialist_profiles and availability_snapshots: free_utc_mon … free_utc_sun (the UTC
half-hours of the week with a free slot start, for the directory's time-of-day filter);
consultations: video_link (a per-consultation video link set by the specialist).

Existing rows get NULL free times: "unknown", which the time-of-day filter does not match (a
profile that cannot be booked has none anyway). The next refresh of a profile's availability
fills them: the periodic refresh recomputes every bookable profile's snapshot as it comes due
(each is at most an hour old), or run ``flask --app wsgi refresh-availability`` once after
upgrading to fill them all at once.

Revision ID: d3f7a9c1e5b2
Revises: f14d5a7e2c01
Create Date: 2026-11-30 07:10:00

"""
from alembic import op
import sqlalchemy as sa


revision = 'd3f7a9c1e5b2'
down_revision = 'f14d5a7e2c01'
branch_labels = None
depends_on = None

FREE_TIME_COLUMNS = ('free_utc_mon', 'free_utc_tue', 'free_utc_wed', 'free_utc_thu', 'free_utc_fri',
                     'free_utc_sat', 'free_utc_sun')


def upgrade():
    for table in ('specialist_profiles', 'availability_snapshots'):
        with op.batch_alter_table(table, schema=None) as batch_op:
            for name in FREE_TIME_COLUMNS:
                batch_op.add_column(sa.Column(name, sa.BigInteger(), nullable=True))
    with op.batch_alter_table('consultations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('video_link', sa.String(length=300), nullable=True))


def downgrade():
    with op.batch_alter_table('consultations', schema=None) as batch_op:
        batch_op.drop_column('video_link')
    for table in ('availability_snapshots', 'specialist_profiles'):
        with op.batch_alter_table(table, schema=None) as batch_op:
            for name in reversed(FREE_TIME_COLUMNS):
                batch_op.drop_column(name)
