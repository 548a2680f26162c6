"""Market days of the demo's past months: rosters, a cancelled and a moved day, check-ins and the
road-occupation reports found while the market was on."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy import select

from gridgov.demo_history import Plan, Zone, at_local
from gridgov.demo_history.issues import Planner, choose, new_life, point_in
from gridgov.extensions import db
from gridgov.markets.models import Market, MarketAssignment, MarketException, PatrolTeam
from gridgov.markets.rosters import assign, check_in
from gridgov.markets.services import add_exception, compute_occurrences

STALL_SCENARIOS = ("closed", "closed", "late", "on_spot", "rejected", "overdue", "closed", "rework")


def _markets() -> list[Market]:
    return list(db.session.scalars(select(Market).order_by(Market.id)))


def _held(market: Market, start: date, end: date) -> list[date]:
    return [
        date.fromisoformat(o["date"]) for o in compute_occurrences([market], start, end, with_cancelled=False)
    ]


def _zone_geometry(zone: Zone, market: Market) -> dict:
    """The market's first vending zone (or its village when it has none)."""
    features = (market.zones or {}).get("features") or []
    return features[0]["geometry"] if features else zone.areas[market.area_id].geometry


def prepare(zone: Zone, start_day: date, today: date) -> None:
    """A rainy-day cancellation and a moved day, announced ahead, then the past months' rotation."""
    admin = zone.users["admin"]
    db.session.info["actor_id"] = admin.id
    by_name = {m.name: m for m in _markets()}
    changes = (
        ("李营集", 6, "cancel", "暴雨预警，本期停集。"),
        ("杨庄集", 3, "move", "与镇物资交流大会同日，顺延一天。"),
    )
    for name, nth, kind, reason in changes:
        market = by_name.get(name)
        if market is None:
            continue
        day = _held(market, start_day, today)[nth]
        if (
            db.session.scalar(select(MarketException.id).where(MarketException.market_id == market.id))
            is None
        ):
            change = {"action": kind, "date": day, "reason": reason}
            if kind == "move":
                change["new_date"] = day + timedelta(days=1)
            add_exception(admin, market.id, change)
    teams = {t.id: t for t in db.session.scalars(select(PatrolTeam))}
    for market in _markets():
        team_ids = sorted(
            {
                team_id
                for (team_id,) in db.session.execute(
                    select(MarketAssignment.team_id).where(MarketAssignment.market_id == market.id)
                )
            }
        )
        if team_ids:
            assign(
                admin,
                market.id,
                {
                    "team_ids": [teams[i].id for i in team_ids],
                    "from_": start_day,
                    "to": today - timedelta(days=1),
                    "mode": "rotation",
                },
            )


def plan_check_ins(plan: Plan, zone: Zone, rng, start_day: date, today: date) -> int:
    """Every member of the team on duty checks in at the vending zone, most before opening."""
    users = {u.id: u for u in zone.users.values()}
    made = 0
    for market in _markets():
        area = _zone_geometry(zone, market)
        rows = db.session.execute(
            select(MarketAssignment.date, PatrolTeam)
            .join(PatrolTeam, PatrolTeam.id == MarketAssignment.team_id)
            .where(MarketAssignment.market_id == market.id, MarketAssignment.date <= today)
        ).all()
        held = set(_held(market, start_day, today))
        for day, team in sorted(rows, key=lambda r: (r[0], r[1].id)):
            if day not in held:
                continue
            opening = market.start_time.hour + market.start_time.minute / 60
            for user_id in sorted(team.member_ids):
                late = rng.random() < 0.1
                at = at_local(day, opening + (rng.uniform(0.1, 0.4) if late else -rng.uniform(0.1, 0.6)))
                lon, lat = (
                    point_in(area, rng)
                    if rng.random() < 0.95
                    else point_in(zone.areas[market.area_id].geometry, rng)
                )
                made += plan.add(at, _check_in(users[user_id], market.id, lon, lat, at))
    return made


def _check_in(user, market_id: int, lon: float, lat: float, at: datetime):
    def run():
        db.session.info["actor_id"] = user.id
        check_in(user, market_id, lon, lat, at=at, device_at=at)

    return run


def plan_market_issues(planner: Planner, start_day: date, today: date) -> int:
    """Road-occupying stalls reported on most market days, inside the vending zone's street."""
    zone, rng = planner.zone, planner.rng
    stall = next(c for c in zone.categories if c.code == "MKT-STALL")
    from gridgov.areas.locating import spatial_index

    index = spatial_index()
    made = 0
    for market in _markets():
        area = _zone_geometry(zone, market)
        opening = market.start_time.hour + market.start_time.minute / 60
        for day in _held(market, start_day, today):
            if rng.random() > 0.6:
                continue
            point = point_in(area, rng)
            micro_grid = zone.areas[index.locate(*point).id]
            at = at_local(day, opening + rng.uniform(0.5, 2.5))
            extra = {"market_id": market.id, "market_date": day.isoformat()}
            life = new_life(zone, planner.count, at, micro_grid, stall, point, extra)
            life.place = f"{market.name}（{day:%m月%d日}集）"
            planner.live(life, rng.choice(STALL_SCENARIOS) if (today - day).days > 3 else choose(rng))
            planner.count += 1
            made += 1
    return made
