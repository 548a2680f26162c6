"""issue daily figures and counts: the summary the figures read, per local day, area, category,
department and worker; the per-area counts by status and category the issue lists' totals read

Revision ID: 0036
Revises: 0025
Create Date: 2026-12-02 06:10:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0036'
down_revision = '0035'
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
    op.create_table(
        'issue_counts',
        sa.Column('area_id', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('category_id', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('n', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('area_id', 'status', 'category_id', name=op.f('pk_issue_counts')),
    )
    # the backfill: the same recounts `flask stats rebuild` makes
    from gridgov.issues import counts, summary

    summary.rebuild_daily(op.get_bind())  # not rebuild(): the monthly roll-up's table is 0038's
    counts.rebuild(op.get_bind())


def downgrade():
    op.drop_table('issue_counts')
    op.drop_table('issue_daily_figures')
