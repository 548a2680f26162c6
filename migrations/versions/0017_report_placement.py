"""report placement: nearest micro-grid within the fix's accuracy; device time of check-ins

Revision ID: 0017
Revises: 0009
Create Date: 2026-12-01 23:30:00

"""
from alembic import op
import sqlalchemy as sa

import gridgov.dbtypes  # noqa: F401 - custom column types


# revision identifiers, used by Alembic.
revision = '0017'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('issues', schema=None) as batch_op:
        batch_op.add_column(sa.Column('located_by', sa.String(length=12), server_default='inside', nullable=False))
        batch_op.add_column(sa.Column('located_distance_m', sa.Float(), nullable=True))
        batch_op.add_column(sa.Column('location_accuracy_m', sa.Float(), nullable=True))
    with op.batch_alter_table('market_checkins', schema=None) as batch_op:
        batch_op.add_column(sa.Column('device_at', gridgov.dbtypes.UTCDateTime(), nullable=True))


def downgrade():
    with op.batch_alter_table('market_checkins', schema=None) as batch_op:
        batch_op.drop_column('device_at')
    with op.batch_alter_table('issues', schema=None) as batch_op:
        batch_op.drop_column('location_accuracy_m')
        batch_op.drop_column('located_distance_m')
        batch_op.drop_column('located_by')
