"""Markets, their exceptions, town blackouts, patrol teams, assignments and check-ins.

Occurrences are computed from the rule, never stored; only exceptions are.
"""

from __future__ import annotations

from datetime import date, datetime, time

from sqlalchemy import JSON, Date, ForeignKey, String, Time, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from gridgov.dbtypes import UTCDateTime
from gridgov.extensions import db
from gridgov.timeutil import utcnow


class Market(db.Model):
    __tablename__ = "markets"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    area_id: Mapped[int] = mapped_column(ForeignKey("areas.id"), index=True)
    rule: Mapped[dict] = mapped_column(JSON)
    rule_text: Mapped[str | None] = mapped_column(String(50))
    missing_day: Mapped[str] = mapped_column(String(16), default="skip")
    start_time: Mapped[time] = mapped_column(Time, default=time(7, 0))
    end_time: Mapped[time] = mapped_column(Time, default=time(12, 0))
    zones: Mapped[dict | None] = mapped_column(JSON)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Bumped when a change moves every occurrence (hours, rule, active): calendars' SEQUENCE.
    revision: Mapped[int] = mapped_column(default=0, server_default="0")
    revised_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class MarketDayRevision(db.Model):
    """How often one occurrence, named by its rule day, has changed (moved, cancelled, restored)
    and when it last changed in any way (duty too): a calendar's SEQUENCE and LAST-MODIFIED.

    Kept when the exception that caused it is removed, so the count never goes back.
    """

    __tablename__ = "market_day_revisions"
    __table_args__ = (UniqueConstraint("market_id", "date"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    market_id: Mapped[int] = mapped_column(ForeignKey("markets.id", ondelete="CASCADE"), index=True)
    date: Mapped[date] = mapped_column(Date)  # the rule day (the UID's date), not where it moved
    sequence: Mapped[int] = mapped_column(default=0)
    revised_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class MarketException(db.Model):
    """One occurrence cancelled or moved, or an extra day added, with a reason."""

    __tablename__ = "market_exceptions"
    __table_args__ = (UniqueConstraint("market_id", "date"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    market_id: Mapped[int] = mapped_column(ForeignKey("markets.id", ondelete="CASCADE"), index=True)
    date: Mapped[date] = mapped_column(Date)
    kind: Mapped[str] = mapped_column(String(16))  # cancel | move | add
    new_date: Mapped[date | None] = mapped_column(Date)
    reason: Mapped[str] = mapped_column(String(200))
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class MarketBlackout(db.Model):
    """A town's standing rule: no markets from one lunar date to another (e.g. 腊月廿五–正月初五)."""

    __tablename__ = "market_blackouts"

    id: Mapped[int] = mapped_column(primary_key=True)
    area_id: Mapped[int] = mapped_column(ForeignKey("areas.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    start_month: Mapped[int]
    start_day: Mapped[int]
    end_month: Mapped[int]
    end_day: Mapped[int]
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class PatrolTeam(db.Model):
    __tablename__ = "patrol_teams"
    __audit_exclude__ = ("feed_token_hash",)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    area_id: Mapped[int] = mapped_column(ForeignKey("areas.id"), index=True)
    feed_token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    members: Mapped[list[PatrolTeamMember]] = relationship(cascade="all, delete-orphan", lazy="selectin")

    @property
    def member_ids(self) -> list[int]:
        return sorted(m.user_id for m in self.members)


class PatrolTeamMember(db.Model):
    __tablename__ = "patrol_team_members"
    __table_args__ = (UniqueConstraint("team_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("patrol_teams.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)


class MarketAssignment(db.Model):
    """A team on duty at one occurrence (by the date the market is actually held)."""

    __tablename__ = "market_assignments"
    __table_args__ = (UniqueConstraint("market_id", "date", "team_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    market_id: Mapped[int] = mapped_column(ForeignKey("markets.id", ondelete="CASCADE"), index=True)
    date: Mapped[date] = mapped_column(Date, index=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("patrol_teams.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class MarketCheckin(db.Model):
    __tablename__ = "market_checkins"
    __audit_mask__ = ("lon", "lat")

    id: Mapped[int] = mapped_column(primary_key=True)
    market_id: Mapped[int] = mapped_column(ForeignKey("markets.id", ondelete="CASCADE"), index=True)
    date: Mapped[date] = mapped_column(Date)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)  # when the server received it
    device_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # the phone's time, if it sent one
    lon: Mapped[float]
    lat: Mapped[float]
    inside: Mapped[bool]
    on_time: Mapped[bool]
