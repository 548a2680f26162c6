"""Daily patrols of the demo's past months: each grid worker walks his micro-grids on most working
days, the phone syncs the track afterwards, and each night the day's report is frozen."""

from __future__ import annotations

import math
import uuid
from datetime import date, datetime, timedelta

from gridgov.areas.models import Area
from gridgov.auth.models import User
from gridgov.demo_history import Plan, Zone, at_local
from gridgov.extensions import db
from gridgov.patrols.reports import freeze_day
from gridgov.patrols.services import add_points, finish, set_plan, start
from gridgov.workcal.services import work_calendar

WALK_M_PER_MIN = 70.0
FIX_EVERY_S = 180  # a phone saving battery: one fix every three minutes
M_PER_DEG_LAT = 111_320.0


def _sweep(area: Area, passes: int) -> list[tuple[float, float]]:
    """Waypoints that sweep a rectangular micro-grid in `passes` east–west lines."""
    ring = area.geometry["coordinates"][0]
    lons, lats = [p[0] for p in ring], [p[1] for p in ring]
    west, east = min(lons) + 0.0003, max(lons) - 0.0003
    south, north = min(lats) + 0.0003, max(lats) - 0.0003
    points = []
    for i in range(passes):
        lat = south + (north - south) * i / max(passes - 1, 1)
        points += [(west, lat), (east, lat)] if i % 2 == 0 else [(east, lat), (west, lat)]
    return points


def _walk(waypoints: list[tuple[float, float]], begin: datetime, rng) -> tuple[list[dict], datetime]:
    """Fixes every FIX_EVERY_S seconds along the waypoints at walking pace; returns them and the end time."""
    fixes, t = [], begin
    lon, lat = waypoints[0]
    for target_lon, target_lat in waypoints[1:]:
        while True:
            dx = (target_lon - lon) * M_PER_DEG_LAT * math.cos(math.radians(lat))
            dy = (target_lat - lat) * M_PER_DEG_LAT
            distance = math.hypot(dx, dy)
            fixes.append(
                {"lon": round(lon, 6), "lat": round(lat, 6), "t": t, "accuracy": rng.choice((5.0, 8.0, 12.0))}
            )
            t += timedelta(seconds=FIX_EVERY_S)
            step = WALK_M_PER_MIN * FIX_EVERY_S / 60 * rng.uniform(0.8, 1.1)
            if distance <= step:
                lon, lat = target_lon, target_lat
                break
            lon += (target_lon - lon) * step / distance
            lat += (target_lat - lat) * step / distance
    fixes.append({"lon": round(lon, 6), "lat": round(lat, 6), "t": t, "accuracy": 8.0})
    return fixes, t


def _patrol(worker: User, key: str, begin: datetime, fixes: list[dict], end: datetime):
    def run():
        db.session.info["actor_id"] = worker.id
        patrol, _ = start(worker, str(uuid.uuid5(uuid.NAMESPACE_URL, key)), begin)
        add_points(worker, patrol.id, 1, fixes)
        finish(worker, patrol.id, end)

    return run


def plan_patrols(plan: Plan, zone: Zone, rng, start_day: date, today: date) -> int:
    """Patrol plans on working days for every micro-grid, and the walks that (mostly) meet them."""
    calendar = work_calendar()
    admin = zone.users["admin"]
    db.session.info["actor_id"] = admin.id
    for micro_grid in zone.micro_grids:
        set_plan(admin, micro_grid.id, "weekdays")
    made = 0
    for grid_id, worker in sorted(zone.workers.items()):
        mine = [m for m in zone.micro_grids if m.parent_id == grid_id]
        day = start_day
        while day <= today:
            if calendar.is_workday(day) and rng.random() < 0.85:
                route = list(mine)
                if rng.random() < 0.12:  # a missed micro-grid that day
                    route.pop(rng.randrange(len(route)))
                waypoints = [w for m in route for w in _sweep(m, rng.choice((3, 4)))]
                begin = at_local(day, rng.uniform(8.5, 10.0))
                fixes, end = _walk(waypoints, begin, rng)
                synced = end + timedelta(minutes=rng.randint(2, 40))
                made += plan.add(
                    synced, _patrol(worker, f"gridgov-demo-patrol-{worker.username}-{day}", begin, fixes, end)
                )
            day += timedelta(days=1)
    return made


def plan_freezes(plan: Plan, start_day: date, today: date) -> None:
    """The nightly freeze of each past day's report, half an hour after midnight."""
    day = start_day
    while day < today:
        plan.add(at_local(day + timedelta(days=1), 0.5), lambda d=day: freeze_day(d))
        day += timedelta(days=1)
