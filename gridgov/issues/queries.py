"""Who sees which issues (scoped in SQL), lists with filters, the timeline and GeoJSON."""

from __future__ import annotations

from sqlalchemy import ColumnElement, Select, and_, false, func, or_, select, true
from sqlalchemy.orm import with_expression

from gridgov.areas.models import Area
from gridgov.areas.scope import area_id_in_scope, is_global, own_areas
from gridgov.areas.services import get_area
from gridgov.auth.models import ROLES, User
from gridgov.errors import NotFound
from gridgov.extensions import db
from gridgov.http import request_cached
from gridgov.issues.catalogue import user_department_ids
from gridgov.issues.counts import EVERYWHERE, count_in, count_in_statement
from gridgov.issues.models import Category, Issue, IssueEvent, Whistle
from gridgov.timeutil import utcnow
from gridgov.workflow import for_update as lock

AREA_ROLES = tuple(role for role in ROLES if role != "department")  # roles that see issues by area


def visible(user: User) -> ColumnElement[bool]:
    """Issues assigned to the user or reported by him; for a department, those dispatched or
    whistled to it; for every other role, those in his areas (a department's areas grant nothing).

    Built once per request (a list's page and its total both ask): it depends on the principal
    alone, which a request reads once."""
    return request_cached(("visible_issues", user.id), lambda: _visible(user))


def _visible(user: User) -> ColumnElement[bool]:
    if is_global(user):
        return true()
    clauses = [Issue.assignee_id == user.id, Issue.reporter_id == user.id]
    if user.has_role(*AREA_ROLES):
        clauses.append(area_id_in_scope(user, Issue.area_id))
    departments = user_department_ids(user)
    if departments:
        # a category's default department on a fresh report is a suggestion, not a dispatch
        clauses.append(and_(Issue.department_id.in_(departments), Issue.dispatched_at.is_not(None)))
        clauses.append(Issue.id.in_(select(Whistle.issue_id).where(Whistle.department_id.in_(departments))))
    return or_(*clauses)


def get_issue(user: User, issue_id: int, for_update: bool = False) -> Issue:
    """One issue the user may see; 404 otherwise (including issues outside his scope)."""
    query = select(Issue).where(Issue.id == issue_id, visible(user))
    issue = db.session.scalar(lock(query, Issue) if for_update else query)
    if issue is None:
        raise NotFound()
    return issue


def _brief(column):
    """A correlated subquery of one column of the issue's category or area, for `with_expression`."""
    table = column.class_
    key = Issue.category_id if table is Category else Issue.area_id
    return select(column).where(table.id == key).correlate(Issue).scalar_subquery()


# Subqueries in the select list, not joins: an issue expired after the list (a rollback, a
# refresh) reloads with its loader's options, and there a join would become a cross join. Built
# once: built for each request they cost as much as the rest of the list's statement.
_BRIEFS = (
    with_expression(Issue.listed_category_code, _brief(Category.code)),
    with_expression(Issue.listed_area_id, Issue.area_id),  # the area the brief was read for
    with_expression(Issue.listed_area_code, _brief(Area.code)),
    with_expression(Issue.listed_area_name, _brief(Area.name)),
    with_expression(Issue.listed_area_level, _brief(Area.level)),
)


def with_briefs(query: Select) -> Select:
    """`query` of issues reading, in the same statement, each one's category code and micro-grid
    brief for the answer (Issue.listed_*), where a page would otherwise ask for them twice more."""
    return query.options(*_BRIEFS)


