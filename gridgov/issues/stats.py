"""Figures leaders read: 结案率, 按期结案率 and 返工率, by grid, community, department, category or worker.

The evaluation formulas of Chinese digital urban management (数字化城市管理), over ONE set of issues:
- 应结案数 `due`: the issues in scope whose started deadline (set at dispatch, or at report for a
  fix on the spot) falls in the period [from, to] (local dates), rejected and merged issues excluded
  — the deadline is the date that puts an issue in a period;
- 缓办数 `deferred`: those of them deferred now (缓办, approved; a resumed issue counts as usual);
- 结案数 `closed`: those of them (not deferred) closed now; 按期结案数 `closed_on_time`: those closed
  by their deadline;
- 结案率 `closure_rate` = 结案数 ÷ (应结案数 − 缓办数); 按期结案率 `on_time_rate` = 按期结案数 ÷
  (应结案数 − 缓办数): every numerator is a subset of its denominator, so no rate exceeds 1;
- 返工 `rework_count`: failed verifications plus reopenings of those issues; `reworked`: issues sent
  back at least once, `reworked_3_plus`: three times or more; 返工率 `rework_rate` = reworked ÷
  (应结案数 − 缓办数);
- `reported`: issues received in the period, rejected and merged excluded (a count beside the set, in no rate);
- `median_handling_hours`: median of (closed − received) over the closed issues of the set, in hours
  to 2 places, half up, computed exactly (the mean of the middle two for an even count).
Rates are fractions rounded to 4 places (0.9372 = 93.72%), null when the denominator is 0.
"""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from datetime import date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal

from marshmallow import Schema, fields, validate
from sqlalchemy import Integer, any_, cast, func, or_, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import aliased

from gridgov import bounded
from gridgov.areas.models import Area
from gridgov.areas.scope import area_id_in_scope
from gridgov.areas.services import get_area
from gridgov.auth.models import User
from gridgov.extensions import db
from gridgov.http import request_cached
from gridgov.issues.models import Category, Department, Issue
from gridgov.issues.queries import AREA_ROLES, outside_areas, visible
from gridgov.issues.states import NOT_CASES, IssueState
from gridgov.issues.summary import COUNTERS, SOURCE, IssueDailyFigures, IssueMonthlyFigures, add, contribution
from gridgov.refs import Ref
from gridgov.spreadsheets import Column, workbook
from gridgov.timeutil import LOCAL_TZ

GROUPS = ("grid", "community", "department", "category", "worker")
EXPORT_LIMIT = 10_000


class StatsQuerySchema(Schema):
    from_ = bounded.Date(required=True, data_key="from")
    to = bounded.Date(required=True)
    area = Ref("area")
    group_by = fields.String(load_default="grid", validate=validate.OneOf(GROUPS))
    format = fields.String(load_default="json", validate=validate.OneOf(["json", "xlsx"]))


def _count(text: str) -> fields.Integer:
    return fields.Integer(metadata={"description": text})


def _rate(text: str) -> fields.Float:
    return fields.Float(allow_none=True, metadata={"description": text + "; a fraction, null when ÷ 0"})


class StatsRowSchema(Schema):
    key = fields.String(allow_none=True)
    name = fields.String(allow_none=True)
    reported = _count("issues received in the period, rejected and merged excluded (in no rate)")
    due = _count(
        "应结案数: issues whose started deadline falls in the period (the date that puts an issue in a "
        "period), rejected and merged issues excluded"
    )
    deferred = _count("缓办数: of the due, those deferred now")
    closed = _count("结案数: of the due and not deferred, those closed")
    closure_rate = _rate("结案率 = closed ÷ (due − deferred)")
    closed_on_time = _count("按期结案数: of the closed, those closed by their deadline")
    on_time_rate = _rate("按期结案率 = closed_on_time ÷ (due − deferred)")
    rework_count = _count("返工次数: failed verifications plus reopenings, of the due and not deferred")
    reworked = _count("of the due and not deferred, issues sent back at least once")
    reworked_3_plus = _count("of the due and not deferred, issues sent back three times or more")
    rework_rate = _rate("返工率 = reworked ÷ (due − deferred)")
    median_handling_hours = fields.Float(
        allow_none=True,
        metadata={
            "description": "median of (closed − received) over the closed, in hours to 2 places (half up)"
        },
    )


