"""figures by area: indexes (area_id, month) and (area_id, day), covering the row on PostgreSQL, so
a town's months and days read its micro-grids' rows and not the whole province's

Revision ID: 0040
Revises: 0039
Create Date: 2026-12-03 13:55:00

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '0040'
down_revision = '0039'
branch_labels = None
depends_on = None

COUNTERS = (
    'reported', 'due', 'deferred', 'closed', 'closed_on_time', 'rework_count', 'reworked', 'reworked_3_plus'
)


def upgrade():
    op.create_index(
        'ix_issue_daily_figures_area_day',
        'issue_daily_figures',
        ['area_id', 'day'],
        unique=False,
        postgresql_include=['category_id', 'department_id', 'worker_id', *COUNTERS],
    )
    op.create_index(
        'ix_issue_monthly_figures_area_month',
        'issue_monthly_figures',
        ['area_id', 'month'],
        unique=False,
        postgresql_include=['category_id', 'department_id', *COUNTERS],
    )


def downgrade():
    op.drop_index('ix_issue_daily_figures_area_day', table_name='issue_daily_figures')
    op.drop_index('ix_issue_monthly_figures_area_month', table_name='issue_monthly_figures')
