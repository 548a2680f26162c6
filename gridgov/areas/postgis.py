"""Locating in PostgreSQL with PostGIS, for zones too large to hold in every worker's memory.

The geometry lives in `areas.geom`, a column PostgreSQL itself computes from the GeoJSON the app
stores (`GENERATED ALWAYS AS … STORED`) with a GiST index: every writer — the services, a bulk
COPY, a restore — keeps it in step with `areas.geometry` without a trigger or a second write
path. It exists only where the `postgis` extension could be created, so it is kept out of the
ORM metadata (`migrations/env.py` leaves it, its index and PostGIS's own table out of
`flask db check`); SQLite and PostgreSQL without PostGIS keep the in-process index.

`PostgisIndex` answers the same three questions as `spatial.SpatialIndex` with the same rules: the
border rule (interior first, then the smallest code), the ancestors by parent, and the nearest
micro-grid measured with the same geodesic `distance_m` over the same candidates (ties by id).
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping

from shapely.geometry import shape
from sqlalchemy import Float, String, bindparam, func, literal_column, select, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.engine import Connection

from gridgov.areas.geometry import degrees_for_metres, distance_m
from gridgov.areas.models import Area
from gridgov.areas.spatial import LEVELS_DEEPEST_FIRST, IndexedArea
from gridgov.extensions import db

COLUMN_DDL = (
    "ALTER TABLE areas ADD COLUMN IF NOT EXISTS geom geometry(Geometry, 4326) GENERATED ALWAYS AS "
    "(ST_SetSRID(ST_GeomFromGeoJSON(geometry::text), 4326)) STORED"
)
INDEX_DDL = "CREATE INDEX IF NOT EXISTS ix_areas_geom ON areas USING gist (geom)"
# What PostGIS adds that the ORM does not describe: `flask db check` must not offer to drop it.
NOT_IN_METADATA = {("column", "geom"), ("index", "ix_areas_geom"), ("table", "spatial_ref_sys")}


def in_metadata(obj, name, type_, reflected, compare_to) -> bool:
    """Alembic's include_object: leave out what exists only where PostGIS does (it has no ORM model)."""
    return not (reflected and compare_to is None and (type_, name) in NOT_IN_METADATA)

_geom = literal_column("areas.geom")
_FIELDS = (Area.id, Area.code, Area.name, Area.level, Area.parent_id)


def _point(lon: float, lat: float):
    return func.ST_SetSRID(func.ST_MakePoint(lon, lat), 4326)


def install(connection: Connection) -> bool:
    """Create the extension (if it may), the generated column and its GiST index; False without PostGIS."""
    if connection.dialect.name != "postgresql":
        return False
    if connection.scalar(text("SELECT 1 FROM pg_available_extensions WHERE name = 'postgis'")) is None:
        return False
    with connection.begin_nested() as savepoint:  # no right to create it: carry on without
        try:
            connection.execute(text("CREATE EXTENSION IF NOT EXISTS postgis"))
        except Exception:  # noqa: BLE001 — any refusal means "no PostGIS here"
            savepoint.rollback()
            return False
    connection.execute(text(COLUMN_DDL))
    connection.execute(text(INDEX_DDL))
    return True


def uninstall(connection: Connection) -> None:
    """Drop the column and its index (the extension stays: other databases' objects may use it)."""
    if connection.dialect.name == "postgresql":
        connection.execute(text("ALTER TABLE areas DROP COLUMN IF EXISTS geom"))


def has_geom_column() -> bool:
    """Whether this database locates with PostGIS at all."""
    if db.engine.dialect.name != "postgresql":
        return False
    found = db.session.scalar(
        text(
            "SELECT 1 FROM information_schema.columns WHERE table_schema = current_schema()"
            " AND table_name = 'areas' AND column_name = 'geom'"
        )
    )
    return found is not None


def _area(row) -> IndexedArea:
    return IndexedArea(row.id, row.code, row.name, row.level, row.parent_id)


class _AreasById(Mapping):
    """`index.by_id[area_id]` for callers written against the in-process index."""

    def __getitem__(self, area_id: int) -> IndexedArea:
        row = db.session.execute(select(*_FIELDS).where(Area.id == area_id)).one_or_none()
        if row is None:
            raise KeyError(area_id)
        return _area(row)

    def __iter__(self) -> Iterator[int]:
        return iter(db.session.scalars(select(Area.id).order_by(Area.id)))

    def __len__(self) -> int:
        return db.session.scalar(select(func.count()).select_from(Area)) or 0


