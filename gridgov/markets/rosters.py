"""Patrol teams, their assignments to market days (with conflict checks), coverage and check-ins."""

from __future__ import annotations

import hashlib
import secrets
from datetime import date, datetime

from shapely.geometry import Point, shape
from sqlalchemy import select, text

from gridgov.areas.crs import to_wgs84
from gridgov.areas.models import Area
from gridgov.areas.scope import area_in_scope
from gridgov.areas.services import get_area
from gridgov.auth.models import User
from gridgov.device_clock import check_device_time
from gridgov.errors import Conflict, Invalid, NotFound
from gridgov.extensions import db
from gridgov.i18n import Msg
from gridgov.markets.models import Market, MarketAssignment, MarketCheckin, PatrolTeam, PatrolTeamMember
from gridgov.markets.revisions import bump_day, rule_days
from gridgov.markets.services import (
    _check_range,
    compute_occurrences,
    get_market,
    markets_query,
    scheduled_on,
)
from gridgov.notifications.outbox import Draft, enqueue
from gridgov.timeutil import LOCAL_TZ, local_today, utcnow

ROSTER_LOCK = 0x6767_5253  # one PostgreSQL advisory lock for every roster write ("ggRS")


def lock_rosters() -> None:
    """Serialise roster writes until the commit (PostgreSQL), so two at once cannot both pass the
    conflict check: a clash can involve any team that shares a person, so no row lock covers it."""
    if db.engine.dialect.name == "postgresql":
        db.session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": ROSTER_LOCK})


def teams_query(user: User):
    return (
        select(PatrolTeam)
        .join(Area, Area.id == PatrolTeam.area_id)
        .where(area_in_scope(user))
        .order_by(PatrolTeam.id)
    )


def get_team(user: User, team_id: int) -> PatrolTeam:
    team = db.session.scalar(teams_query(user).where(PatrolTeam.id == team_id))
    if team is None:
        raise NotFound()
    return team


def _members(member_ids: list[int]) -> list[PatrolTeamMember]:
    found = set(db.session.scalars(select(User.id).where(User.id.in_(member_ids), User.is_active.is_(True))))
    missing = sorted(set(member_ids) - found)
    if missing:
        raise Invalid(
            Msg(f"用户不存在或已停用：{missing}。", f"Unknown or disabled users: {missing}."),
            errors={"json": {"member_ids": [f"unknown {missing}"]}},
        )
    return [PatrolTeamMember(user_id=i) for i in sorted(set(member_ids))]


def create_team(user: User, data: dict) -> PatrolTeam:
    """A patrol team (patrol members, staff, village cadres) for a town or village in scope (commits)."""
    get_area(user, data["area_id"])
    team = PatrolTeam(name=data["name"], area_id=data["area_id"], members=_members(data["member_ids"]))
    db.session.add(team)
    db.session.commit()
    return team


def update_team(user: User, team_id: int, changes: dict) -> PatrolTeam:
    team = get_team(user, team_id)
    if "member_ids" in changes:
        lock_rosters()
        db.session.refresh(team)
    if "name" in changes:
        team.name = changes["name"]
    if "member_ids" in changes:
        wanted = {m.user_id for m in _members(changes["member_ids"])}
        # Keep the rows of members who stay: replacing them would insert before it deletes and
        # trip the (team, user) unique constraint.
        team.members = [m for m in team.members if m.user_id in wanted] + [
            PatrolTeamMember(user_id=i) for i in sorted(wanted - set(team.member_ids))
        ]
        db.session.flush()
        conflicts = _conflicts_for_team_days(user, team)
        if conflicts:
            db.session.rollback()
            raise Conflict(conflicts[0])
    db.session.commit()
    return team


def rotate_feed_token(user: User, team_id: int) -> str:
    """A new secret for the team's calendar feed; the old one stops working (commits)."""
    team = get_team(user, team_id)
    token = secrets.token_urlsafe(24)
    team.feed_token_hash = hashlib.sha256(token.encode()).hexdigest()
    db.session.commit()
    return token


def revoke_feed_token(user: User, team_id: int) -> None:
    get_team(user, team_id).feed_token_hash = None
    db.session.commit()


def team_by_feed_token(team_id: int, token: str) -> PatrolTeam:
    digest = hashlib.sha256((token or "").encode()).hexdigest()
    team = db.session.scalar(
        select(PatrolTeam).where(PatrolTeam.id == team_id, PatrolTeam.feed_token_hash == digest)
    )
    if team is None or not token:
        raise NotFound()
    return team


def _overlap(a: Market, b: Market) -> bool:
    return a.start_time < b.end_time and b.start_time < a.end_time


