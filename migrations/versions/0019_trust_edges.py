"""trust at the edges: refresh tokens rotate within a sign-in, a per-user access-token version,
a group robot's posts of the last minute

Revision ID: 0019
Revises: 0017
Create Date: 2026-12-02 02:20:00

"""
from alembic import op
import sqlalchemy as sa

import gridgov.dbtypes  # noqa: F401 - custom column types


# revision identifiers, used by Alembic.
revision = '0019'
down_revision = '0020'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'robot_budgets',
        sa.Column('channel_id', sa.Integer(), nullable=False),
        sa.Column('recent_posts', sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ['channel_id'], ['notification_channels.id'],
            name=op.f('fk_robot_budgets_channel_id_notification_channels'), ondelete='CASCADE',
        ),
        sa.PrimaryKeyConstraint('channel_id', name=op.f('pk_robot_budgets')),
    )
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('token_version', sa.Integer(), server_default='0', nullable=False))
    with op.batch_alter_table('refresh_tokens', schema=None) as batch_op:
        batch_op.add_column(sa.Column('sign_in', sa.String(length=32), server_default='', nullable=False))
        batch_op.add_column(sa.Column('rotated_at', gridgov.dbtypes.UTCDateTime(), nullable=True))
        batch_op.create_index(batch_op.f('ix_refresh_tokens_sign_in'), ['sign_in'], unique=False)


def downgrade():
    with op.batch_alter_table('refresh_tokens', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_refresh_tokens_sign_in'))
        batch_op.drop_column('rotated_at')
        batch_op.drop_column('sign_in')
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('token_version')
    op.drop_table('robot_budgets')
