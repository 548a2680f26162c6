"""What the database holds beyond the ORM metadata, for Alembic's `include_object`.

`migrations/env.py` and the migrations test compare the schema through this one filter, so that
`flask db check` offers to drop neither PostGIS's objects nor patrol_points' monthly partitions.
"""

from __future__ import annotations

from gridgov.areas import postgis
from gridgov.patrols import partitions


def in_metadata(obj, name, type_, reflected, compare_to) -> bool:
    return all(
        check(obj, name, type_, reflected, compare_to)
        for check in (postgis.in_metadata, partitions.in_metadata)
    )