def _fmt_conflict(
    user: User,
    team: PatrolTeam,
    market: Market,
    day: date,
    other_market: Market,
    other_team: PatrolTeam,
    person: str | None,
) -> Msg:
    who_zh = f"队员 {person}" if person else f"巡防队 {team.name}"
    who_en = f"member {person}" if person else f"team {team.name}"
    in_scope = db.session.scalar(
        select(Market.id)
        .join(Area, Area.id == Market.area_id)
        .where(Market.id == other_market.id, area_in_scope(user))
    )
    if in_scope is None:  # another town's roster is not the caller's to read
        return Msg(
            f"时间冲突：{who_zh} {day} 已在其他辖区的集市值守，时间重叠，不能同时到 {market.name}。",
            f"Conflict: {who_en} is on duty at a market outside your areas at overlapping hours on {day}, "
            f"so cannot be at {market.name}.",
        )
    return Msg(
        f"时间冲突：{who_zh} {day} 已在 {other_market.name}（{other_market.start_time:%H:%M}–{other_market.end_time:%H:%M}，"
        f"{other_team.name}），不能同时到 {market.name}（{market.start_time:%H:%M}–{market.end_time:%H:%M}）。",
        f"Conflict: {who_en} is at {other_market.name} ({other_market.start_time:%H:%M}–{other_market.end_time:%H:%M}, "
        f"{other_team.name}) on {day}, so cannot be at {market.name} "
        f"({market.start_time:%H:%M}–{market.end_time:%H:%M}).",
    )


def find_conflict(
    user: User, team: PatrolTeam, market: Market, day: date, pending: list[tuple[int, Market, date]] = ()
) -> Msg | None:
    """A message naming the clash when the team, or one of its people, is elsewhere at overlapping hours."""
    people = set(team.member_ids)
    rows = db.session.execute(
        select(MarketAssignment, Market, PatrolTeam)
        .join(Market, Market.id == MarketAssignment.market_id)
        .join(PatrolTeam, PatrolTeam.id == MarketAssignment.team_id)
        .where(MarketAssignment.date == day, MarketAssignment.market_id != market.id)
    ).all()
    others = [(t, m) for _, m, t in rows] + [
        (db.session.get(PatrolTeam, tid), m) for tid, m, d in pending if d == day and m.id != market.id
    ]
    for other_team, other_market in others:
        if not _overlap(market, other_market):
            continue
        if other_team.id == team.id:
            return _fmt_conflict(user, team, market, day, other_market, other_team, None)
        shared = people & set(other_team.member_ids)
        if shared:
            person = db.session.get(User, min(shared))
            return _fmt_conflict(
                user, team, market, day, other_market, other_team, person.display_name or person.username
            )
    return None


def _conflicts_for_team_days(user: User, team: PatrolTeam) -> list[Msg]:
    found = []
    for assignment in db.session.scalars(
        select(MarketAssignment).where(
            MarketAssignment.team_id == team.id, MarketAssignment.date >= local_today()
        )
    ):
        market = db.session.get(Market, assignment.market_id)
        conflict = find_conflict(user, team, market, assignment.date)
        if conflict:
            found.append(conflict)
    return found


def move_duty(user: User, market: Market, from_day: date, to_day: date) -> None:
    """Move the teams on duty at a market day with the day, and tell their members (no commit).

    Decided: the duty moves with the day (the same people know the market and the stall
    holders). A team that would then be at two overlapping markets refuses the move with 409
    naming the clash; a team already on the new day simply keeps that duty.
    """
    moving = list(
        db.session.scalars(
            select(MarketAssignment)
            .where(MarketAssignment.market_id == market.id, MarketAssignment.date == from_day)
            .order_by(MarketAssignment.id)
        )
    )
    if not moving:
        return
    lock_rosters()  # a clash can involve any team sharing a person: rosters change one at a time
    already = set(
        db.session.scalars(
            select(MarketAssignment.team_id).where(
                MarketAssignment.market_id == market.id, MarketAssignment.date == to_day
            )
        )
    )
    now = utcnow()
    drafts = []
    for assignment in moving:
        team = db.session.get(PatrolTeam, assignment.team_id)
        conflict = None if team.id in already else find_conflict(user, team, market, to_day)
        if conflict:
            db.session.rollback()
            raise Conflict(conflict)
        if team.id in already:
            db.session.delete(assignment)
        else:
            assignment.date = to_day
        title = f"值守改期：{market.name} {from_day} 改至 {to_day}"
        body = (
            f"{market.name}原定 {from_day} 的集市改至 {to_day}（{market.start_time:%H:%M}–"
            f"{market.end_time:%H:%M}），{team.name}的值守随之改到 {to_day}，{from_day} 无需到岗。"
        )
        data = {"market_id": market.id, "date": to_day.isoformat(), "from": from_day.isoformat()}
        subject = f"market:{market.id}:{from_day}:{to_day}"
        drafts += [
            Draft("market_duty_moved", subject, now, member, title, body, market.area_id, data)
            for member in team.member_ids
        ]
    db.session.flush()
    enqueue(drafts, now)


def _held_dates(market: Market, start: date, end: date) -> list[date]:
    return [
        date.fromisoformat(o["date"]) for o in compute_occurrences([market], start, end, with_cancelled=False)
    ]


