from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Date, Float, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from gridgov.dbtypes import UTCDateTime
from gridgov.extensions import db
from gridgov.timeutil import utcnow

FREQUENCIES = ("daily", "twice_daily", "weekdays")


class Patrol(db.Model):
    __tablename__ = "patrols"

    id: Mapped[int] = mapped_column(primary_key=True)
    client_uuid: Mapped[str] = mapped_column(String(36), unique=True)
    worker_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    local_date: Mapped[date] = mapped_column(Date, index=True)
    status: Mapped[str] = mapped_column(String(12), default="active")  # active | finished
    distance_m: Mapped[float] = mapped_column(Float, default=0.0)
    duration_s: Mapped[float] = mapped_column(Float, default=0.0)
    points: Mapped[int] = mapped_column(default=0)
    flagged: Mapped[bool] = mapped_column(default=False)
    max_speed_kmh: Mapped[float] = mapped_column(Float, default=0.0)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_received_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class PatrolBatch(db.Model):
    """One received batch of points, by its sequence number: a replay changes nothing."""

    __tablename__ = "patrol_batches"
    __audit__ = False
    __table_args__ = (UniqueConstraint("patrol_id", "seq"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    patrol_id: Mapped[int] = mapped_column(ForeignKey("patrols.id", ondelete="CASCADE"))
    seq: Mapped[int]
    count: Mapped[int]
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class PatrolPoint(db.Model):
    """A raw GPS point (WGS-84), deleted after the retention period."""

    __tablename__ = "patrol_points"
    __audit__ = False
    __table_args__ = (Index("ix_patrol_points_patrol_t", "patrol_id", "t"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    patrol_id: Mapped[int] = mapped_column(ForeignKey("patrols.id", ondelete="CASCADE"))
    t: Mapped[datetime] = mapped_column(UTCDateTime)
    lon: Mapped[float] = mapped_column(Float)
    lat: Mapped[float] = mapped_column(Float)
    accuracy: Mapped[float | None] = mapped_column(Float)


class PatrolGrid(db.Model):
    """Time a patrol spent inside a micro-grid, and whether it counts for the plan."""

    __tablename__ = "patrol_grids"
    __audit__ = False
    __table_args__ = (UniqueConstraint("patrol_id", "area_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    patrol_id: Mapped[int] = mapped_column(ForeignKey("patrols.id", ondelete="CASCADE"), index=True)
    area_id: Mapped[int] = mapped_column(ForeignKey("areas.id", ondelete="CASCADE"), index=True)
    seconds_inside: Mapped[float] = mapped_column(Float)
    counted: Mapped[bool]


class PatrolPlan(db.Model):
    """How often a micro-grid must be patrolled (daily when no plan row exists)."""

    __tablename__ = "patrol_plans"

    area_id: Mapped[int] = mapped_column(
        ForeignKey("areas.id", ondelete="CASCADE"), primary_key=True, autoincrement=False
    )
    frequency: Mapped[str] = mapped_column(String(16), default="daily")


class DailyReport(db.Model):
    """The day's report for an area, frozen at 23:59 local time."""

    __tablename__ = "daily_reports"
    __audit__ = False
    __table_args__ = (UniqueConstraint("area_id", "day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    area_id: Mapped[int] = mapped_column(ForeignKey("areas.id", ondelete="CASCADE"))
    day: Mapped[date] = mapped_column(Date)
    frozen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    data: Mapped[dict] = mapped_column(JSON)
