"""locate in PostGIS: areas.geom, computed by PostgreSQL from the GeoJSON, with a GiST index

Revision ID: 0035
Revises: 0025

Only on PostgreSQL where the postgis extension is available (and may be created); elsewhere this
revision does nothing and the in-process index keeps locating. A generated column rather than a
second table kept in sync: PostgreSQL recomputes it on every write of `areas.geometry` (the
services, a bulk COPY, a restore), so it can never fall behind, and it goes with the table when
the table goes. It is PostgreSQL-only, so it is not in the ORM metadata; `migrations/env.py` keeps
it (and PostGIS's `spatial_ref_sys`) out of `flask db check`. See `gridgov/areas/postgis.py`.
"""

from alembic import op

from gridgov.areas.postgis import install, uninstall

revision = "0035"
down_revision = "0025"
branch_labels = None
depends_on = None


def upgrade():
    install(op.get_bind())


def downgrade():
    uninstall(op.get_bind())
