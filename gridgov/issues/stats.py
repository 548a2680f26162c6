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
- `median_handling_hours`: median of (closed − received) over the closed issues of the set.
Rates are fractions rounded to 4 places (0.9372 = 93.72%), null when the denominator is 0.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from datetime import datetime, time, timedelta

from marshmallow import Schema, fields, validate
from sqlalchemy import or_, select

from gridgov import bounded
from gridgov.areas.models import Area
from gridgov.areas.services import get_area
from gridgov.auth.models import User
from gridgov.extensions import db
from gridgov.issues.models import Category, Department, Issue
from gridgov.issues.queries import visible
from gridgov.issues.states import NOT_CASES, IssueState
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
        allow_none=True, metadata={"description": "median of (closed − received) over the closed, in hours"}
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


def _group_keys(group_by: str, rows) -> dict:
    """Map each row's grouping value to (key, name)."""
    if group_by in ("grid", "community"):
        areas = {
            a.id: a
            for a in db.session.execute(select(Area.id, Area.path, Area.level, Area.code, Area.name)).all()
        }
        mapping = {}
        for area in areas.values():
            for part in area.path.strip("/").split("/"):
                ancestor = areas.get(int(part))
                if ancestor and ancestor.level == group_by:
                    mapping[area.id] = (ancestor.code, ancestor.name)
        return mapping
    if group_by == "department":
        return {d.id: (d.code, d.name) for d in db.session.scalars(select(Department))}
    if group_by == "category":
        return {c.id: (c.code, c.name_zh) for c in db.session.scalars(select(Category))}
    return {
        u.id: (u.username, u.display_name)
        for u in db.session.execute(select(User.id, User.username, User.display_name)).all()
    }


def issue_figures(user: User, query: dict) -> list[dict]:
    start = datetime.combine(query["from_"], time(0), LOCAL_TZ)
    end = datetime.combine(query["to"] + timedelta(days=1), time(0), LOCAL_TZ)
    column = {
        "grid": Issue.area_id,
        "community": Issue.area_id,
        "department": Issue.department_id,
        "category": Issue.category_id,
        "worker": Issue.reporter_id,
    }[query["group_by"]]
    select_ = select(
        column.label("group"),
        Issue.received_at,
        Issue.status,
        Issue.closed_at,
        Issue.deadline,
        Issue.deadline_provisional,
        Issue.closed_on_time,
        Issue.rework_count,
        Issue.reopen_count,
    ).where(
        visible(user),
        Issue.status.not_in(NOT_CASES),
        or_(
            Issue.received_at.between(start, end),
            (Issue.deadline >= start) & (Issue.deadline < end) & Issue.deadline_provisional.is_(False),
        ),
    )
    if query.get("area"):
        area = get_area(user, query["area"])
        select_ = select_.where(
            Issue.area_id.in_(select(Area.id).where(Area.path.startswith(area.path, autoescape=True)))
        )
    rows = db.session.execute(select_).all()
    keys = _group_keys(query["group_by"], rows)
    acc: dict = defaultdict(
        lambda: {
            "reported": 0,
            "due": 0,
            "deferred": 0,
            "closed": 0,
            "closed_on_time": 0,
            "rework_count": 0,
            "reworked": 0,
            "reworked_3_plus": 0,
            "hours": [],
        }
    )
    for row in rows:
        bucket = acc[keys.get(row.group, (None, None))]
        if start <= row.received_at < end:
            bucket["reported"] += 1
        if row.deadline is None or row.deadline_provisional or not start <= row.deadline < end:
            continue
        bucket["due"] += 1
        if row.status == IssueState.DEFERRED:
            bucket["deferred"] += 1
            continue
        sent_back = row.rework_count + row.reopen_count
        bucket["rework_count"] += sent_back
        bucket["reworked"] += 1 if sent_back else 0
        bucket["reworked_3_plus"] += 1 if sent_back >= 3 else 0
        if row.status == IssueState.CLOSED:
            bucket["closed"] += 1
            bucket["closed_on_time"] += 1 if row.closed_on_time else 0
            bucket["hours"].append((row.closed_at - row.received_at).total_seconds() / 3600)
    result = []
    for (key, name), b in sorted(acc.items(), key=lambda item: (item[0][0] is None, item[0][0] or "")):
        closure_rate, on_time_rate = evaluation_rates(
            b["due"], b["deferred"], b["closed"], b["closed_on_time"]
        )
        result.append(
            {
                "key": key,
                "name": name,
                "reported": b["reported"],
                "due": b["due"],
                "deferred": b["deferred"],
                "closed": b["closed"],
                "closure_rate": closure_rate,
                "closed_on_time": b["closed_on_time"],
                "on_time_rate": on_time_rate,
                "rework_count": b["rework_count"],
                "reworked": b["reworked"],
                "reworked_3_plus": b["reworked_3_plus"],
                "rework_rate": _ratio(b["reworked"], b["due"] - b["deferred"]),
                "median_handling_hours": round(statistics.median(b["hours"]), 2) if b["hours"] else None,
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
