"""The daily summary the figures read: per (local day, area, category, department, worker) counters.

Each issue adds to the counters from its current columns only (see `contribution`): +1 `reported`
on the local day it was received, and on the local day of its started deadline +1 `due` and the
rest of the evaluation formulas (`deferred`, `closed`, `closed_on_time`, rework). Rejected and
merged issues add nothing. So the summary is kept exact by an `after_flush` listener: for every
issue inserted, changed or deleted in a flush, it adds the new contribution and subtracts the old
one, in the flush's own transaction, whichever code (workflow, seeding, a test) moved the issue.
Additions are upserts `n = n + excluded.n`, so concurrent moves on PostgreSQL never lose a count
(no read-modify-write), and rows are touched in key order so two flushes cannot deadlock.

The same listener keeps a monthly roll-up, `issue_monthly_figures`, per (first day of the local
month, area, category, department) — no worker: the daily key is nearly unique per issue (a million
issues made 1.6 million daily rows), the monthly one without the worker is not (255,000), so a
period of whole months reads a few thousand rows a month instead of tens of thousands. The figures
read the months a period covers whole from it and only the days at its ends from the daily summary.

No figure here depends on "now": `overdue` is not one of the evaluation figures; the median of
handling hours is not additive and stays a query over the issues (see `stats.py`).
"""

from __future__ import annotations

import functools
from collections import Counter, defaultdict
from datetime import date, datetime

from flask_sqlalchemy.session import Session as FlaskSession
from sqlalchemy import (
    Connection,
    Date,
    Index,
    Integer,
    Table,
    TextClause,
    bindparam,
    event,
    inspect,
    select,
    text,
)
from sqlalchemy.orm import Mapped, Session, mapped_column

from gridgov.extensions import db
from gridgov.issues.models import Issue
from gridgov.issues.states import NOT_CASES, IssueState
from gridgov.timeutil import LOCAL_TZ

KEYS = ("day", "area_id", "category_id", "department_id", "worker_id")
MONTH_KEYS = ("month", "area_id", "category_id", "department_id")  # no worker: see the module's docstring
COUNTERS = (
    "reported",
    "due",
    "deferred",
    "closed",
    "closed_on_time",
    "rework_count",
    "reworked",
    "reworked_3_plus",
)
# the Issue columns a contribution reads; a flush that changes none of them leaves the summary alone
SOURCE = (
    "status",
    "received_at",
    "deadline",
    "deadline_provisional",
    "area_id",
    "category_id",
    "department_id",
    "reporter_id",
    "closed_on_time",
    "rework_count",
    "reopen_count",
)


class _Counters:
    """The counters (`COUNTERS`) both summaries keep, one column each."""

    reported: Mapped[int] = mapped_column(default=0)
    due: Mapped[int] = mapped_column(default=0)
    deferred: Mapped[int] = mapped_column(default=0)
    closed: Mapped[int] = mapped_column(default=0)
    closed_on_time: Mapped[int] = mapped_column(default=0)
    rework_count: Mapped[int] = mapped_column(default=0)
    reworked: Mapped[int] = mapped_column(default=0)
    reworked_3_plus: Mapped[int] = mapped_column(default=0)


class IssueDailyFigures(_Counters, db.Model):
    """One summary row; a missing area, department or worker is stored as 0 (a key, not a reference),
    because NULLs in a primary key could never meet in `ON CONFLICT`."""

    __tablename__ = "issue_daily_figures"
    __audit__ = False
    __table_args__ = (
        # An area's days (see IssueMonthlyFigures): a town's twenty days at ten million issues,
        # 1,126 → 441 ms for the whole figure.
        Index(
            "ix_issue_daily_figures_area_day",
            "area_id",
            "day",
            postgresql_include=["category_id", "department_id", "worker_id", *COUNTERS],
        ),
    )

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    area_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    category_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    department_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    worker_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)


class IssueMonthlyFigures(_Counters, db.Model):
    """The daily summary rolled up by local month (`month` is its first day), without the worker.

    The key leads with the month, which serves a whole zone's period; an area's months come from
    `ix_issue_monthly_figures_area_month`, which on PostgreSQL carries the rest of the row, so a
    town's month is an index-only probe per micro-grid instead of reading the month's rows of the
    whole province (a town month at ten million issues: 860 → 25 ms)."""

    __tablename__ = "issue_monthly_figures"
    __audit__ = False
    __table_args__ = (
        Index(
            "ix_issue_monthly_figures_area_month",
            "area_id",
            "month",
            postgresql_include=["category_id", "department_id", *COUNTERS],
        ),
    )

    month: Mapped[date] = mapped_column(Date, primary_key=True)
    area_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    category_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    department_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)


def local_day(moment: datetime) -> date:
    return moment.astimezone(LOCAL_TZ).date()


def contribution(issue) -> list[tuple[tuple, dict]]:
    """What one issue (an Issue, a row or a dict-like with the SOURCE fields) adds: [(key, counters)]."""
    if issue.status in NOT_CASES:
        return []
    keys = (issue.area_id or 0, issue.category_id, issue.department_id or 0, issue.reporter_id or 0)
    parts = [((local_day(issue.received_at), *keys), {"reported": 1})]
    if issue.deadline is not None and not issue.deadline_provisional:
        counts = {"due": 1}
        if issue.status == IssueState.DEFERRED:
            counts["deferred"] = 1
        else:
            sent_back = issue.rework_count + issue.reopen_count
            counts.update(
                rework_count=sent_back, reworked=int(sent_back > 0), reworked_3_plus=int(sent_back >= 3)
            )
            if issue.status == IssueState.CLOSED:
                counts.update(closed=1, closed_on_time=int(bool(issue.closed_on_time)))
        parts.append(((local_day(issue.deadline), *keys), counts))
    return parts


