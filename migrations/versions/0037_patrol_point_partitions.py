"""patrol points partitioned by month: on PostgreSQL `patrol_points` becomes `PARTITION BY RANGE (t)`
with one partition per UTC month and a DEFAULT partition, its key (id, t) and its id 64-bit; the
rows move in one transaction under an exclusive lock (the phones resend what a paused ingest
refused: their batches are idempotent by seq). SQLite keeps its plain table: nothing to do.

Revision ID: 0037
Revises: 0036
Create Date: 2026-12-03 09:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0037'
down_revision = '0036'
branch_labels = None
depends_on = None

OLD = 'patrol_points_unpartitioned'
COLUMNS = 'id, patrol_id, t, lon, lat, accuracy'


def _set_aside(name):
    """Rename the table and what is named after it, so the new table takes the names."""
    op.execute(f'LOCK TABLE patrol_points IN ACCESS EXCLUSIVE MODE')
    op.execute(f'ALTER TABLE patrol_points RENAME TO {name}')
    op.execute(f'ALTER INDEX pk_patrol_points RENAME TO pk_{name}')
    op.execute(f'ALTER INDEX ix_patrol_points_patrol_t RENAME TO ix_{name}_patrol_t')
    op.execute(f'ALTER TABLE {name} RENAME CONSTRAINT fk_patrol_points_patrol_id_patrols TO fk_{name}_patrol_id')


def _create(id_type, **table_kw):
    op.create_table(
        'patrol_points',
        sa.Column('id', id_type, server_default=sa.text("nextval('patrol_points_id_seq')"), nullable=False),
        sa.Column('patrol_id', sa.Integer(), nullable=False),
        sa.Column('t', sa.DateTime(), nullable=False),
        sa.Column('lon', sa.Float(), nullable=False),
        sa.Column('lat', sa.Float(), nullable=False),
        sa.Column('accuracy', sa.Float(), nullable=True),
        **table_kw,
    )


def _finish(key, id_type, old):
    """Keys, index and foreign key after the rows are in: one build each, not one per row."""
    op.execute(f'INSERT INTO patrol_points ({COLUMNS}) SELECT {COLUMNS} FROM {old}')
    op.execute(f'ALTER SEQUENCE patrol_points_id_seq AS {id_type} OWNED BY patrol_points.id')
    op.drop_table(old)
    op.create_primary_key('pk_patrol_points', 'patrol_points', key)
    op.create_index('ix_patrol_points_patrol_t', 'patrol_points', ['patrol_id', 't'])
    op.create_foreign_key(
        'fk_patrol_points_patrol_id_patrols', 'patrol_points', 'patrols', ['patrol_id'], ['id'], ondelete='CASCADE'
    )


def upgrade():
    bind = op.get_bind()
    if bind.dialect.name != 'postgresql':
        return
    from gridgov.patrols import partitions
    from gridgov.timeutil import utcnow

    _set_aside(OLD)
    _create(sa.BigInteger(), postgresql_partition_by='RANGE (t)')
    partitions.create_default(bind)
    # A month of the last two years that holds rows gets its partition; older stray points (a
    # phone's clock years behind) stay in DEFAULT, still read and purged by the usual DELETE.
    months = bind.scalars(
        sa.text(
            f"SELECT DISTINCT date_trunc('month', t) FROM {OLD} "
            "WHERE t >= date_trunc('month', now() AT TIME ZONE 'UTC') - interval '2 years'"
        )
    )
    for month in sorted(months):
        partitions.create_month(bind, month)
    partitions.ensure_partitions(bind, utcnow())
    op.execute('SET LOCAL lock_timeout = DEFAULT')  # the partitions' timeout ends with them
    _finish(['id', 't'], 'bigint', OLD)


def downgrade():
    if op.get_bind().dialect.name != 'postgresql':
        return
    _set_aside('patrol_points_partitioned')
    _create(sa.Integer())
    _finish(['id'], 'integer', 'patrol_points_partitioned')
