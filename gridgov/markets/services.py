"""Markets, their exceptions and town blackouts, and the occurrences computed from them."""

from __future__ import annotations

import gc
from contextlib import contextmanager
from datetime import date, time, timedelta

from sqlalchemy import Row, select
from sqlalchemy.exc import IntegrityError

from gridgov.areas.geometry import rfc7946_oriented
from gridgov.areas.models import Area
from gridgov.areas.scope import area_in_scope
from gridgov.areas.services import get_area
from gridgov.auth.models import User
from gridgov.errors import Conflict, Invalid, NotFound
from gridgov.extensions import db
from gridgov.i18n import Msg
from gridgov.markets.models import Market, MarketAssignment, MarketBlackout, MarketException, PatrolTeam
from gridgov.markets.revisions import bump_day, bump_market
from gridgov.markets.rules import RuleError, parse_rule
from gridgov.markets.schedule import DayTable, LunarBlackout

MAX_RANGE_DAYS = 800


def _check_range(start: date, end: date) -> None:
    if end < start:
        raise Invalid(
            Msg("结束日期早于开始日期。", "`to` is before `from`."), errors={"query": {"to": ["before from"]}}
        )
    if (end - start).days > MAX_RANGE_DAYS:
        raise Invalid(
            Msg(f"日期范围最长 {MAX_RANGE_DAYS} 天。", f"The range may span at most {MAX_RANGE_DAYS} days.")
        )


def _rule(rule) -> dict:
    try:
        return parse_rule(rule)
    except RuleError as exc:
        raise Invalid(exc.message, errors={"json": {"rule": [exc.message]}}) from exc


def _check_hours(start: time, end: time) -> None:
    if end <= start:
        raise Invalid(
            Msg("结束时间必须晚于开始时间。", "end_time must be after start_time."),
            errors={"json": {"end_time": ["after start_time"]}},
        )


# What computing a market's occurrences reads of it.
OCCURRENCE_COLUMNS = tuple(
    Market.__table__.c[name]
    for name in ("id", "name", "area_id", "rule", "missing_day", "start_time", "end_time")
)


def markets_query(user: User, area_id: int | None = None):
    query = (
        select(Market).join(Area, Area.id == Market.area_id).where(area_in_scope(user)).order_by(Market.id)
    )
    if area_id is not None:
        query = query.where(Area.path.startswith(get_area(user, area_id).path, autoescape=True))
    return query


def get_market(user: User, market_id: int) -> Market:
    market = db.session.scalar(markets_query(user).where(Market.id == market_id))
    if market is None:
        raise NotFound()
    return market


def _writable_area(user: User, area_id: int) -> Area:
    """Staff run the markets of every area in their scope (the routes require the staff role)."""
    return get_area(user, area_id)


def create_market(user: User, data: dict) -> Market:
    """Create a market in a village or community in scope (commits)."""
    _writable_area(user, data["area_id"])
    rule = _rule(data["rule"])
    _check_hours(data["start_time"], data["end_time"])
    market = Market(
        name=data["name"],
        area_id=data["area_id"],
        rule=rule,
        rule_text=data["rule"] if isinstance(data["rule"], str) else None,
        missing_day=data["missing_day"],
        start_time=data["start_time"],
        end_time=data["end_time"],
        zones=rfc7946_oriented(data.get("zones")),
    )
    db.session.add(market)
    db.session.commit()
    return market


def update_market(user: User, market_id: int, changes: dict) -> Market:
    """Change a market's name, rule, hours, zones or missing-day policy (commits)."""
    market = get_market(user, market_id)
    _writable_area(user, market.area_id)
    before = _calendar_facts(market)
    if "rule" in changes:
        market.rule = _rule(changes["rule"])
        market.rule_text = changes["rule"] if isinstance(changes["rule"], str) else None
    for field in ("name", "start_time", "end_time", "zones", "missing_day", "active"):
        if field in changes:
            setattr(market, field, rfc7946_oriented(changes[field]) if field == "zones" else changes[field])
    _check_hours(market.start_time, market.end_time)
    after = _calendar_facts(market)
    if before != after:
        bump_market(market, significant=before[1:] != after[1:])
    db.session.commit()
    return market


def _calendar_facts(market: Market) -> tuple:
    """What a calendar shows of every occurrence: its name, then what moves them (hours, days)."""
    return (market.name, market.start_time, market.end_time, market.rule, market.missing_day, market.active)


