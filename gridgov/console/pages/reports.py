"""Console pages: the daily report and the figures."""

from __future__ import annotations

from datetime import date

from flask import flash, render_template, request, url_for
from marshmallow import ValidationError

from gridgov.auth.security import current_user
from gridgov.console.blueprint import FIGURE_ROLES, REPORT_ROLES, areas_for_select, bp, page, t
from gridgov.issues import stats
from gridgov.issues.stats import StatsQuerySchema
from gridgov.patrols import reports
from gridgov.timeutil import local_today


def _default_area(user, levels: tuple[str, ...]) -> int | None:
    choices = areas_for_select(user, levels)
    return choices[0].id if choices else None


@bp.get("/report")
@page(*REPORT_ROLES)
def report_page():
    user = current_user()
    levels = ("district", "town", "community", "grid")
    try:
        day = date.fromisoformat(request.args.get("date", ""))
    except ValueError:
        day = local_today()
    area_id = request.args.get("area", type=int) or _default_area(user, levels)
    report = reports.daily_report(user, area_id, day) if area_id else None
    return render_template(
        "console/report.html",
        report=report,
        day=day,
        area_id=area_id,
        areas=areas_for_select(user, levels),
        xlsx_url=url_for("patrols.DailyReport", area=area_id, date=day.isoformat(), format="xlsx")
        if area_id
        else None,
    )


@bp.get("/figures")
@page(*FIGURE_ROLES)
def figures_page():
    """Closure, on-time and rework rates for a period, as bar charts beside their table."""
    user = current_user()
    today = local_today()
    defaults = {"from": today.replace(day=1).isoformat(), "to": today.isoformat(), "group_by": "grid"}
    raw = {
        **defaults,
        **{k: v for k, v in request.args.items() if v and k in ("from", "to", "group_by", "area")},
    }
    try:
        query = StatsQuerySchema().load(raw)
    except ValidationError as exc:
        flash(f"{t('查询条件有误：', 'Invalid filter: ')}{', '.join(exc.messages)}", "error")
        raw = defaults
        query = StatsQuerySchema().load(raw)
    rows = stats.issue_figures(user, query)
    return render_template(
        "console/figures.html",
        rows=rows,
        query=raw,
        groups=stats.GROUPS,
        areas=areas_for_select(user, ("district", "town", "community", "grid")),
        xlsx_url=url_for("issues.IssueStats", **{**raw, "format": "xlsx"}),
    )
