"""wage evidence: photos a claimant sends with his claim or later with his number and code

Revision ID: 0025
Revises: 0017
Create Date: 2026-12-02 02:15:00

"""
from alembic import op
import sqlalchemy as sa

import gridgov.dbtypes  # noqa: F401 - custom column types


# revision identifiers, used by Alembic.
revision = '0025'
down_revision = '0022'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'wage_evidence',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('case_id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=20), nullable=False),
        sa.Column('content_type', sa.String(length=32), nullable=False),
        sa.Column('size', sa.Integer(), nullable=False),
        sa.Column('sha256', sa.String(length=64), nullable=False),
        sa.Column('path', sa.String(length=300), nullable=False),
        sa.Column('received_at', gridgov.dbtypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(['case_id'], ['wage_cases.id'], name=op.f('fk_wage_evidence_case_id_wage_cases'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_wage_evidence')),
    )
    with op.batch_alter_table('wage_evidence', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_wage_evidence_case_id'), ['case_id'], unique=False)


def downgrade():
    with op.batch_alter_table('wage_evidence', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_wage_evidence_case_id'))
    op.drop_table('wage_evidence')