def add_exception(user: User, market_id: int, data: dict) -> MarketException:
    """Cancel or move one occurrence, or add an extra market day, with a reason (commits).

    A moved day keeps its teams: their duty moves with it and their members are told.
    """
    market = get_market(user, market_id)
    _writable_area(user, market.area_id)
    kind, day, new_date = data["action"], data["date"], data.get("new_date")
    held = set(DayTable(day, day).dates(market.rule, market.missing_day))
    if kind in ("cancel", "move") and day not in held:
        raise Invalid(
            Msg(f"{day} 不是该集市的集日。", f"{day} is not a market day of this market."),
            errors={"json": {"date": ["not a market day"]}},
        )
    if kind == "move" and (new_date is None or new_date == day):
        raise Invalid(
            Msg("改期需要一个不同的新日期。", "A move needs a different new_date."),
            errors={"json": {"new_date": ["required for move"]}},
        )
    if kind == "add" and day in held:
        raise Invalid(Msg(f"{day} 已是集日。", f"{day} is already a market day."))
    taken = Conflict(
        Msg(f"{day} 已有调整记录，请先撤销。", f"{day} already has an exception; remove it first.")
    )
    if (
        db.session.scalar(
            select(MarketException.id).where(
                MarketException.market_id == market.id, MarketException.date == day
            )
        )
        is not None
    ):
        raise taken
    exception = MarketException(
        market_id=market.id,
        date=day,
        kind=kind,
        new_date=new_date if kind == "move" else None,
        reason=data["reason"],
        created_by=user.id,
    )
    db.session.add(exception)
    bump_day(market.id, day)
    if kind == "move":
        from gridgov.markets.rosters import move_duty

        move_duty(user, market, day, new_date)
    try:
        db.session.commit()
    except IntegrityError:  # the same day, adjusted by someone else at the same moment
        db.session.rollback()
        raise taken from None
    return exception


def remove_exception(user: User, market_id: int, exception_id: int) -> None:
    """Undo a cancellation, move or addition; a moved day's teams go back with it (commits)."""
    market = get_market(user, market_id)
    _writable_area(user, market.area_id)
    exception = db.session.scalar(
        select(MarketException).where(
            MarketException.id == exception_id, MarketException.market_id == market.id
        )
    )
    if exception is None:
        raise NotFound()
    bump_day(market.id, exception.date)
    if exception.kind == "move":
        from gridgov.markets.rosters import move_duty

        move_duty(user, market, exception.new_date, exception.date)
    db.session.delete(exception)
    db.session.commit()


def create_blackout(user: User, data: dict) -> MarketBlackout:
    """A standing lunar-date range in which every market of a town is cancelled (commits)."""
    area = _writable_area(user, data["area_id"])
    if area.level not in ("district", "town"):
        raise Invalid(
            Msg("休市规则按镇（街道）或区设置。", "Blackouts are set for a town or district."),
            errors={"json": {"area_id": ["not a town or district"]}},
        )
    blackout = MarketBlackout(
        area_id=area.id,
        name=data["name"],
        start_month=data["start"]["month"],
        start_day=data["start"]["day"],
        end_month=data["end"]["month"],
        end_day=data["end"]["day"],
    )
    db.session.add(blackout)
    db.session.commit()
    return blackout


def blackouts_query(user: User):
    return (
        select(MarketBlackout)
        .join(Area, Area.id == MarketBlackout.area_id)
        .where(area_in_scope(user))
        .order_by(MarketBlackout.id)
    )


WIDE_IN = 500  # beyond this many ids, one subquery and a filter in Python beat thousands of binds


def among(column, ids: set[int], superset):
    """`column IN ids`; for many ids `column IN (superset)`, whose extra rows the caller drops."""
    return column.in_(ids) if len(ids) <= WIDE_IN else column.in_(superset)


def ancestor_paths(path: str) -> list[str]:
    """An area's path and each shorter prefix: the paths of its ancestors ("/1/", "/1/4/", "/1/4/9/")."""
    parts = path.strip("/").split("/")
    return ["/" + "/".join(parts[:i]) + "/" for i in range(1, len(parts) + 1)]


def _blackouts_for(markets: list[Market | Row]) -> dict[int, list[tuple[Row, LunarBlackout]]]:
    """Blackouts of each market's town or district (an ancestor of, or the same as, its area), as
    rows (id, name, …): only read here, and an entity load cost three times the statement."""
    areas, closed = Area.__table__.c, MarketBlackout.__table__.c
    # a row of market_days came with its area's path; an entity's is read here
    paths = {m.area_id: m.area_path for m in markets if "area_path" in getattr(m, "_fields", ())}
    unknown = {m.area_id for m in markets} - paths.keys()
    if unknown:
        paths.update(
            db.session.execute(
                select(areas.id, areas.path).where(
                    among(areas.id, unknown, select(Market.__table__.c.area_id))
                )
            ).all()
        )
    by_path: dict[str, list] = {}
    for blackout in db.session.execute(
        select(
            closed.id, closed.name, closed.start_month, closed.start_day, closed.end_month, closed.end_day,
            areas.path,
        )  # fmt: skip
        .join_from(MarketBlackout.__table__, Area.__table__, areas.id == closed.area_id)
        .order_by(closed.id)
    ):
        rule = LunarBlackout(
            (blackout.start_month, blackout.start_day), (blackout.end_month, blackout.end_day)
        )
        by_path.setdefault(blackout.path, []).append((blackout, rule))
    of_area: dict[int, list] = {}  # markets of one village share its blackouts
    for area_id in {m.area_id for m in markets}:
        found = [b for path in ancestor_paths(paths[area_id]) for b in by_path.get(path, ())]
        of_area[area_id] = sorted(found, key=lambda pair: pair[0].id)
    return {market.id: of_area[market.area_id] for market in markets}


