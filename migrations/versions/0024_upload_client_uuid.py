"""uploads named by the phone's client_uuid, so a retried upload finds the first

Revision ID: 0024
Revises: 0017
Create Date: 2026-12-02 02:15:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0024'
down_revision = '0021'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('uploads', schema=None) as batch_op:
        batch_op.add_column(sa.Column('client_uuid', sa.String(length=36), nullable=True))
        batch_op.create_unique_constraint(batch_op.f('uq_uploads_owner_id_client_uuid'), ['owner_id', 'client_uuid'])


def downgrade():
    with op.batch_alter_table('uploads', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_uploads_owner_id_client_uuid'), type_='unique')
        batch_op.drop_column('client_uuid')