def assign(user: User, market_id: int, data: dict) -> list[MarketAssignment]:
    """Put teams on duty: one occurrence, every occurrence in a period, or a rotation (commits).

    All or nothing: one conflict refuses the whole request with 409 naming both markets.
    """
    market = get_market(user, market_id)
    lock_rosters()
    teams = [get_team(user, tid) for tid in data["team_ids"]]
    if "date" in data and data["date"] is not None:
        if scheduled_on(market, data["date"]) is None:
            raise Invalid(
                Msg(f"{data['date']} 该集市不开市。", f"{market.name} is not held on {data['date']}."),
                errors={"json": {"date": ["not a market day"]}},
            )
        days = [data["date"]]
    else:
        _check_range(data["from_"], data["to"])
        days = _held_dates(market, data["from_"], data["to"])
    rotation = data.get("mode") == "rotation"
    plan = (
        [(teams[i % len(teams)], day) for i, day in enumerate(days)]
        if rotation
        else [(team, day) for day in days for team in teams]
    )
    existing = set(
        db.session.execute(
            select(MarketAssignment.team_id, MarketAssignment.date).where(
                MarketAssignment.market_id == market.id
            )
        ).all()
    )
    made, pending = [], []
    for team, day in plan:
        if (team.id, day) in existing:
            continue
        conflict = find_conflict(user, team, market, day, pending)
        if conflict:
            db.session.rollback()
            raise Conflict(conflict)
        pending.append((team.id, market, day))
        made.append(MarketAssignment(market_id=market.id, date=day, team_id=team.id))
    db.session.add_all(made)
    for rule_day in set(rule_days(market.id, sorted({a.date for a in made})).values()):
        bump_day(market.id, rule_day, significant=False)
    db.session.commit()
    return made


def unassign(user: User, assignment_id: int) -> None:
    assignment = db.session.scalar(
        select(MarketAssignment).where(
            MarketAssignment.id == assignment_id,
            MarketAssignment.market_id.in_(markets_query(user).with_only_columns(Market.id)),
        )
    )
    if assignment is None:
        raise NotFound()
    bump_day(assignment.market_id, rule_days(assignment.market_id, [assignment.date])[assignment.date], False)
    db.session.delete(assignment)
    db.session.commit()


def team_occurrences(team: PatrolTeam, start: date, end: date) -> list[dict]:
    """The occurrences a team is on duty at, plus cancelled or moved ones it had been given."""
    market_ids = set(
        db.session.scalars(
            select(MarketAssignment.market_id).where(
                MarketAssignment.team_id == team.id,
                MarketAssignment.date >= start,
                MarketAssignment.date <= end,
            )
        )
    )
    markets = list(db.session.scalars(select(Market).where(Market.id.in_(market_ids))))
    assigned = set(
        db.session.execute(
            select(MarketAssignment.market_id, MarketAssignment.date).where(
                MarketAssignment.team_id == team.id
            )
        ).all()
    )
    return [
        o
        for o in compute_occurrences(markets, start, end)
        if (o["market_id"], date.fromisoformat(o["date"])) in assigned
        or any(t["id"] == team.id for t in o["teams"])
    ]


def check_in(
    user: User,
    market_id: int,
    lon: float,
    lat: float,
    crs: str = "wgs84",
    at: datetime | None = None,
    device_at: datetime | None = None,
) -> MarketCheckin:
    """Record a patrol member's arrival: inside the vending zones (or the village), and before opening (commits).

    The day and "on time" are the server's receipt (`at`); the phone's own time is kept beside it.
    """
    market = get_market(user, market_id)
    at = at or utcnow()
    day = local_today(at)
    if check_device_time(device_at, at, "device_at") is not None and local_today(device_at) != day:
        raise Invalid(
            Msg("签到只能用于当天的集市。", "A check-in is for today's market only."),
            errors={"json": {"device_at": ["not today"]}},
        )
    if scheduled_on(market, day) is None:
        raise Conflict(
            Msg(f"{market.name} 今天（{day}）不开市。", f"{market.name} is not held today ({day}).")
        )
    wgs_lon, wgs_lat = to_wgs84(lon, lat, crs)
    point = Point(wgs_lon, wgs_lat)
    if market.zones and market.zones.get("features"):
        inside = any(shape(f["geometry"]).covers(point) for f in market.zones["features"])
    else:
        area = db.session.get(Area, market.area_id)
        inside = bool(area.geometry) and shape(area.geometry).covers(point)
    on_time = at.astimezone(LOCAL_TZ).time() <= market.start_time
    checkin = MarketCheckin(
        market_id=market.id,
        date=day,
        user_id=user.id,
        at=at,
        device_at=device_at,
        lon=wgs_lon,
        lat=wgs_lat,
        inside=inside,
        on_time=on_time,
    )
    db.session.add(checkin)
    db.session.commit()
    return checkin