# The border rule of `spatial.SpatialIndex.locate` in SQL: the deepest level hit; of several areas
# there, those whose interior holds the point, then the smallest code (by code point, as Python
# compares strings: "C" is byte order, which is code-point order in a UTF-8 database, and codes
# are ASCII digits anyway). Then that area and its ancestors, by the ids its path lists.
_LOCATE = text(
    """
    WITH hit AS (
        SELECT id, path FROM areas
        WHERE ST_Intersects(geom, ST_SetSRID(ST_MakePoint(:lon, :lat), 4326)) AND level = ANY(:levels)
        ORDER BY array_position(:levels, level::text),
                 ST_ContainsProperly(geom, ST_SetSRID(ST_MakePoint(:lon, :lat), 4326)) DESC,
                 code COLLATE "C"
        LIMIT 1
    )
    SELECT a.id, a.code, a.name, a.level, a.parent_id, a.id = hit.id AS is_hit
    FROM hit JOIN areas AS a
      ON a.id = hit.id OR a.id = ANY(string_to_array(btrim(hit.path, '/'), '/')::integer[])
    ORDER BY length(a.path)
    """
).bindparams(bindparam("lon", type_=Float), bindparam("lat", type_=Float), bindparam("levels", type_=ARRAY(String)))
_PATH = text(
    """
    SELECT a.id, a.code, a.name, a.level, a.parent_id
    FROM areas AS own JOIN areas AS a ON a.id = ANY(string_to_array(btrim(own.path, '/'), '/')::integer[])
    WHERE own.id = :area_id
    ORDER BY length(a.path)
    """
)
PATHS_KEPT = 10_000  # paths of recent locates, per index (a new index comes with every area change)


class PostgisIndex:
    """The spatial index's questions, answered by PostgreSQL's GiST index on `areas.geom`."""

    def __init__(self):
        self.by_id = _AreasById()
        self._paths: dict[int, list[IndexedArea]] = {}

    def __len__(self) -> int:
        return len(self.by_id)

    def locate(self, lon: float, lat: float) -> IndexedArea | None:
        """The deepest area covering the point, by the border rule of `spatial`; None when outside all.

        One statement answers with the area's whole path (kept for `path`): the GiST lookup
        itself costs a tenth of a millisecond, so a locate's cost is its statements' round trips.
        """
        rows = db.session.execute(_LOCATE, {"lon": lon, "lat": lat, "levels": list(LEVELS_DEEPEST_FIRST)}).all()
        hit = next((_area(r) for r in rows if r.is_hit), None)
        if hit is None:
            return None
        # The area is named by its own row, not by its place in the path: a stale `path` (an import
        # that moved a parent) must not turn the answer into another area.
        path = [_area(r) for r in rows if not r.is_hit] + [hit]
        if len(self._paths) >= PATHS_KEPT:
            self._paths.clear()
        self._paths[hit.id] = path
        return hit

    def path(self, area: IndexedArea) -> list[IndexedArea]:
        """The area's ancestors and itself, from the top level down: the path `locate` just read, or
        the ids its `path` lists, by primary key in one statement (a recursive walk up `parent_id`
        plans a scan of every area)."""
        known = self._paths.get(area.id)
        if known is not None:
            return list(known)
        rows = db.session.execute(_PATH, {"area_id": area.id}).all()
        return [_area(r) for r in rows] or [area]

    def nearest(self, lon: float, lat: float, level: str = "micro_grid") -> tuple[IndexedArea, float] | None:
        """The nearest area of a level and its geodesic distance in metres (as `SpatialIndex.nearest`)."""
        point = _point(lon, lat)
        of_level = select(*_FIELDS, Area.geometry).where(
            Area.level == level, _geom.is_not(None), ~func.ST_IsEmpty(_geom)
        )
        # Planar nearest (the GiST index's KNN order) is the first guess, as in the in-process tree.
        first = db.session.execute(of_level.order_by(_geom.op("<->")(point), Area.id).limit(1)).one_or_none()
        if first is None:
            return None
        guess_m = distance_m(lon, lat, shape(first.geometry))
        reach = degrees_for_metres(guess_m * 1.01 + 1.0, lat)
        if not math.isfinite(reach):
            return None
        candidates = db.session.execute(
            of_level.where(_geom.op("&&")(func.ST_Expand(point, reach))).order_by(Area.id)
        ).all()
        best = min(
            ((distance_m(lon, lat, shape(r.geometry)), r.id, r) for r in candidates),
            default=(guess_m, first.id, first),
            key=lambda t: (t[0], t[1]),
        )
        return _area(best[2]), best[0]