def compute_occurrences(
    markets: list[Market | Row], start: date, end: date, with_cancelled: bool = True
) -> list[dict]:
    """Every occurrence of these markets in [start, end], by date then market, with status and teams.

    A market is an entity or a row of `OCCURRENCE_COLUMNS`: only those attributes are read."""
    if not markets:
        return []
    ids = {m.id for m in markets}
    every_market = select(Market.id)
    found = MarketException.__table__.c  # rows, not entities: only read, never changed or kept
    exceptions = list(
        db.session.execute(
            select(found.id, found.market_id, found.date, found.kind, found.new_date, found.reason).where(
                among(found.market_id, ids, every_market),
                ((found.date >= start) & (found.date <= end))
                | ((found.new_date >= start) & (found.new_date <= end)),
            )
        )
    )
    teams: dict[tuple[int, date], list[dict]] = {}
    for row in db.session.execute(  # columns, not entities: a team's members are not needed here
        select(
            MarketAssignment.market_id,
            MarketAssignment.date,
            MarketAssignment.id.label("assignment_id"),
            PatrolTeam.id,
            PatrolTeam.name,
        )
        .join(PatrolTeam, PatrolTeam.id == MarketAssignment.team_id)
        .where(
            among(MarketAssignment.market_id, ids, every_market),
            MarketAssignment.date >= start,
            MarketAssignment.date <= end,
        )
        .order_by(PatrolTeam.name)
    ):
        teams.setdefault((row.market_id, row.date), []).append(
            {"id": row.id, "name": row.name, "assignment_id": row.assignment_id}
        )
    exceptions = [e for e in exceptions if e.market_id in ids]
    extra = [e.new_date for e in exceptions if e.new_date] + [e.date for e in exceptions]
    table = DayTable(min([start, *extra]), max([end, *extra]))
    blackouts = _blackouts_for(markets)
    by_market: dict[int, dict[date, MarketException]] = {}
    for e in exceptions:
        by_market.setdefault(e.market_id, {})[e.date] = e
    with gc_paused():
        return _build_occurrences(markets, start, end, table, by_market, blackouts, teams, with_cancelled)


@contextmanager
def gc_paused():
    """Hold the cyclic garbage collector while hundreds of thousands of dicts are made: they form
    no cycles, and its repeated passes over them would double the cost. Reference counting still frees.

    On the way out the new objects are moved to the oldest generation unscanned (freeze, then
    unfreeze); re-enabling alone would make the next allocation scan all of them at once.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        gc.unfreeze()
        if was_enabled:
            gc.enable()


def _exception_entries(own: dict, start: date, end: date, held: set) -> dict[date, dict]:
    """What exceptions make of single days: cancelled, moved away, moved here, or added."""
    entries: dict[date, dict] = {}
    for e in own.values():
        if e.kind == "add" and start <= e.date <= end:
            entries[e.date] = {"status": "scheduled", "added": True, "reason": e.reason, "exception_id": e.id}
        elif e.kind == "cancel" and e.date in held:
            entries[e.date] = {"status": "cancelled", "reason": e.reason, "exception_id": e.id}
        elif e.kind == "move":
            if e.date in held:
                entries[e.date] = {
                    "status": "moved",
                    "moved_to": e.new_date.isoformat(),
                    "reason": e.reason,
                    "exception_id": e.id,
                }
            if start <= e.new_date <= end:
                entries[e.new_date] = {
                    "status": "scheduled",
                    "moved_from": e.date.isoformat(),
                    "reason": e.reason,
                    "exception_id": e.id,
                }
    return entries


def _day_plan(days, table: DayTable, clocks: tuple[str, str], lunar_rule: bool) -> list[tuple]:
    """What each of these days' occurrences repeats for one (rule, hours): date, lunar, start, end."""
    plan = []
    for day in days:
        iso, lunar_dict, offset = table.facts[day]
        uncertain = lunar_rule and lunar_dict["uncertain"]
        plan.append((day, iso, lunar_dict, uncertain, iso + clocks[0] + offset, iso + clocks[1] + offset))
    return plan


