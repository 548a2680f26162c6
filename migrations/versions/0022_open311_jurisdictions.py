"""open311 jurisdictions: public categories, API keys bound to an area

Revision ID: 0022
Revises: 0017
Create Date: 2026-12-02 02:10:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0022'
down_revision = '0019'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('issue_categories', schema=None) as batch_op:
        batch_op.add_column(sa.Column('public', sa.Boolean(), server_default=sa.false(), nullable=False))
    with op.batch_alter_table('open311_keys', schema=None) as batch_op:
        batch_op.add_column(sa.Column('area_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f('fk_open311_keys_area_id_areas'), 'areas', ['area_id'], ['id']
        )


def downgrade():
    with op.batch_alter_table('open311_keys', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_open311_keys_area_id_areas'), type_='foreignkey')
        batch_op.drop_column('area_id')
    with op.batch_alter_table('issue_categories', schema=None) as batch_op:
        batch_op.drop_column('public')
