"""Ids a client sends in a body, a query or a form resolve through the caller's scope: one rule.

A schema field that names another object is `Ref(kind)` (or `Refs(kind)` for a list). Loading it
asks the database, in one query, which of the ids are in the caller's scope for that kind; any
other id is refused with 422 on that field, and an id out of scope reads exactly like an id that
does not exist, so ids cannot be probed. A request without a signed-in user has no scope, so
every id is refused. Services keep their own finer rules (a grid worker, an upload not yet
attached) after this.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from flask import g, has_app_context
from marshmallow import ValidationError, fields
from sqlalchemy import or_, select

from gridgov.extensions import db

OUT_OF_SCOPE = "Unknown, or not in your scope."
MAX_ID = 2**31 - 1  # id columns are 32-bit; a larger number names nothing
MAX_IDS = 1000  # one query's worth of bound parameters


def _areas(user):
    from gridgov.areas.models import Area
    from gridgov.areas.scope import area_in_scope

    return select(Area.id).where(area_in_scope(user))


def _users(user):
    """People placed in the caller's areas (admins: everyone)."""
    from gridgov.areas.models import Area
    from gridgov.areas.scope import area_in_scope, is_global
    from gridgov.auth.models import User, UserArea

    if is_global(user):
        return select(User.id)
    return select(UserArea.user_id).join(Area, Area.id == UserArea.area_id).where(area_in_scope(user))


def _departments(user):
    """Departments serving the caller's areas: zone-wide ones, those of an area above, or within."""
    from gridgov.areas.models import Area
    from gridgov.areas.scope import area_in_scope, is_global, scope_paths
    from gridgov.issues.models import Department

    query = select(Department.id)
    if is_global(user):
        return query
    above = {int(part) for path in scope_paths(user) for part in path.strip("/").split("/") if part}
    return query.where(
        or_(
            Department.area_id.is_(None),
            Department.area_id.in_(above),
            Department.area_id.in_(select(Area.id).where(area_in_scope(user))),
        )
    )


def _teams(user):
    from gridgov.areas.models import Area
    from gridgov.areas.scope import area_in_scope
    from gridgov.markets.models import PatrolTeam

    return select(PatrolTeam.id).join(Area, Area.id == PatrolTeam.area_id).where(area_in_scope(user))


def _markets(user):
    from gridgov.areas.models import Area
    from gridgov.areas.scope import area_in_scope
    from gridgov.markets.models import Market

    return select(Market.id).join(Area, Area.id == Market.area_id).where(area_in_scope(user))


def _uploads(user):
    """A client attaches only his own uploads."""
    from gridgov.issues.models import Upload

    return select(Upload.id).where(Upload.owner_id == user.id)


def _patrols(user):
    from gridgov.patrols.models import Patrol
    from gridgov.patrols.services import visible

    return select(Patrol.id).where(visible(user))


def _issues(user):
    from gridgov.issues.models import Issue
    from gridgov.issues.queries import visible

    return select(Issue.id).where(visible(user))


def _wage_parties(user):
    from gridgov.areas.scope import area_id_in_scope
    from gridgov.wages.models import WageCase, WageParty

    cases = select(WageCase.id).where(area_id_in_scope(user, WageCase.area_id))
    return select(WageParty.id).where(WageParty.case_id.in_(cases))


KINDS: dict[str, Callable] = {
    "area": _areas,
    "user": _users,
    "department": _departments,
    "team": _teams,
    "market": _markets,
    "upload": _uploads,
    "patrol": _patrols,
    "issue": _issues,
    "wage_party": _wage_parties,
}


def in_scope(kind: str, user):
    """A select of the ids of every object of this kind in the user's scope (for IN clauses)."""
    return KINDS[kind](user)


def out_of_scope(kind: str, ids: Iterable[int], user=None) -> list[int]:
    """The ids (sorted) that name no object of this kind in the user's scope."""
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return []
    if user is None:
        user = g.get("current_user") if has_app_context() else None
    possible = {i for i in wanted if 0 < i <= MAX_ID}
    found = set()
    if user is not None and possible:
        query = in_scope(kind, user)
        found = set(db.session.scalars(query.where(query.selected_columns[0].in_(possible))))
    return sorted(wanted - found)


def _description(kind: str, metadata: dict | None, many: bool) -> dict:
    metadata = dict(metadata or {})
    noun = kind.replace("_", " ")
    what = (
        f"ids of {noun}s in your scope"
        if many
        else f"the id of {'an' if noun[0] in 'aeiou' else 'a'} {noun} in your scope"
    )
    what += "; 422 on this field when unknown or out of scope"
    metadata["description"] = f"{metadata['description']} ({what})" if "description" in metadata else what
    metadata["x-refers-to"] = kind
    return metadata


# Ids are 1 .. MAX_ID: the spec says so, so a generated client refuses 0 before it calls.
ID_RANGE = {"minimum": 1, "maximum": MAX_ID}


class Ref(fields.Integer):
    """The id of one object of `kind` in the caller's scope; anything else is a 422 on this field."""

    def __init__(self, kind: str, **kwargs):
        if kind not in KINDS:
            raise ValueError(f"unknown kind {kind}")
        self.kind = kind
        metadata = {**ID_RANGE, **_description(kind, kwargs.get("metadata"), False)}
        super().__init__(**{**kwargs, "metadata": metadata})

    def _deserialize(self, value, attr, data, **kwargs):
        number = super()._deserialize(value, attr, data, **kwargs)
        if out_of_scope(self.kind, [number]):
            raise ValidationError(OUT_OF_SCOPE)
        return number


class Refs(fields.List):
    """Ids of objects of `kind` in the caller's scope, checked together in one query."""

    def __init__(self, kind: str, **kwargs):
        if kind not in KINDS:
            raise ValueError(f"unknown kind {kind}")
        self.kind = kind
        super().__init__(
            fields.Integer(metadata=ID_RANGE),
            **{**kwargs, "metadata": _description(kind, kwargs.get("metadata"), True)},
        )

    def _deserialize(self, value, attr, data, **kwargs):
        numbers = super()._deserialize(value, attr, data, **kwargs)
        self._validate(numbers)  # length limits before the query
        if len(set(numbers)) > MAX_IDS or out_of_scope(self.kind, numbers):
            raise ValidationError(OUT_OF_SCOPE)
        return numbers
