from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    DDL,
    JSON,
    BigInteger,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    PrimaryKeyConstraint,
    String,
    UniqueConstraint,
    event,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.schema import CreateColumn

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
    """A raw GPS point (WGS-84), deleted after the retention period.

    On PostgreSQL the table is partitioned by month of `t` (see `patrols.partitions`), so its
    primary key must hold `t`; `id` is 64-bit (a province writes a billion points a year). SQLite
    keeps `id` alone as its key (`_sqlite_rowid_key`): only a one-column INTEGER key numbers rows.
    """

    __tablename__ = "patrol_points"
    __audit__ = False
    __table_args__ = (
        PrimaryKeyConstraint("id", "t", info={"sqlite_key": ("id",)}),
        Index("ix_patrol_points_patrol_t", "patrol_id", "t"),
        {"postgresql_partition_by": "RANGE (t)"},
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), autoincrement=True)
    patrol_id: Mapped[int] = mapped_column(ForeignKey("patrols.id", ondelete="CASCADE"))
    t: Mapped[datetime] = mapped_column(UTCDateTime)
    lon: Mapped[float] = mapped_column(Float)
    lat: Mapped[float] = mapped_column(Float)
    accuracy: Mapped[float | None] = mapped_column(Float)


def _sqlite_key(table) -> tuple[str, ...] | None:
    return table.primary_key.info.get("sqlite_key")


@compiles(PrimaryKeyConstraint, "sqlite")
def _sqlite_rowid_key(constraint, compiler, **kw):
    """The key SQLite is given where it differs (`info["sqlite_key"]`), else the usual one."""
    columns = _sqlite_key(constraint.table)
    if not columns:
        return compiler.visit_primary_key_constraint(constraint, **kw)
    name = compiler.preparer.format_constraint(constraint)
    return f"CONSTRAINT {name} PRIMARY KEY ({', '.join(columns)})"


@compiles(CreateColumn, "sqlite")
def _sqlite_rowid_column(create, compiler, **kw):
    """That key's column as SQLite's rowid (SQLAlchemy refuses autoincrement in a composite key)."""
    column = create.element
    if _sqlite_key(column.table) == (column.name,):
        return f"{compiler.preparer.format_column(column)} INTEGER NOT NULL"
    return compiler.visit_create_column(create, **kw)


# create_all (tests, a fresh database) makes the partitioned table; a row needs a partition to land.
event.listen(
    PatrolPoint.__table__,
    "after_create",
    DDL("CREATE TABLE IF NOT EXISTS patrol_points_default PARTITION OF patrol_points DEFAULT").execute_if(
        dialect="postgresql"
    ),
)


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