def add(totals: dict, parts, sign: int = 1) -> None:
    """Add (or with sign=-1 subtract) contributions into {key: Counter}."""
    for key, counts in parts:
        bucket = totals[key]
        for name, n in counts.items():
            bucket[name] += sign * n


def upsert(connection: Connection, table: Table, keys: tuple, counters: tuple, totals: dict) -> None:
    """Add the deltas {key tuple: Counter} to `table`'s counters: `n = n + excluded.n`, in key order
    (two flushes touching the same rows take them in the same order, so they cannot deadlock)."""
    rows = [
        {**dict(zip(keys, key, strict=True)), **{name: totals[key][name] for name in counters}}
        for key in sorted(totals)
        if any(totals[key].values())
    ]
    if not rows:
        return
    statement = _upsert_statement(connection.dialect, table, keys, counters)
    for start in range(0, len(rows), 1000):
        connection.execute(statement, rows[start : start + 1000])


@functools.cache
def _upsert_statement(dialect, table: Table, keys: tuple, counters: tuple) -> TextClause:
    """`INSERT … ON CONFLICT (keys) DO UPDATE SET n = n + excluded.n`, written once as text (the
    same words in PostgreSQL and SQLite), typed by the table's columns.

    SQLAlchemy's `on_conflict_do_update` has no cache key, so it was built and compiled again on
    every flush that moved a counter: three times for each report, about a quarter of its CPU
    (cProfile of `POST /api/v1/issues`, bench/cpu_profile.py).
    """
    quote = dialect.identifier_preparer.quote  # names of the table's own columns, never a request's
    name, columns = quote(table.name), (*keys, *counters)
    into, values = ", ".join(quote(c) for c in columns), ", ".join(f":{c}" for c in columns)
    conflict = ", ".join(quote(k) for k in keys)
    added = ", ".join(f"{quote(c)} = {name}.{quote(c)} + excluded.{quote(c)}" for c in counters)
    sql = f"INSERT INTO {name} ({into}) VALUES ({values}) ON CONFLICT ({conflict}) DO UPDATE SET {added}"  # noqa: S608  # nosec B608 - the table's own names, quoted
    return text(sql).bindparams(*(bindparam(c, type_=table.c[c].type) for c in columns))


def by_month(totals: dict) -> dict:
    """Daily deltas {KEYS tuple: Counter} summed to monthly ones {MONTH_KEYS tuple: Counter}."""
    months: dict = defaultdict(Counter)
    for (day, area_id, category_id, department_id, _worker), counts in totals.items():
        months[(day.replace(day=1), area_id, category_id, department_id)].update(counts)
    return months


def apply(connection: Connection, totals: dict) -> None:
    """Upsert the deltas {key: Counter} into the daily summary and its monthly roll-up."""
    upsert(connection, IssueDailyFigures.__table__, KEYS, COUNTERS, totals)
    upsert(connection, IssueMonthlyFigures.__table__, MONTH_KEYS, COUNTERS, by_month(totals))


class Before:
    """An issue's `names` fields as they were before this flush (the committed values)."""

    def __init__(self, issue: Issue, names: tuple = SOURCE):
        state = inspect(issue)
        for name in names:
            history = state.attrs[name].history
            setattr(self, name, history.deleted[0] if history.deleted else getattr(issue, name))


def changed(issue: Issue, names: tuple = SOURCE) -> bool:
    state = inspect(issue)
    return any(state.attrs[name].history.has_changes() for name in names)


def _after_flush(session: Session, flush_context) -> None:
    totals: dict = defaultdict(Counter)
    for issue in session.new:
        if isinstance(issue, Issue):
            add(totals, contribution(issue))
    for issue in session.dirty:
        if isinstance(issue, Issue) and changed(issue):
            add(totals, contribution(Before(issue)), -1)
            add(totals, contribution(issue))
    for issue in session.deleted:
        if isinstance(issue, Issue):
            add(totals, contribution(Before(issue)), -1)
    if totals:
        apply(session.connection(), totals)


def install_summary_hook() -> None:
    """Keep the summary in every flush of the app's session class (idempotent)."""
    if not event.contains(FlaskSession, "after_flush", _after_flush):
        event.listen(FlaskSession, "after_flush", _after_flush)
    for name in SOURCE:  # load the old value even when a column is set while expired
        attribute = getattr(Issue, name)
        if not event.contains(attribute, "set", _keep_old_value):
            event.listen(attribute, "set", _keep_old_value, active_history=True)


def _keep_old_value(target, value, oldvalue, initiator):
    return value


def recount(connection: Connection, chunk: int = 20_000) -> dict:
    """The summary as a full recount of the issues table would make it: {key: Counter}."""
    columns = [getattr(Issue.__table__.c, name) for name in SOURCE]
    totals: dict = defaultdict(Counter)
    result = connection.execute(select(*columns).execution_options(yield_per=chunk))
    for row in result:
        add(totals, contribution(row))
    return totals


def rebuild(connection: Connection) -> int:
    """Empty the summary and its monthly roll-up and fill them again from the issues (the
    backfill); returns the daily row count."""
    connection.execute(IssueMonthlyFigures.__table__.delete())
    connection.execute(IssueDailyFigures.__table__.delete())
    totals = recount(connection)
    apply(connection, totals)
    return sum(1 for counts in totals.values() if any(counts.values()))


def rebuild_daily(connection: Connection) -> None:
    """The daily summary alone: migration 0036's backfill (the roll-up's table comes in 0038)."""
    connection.execute(IssueDailyFigures.__table__.delete())
    upsert(connection, IssueDailyFigures.__table__, KEYS, COUNTERS, recount(connection))
