"""Reading and changing areas within the acting user's scope."""

from __future__ import annotations

import geojson
from shapely.geometry import mapping, shape
from sqlalchemy import select, text
from sqlalchemy.orm import aliased

from gridgov.areas.geometry import rfc7946_oriented
from gridgov.areas.locating import bump_index_version
from gridgov.areas.models import LEVELS, Area
from gridgov.areas.scope import area_in_scope, is_global
from gridgov.auth.models import User, UserArea, UserRole
from gridgov.errors import Conflict, Forbidden, Invalid, NotFound
from gridgov.extensions import db
from gridgov.i18n import Msg


def areas_query(user: User, level: str | None = None, parent_id: int | None = None):
    """A select of the areas in the user's scope, by level and parent."""
    query = select(Area).where(area_in_scope(user)).order_by(Area.path)
    if level:
        query = query.where(Area.level == level)
    if parent_id is not None:
        query = query.where(Area.parent_id == parent_id)
    return query


def get_area(user: User, area_id: int) -> Area:
    """One area in scope; 404 when it is missing or outside the user's scope."""
    area = db.session.scalar(select(Area).where(Area.id == area_id, area_in_scope(user)))
    if area is None:
        raise NotFound()
    return area


def export_geojson(
    user: User, level: str | None = None, parent_id: int | None = None
) -> geojson.FeatureCollection:
    """The areas in scope as a FeatureCollection (a map needs the whole set, so it is not paged)."""
    parent = aliased(Area)
    rows = db.session.execute(
        areas_query(user, level, parent_id)
        .outerjoin(parent, parent.id == Area.parent_id)
        .add_columns(parent.code)
    ).all()
    return geojson.FeatureCollection(
        [
            geojson.Feature(
                id=area.id,
                geometry=rfc7946_oriented(area.geometry),
                properties={
                    "id": area.id,
                    "code": area.code,
                    "name": area.name,
                    "level": area.level,
                    "parent_code": parent_code,
                },
            )
            for area, parent_code in rows
        ]
    )


def can_write(user: User, area: Area | None) -> bool:
    """Admins write anywhere; staff write strictly below the areas assigned to them."""
    if is_global(user):
        return True
    if area is None or not user.has_role("staff"):
        return False
    own = db.session.scalars(
        select(Area.path).join(UserArea, UserArea.area_id == Area.id).where(UserArea.user_id == user.id)
    )
    return any(area.path.startswith(path) for path in own)


def _set_bbox(area: Area) -> None:
    if area.geometry:
        area.min_lon, area.min_lat, area.max_lon, area.max_lat = shape(area.geometry).bounds
    else:
        area.min_lon = area.min_lat = area.max_lon = area.max_lat = None


def upsert_features(features: list[dict]) -> list[Area]:
    """Create or update areas by code from already-validated features, parents first (no commit).

    Each feature's properties carry `code`, `name`, `level` and `parent_code`; parents may come
    in any order in the list or already exist in the database.
    """
    by_code = {f["properties"]["code"]: f for f in features}
    existing = {a.code: a for a in db.session.scalars(select(Area).where(Area.code.in_(list(by_code))))}
    done: dict[str, Area] = {}

    def resolve(code: str) -> Area:
        if code in done:
            return done[code]
        props = by_code[code]["properties"]
        parent_code = props.get("parent_code")
        parent = None
        if parent_code:
            if parent_code in by_code:
                parent = resolve(parent_code)
            else:
                parent = db.session.scalar(select(Area).where(Area.code == parent_code))
        area = existing.get(code) or Area(code=code)
        area.name = props["name"]
        area.level = props["level"]
        area.parent_id = parent.id if parent else None
        area.geometry = rfc7946_oriented(by_code[code].get("geometry"))
        _set_bbox(area)
        if area.id is None:
            db.session.add(area)
            db.session.flush()
        area.path = (parent.path if parent else "/") + f"{area.id}/"
        done[code] = area
        return area

    for code in by_code:
        resolve(code)
    bump_index_version()
    db.session.flush()
    return [done[code] for code in by_code]


def refresh_statistics() -> None:
    """Give PostgreSQL's planner the areas' statistics after a bulk import (not after each edit:
    it samples up to 30,000 rows). A zone's few dozen areas stay below autovacuum's threshold (50
    rows) for ever, and without statistics every scope filter on areas was planned for one row:
    the figures at a million issues ran ten times slower. In the caller's transaction."""
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(text("ANALYZE areas"))


