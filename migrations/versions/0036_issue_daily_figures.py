"""issue daily figures: the summary the figures read, per local day, area, category, department and worker

Revision ID: 0036
Revises: 0025
Create Date: 2026-12-02 06:10:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0036'
down_revision = '0025'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'issue_daily_figures',
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('area_id', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('category_id', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('department_id', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('worker_id', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('reported', sa.Integer(), nullable=False),
        sa.Column('due', sa.Integer(), nullable=False),
        sa.Column('deferred', sa.Integer(), nullable=False),
        sa.Column('closed', sa.Integer(), nullable=False),
        sa.Column('closed_on_time', sa.Integer(), nullable=False),
        sa.Column('rework_count', sa.Integer(), nullable=False),
        sa.Column('reworked', sa.Integer(), nullable=False),
        sa.Column('reworked_3_plus', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('day', 'area_id', 'category_id', 'department_id', 'worker_id', name=op.f('pk_issue_daily_figures')),
    )
    # the backfill: the same recount `flask stats rebuild` makes
    from gridgov.issues.summary import rebuild

    rebuild(op.get_bind())


def downgrade():
    op.drop_table('issue_daily_figures')
