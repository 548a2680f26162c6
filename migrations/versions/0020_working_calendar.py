"""working calendar: who entered each year; the State Council schedules known to chinese_calendar

Revision ID: 0020
Revises: 0017
Create Date: 2026-12-02 02:20:00

A production database is made by `db upgrade` alone, never by `seed demo`, so the published
schedules (holidays and 调休 working weekends, 2004 to the last year chinese_calendar knows) are
loaded here; years already loaded (by an earlier seed) are left as they are.
"""
from alembic import op
import sqlalchemy as sa

import gridgov.dbtypes  # noqa: F401 - custom column types


# revision identifiers, used by Alembic.
revision = '0020'
down_revision = "0024"
branch_labels = None
depends_on = None

LIBRARY = 'chinese_calendar'


def _name(value) -> str:
    return str(value.value if hasattr(value, 'value') else value)


def upgrade():
    with op.batch_alter_table('calendar_years', schema=None) as batch_op:
        batch_op.add_column(sa.Column('updated_at', gridgov.dbtypes.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('updated_by_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_calendar_years_updated_by_id_users'), 'users', ['updated_by_id'], ['id'])

    from chinese_calendar.constants import holidays, workdays

    years_table = sa.table('calendar_years', sa.column('year', sa.Integer), sa.column('source', sa.String))
    days_table = sa.table(
        'calendar_days', sa.column('day', sa.Date), sa.column('kind', sa.String), sa.column('name', sa.String)
    )
    bind = op.get_bind()
    loaded = set(bind.execute(sa.select(years_table.c.year)).scalars())
    taken = set(bind.execute(sa.select(days_table.c.day)).scalars())
    years = sorted({day.year for day in holidays} - loaded)
    rows = [
        {'day': day, 'kind': kind, 'name': _name(name)}
        for kind, table in (('holiday', holidays), ('workday', workdays))
        for day, name in sorted(table.items())
        if day.year in years and day not in taken
    ]
    if rows:
        op.bulk_insert(days_table, rows)
    if years:
        op.bulk_insert(years_table, [{'year': year, 'source': LIBRARY} for year in years])


def downgrade():
    # The loaded days stay: they are the published schedules, and admins may have corrected them.
    with op.batch_alter_table('calendar_years', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_calendar_years_updated_by_id_users'), type_='foreignkey')
        batch_op.drop_column('updated_by_id')
        batch_op.drop_column('updated_at')