def issues_query(user: User, filters: dict):
    query = select(Issue).where(visible(user)).order_by(Issue.id.desc())
    if filters.get("format") != "xlsx":  # a spreadsheet names categories and areas its own way
        query = with_briefs(query)
    if filters.get("status"):
        query = query.where(Issue.status.in_(filters["status"]))
    if filters.get("category"):
        query = query.where(
            Issue.category_id.in_(select(Category.id).where(Category.code.in_(filters["category"])))
        )
    if filters.get("area"):
        area = get_area(user, filters["area"])
        query = query.where(
            Issue.area_id.in_(select(Area.id).where(Area.path.startswith(area.path, autoescape=True)))
        )
    if filters.get("overdue") is not None:
        clause = Issue.overdue_at(utcnow())
        query = query.where(clause if filters["overdue"] else ~clause)
    if filters.get("bbox"):
        west, south, east, north = filters["bbox"]
        query = query.where(Issue.lon >= west, Issue.lon <= east, Issue.lat >= south, Issue.lat <= north)
    if filters.get("since"):
        query = query.where(Issue.received_at >= filters["since"])
    if filters.get("until"):
        query = query.where(Issue.received_at < filters["until"])
    if filters.get("market"):
        query = query.where(Issue.market_id == filters["market"])
    if filters.get("located_by"):
        query = query.where(Issue.located_by == filters["located_by"])
    if filters.get("after"):
        query = query.where(Issue.id < filters["after"])
    return query


def outside_areas(user: User) -> ColumnElement[bool]:
    """The issues the user sees beyond the areas in his scope: his own, his department's and those
    of no area or of an area out of scope (none for an admin; all a department member sees)."""
    if is_global(user):
        return false()
    if not user.has_role(*AREA_ROLES):
        return visible(user)
    return and_(visible(user), or_(Issue.area_id.is_(None), ~area_id_in_scope(user, Issue.area_id)))


COUNTED_FILTERS = {"status", "category", "area", "format"}  # the filters the per-area counts answer


def issues_count(user: User, filters: dict) -> int | None:
    """The list's total from the per-area counts (`counts.py`), a few rows whatever the number of
    issues; None when a filter or the user's kind of scope needs the rows counted."""
    if {name for name, value in filters.items() if value is not None} - COUNTED_FILTERS:
        return None
    if not is_global(user) and not user.has_role(*AREA_ROLES):
        return None  # a department member's list is not an area's
    statuses = filters.get("status")
    categories = None
    if filters.get("category"):
        categories = list(
            db.session.scalars(select(Category.id).where(Category.code.in_(filters["category"])))
        )
    if filters.get("area"):
        return count_in([get_area(user, filters["area"]).id], statuses, categories)  # all within scope
    if is_global(user):
        return count_in([EVERYWHERE], statuses, categories)
    areas = own_areas(user)  # came with the principal
    roots = [
        area_id
        for area_id, path in areas
        if not any(path != other and path.startswith(other) for _, other in areas)
    ]
    outside = select(func.count()).select_from(Issue).where(outside_areas(user))
    if statuses:
        outside = outside.where(Issue.status.in_(statuses))
    if categories is not None:
        outside = outside.where(Issue.category_id.in_(categories))
    # both parts in one statement
    inside = count_in_statement(roots, statuses, categories)
    return db.session.scalar(select(inside.scalar_subquery() + outside.scalar_subquery()))


def timeline(user: User, issue_id: int) -> list[IssueEvent]:
    issue = get_issue(user, issue_id)
    return list(
        db.session.scalars(select(IssueEvent).where(IssueEvent.issue_id == issue.id).order_by(IssueEvent.id))
    )


def category_codes(ids) -> dict[int, str]:
    """Category id → code, for the categories a page of issues refers to."""
    return dict(db.session.execute(select(Category.id, Category.code).where(Category.id.in_(ids))).all())


def area_briefs(ids) -> dict[int, dict]:
    """Area id → {id, code, name, level}, for the micro-grids a page of issues lies in."""
    rows = db.session.execute(
        select(Area.id, Area.code, Area.name, Area.level).where(Area.id.in_(ids))
    ).mappings()
    return {row["id"]: dict(row) for row in rows}


def as_feature_collection(issues: list[Issue], dump_many) -> dict:
    """A GeoJSON FeatureCollection of points, written as the `geojson` package writes one
    (coordinates rounded to 6 places, about 0.1 m) without building its objects."""
    return {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "id": i.id,
                "geometry": {"type": "Point", "coordinates": [round(i.lon, 6), round(i.lat, 6)]},
                "properties": properties,
            }
            for i, properties in zip(issues, dump_many(issues), strict=True)
        ],
    }