def bounded(query) -> list[Issue]:
    return list(db.session.scalars(query.limit(EXPORT_LIMIT)))


def _ratio(a: int, b: int) -> float | None:
    return round(a / b, 4) if b else None


def evaluation_rates(
    due: int, deferred: int, closed: int, closed_on_time: int
) -> tuple[float | None, float | None]:
    """(结案率, 按期结案率) = (结案数, 按期结案数) ÷ (应结案数 − 缓办数); ValueError when the counts
    are not nested (each numerator must be part of its denominator)."""
    base = due - deferred
    if not 0 <= closed_on_time <= closed <= base:
        raise ValueError(f"counts not nested: {closed_on_time=} {closed=} {due=} {deferred=}")
    return _ratio(closed, base), _ratio(closed_on_time, base)


KEY_CHUNK = 10_000  # ids per IN list, well under SQLite's and PostgreSQL's bound-parameter limits


def _ancestor_of(area, group: str):
    """Join condition: `Area` row `ancestor` is the `group`-level area above (or equal to) `area`."""
    ancestor = aliased(Area)
    if db.engine.dialect.name == "postgresql":
        # the ids in the path, matched by primary key: a prefix LIKE against every grid would scan them all
        path_ids = cast(func.string_to_array(func.btrim(area.path, "/"), "/"), ARRAY(Integer))
        return ancestor, (ancestor.level == group) & (ancestor.id == any_(path_ids))
    return ancestor, (ancestor.level == group) & area.path.startswith(ancestor.path)


def _group_keys(group_by: str, values: set) -> dict:
    """Map each grouping value that appears in the rows to (key, name), one IN query per chunk."""
    values = sorted(v for v in values if v is not None)
    if group_by in ("grid", "community"):
        own = aliased(Area)
        ancestor, joined = _ancestor_of(own, group_by)
        statement = select(own.id, ancestor.code, ancestor.name).join(ancestor, joined)
        column = own.id
    elif group_by == "department":
        statement, column = select(Department.id, Department.code, Department.name), Department.id
    elif group_by == "category":
        statement, column = select(Category.id, Category.code, Category.name_zh), Category.id
    else:
        statement, column = select(User.id, User.username, User.display_name), User.id
    mapping = {}
    for begin in range(0, len(values), KEY_CHUNK):
        chunk = values[begin : begin + KEY_CHUNK]
        mapping.update(
            {
                value: (key, name)
                for value, key, name in db.session.execute(statement.where(column.in_(chunk)))
            }
        )
    return mapping


def _in_area(column, user: User, query: dict) -> list:
    """WHERE clauses keeping `column` (an area id) to the requested area's subtree."""
    if not query.get("area"):
        return []
    # the area is checked against the scope once per request, not once per statement (five)
    path = request_cached(("stats_area", user.id, query["area"]), lambda: get_area(user, query["area"]).path)
    return [column.in_(select(Area.id).where(Area.path.startswith(path, autoescape=True)))]


def _area_scoped(user: User) -> bool:
    return user.has_role(*AREA_ROLES)