def create_area(user: User, data: dict) -> Area:
    """Create one area under a parent the user may write (commits)."""
    from gridgov.areas.importing import validate_features

    parent = db.session.get(Area, data["parent_id"]) if data.get("parent_id") else None
    if data.get("parent_id") and parent is None:
        raise Invalid(
            Msg("上级区域不存在。", "The parent area does not exist."),
            errors={"json": {"parent_id": ["unknown area"]}},
        )
    if not can_write(user, parent):
        raise Forbidden() if parent is None else NotFound()
    feature = {
        "type": "Feature",
        "geometry": data["geometry"],
        "properties": {
            "code": data["code"],
            "name": data["name"],
            "level": data["level"],
            "parent_code": parent.code if parent else None,
        },
    }
    if db.session.scalar(select(Area.id).where(Area.code == data["code"])) is not None:
        raise Conflict(
            Msg(f"区域编码 {data['code']} 已存在。", f"The area code {data['code']} exists already.")
        )
    validate_features(user, [feature])
    area = upsert_features([feature])[0]
    db.session.commit()
    return area


def update_area(user: User, area_id: int, changes: dict) -> Area:
    """Rename an area or replace its boundary, re-checking the hierarchy (commits)."""
    from gridgov.areas.importing import validate_features

    area = get_area(user, area_id)
    parent = db.session.get(Area, area.parent_id) if area.parent_id else None
    # Staff write strictly below their own areas: editing an area is writing under its parent.
    if not can_write(user, parent) and not is_global(user):
        raise Forbidden()
    feature = {
        "type": "Feature",
        "geometry": changes.get("geometry", area.geometry),
        "properties": {
            "code": area.code,
            "name": changes.get("name", area.name),
            "level": area.level,
            "parent_code": parent.code if parent else None,
        },
    }
    validate_features(user, [feature])
    upsert_features([feature])
    db.session.commit()
    return area


def delete_area(user: User, area_id: int) -> None:
    """Delete an area that has no children (commits)."""
    area = get_area(user, area_id)
    if not can_write(user, area) or area.parent_id is None and not is_global(user):
        raise Forbidden()
    if db.session.scalar(select(Area.id).where(Area.parent_id == area.id).limit(1)) is not None:
        raise Conflict(
            Msg("该区域还有下级区域，不能删除。", "The area still has child areas; delete them first.")
        )
    db.session.delete(area)
    bump_index_version()
    db.session.commit()


def list_workers(user: User, area_id: int) -> list[User]:
    from gridgov.areas.locating import grid_workers

    return grid_workers([get_area(user, area_id).id])


def assign_workers(user: User, area_id: int, user_ids: list[int]) -> list[User]:
    """Make exactly these grid workers responsible for a grid or micro-grid (commits)."""
    area = get_area(user, area_id)
    if not can_write(user, area):
        raise Forbidden()
    if area.level not in ("grid", "micro_grid"):
        raise Invalid(
            Msg("只能给网格或微网格指派网格员。", "Grid workers are assigned to grids and micro-grids only."),
            errors={"path": {"area_id": ["not a grid or micro-grid"]}},
        )
    workers = (
        list(
            db.session.scalars(
                select(User).join(UserRole).where(User.id.in_(user_ids), UserRole.role == "grid_worker")
            )
        )
        if user_ids
        else []
    )
    missing = sorted(set(user_ids) - {w.id for w in workers})
    if missing:
        raise Invalid(
            Msg(f"这些用户不是网格员：{missing}。", f"These users are not grid workers: {missing}."),
            errors={"json": {"user_ids": [f"not grid workers: {missing}"]}},
        )
    current = db.session.scalars(
        select(UserArea)
        .join(UserRole, UserRole.user_id == UserArea.user_id)
        .where(UserArea.area_id == area.id, UserRole.role == "grid_worker")
    ).all()
    wanted = set(user_ids)
    for row in current:
        if row.user_id not in wanted:
            db.session.delete(row)
    have = {row.user_id for row in current}
    for worker_id in sorted(wanted - have):
        db.session.add(UserArea(user_id=worker_id, area_id=area.id))
    db.session.commit()
    return list_workers(user, area_id)


def level_below(level: str) -> str | None:
    index = LEVELS.index(level)
    return LEVELS[index + 1] if index + 1 < len(LEVELS) else None


def geometry_of(area: Area):
    return shape(area.geometry) if area.geometry else None


def as_geojson(geom) -> dict:
    return dict(mapping(geom))