def _closed_days(lunar_of: dict, blackouts: list[tuple]) -> dict[date, Row]:
    """The table's days a set of blackouts closes, each with the first of them that closes it: once
    per set (per town), not per market, whatever rule and exceptions a market has."""
    closed = {}
    for day, lunar in lunar_of.items():
        for blackout, rule in blackouts:
            if rule.covers(lunar):
                closed[day] = blackout
                break
    return closed


def _build_occurrences(markets, start, end, table, by_market, blackouts, teams, with_cancelled) -> list[dict]:
    by_day: dict[date, list[dict]] = {day: [] for day, _ in table.days}
    facts, lunar_of = table.facts, table.lunar
    no_teams: list = []
    # Thousands of markets share a few dozen (rule, hours) pairs and a town's blackouts: each
    # pair's days and strings, and the days each town's set of blackouts closes, are worked out once.
    plans: dict[tuple, list[tuple]] = {}
    closures: dict[tuple, dict] = {}
    hours: dict[tuple, tuple[str, str]] = {}
    # Visiting markets by (opening time, id) leaves each day's list already in output order.
    for market in sorted(markets, key=lambda m: (m.start_time, m.id)):
        # Plain locals: ORM attribute access inside the day loop would dominate the cost.
        market_id, name, area_id = market.id, market.name, market.area_id
        clocks = hours.get((market.start_time, market.end_time))
        if clocks is None:
            clocks = hours[market.start_time, market.end_time] = (
                f"T{market.start_time:%H:%M:%S}",
                f"T{market.end_time:%H:%M:%S}",
            )
        market_blackouts = blackouts[market_id]
        lunar_rule = market.rule["calendar"] == "lunar"
        held = table.shared_dates(market.rule, market.missing_day)
        own = by_market.get(market_id)
        special = _exception_entries(own, start, end, {d for d in held if start <= d <= end}) if own else {}
        if special:
            days = sorted({d for d in held if start <= d <= end} | set(special))
            plan = _day_plan(days, table, clocks, lunar_rule)
        else:
            key = (id(held), clocks)  # `held` is the table's own tuple for this rule: one id per rule
            plan = plans.get(key)
            if plan is None:
                plan = plans[key] = _day_plan(
                    (d for d in held if start <= d <= end), table, clocks, lunar_rule
                )
        if not plan:
            continue
        closure = None
        if market_blackouts:
            closure_key = tuple(b.id for b, _ in market_blackouts)
            closure = closures.get(closure_key)
            if closure is None:
                closure = closures[closure_key] = _closed_days(lunar_of, market_blackouts)
        for day, iso, lunar_dict, uncertain, start_at, end_at in plan:
            entry = special.get(day) if special else None
            status = "scheduled" if entry is None else entry["status"]
            if closure and status == "scheduled" and day in closure:
                blackout = closure[day]
                entry = {  # a day moved into the closure keeps where it came from
                    **(entry or {}),
                    "status": "cancelled",
                    "reason": blackout.name,
                    "blackout_id": blackout.id,
                }
                status = "cancelled"
            if status != "scheduled" and not with_cancelled:
                continue
            item = {
                "status": status,
                "market_id": market_id,
                "market_name": name,
                "area_id": area_id,
                "date": iso,
                "lunar": lunar_dict,
                "uncertain": uncertain,
                "start": start_at,
                "end": end_at,
                "teams": teams.get((market_id, day), no_teams)
                if teams and status == "scheduled"
                else no_teams,
            }
            if entry is not None:
                item.update(entry)
                if "moved_from" in entry:  # labelled by the rule day it replaces
                    item["rule_lunar"] = facts[date.fromisoformat(entry["moved_from"])][1]
            by_day[day].append(item)
    out: list[dict] = []
    for day_items in by_day.values():  # the table's days are in date order
        out.extend(day_items)
    return out


def occurrences(user: User, market_id: int, start: date, end: date) -> list[dict]:
    _check_range(start, end)
    return compute_occurrences([get_market(user, market_id)], start, end)


def market_days(user: User, start: date, end: date, area_id: int | None = None) -> list[dict]:
    """Every market's occurrences in the range, for the markets in scope (and under `area_id`)."""
    _check_range(start, end)
    query = markets_query(user, area_id).where(Market.active.is_(True))
    # Rows, not entities: only read here, and 10,000 entities cost a quarter of a year's occurrences.
    markets = list(
        db.session.execute(query.with_only_columns(*OCCURRENCE_COLUMNS, Area.path.label("area_path")))
    )
    return compute_occurrences(markets, start, end)


def scheduled_on(market: Market, day: date) -> dict | None:
    """The occurrence held on this date, if the market is held then."""
    found = [
        o
        for o in compute_occurrences([market], day, day)
        if o["status"] == "scheduled" and o["date"] == day.isoformat()
    ]
    return found[0] if found else None


def default_window(today: date) -> tuple[date, date]:
    return today - timedelta(days=30), today + timedelta(days=365)
