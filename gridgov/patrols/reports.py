"""The daily report (日报): per micro-grid, worker, grid, community and town, frozen at 23:59."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, time, timedelta

from flask import current_app
from sqlalchemy import and_, case, func, or_, select

from gridgov.areas.models import Area
from gridgov.areas.services import get_area
from gridgov.auth.models import User, UserArea, UserRole
from gridgov.errors import Invalid
from gridgov.extensions import db
from gridgov.i18n import Msg
from gridgov.issues.models import Issue
from gridgov.patrols.models import DailyReport, Patrol, PatrolGrid, PatrolPlan
from gridgov.spreadsheets import Column, workbook
from gridgov.timeutil import LOCAL_TZ, local_today, utcnow
from gridgov.workcal.services import work_calendar

LEVEL_ORDER = ("town", "community", "grid")


def required_patrols(frequency: str, day: date) -> int:
    if frequency == "twice_daily":
        return 2
    if frequency == "weekdays":
        return 1 if work_calendar().is_workday(day) else 0
    return 1


def _day_bounds(day: date) -> tuple[datetime, datetime]:
    return datetime.combine(day, time(0), LOCAL_TZ), datetime.combine(
        day + timedelta(days=1), time(0), LOCAL_TZ
    )


def collect(area: Area, day: date) -> dict:
    """The raw rows of a day under an area: micro-grids and workers."""
    start, end = _day_bounds(day)
    micro = list(
        db.session.scalars(
            select(Area)
            .where(Area.path.startswith(area.path, autoescape=True), Area.level == "micro_grid")
            .order_by(Area.code)
        )
    )
    ids = [m.id for m in micro]
    plans = dict(
        db.session.execute(
            select(PatrolPlan.area_id, PatrolPlan.frequency).where(PatrolPlan.area_id.in_(ids))
        ).all()
    )
    counted = dict(
        db.session.execute(
            select(PatrolGrid.area_id, func.count(func.distinct(PatrolGrid.patrol_id)))
            .join(Patrol, Patrol.id == PatrolGrid.patrol_id)
            .where(PatrolGrid.area_id.in_(ids), PatrolGrid.counted.is_(True), Patrol.local_date == day)
            .group_by(PatrolGrid.area_id)
        ).all()
    )
    received_today = and_(Issue.received_at >= start, Issue.received_at < end)
    overdue_by_end = Issue.overdue_at(end)
    issue_counts = db.session.execute(  # found, fixed the same day and overdue, in one pass
        select(
            Issue.area_id,
            func.sum(case((received_today, 1), else_=0)),
            func.sum(case((and_(received_today, Issue.fixed_at < end), 1), else_=0)),
            func.sum(case((overdue_by_end, 1), else_=0)),
        )
        .where(Issue.area_id.in_(ids), or_(received_today, overdue_by_end))
        .group_by(Issue.area_id)
    ).all()
    found = {area_id: int(n) for area_id, n, _, _ in issue_counts}
    fixed = {area_id: int(n) for area_id, _, n, _ in issue_counts}
    overdue = {area_id: int(n) for area_id, _, _, n in issue_counts}
    names = {
        a.id: (a.code, a.name, a.level)
        for a in db.session.scalars(select(Area).where(Area.path.startswith(area.path, autoescape=True)))
    }
    micro_rows = []
    for m in micro:
        required = required_patrols(plans.get(m.id, "daily"), day)
        done = counted.get(m.id, 0)
        micro_rows.append(
            {
                "id": m.id,
                "code": m.code,
                "name": m.name,
                "path": [int(p) for p in m.path.strip("/").split("/")],
                "required": required,
                "patrols_counted": done,
                "due": required > 0,
                "covered": required > 0 and done >= required,
                "issues_found": found.get(m.id, 0),
                "fixed_same_day": fixed.get(m.id, 0),
                "overdue": overdue.get(m.id, 0),
            }
        )
    worker_ids = set(
        db.session.scalars(
            select(UserArea.user_id)
            .join(UserRole, UserRole.user_id == UserArea.user_id)
            .where(UserArea.area_id.in_(ids + [a for a in names]), UserRole.role == "grid_worker")
        )
    )
    patrols = db.session.execute(
        select(Patrol.worker_id, func.count(Patrol.id), func.sum(Patrol.distance_m))
        .where(Patrol.local_date == day, Patrol.worker_id.in_(worker_ids))
        .group_by(Patrol.worker_id)
    ).all()
    by_worker = {w: (n, d or 0.0) for w, n, d in patrols}
    reported = dict(
        db.session.execute(
            select(Issue.reporter_id, func.count(Issue.id))
            .where(Issue.reporter_id.in_(worker_ids), Issue.received_at >= start, Issue.received_at < end)
            .group_by(Issue.reporter_id)
        ).all()
    )
    worker_rows = [
        {
            "id": u.id,
            "name": u.display_name or u.username,
            "patrols": by_worker.get(u.id, (0, 0))[0],
            "distance_m": round(by_worker.get(u.id, (0, 0.0))[1], 1),
            "issues_found": reported.get(u.id, 0),
        }
        for u in db.session.scalars(select(User).where(User.id.in_(worker_ids)).order_by(User.id))
    ]
    return {
        "micro_grids": micro_rows,
        "workers": worker_rows,
        "names": {str(k): list(v) for k, v in names.items()},
    }


def _summary_row(rows: list[dict]) -> dict:
    due = sum(1 for r in rows if r["due"])
    covered = sum(1 for r in rows if r["covered"])
    return {
        "due": due,
        "covered": covered,
        "missed": due - covered,
        "coverage": round(covered / due, 4) if due else None,
        "issues_found": sum(r["issues_found"] for r in rows),
        "fixed_same_day": sum(r["fixed_same_day"] for r in rows),
        "overdue": sum(r["overdue"] for r in rows),
    }


def assemble(area: Area, day: date, raw: dict) -> dict:
    """The report for `area` from raw rows (which may be a frozen town's, filtered to the area)."""
    rows = [r for r in raw["micro_grids"] if area.id in r["path"]]
    groups: dict[str, dict[int, list[dict]]] = {level: defaultdict(list) for level in LEVEL_ORDER}
    names = raw["names"]
    for row in rows:
        for ancestor in row["path"]:
            code, name, level = names.get(str(ancestor), (None, None, None))
            if level in groups:
                groups[level][ancestor].append(row)
    levels = {
        level: [
            {"id": aid, "code": names[str(aid)][0], "name": names[str(aid)][1], **_summary_row(members)}
            for aid, members in sorted(groups[level].items(), key=lambda kv: names[str(kv[0])][0])
        ]
        for level in LEVEL_ORDER
    }
    total = _summary_row(rows)
    distance = sum(w["distance_m"] for w in raw["workers"])
    patrols = sum(w["patrols"] for w in raw["workers"])
    coverage = f"{total['coverage'] * 100:.0f}%" if total["coverage"] is not None else "—"
    missed = [r["name"] for r in rows if r["due"] and not r["covered"]]
    sentence = (
        f"{day:%Y年%m月%d日}，{area.name}应巡微网格 {total['due']} 个，已巡 {total['covered']} 个（覆盖率 {coverage}），"
        f"巡查 {patrols} 次、{distance / 1000:.1f} 公里；发现问题 {total['issues_found']} 件，当日整改 {total['fixed_same_day']} 件，"
        f"超期未办 {total['overdue']} 件"
        + (f"；未巡：{'、'.join(missed[:5])}{'等' if len(missed) > 5 else ''}。" if missed else "。")
    )
    return {
        "date": day.isoformat(),
        "area": {"id": area.id, "code": area.code, "name": area.name, "level": area.level},
        "total": {**total, "patrols": patrols, "distance_m": round(distance, 1)},
        "summary": sentence,
        "micro_grids": [{k: v for k, v in r.items() if k != "path"} for r in rows],
        "workers": raw["workers"],
        "towns": levels["town"],
        "communities": levels["community"],
        "grids": levels["grid"],
    }


def _frozen_for(area: Area, day: date) -> DailyReport | None:
    ancestors = [int(p) for p in area.path.strip("/").split("/")]
    return db.session.scalar(
        select(DailyReport)
        .where(DailyReport.day == day, DailyReport.area_id.in_(ancestors))
        .order_by(DailyReport.id)
        .limit(1)
    )


def daily_report(user: User, area_id: int, day: date) -> dict:
    """The frozen report when the day was frozen (with what changed since as a correction), else live.

    Only days the zone has records for: from GRIDGOV_REPORTS_SINCE up to today (China time); others 422.
    """
    check_report_day(day)
    area = get_area(user, area_id)
    frozen = _frozen_for(area, day)
    live = assemble(area, day, collect(area, day))
    if frozen is None:
        return {**live, "frozen": False}
    report = assemble(area, day, frozen.data)
    changed = {k: live["total"][k] for k in live["total"] if live["total"][k] != report["total"][k]}
    report.update(
        frozen=True,
        frozen_at=frozen.frozen_at.isoformat(),
        correction={"total": live["total"], "changed": changed, "summary": live["summary"]}
        if changed
        else None,
    )
    return report


def check_report_day(day: date) -> None:
    """Refuse (422) a day before the zone kept records (REPORTS_SINCE) or after today."""
    since, today = current_app.config["REPORTS_SINCE"], local_today()
    if not since <= day <= today:
        raise Invalid(
            Msg(
                f"日报只能查询 {since.isoformat()} 至今天（{today.isoformat()}）之间的日期。",
                f"A daily report exists only for days from {since.isoformat()} to today ({today.isoformat()}).",
            ),
            errors={"query": {"date": [f"must be between {since.isoformat()} and {today.isoformat()}"]}},
        )


def freeze_day(day: date, now: datetime | None = None) -> int:
    """Snapshot every town's (and district's) raw rows for a day, once (commits)."""
    frozen_at = now or utcnow()
    made = 0
    for area in db.session.scalars(select(Area).where(Area.level.in_(("district", "town")))):
        if db.session.scalar(
            select(DailyReport.id).where(DailyReport.area_id == area.id, DailyReport.day == day)
        ):
            continue
        db.session.add(DailyReport(area_id=area.id, day=day, frozen_at=frozen_at, data=collect(area, day)))
        made += 1
    db.session.commit()
    return made


def daily_report_xlsx(report: dict) -> bytes:
    """The day's per-micro-grid rows as a spreadsheet."""
    columns = [
        Column("网格编码"),
        Column("微网格"),
        Column("应巡"),
        Column("已巡"),
        Column("计入巡查次数", "int"),
        Column("发现问题", "int"),
        Column("当日整改", "int"),
        Column("超期", "int"),
    ]
    rows = [
        [
            r["code"],
            r["name"],
            "是" if r["due"] else "否",
            "是" if r["covered"] else "否",
            r["patrols_counted"],
            r["issues_found"],
            r["fixed_same_day"],
            r["overdue"],
        ]
        for r in report["micro_grids"]
    ]
    return workbook("巡查日报", columns, rows)
