"""How many issues each area holds, by status and category: the count an issue list's X-Pagination
gives without counting rows (a count(*) over millions of issues takes seconds).

An issue counts once in every area on its micro-grid's path (district, town, community, grid,
micro-grid) and once under area 0, "everywhere" (which also holds the issues of no area). So the
count for a scope or an `area` filter is a sum over a handful of rows. Kept like the daily figures
(`summary.py`): an `after_flush` listener adds the new and subtracts the old part of every issue a
flush changes, by upsert, in the flush's transaction. Moving an area to another parent (an area
import that changes `parent_code`) changes its issues' ancestors: run `flask stats rebuild` then.
"""

from __future__ import annotations

from collections import Counter, defaultdict

from flask_sqlalchemy.session import Session as FlaskSession
from sqlalchemy import Connection, Integer, String, event, func, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from gridgov.areas.models import Area
from gridgov.extensions import db
from gridgov.issues.models import Issue
from gridgov.issues.summary import Before, changed, upsert

EVERYWHERE = 0  # the area id under which every issue counts
SOURCE = ("area_id", "status", "category_id")
KEYS = ("area_id", "status", "category_id")  # of the counts table


class IssueCount(db.Model):
    """Issues of one status and category in one area's subtree (area 0: all of them)."""

    __tablename__ = "issue_counts"
    __audit__ = False

    area_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    status: Mapped[str] = mapped_column(String(16), primary_key=True)
    category_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    n: Mapped[int] = mapped_column(default=0)


def _ancestors(connection: Connection, area_ids: set) -> dict[int, list[int]]:
    """Area id → the ids on its path (itself included), read in one query."""
    ids = {a for a in area_ids if a}
    if not ids:
        return {}
    rows = connection.execute(select(Area.id, Area.path).where(Area.id.in_(ids)))
    return {
        area_id: [int(part) for part in path.strip("/").split("/") if part] or [area_id]
        for area_id, path in rows
    }


def _add(totals: dict, paths: dict, area_id, status: str, category_id: int, n: int) -> None:
    for area in [EVERYWHERE, *paths.get(area_id, [])]:
        totals[(area, status, category_id)]["n"] += n


def _after_flush(session: Session, flush_context) -> None:
    moves = []  # (issue or its before-state, sign)
    for issue in session.new:
        if isinstance(issue, Issue):
            moves.append((issue, 1))
    for issue in session.dirty:
        if isinstance(issue, Issue) and changed(issue, SOURCE):
            moves += [(Before(issue, SOURCE), -1), (issue, 1)]
    for issue in session.deleted:
        if isinstance(issue, Issue):
            moves.append((Before(issue, SOURCE), -1))
    if not moves:
        return
    connection = session.connection()
    paths = _ancestors(connection, {state.area_id for state, _ in moves})
    totals: dict = defaultdict(Counter)
    for state, sign in moves:
        _add(totals, paths, state.area_id, state.status, state.category_id, sign)
    upsert(connection, IssueCount.__table__, KEYS, ("n",), totals)


def install_counts_hook() -> None:
    """Keep the counts in every flush of the app's session class (idempotent)."""
    if not event.contains(FlaskSession, "after_flush", _after_flush):
        event.listen(FlaskSession, "after_flush", _after_flush)


def recount(connection: Connection) -> dict:
    """The counts as the issues table has them: {(area id, status, category id): n}."""
    grouped = connection.execute(
        select(Issue.area_id, Issue.status, Issue.category_id, func.count()).group_by(
            Issue.area_id, Issue.status, Issue.category_id
        )
    ).all()
    paths = _ancestors(connection, {row[0] for row in grouped})
    totals: dict = defaultdict(Counter)
    for area_id, status, category_id, n in grouped:
        _add(totals, paths, area_id, status, category_id, n)
    return totals


def rebuild(connection: Connection) -> int:
    """Empty the counts and fill them again from the issues; returns the row count."""
    connection.execute(IssueCount.__table__.delete())
    totals = recount(connection)
    upsert(connection, IssueCount.__table__, KEYS, ("n",), totals)
    return sum(1 for counts in totals.values() if counts["n"])


def count_in(area_ids: list[int], statuses: list[str] | None, category_ids: list[int] | None) -> int:
    """Issues under the given areas (none of them below another), of these statuses and categories."""
    return db.session.scalar(count_in_statement(area_ids, statuses, category_ids))


def count_in_statement(area_ids: list[int], statuses: list[str] | None, category_ids: list[int] | None):
    """The statement of `count_in`, for a caller that adds it to another in one."""
    statement = select(func.coalesce(func.sum(IssueCount.n), 0)).where(IssueCount.area_id.in_(area_ids))
    if statuses:
        statement = statement.where(IssueCount.status.in_(statuses))
    if category_ids is not None:
        statement = statement.where(IssueCount.category_id.in_(category_ids))
    return statement
