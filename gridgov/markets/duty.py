"""Which market days lack a patrol team and which teams are due at two markets the same day.

One rule for the API (`GET /market-days`, `GET /market-coverage`) and the console's calendar.
"""

from __future__ import annotations

from datetime import date

from gridgov.auth.models import User
from gridgov.markets.services import gc_paused, market_days

NO_CLASHES: list = []  # shared by every day without a clash; never mutated


def mark_duty(days: list[dict]) -> list[dict]:
    """Give each occurrence `uncovered` (held, but no team on duty) and `clashes` (for each of its
    teams, the other markets among `days` that team is on duty at the same date)."""
    # Only held days carry teams (`compute_occurrences`); most have one team and no clash.
    on_duty: dict[tuple[str, int], list[dict]] = {}
    for day in days:
        for team in day["teams"]:
            on_duty.setdefault((day["date"], team["id"]), []).append(day)
    for day in days:
        teams = day["teams"]
        day["uncovered"] = not teams and day["status"] == "scheduled"
        day["clashes"] = NO_CLASHES
        if not teams:
            continue
        clashes = [
            {
                "team_id": team["id"],
                "team_name": team["name"],
                "market_id": other["market_id"],
                "market_name": other["market_name"],
            }
            for team in teams
            for other in on_duty[(day["date"], team["id"])]
            if other is not day
        ]
        if clashes:
            day["clashes"] = clashes
    return days


def duty_days(
    user: User, start: date, end: date, area_id: int | None = None, uncovered: bool | None = None
) -> list[dict]:
    """The market days in scope (under `area_id`) with their gaps and clashes; `uncovered` keeps only
    the days that lack a team (True) or only the others (False). Clashes are counted among the
    markets asked for, so an `area_id` narrows them too."""
    days = market_days(user, start, end, area_id)
    with gc_paused():  # a year of 10,000 markets is 10^5-10^6 dicts the collector would rescan
        mark_duty(days)
    if uncovered is None:
        return days
    return [day for day in days if day["uncovered"] is uncovered]
