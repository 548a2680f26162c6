"""Console pages: the market calendar, team assignments and day exceptions."""

from __future__ import annotations

import calendar
from collections import defaultdict
from datetime import date, timedelta

from flask import redirect, render_template, request, url_for

from gridgov.auth.security import current_user
from gridgov.console.blueprint import DONE, areas_for_select, bp, page, safe_next
from gridgov.console.forms import submit
from gridgov.extensions import db
from gridgov.markets import rosters
from gridgov.markets import services as market_services
from gridgov.markets.lunar import lunar_date
from gridgov.markets.routes import READERS
from gridgov.markets.schemas import AssignSchema, ExceptionSchema
from gridgov.timeutil import local_today


def _month(text: str | None) -> date:
    try:
        year, month = (int(p) for p in (text or "").split("-"))
        return date(year, month, 1)
    except ValueError:
        return local_today().replace(day=1)


@bp.get("/calendar")
@page(*READERS)
def calendar_page():
    """A month of market days with lunar dates, teams, gaps and clashes."""
    user = current_user()
    first = _month(request.args.get("month"))
    last = first.replace(day=calendar.monthrange(first.year, first.month)[1])
    area_id = request.args.get("area", type=int)
    days = market_services.market_days(user, first, last, area_id)
    by_date: dict[str, list[dict]] = defaultdict(list)
    team_days: dict[tuple[str, int], int] = defaultdict(int)
    for occurrence in days:
        by_date[occurrence["date"]].append(occurrence)
        if occurrence["status"] == "scheduled":
            for team in occurrence["teams"]:
                team_days[(occurrence["date"], team["id"])] += 1
    for occurrence in days:
        occurrence["gap"] = occurrence["status"] == "scheduled" and not occurrence["teams"]
        occurrence["clash"] = any(
            team_days[(occurrence["date"], team["id"])] > 1 for team in occurrence["teams"]
        )
    weeks = []
    for week in calendar.Calendar(firstweekday=0).monthdatescalendar(first.year, first.month):
        weeks.append(
            [
                {
                    "date": day,
                    "in_month": day.month == first.month,
                    "lunar": lunar_date(day).name,
                    "markets": by_date.get(day.isoformat(), []),
                }
                for day in week
            ]
        )
    markets = list(db.session.scalars(market_services.markets_query(user, area_id)))
    teams = list(db.session.scalars(rosters.teams_query(user)))
    previous = (first - timedelta(days=1)).replace(day=1)
    following = last + timedelta(days=1)
    return render_template(
        "console/calendar.html",
        first=first,
        last=last,
        weeks=weeks,
        markets=markets,
        teams=teams,
        area_id=area_id,
        areas=areas_for_select(user, ("district", "town", "community")),
        previous=previous.strftime("%Y-%m"),
        following=following.strftime("%Y-%m"),
        gaps=sum(1 for o in days if o["gap"]),
        clashes=sum(1 for o in days if o["clash"]),
        can_edit=user.has_role("admin", "staff"),
    )


def _back_to_calendar():
    return redirect(
        safe_next(request.form.get("back")) if request.form.get("back") else url_for("console.calendar_page")
    )


@bp.post("/markets/<int:market_id>/assign")
@page("staff")
def market_assign(market_id: int):
    user = current_user()
    submit(AssignSchema(), lambda body: rosters.assign(user, market_id, body), DONE)
    return _back_to_calendar()


@bp.post("/markets/<int:market_id>/exceptions")
@page("staff")
def market_exception(market_id: int):
    user = current_user()
    submit(ExceptionSchema(), lambda body: market_services.add_exception(user, market_id, body), DONE)
    return _back_to_calendar()
