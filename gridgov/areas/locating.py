"""Locating a phone's point: the per-process spatial index, kept in step with the database."""

from __future__ import annotations

import functools
import threading
import uuid
from dataclasses import dataclass

from flask import current_app
from shapely.geometry import shape
from sqlalchemy import bindparam, func, select, update

from gridgov.areas.crs import to_wgs84
from gridgov.areas.models import Area, AreaIndexVersion
from gridgov.areas.postgis import PostgisIndex, has_geom_column
from gridgov.areas.scope import is_global
from gridgov.areas.spatial import IndexedArea, SpatialIndex
from gridgov.auth.models import User, UserArea, UserRole
from gridgov.errors import DomainError, Invalid, NotFound
from gridgov.extensions import db
from gridgov.i18n import Msg

SNAP_FLOOR_M = 50.0  # a phone's fix is trusted to no better than this at the zone's edge
_lock = threading.Lock()
_cache: dict[str, tuple[str, SpatialIndex]] = {}


def bump_index_version() -> None:
    """Mark every process's index stale; call in the transaction that changes areas."""
    stamp = uuid.uuid4().hex
    result = db.session.execute(update(AreaIndexVersion).where(AreaIndexVersion.id == 1).values(stamp=stamp))
    if result.rowcount == 0:
        db.session.add(AreaIndexVersion(id=1, stamp=stamp))


@functools.cache
def _version_query():
    """The stamp, read on every locate: a Core statement built once costs a third of the ORM one."""
    stamps = AreaIndexVersion.__table__
    return select(stamps.c.stamp).where(stamps.c.id == 1)


def _current_version() -> str:
    return db.session.scalar(_version_query()) or ""


def _build_index() -> SpatialIndex | PostgisIndex:
    """In process, unless the zone is larger than the configured limit and PostGIS can answer instead."""
    limit = current_app.config["LOCATE_IN_PROCESS_MAX_AREAS"]
    if has_geom_column() and db.session.scalar(select(func.count()).select_from(Area)) > limit:
        return PostgisIndex()
    rows = db.session.execute(
        select(Area.id, Area.code, Area.name, Area.level, Area.parent_id, Area.geometry).order_by(Area.id)
    ).all()
    return SpatialIndex(
        [
            (
                IndexedArea(r.id, r.code, r.name, r.level, r.parent_id),
                shape(r.geometry) if r.geometry else None,
            )
            for r in rows
        ]
    )


def spatial_index() -> SpatialIndex | PostgisIndex:
    """This process's index, rebuilt when another process (or this one) changed areas."""
    key = db.engine.url.render_as_string(hide_password=True)
    version = _current_version()
    cached = _cache.get(key)
    if cached and cached[0] == version:
        return cached[1]
    with _lock:
        cached = _cache.get(key)
        if cached and cached[0] == version:
            return cached[1]
        index = _build_index()
        _cache[key] = (version, index)
        return index


def _brief(area: IndexedArea) -> dict:
    return {
        "id": area.id,
        "code": area.code,
        "name": area.name,
        "level": area.level,
        "parent_id": area.parent_id,
    }


@functools.cache
def _workers_query():
    """Active grid workers assigned to any of `area_ids`: Core columns, built once (a locate's
    second statement; as an ORM select it cost four times as much CPU as the row it reads)."""
    users, links, roles = User.__table__, UserArea.__table__, UserRole.__table__
    return (
        select(users.c.id, users.c.username, users.c.display_name, users.c.phone)
        .join(links, links.c.user_id == users.c.id)
        .where(
            links.c.area_id.in_(bindparam("area_ids", expanding=True)),
            users.c.is_active.is_(True),
            users.c.id.in_(select(roles.c.user_id).where(roles.c.role == "grid_worker")),
        )
        .distinct()
        .order_by(users.c.id)
    )


def grid_workers(area_ids: list[int]) -> list:
    """Grid workers assigned to any of these areas (id, username, display_name, phone rows)."""
    if not area_ids:
        return []
    return list(db.session.execute(_workers_query(), {"area_ids": area_ids}))


def _outside_every_area(index: SpatialIndex, lon: float, lat: float, error=NotFound) -> DomainError:
    """The error for a point inside no area: it names the nearest micro-grid and its distance."""
    nearest = index.nearest(lon, lat)
    if not nearest:
        return error(
            Msg(
                "该位置不在任何网格内，且尚无微网格。",
                "The point is inside no area and there are no micro-grids.",
            )
        )
    area, distance = nearest
    return error(
        Msg(
            f"该位置不在任何网格内；最近的微网格是 {area.name}（{area.code}），约 {distance:,.0f} 米。",
            f"The point is inside no area; the nearest micro-grid is {area.name} "
            f"({area.code}), {distance:,.0f} m away.",
        ),
        nearest_micro_grid=_brief(area),
        distance_m=round(distance, 1),
    )


def locate(user: User, lon: float, lat: float, crs: str = "wgs84") -> dict:
    """The deepest area containing the point, its path and workers; 404 naming the nearest micro-grid.

    Boundaries are map data every signed-in user may resolve; the workers are listed only when
    the area is in the user's scope.
    """
    wgs_lon, wgs_lat = to_wgs84(lon, lat, crs)
    index = spatial_index()
    area = index.locate(wgs_lon, wgs_lat)
    if area is None:
        raise _outside_every_area(index, wgs_lon, wgs_lat)
    path = index.path(area)
    # In scope when one of the user's own areas lies on the path from the top down to this one.
    in_scope = is_global(user) or bool(set(user.area_ids) & {a.id for a in path})
    workers = grid_workers([a.id for a in path if a.level in ("grid", "micro_grid")]) if in_scope else []
    return {
        "area": _brief(area),
        "path": [_brief(a) for a in path],
        "workers": workers,
        "point": {"type": "Point", "coordinates": [round(wgs_lon, 7), round(wgs_lat, 7)]},
    }


@dataclass(frozen=True)
class Placement:
    """Where a report belongs: the area, and how it was found (`inside`, or `nearest` at a distance)."""

    area: IndexedArea
    located_by: str
    distance_m: float | None = None


def place_report(lon: float, lat: float, accuracy_m: float | None, snap_limit_m: float) -> Placement:
    """The micro-grid a report at this WGS-84 point belongs to.

    Inside a micro-grid: that one. Otherwise a fix whose accuracy circle — at least
    SNAP_FLOOR_M, at most `snap_limit_m` — reaches a micro-grid belongs to the nearest one (a border
    road, a fix drifting at the zone's edge). Otherwise the deepest area containing the point; a
    point inside no area at all is refused (422) naming the nearest micro-grid and its distance.
    """
    index = spatial_index()
    area = index.locate(lon, lat)
    if area is not None and area.level == "micro_grid":
        return Placement(area, "inside")
    nearest = index.nearest(lon, lat)
    reach = min(max(accuracy_m or 0.0, SNAP_FLOOR_M), snap_limit_m)
    if nearest is not None and nearest[1] <= reach:
        return Placement(nearest[0], "nearest", round(nearest[1], 1))
    if area is not None:
        return Placement(area, "inside")
    raise _outside_every_area(index, lon, lat, error=Invalid)
