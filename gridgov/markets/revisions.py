"""When an occurrence last changed, for calendars: SEQUENCE counts its significant changes (date,
time, status) and LAST-MODIFIED/DTSTAMP is the time of its last change of any kind (duty too).

An occurrence is named by its rule day, the date the rule gives it, which stays its UID when it
moves. Nothing here commits: the service that makes the change owns the transaction.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import select

from gridgov.extensions import db
from gridgov.markets.models import Market, MarketBlackout, MarketDayRevision, MarketException
from gridgov.timeutil import as_utc, utcnow


def bump_day(market_id: int, rule_day: date, significant: bool = True) -> None:
    """Record a change of one occurrence; `significant` (moved, cancelled, restored) bumps SEQUENCE."""
    row = db.session.scalar(
        select(MarketDayRevision).where(
            MarketDayRevision.market_id == market_id, MarketDayRevision.date == rule_day
        )
    )
    if row is None:
        row = MarketDayRevision(market_id=market_id, date=rule_day, sequence=0)
        db.session.add(row)
    row.sequence = (row.sequence or 0) + (1 if significant else 0)
    row.revised_at = utcnow()


def bump_market(market: Market, significant: bool) -> None:
    """Record a change of every occurrence (a new name; new hours, rule or activity if significant)."""
    market.revision = (market.revision or 0) + (1 if significant else 0)
    market.revised_at = utcnow()


def rule_days(market_id: int, held_days: list[date]) -> dict[date, date]:
    """The rule day of each date a market is held on: itself, or the day moved to it."""
    moved = dict(
        db.session.execute(
            select(MarketException.new_date, MarketException.date).where(
                MarketException.market_id == market_id,
                MarketException.kind == "move",
                MarketException.new_date.in_(held_days),
            )
        ).all()
    )
    return {day: moved.get(day, day) for day in held_days}


def day_revisions(market_ids: list[int]) -> dict[tuple[int, date], tuple[int, datetime]]:
    """(market id, rule day) → (sequence, last change) for the occurrences that ever changed."""
    if not market_ids:
        return {}
    return {
        (row.market_id, row.date): (row.sequence, row.revised_at)
        for row in db.session.scalars(
            select(MarketDayRevision).where(MarketDayRevision.market_id.in_(market_ids))
        )
    }


def rule_day_of(occurrence: dict) -> date:
    """The rule day an occurrence came from: where a moved-in day was moved from, else its own date."""
    return date.fromisoformat(occurrence.get("moved_from") or occurrence["date"])


def with_revisions(occurrences: list[dict]) -> list[dict]:
    """The occurrences, each with `rule_day`, `sequence` and `last_modified` for a calendar.

    SEQUENCE is the market's own revision plus the day's, plus one when a town blackout cancels
    it; LAST-MODIFIED is the latest of the market's creation or change, the day's change and the
    blackout's creation. Both depend only on stored changes, so two fetches agree.
    """
    ids = {o["market_id"] for o in occurrences}
    by_id = {m.id: m for m in db.session.scalars(select(Market).where(Market.id.in_(ids)))} if ids else {}
    days = day_revisions(list(by_id))
    blackout_ids = {o["blackout_id"] for o in occurrences if o.get("blackout_id")}
    blackouts = (
        dict(
            db.session.execute(
                select(MarketBlackout.id, MarketBlackout.created_at).where(
                    MarketBlackout.id.in_(blackout_ids)
                )
            ).all()
        )
        if blackout_ids
        else {}
    )
    result = []
    for occurrence in occurrences:
        market = by_id[occurrence["market_id"]]
        rule_day = rule_day_of(occurrence)
        day_sequence, day_stamp = days.get((market.id, rule_day), (0, None))
        stamps = [market.created_at, market.revised_at, day_stamp]
        sequence = (market.revision or 0) + day_sequence
        if occurrence.get("blackout_id"):
            sequence += 1
            stamps.append(blackouts.get(occurrence["blackout_id"]))
        result.append(
            {
                **occurrence,
                "rule_day": rule_day,
                "sequence": sequence,
                "last_modified": max(as_utc(s) for s in stamps if s is not None),
            }
        )
    return result
