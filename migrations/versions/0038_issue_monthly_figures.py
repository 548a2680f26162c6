"""issue monthly figures: the daily summary rolled up by local month without the worker, and a
covering index of the closed issues by deadline for the figures' median

Revision ID: 0038
Revises: 0037
Create Date: 2026-12-03 09:40:00

The backfill sums the daily summary (which 0036 filled and the listener keeps) in SQL, so it does
not depend on how later code recounts the issues.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0038'
down_revision = '0037'
branch_labels = None
depends_on = None

COUNTERS = (
    'reported', 'due', 'deferred', 'closed', 'closed_on_time', 'rework_count', 'reworked', 'reworked_3_plus'
)
HANDLING = (
    'status', 'deadline', 'deadline_provisional', 'area_id', 'category_id', 'department_id', 'reporter_id',
    'assignee_id', 'received_at', 'closed_at',
)


def upgrade():
    op.create_table(
        'issue_monthly_figures',
        sa.Column('month', sa.Date(), nullable=False),
        sa.Column('area_id', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('category_id', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('department_id', sa.Integer(), autoincrement=False, nullable=False),
        *(sa.Column(name, sa.Integer(), nullable=False) for name in COUNTERS),
        sa.PrimaryKeyConstraint('month', 'area_id', 'category_id', 'department_id', name=op.f('pk_issue_monthly_figures')),
    )
    bind = op.get_bind()
    month = (
        "CAST(date_trunc('month', day) AS date)" if bind.dialect.name == 'postgresql' else "date(day, 'start of month')"
    )
    sums = ', '.join(f'sum({name})' for name in COUNTERS)
    if bind.dialect.name == 'postgresql':
        # No issue moves while the daily rows are read: a move then would be in them and not here.
        op.execute('LOCK TABLE issue_daily_figures IN SHARE MODE')
    op.execute(
        f"INSERT INTO issue_monthly_figures (month, area_id, category_id, department_id, {', '.join(COUNTERS)}) "
        f"SELECT {month}, area_id, category_id, department_id, {sums} FROM issue_daily_figures "
        f"GROUP BY {month}, area_id, category_id, department_id"
    )
    op.create_index('ix_issues_closed_handling', 'issues', list(HANDLING), unique=False)


def downgrade():
    op.drop_index('ix_issues_closed_handling', table_name='issues')
    op.drop_table('issue_monthly_figures')
