"""Reading and changing areas within the acting user's scope."""

from __future__ import annotations

from sqlalchemy import select

from gridgov.areas.models import Area
from gridgov.areas.scope import area_in_scope
from gridgov.auth.models import User
from gridgov.errors import NotFound
from gridgov.extensions import db


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


def _set_bbox(area: Area) -> None:
    coords = []

    def walk(node):
        if node and isinstance(node[0], int | float):
            coords.append(node)
        else:
            for child in node:
                walk(child)

    if area.geometry:
        walk(area.geometry["coordinates"])
    if coords:
        lons = [c[0] for c in coords]
        lats = [c[1] for c in coords]
        area.min_lon, area.max_lon, area.min_lat, area.max_lat = min(lons), max(lons), min(lats), max(lats)


def upsert_features(features: list[dict]) -> list[Area]:
    """Create or update areas by code from GeoJSON features, parents first (does not commit).

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
            parent = (
                resolve(parent_code)
                if parent_code in by_code
                else db.session.scalar(select(Area).where(Area.code == parent_code))
            )
        area = existing.get(code) or Area(code=code)
        area.name = props["name"]
        area.level = props["level"]
        area.parent_id = parent.id if parent else None
        area.geometry = by_code[code].get("geometry")
        _set_bbox(area)
        if area.id is None:
            db.session.add(area)
            db.session.flush()
        area.path = (parent.path if parent else "/") + f"{area.id}/"
        done[code] = area
        return area

    for code in by_code:
        resolve(code)
    db.session.flush()
    return [done[code] for code in by_code]
