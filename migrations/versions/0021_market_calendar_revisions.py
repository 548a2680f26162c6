"""market calendar revisions: SEQUENCE and LAST-MODIFIED per market and per rule day

Revision ID: 0021
Revises: 0017
Create Date: 2026-12-02 02:30:00

"""
from alembic import op
import sqlalchemy as sa

import gridgov.dbtypes  # noqa: F401 - custom column types


# revision identifiers, used by Alembic.
revision = '0021'
down_revision = '0017'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('market_day_revisions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('market_id', sa.Integer(), nullable=False),
    sa.Column('date', sa.Date(), nullable=False),
    sa.Column('sequence', sa.Integer(), nullable=False),
    sa.Column('revised_at', gridgov.dbtypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['market_id'], ['markets.id'], name=op.f('fk_market_day_revisions_market_id_markets'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_market_day_revisions')),
    sa.UniqueConstraint('market_id', 'date', name=op.f('uq_market_day_revisions_market_id_date'))
    )
    with op.batch_alter_table('market_day_revisions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_market_day_revisions_market_id'), ['market_id'], unique=False)
    with op.batch_alter_table('markets', schema=None) as batch_op:
        batch_op.add_column(sa.Column('revision', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('revised_at', gridgov.dbtypes.UTCDateTime(), nullable=True))


def downgrade():
    with op.batch_alter_table('markets', schema=None) as batch_op:
        batch_op.drop_column('revised_at')
        batch_op.drop_column('revision')
    with op.batch_alter_table('market_day_revisions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_market_day_revisions_market_id'))
    op.drop_table('market_day_revisions')
