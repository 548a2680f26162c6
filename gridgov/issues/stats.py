"""Figures leaders read: reported, closed, closure rate (办结率), on-time rate (按期办结率), rework.

Definitions (also in the API docs), for issues in scope and in the period [from, to] (local dates):
- reported: issues received in the period;
- closed: those of them that are closed now;
- closure_rate = closed ÷ reported;
- due: issues whose (started) deadline falls in the period; deferred: those of them ever deferred;
- on_time_rate = closed on time ÷ (due − deferred), closed on time counted among the due;
- rework_count: verifications that failed, over the reported issues; rework_rate = closed issues
  with at least one rework ÷ closed;
- median_handling_hours: median of (closed − received) over the closed issues, in hours.
"""

from __future__ import annotations

import io
import statistics
from collections import defaultdict
from datetime import datetime, time, timedelta

from marshmallow import Schema, fields, validate
from openpyxl import Workbook
from sqlalchemy import or_, select

from gridgov import bounded
from gridgov.areas.models import Area
from gridgov.areas.services import get_area
from gridgov.auth.models import User
from gridgov.extensions import db
from gridgov.issues.models import Category, Department, Issue
from gridgov.issues.queries import visible
from gridgov.timeutil import LOCAL_TZ

GROUPS = ("grid", "community", "department", "category", "worker")
EXPORT_LIMIT = 10_000


class StatsQuerySchema(Schema):
    from_ = bounded.Date(required=True, data_key="from")
    to = bounded.Date(required=True)
    area = fields.Integer()
    group_by = fields.String(load_default="grid", validate=validate.OneOf(GROUPS))
    format = fields.String(load_default="json", validate=validate.OneOf(["json", "xlsx"]))


class StatsRowSchema(Schema):
    key = fields.String(allow_none=True)
    name = fields.String(allow_none=True)
    reported = fields.Integer()
    closed = fields.Integer()
    closure_rate = fields.Float(allow_none=True)
    due = fields.Integer()
    deferred = fields.Integer()
    closed_on_time = fields.Integer()
    on_time_rate = fields.Float(allow_none=True)
    rework_count = fields.Integer()
    rework_rate = fields.Float(allow_none=True)
    median_handling_hours = fields.Float(allow_none=True)


def bounded(query) -> list[Issue]:
    return list(db.session.scalars(query.limit(EXPORT_LIMIT)))


def _ratio(a: int, b: int) -> float | None:
    return round(a / b, 4) if b else None


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
        Issue.was_deferred,
        Issue.closed_on_time,
        Issue.rework_count,
    ).where(visible(user), or_(Issue.received_at.between(start, end), Issue.deadline.between(start, end)))
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
            "closed": 0,
            "due": 0,
            "deferred": 0,
            "closed_on_time": 0,
            "rework_count": 0,
            "reworked_closed": 0,
            "hours": [],
        }
    )
    for row in rows:
        bucket = acc[keys.get(row.group, (None, None))]
        if start <= row.received_at < end:
            bucket["reported"] += 1
            bucket["rework_count"] += row.rework_count
            if row.status == "closed":
                bucket["closed"] += 1
                bucket["hours"].append((row.closed_at - row.received_at).total_seconds() / 3600)
                bucket["reworked_closed"] += 1 if row.rework_count else 0
        if row.deadline is not None and not row.deadline_provisional and start <= row.deadline < end:
            bucket["due"] += 1
            bucket["deferred"] += 1 if row.was_deferred else 0
            bucket["closed_on_time"] += 1 if row.closed_on_time else 0
    result = []
    for (key, name), b in sorted(acc.items(), key=lambda item: (item[0][0] is None, item[0][0] or "")):
        result.append(
            {
                "key": key,
                "name": name,
                "reported": b["reported"],
                "closed": b["closed"],
                "closure_rate": _ratio(b["closed"], b["reported"]),
                "due": b["due"],
                "deferred": b["deferred"],
                "closed_on_time": b["closed_on_time"],
                "on_time_rate": _ratio(b["closed_on_time"], b["due"] - b["deferred"]),
                "rework_count": b["rework_count"],
                "rework_rate": _ratio(b["reworked_closed"], b["closed"]),
                "median_handling_hours": round(statistics.median(b["hours"]), 2) if b["hours"] else None,
            }
        )
    return result


def _workbook(title: str, headers: list[str], rows: list[list]) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.title = title
    sheet.append(headers)
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def figures_xlsx(rows: list[dict], group_by: str) -> bytes:
    headers = [
        "编码",
        "名称",
        "上报数",
        "办结数",
        "办结率",
        "到期数",
        "延期数",
        "按期办结数",
        "按期办结率",
        "返工次数",
        "返工率",
        "处置时长中位数（小时）",
    ]
    keys = [
        "key",
        "name",
        "reported",
        "closed",
        "closure_rate",
        "due",
        "deferred",
        "closed_on_time",
        "on_time_rate",
        "rework_count",
        "rework_rate",
        "median_handling_hours",
    ]
    return _workbook(
        f"按{ {'grid': '网格', 'community': '社区', 'department': '部门', 'category': '类别', 'worker': '网格员'}[group_by] }统计",
        headers,
        [[r[k] for k in keys] for r in rows],
    )


def issues_xlsx(issues: list[Issue]) -> bytes:
    categories = {c.id: c.name_zh for c in db.session.scalars(select(Category))}
    areas = dict(db.session.execute(select(Area.id, Area.name)).all())

    def local(value):
        return value.astimezone(LOCAL_TZ).strftime("%Y-%m-%d %H:%M") if value else ""

    headers = [
        "编号",
        "类别",
        "描述",
        "所在网格",
        "状态",
        "上报时间",
        "派遣时间",
        "办理时限",
        "办结时间",
        "按期",
        "返工次数",
    ]
    rows = [
        [
            i.id,
            categories.get(i.category_id),
            i.description,
            areas.get(i.area_id),
            i.status,
            local(i.received_at),
            local(i.dispatched_at),
            local(i.deadline),
            local(i.closed_at),
            "" if i.closed_on_time is None else ("是" if i.closed_on_time else "否"),
            i.rework_count,
        ]
        for i in issues
    ]
    return _workbook("网格问题台账", headers, rows)