def _next_month(day: date) -> date:
    return date(day.year + day.month // 12, day.month % 12 + 1, 1)


def _whole_months(first: date, last: date) -> tuple[tuple[date, date] | None, list[tuple[date, date]]]:
    """Split the days [first, last] into the months they cover whole, as (first month, last month)
    by their first days or None, and the days left at either end, as [(from, to)]."""
    begin = first if first.day == 1 else _next_month(first)
    end = last.replace(day=1)  # the last month whole: last's own if last is its last day, else the one before
    if _next_month(last) - timedelta(days=1) != last:
        end = (end - timedelta(days=1)).replace(day=1)
    if begin > end:
        return None, [(first, last)]
    edges = [(first, begin - timedelta(days=1)), (_next_month(end), last)]
    return (begin, end), [(a, b) for a, b in edges if a <= b]


def _summary_totals(user: User, query: dict, group: str) -> dict:
    """{group value: Counter} from the summary, over the issues of the areas in scope: the months
    the period covers whole from the monthly roll-up (unless by worker, which it does not keep),
    the days left at its ends from the daily summary."""
    if not _area_scoped(user):
        return {}
    months, days = _whole_months(query["from_"], query["to"])
    if group == "worker" and months:
        months, days = None, [(query["from_"], query["to"])]
    parts = [(IssueDailyFigures, or_(*(IssueDailyFigures.day.between(*r) for r in days)))] if days else []
    if months:
        parts.append((IssueMonthlyFigures, IssueMonthlyFigures.month.between(*months)))
    totals: dict = defaultdict(Counter)
    for table, period in parts:
        for value, counts in _summary_sums(user, query, group, table, period):
            totals[value].update(counts)
    return totals


def _summary_sums(user: User, query: dict, group: str, table, period) -> list:
    """[(group value, Counter)] summed from one summary table over the rows `period` selects."""
    column = getattr(table, {"grid": "area_id", "community": "area_id"}.get(group, group + "_id"))
    statement = (
        select(column, *(func.sum(getattr(table, name)) for name in COUNTERS))
        .where(period, area_id_in_scope(user, table.area_id), *_in_area(table.area_id, user, query))
        .group_by(column)
    )
    return [
        (row[0] or None, Counter(dict(zip(COUNTERS, row[1:], strict=True))))
        for row in db.session.execute(statement)
    ]


def _live_totals(user: User, query: dict, group: str, start: datetime, end: datetime) -> dict:
    """{group value: Counter} counted from the issues rows the summary part leaves out."""
    attribute = {"grid": "area_id", "community": "area_id", "worker": "reporter_id"}.get(group, group + "_id")
    statement = select(*(getattr(Issue, name) for name in SOURCE)).where(
        outside_areas(user),
        Issue.status.not_in(NOT_CASES),
        or_(Issue.received_at.between(start, end), (Issue.deadline >= start) & (Issue.deadline < end)),
        *_in_area(Issue.area_id, user, query),
    )
    totals: dict = defaultdict(Counter)
    for row in db.session.execute(statement):
        parts = [
            (key, counts) for key, counts in contribution(row) if query["from_"] <= key[0] <= query["to"]
        ]
        add(totals, [(getattr(row, attribute), counts) for _, counts in parts])
    return totals


def _median_hours(user: User, query: dict, group: str, start: datetime, end: datetime) -> dict:
    """{group value: median hours} over the closed issues due in the period (a median does not add
    up, so it is not in the summary). The group value is the grid or community itself for those
    groups. PostgreSQL takes the median in SQL; SQLite, which has no percentile, in Python."""
    if group in ("grid", "community"):
        groups = _area_groups(user, query, group)
        column = groups.c.group_id
        source = select().select_from(Issue).outerjoin(groups, groups.c.area_id == Issue.area_id)
    else:
        column = {
            "department": Issue.department_id,
            "category": Issue.category_id,
            "worker": Issue.reporter_id,
        }[group]
        source = select().select_from(Issue)
    source = source.where(
        visible(user),
        Issue.status == IssueState.CLOSED,
        Issue.deadline_provisional.is_(False),
        Issue.deadline >= start,
        Issue.deadline < end,
        *_in_area(Issue.area_id, user, query),
    )
    if db.engine.dialect.name == "postgresql":
        # over the interval itself: exact microseconds, where float hours would round 1.005 h either way
        middle = func.percentile_cont(0.5).within_group(Issue.closed_at - Issue.received_at)
        statement = source.add_columns(column, func.extract("epoch", middle)).group_by(column)
        return {value: _hours(Decimal(seconds)) for value, seconds in db.session.execute(statement)}
    durations: dict = defaultdict(list)
    for value, received_at, closed_at in db.session.execute(
        source.add_columns(column, Issue.received_at, Issue.closed_at)
    ):
        durations[value].append(closed_at - received_at)
    return {value: _hours(_seconds(statistics.median(values))) for value, values in durations.items()}


def _area_groups(user: User, query: dict, group: str):
    """A CTE (area_id, group_id): each area the issues may lie in (the requested area's subtree, or
    all) with its `group`-level ancestor. Materialised on PostgreSQL, so the ancestor is found once
    per area and the issues join it by hash — joined per issue, the path was split for each closed
    issue and each area of the level (6,316 × 8 in a town month)."""
    own = aliased(Area)
    ancestor, joined = _ancestor_of(own, group)
    statement = select(own.id.label("area_id"), ancestor.id.label("group_id")).join(ancestor, joined)
    groups = statement.where(*_in_area(own.id, user, query)).cte("area_groups")
    return groups.prefix_with("MATERIALIZED") if db.engine.dialect.name == "postgresql" else groups


def _seconds(duration: timedelta) -> Decimal:
    return Decimal(duration // timedelta(microseconds=1)) / 1_000_000


def _hours(seconds: Decimal) -> float:
    """A median in seconds as the figure shows it: hours to 2 places, half up (四舍五入)."""
    return float((seconds / 3600).quantize(Decimal("0.01"), ROUND_HALF_UP))


def issue_figures(user: User, query: dict) -> list[dict]:
    """The figures' rows: the counts from the daily summary (the areas in scope) plus a count of the
    few issues the user sees outside them; the median from the closed issues themselves."""
    start = datetime.combine(query["from_"], time(0), LOCAL_TZ)
    end = datetime.combine(query["to"] + timedelta(days=1), time(0), LOCAL_TZ)
    group = query["group_by"]
    by_value: dict = defaultdict(Counter)
    for totals in (_summary_totals(user, query, group), _live_totals(user, query, group, start, end)):
        for value, counts in totals.items():
            by_value[value].update(counts)
    medians = _median_hours(user, query, group, start, end)
    keys = _group_keys(group, set(by_value) | set(medians))
    acc: dict = defaultdict(lambda: {"counts": Counter(), "median": None})
    for value, counts in by_value.items():
        if counts["reported"] or counts["due"]:
            acc[keys.get(value, (None, None))]["counts"].update(counts)
    for value, median in medians.items():
        acc[keys.get(value, (None, None))]["median"] = median
    result = []
    for (key, name), b in sorted(acc.items(), key=lambda item: (item[0][0] is None, item[0][0] or "")):
        c = b["counts"]
        closure_rate, on_time_rate = evaluation_rates(
            c["due"], c["deferred"], c["closed"], c["closed_on_time"]
        )
        result.append(
            {
                "key": key,
                "name": name,
                **{name_: c[name_] for name_ in COUNTERS},
                "closure_rate": closure_rate,
                "on_time_rate": on_time_rate,
                "rework_rate": _ratio(c["reworked"], c["due"] - c["deferred"]),
                "median_handling_hours": b["median"],
            }
        )
    return result


def figures_xlsx(rows: list[dict], group_by: str) -> bytes:
    columns = [
        ("key", Column("编码")),
        ("name", Column("名称")),
        ("reported", Column("上报数", "int")),
        ("closed", Column("办结数", "int")),
        ("closure_rate", Column("办结率", "rate")),
        ("due", Column("应结案数", "int")),
        ("deferred", Column("缓办数", "int")),
        ("closed_on_time", Column("按期办结数", "int")),
        ("on_time_rate", Column("按期办结率", "rate")),
        ("rework_count", Column("返工次数", "int")),
        ("reworked", Column("返工问题数", "int")),
        ("reworked_3_plus", Column("返工三次及以上", "int")),
        ("rework_rate", Column("返工率", "rate")),
        ("median_handling_hours", Column("处置时长中位数（小时）", "number")),
    ]
    group = {
        "grid": "网格",
        "community": "社区",
        "department": "部门",
        "category": "类别",
        "worker": "网格员",
    }
    return workbook(
        f"按{group[group_by]}统计",
        [column for _, column in columns],
        [[r[key] for key, _ in columns] for r in rows],
    )


def issues_xlsx(issues: list[Issue]) -> bytes:
    categories = {c.id: c.name_zh for c in db.session.scalars(select(Category))}
    areas = dict(db.session.execute(select(Area.id, Area.name)).all())
    columns = [
        Column("编号", "int"),
        Column("类别"),
        Column("描述"),
        Column("所在网格"),
        Column("状态"),
        Column("上报时间", "datetime"),
        Column("派遣时间", "datetime"),
        Column("办理时限", "datetime"),
        Column("办结时间", "datetime"),
        Column("按期"),
        Column("返工次数", "int"),
    ]
    rows = (
        [
            i.id,
            categories.get(i.category_id),
            i.description,
            areas.get(i.area_id),
            IssueState(i.status).label.zh,
            i.received_at,
            i.dispatched_at,
            i.deadline,
            i.closed_at,
            None if i.closed_on_time is None else ("是" if i.closed_on_time else "否"),
            i.rework_count,
        ]
        for i in issues
    )
    return workbook("网格问题台账", columns, rows)
