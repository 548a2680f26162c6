"""Scope: a user sees his areas and everything below them. Filters are SQL, never post-filters."""

from __future__ import annotations

import functools

from sqlalchemy import ColumnElement, Select, bindparam, false, inspect, or_, select, true

from gridgov.areas.models import Area
from gridgov.auth.models import User, UserArea
from gridgov.extensions import db
from gridgov.http import request_cached


def is_global(user: User) -> bool:
    """Admins see every area."""
    return user.has_role("admin")


def scope_paths(user: User) -> list[str]:
    """The materialised paths of the user's own areas (asked once per request; the signed-in
    user's came with him, `UserArea.area_path`)."""
    return [path for _, path in own_areas(user)]


def own_areas(user: User) -> tuple[tuple[int, str], ...]:
    """The user's own areas as (id, path), once per request."""
    return request_cached(("own_areas", user.id), lambda: _own_areas(user))


def _own_areas(user: User) -> tuple[tuple[int, str], ...]:
    if "area_rows" not in inspect(user).unloaded:
        return tuple((row.area_id, row.area_path) for row in user.area_rows)
    return tuple(
        db.session.execute(
            select(Area.id, Area.path).join(UserArea, UserArea.area_id == Area.id).where(UserArea.user_id == user.id)
        ).tuples()
    )


def area_in_scope(user: User, area=Area) -> ColumnElement[bool]:
    """A WHERE clause on `area` (the Area entity or an alias) limiting it to the user's scope."""
    if is_global(user):
        return true()
    paths = scope_paths(user)
    if not paths:
        return false()
    return or_(*(area.path.startswith(path, autoescape=True) for path in paths))


def area_id_in_scope(user: User, column) -> ColumnElement[bool]:
    """A WHERE clause limiting a foreign-key column (`Issue.area_id`, ...) to areas in scope."""
    if is_global(user):
        return true()
    return column.in_(select(Area.id).where(area_in_scope(user)))


def scoped_area_ids(user: User) -> list[int]:
    """Ids of every area in the user's scope (for `/me` and small lookups), in id order: a Core
    statement built once per number of own areas, so a request neither builds nor re-keys it."""
    if is_global(user):
        return list(db.session.connection().execute(_ids_under(0)).scalars())
    paths = scope_paths(user)
    if not paths:
        return []
    params = {f"p{i}": _like_prefix(path) for i, path in enumerate(paths)}
    return list(db.session.connection().execute(_ids_under(len(paths)), params).scalars())


def _like_prefix(path: str) -> str:
    return path.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


@functools.cache
def _ids_under(count: int) -> Select:
    """SELECT id FROM areas [WHERE path LIKE :p0 OR … :p{count-1}] ORDER BY id (all when count is 0)."""
    areas = Area.__table__
    statement = select(areas.c.id).order_by(areas.c.id)
    if count:
        statement = statement.where(
            or_(*(areas.c.path.like(bindparam(f"p{i}"), escape="\\") for i in range(count)))
        )
    return statement
