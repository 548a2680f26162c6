"""Departments, the category catalogue, grid issues, their timeline, uploads, whistles and
idempotency records."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Float, ForeignKey, Index, String, Text, UniqueConstraint, and_, false
from sqlalchemy.ext.hybrid import hybrid_method
from sqlalchemy.orm import Mapped, mapped_column, query_expression

from gridgov.dbtypes import UTCDateTime
from gridgov.extensions import db
from gridgov.issues.states import CLOCK_RUNNING
from gridgov.timeutil import utcnow
from gridgov.workflow import TimelineEvent

LEVELS = ("grid", "community", "town", "district_joint_meeting", "leaders")
LOCATED_BY = ("inside", "nearest", "address", "confirmed")


class Department(db.Model):
    __tablename__ = "departments"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    area_id: Mapped[int | None] = mapped_column(ForeignKey("areas.id"))


class DepartmentMember(db.Model):
    __tablename__ = "department_members"
    __table_args__ = (UniqueConstraint("department_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)


class Category(db.Model):
    __tablename__ = "issue_categories"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name_zh: Mapped[str] = mapped_column(String(100))
    name_en: Mapped[str] = mapped_column(String(100))
    group: Mapped[str] = mapped_column(String(50), default="")
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"))
    limit_value: Mapped[int]
    limit_unit: Mapped[str] = mapped_column(String(16))  # hours | days (working)
    urgent: Mapped[bool] = mapped_column(default=False)
    active: Mapped[bool] = mapped_column(default=True)
    # Residents' complaints are not public by default: only issues of a public category are shown
    # to Open311 readers without an API key.
    public: Mapped[bool] = mapped_column(default=False, server_default=false())


class Issue(db.Model):
    __tablename__ = "issues"
    __audit_mask__ = ("lon", "lat")
    __table_args__ = (
        Index("ix_issues_area_status", "area_id", "status"),
        Index("ix_issues_category_received", "category_id", "received_at"),
        Index("ix_issues_lon_lat", "lon", "lat"),
        # covers the figures' median (stats._median_hours): the closed issues by deadline with every
        # column it groups, scopes and measures by, read by an index-only scan without the rows
        Index(
            "ix_issues_closed_handling",
            "status",
            "deadline",
            "deadline_provisional",
            "area_id",
            "category_id",
            "department_id",
            "reporter_id",
            "assignee_id",
            "received_at",
            "closed_at",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    client_uuid: Mapped[str] = mapped_column(String(36), unique=True)
    request_hash: Mapped[str] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(String(16), default="app")  # app | sync | open311
    reporter_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    category_id: Mapped[int] = mapped_column(ForeignKey("issue_categories.id"))
    description: Mapped[str] = mapped_column(Text)
    address: Mapped[str | None] = mapped_column(String(200))
    lon: Mapped[float] = mapped_column(Float)
    lat: Mapped[float] = mapped_column(Float)
    area_id: Mapped[int | None] = mapped_column(ForeignKey("areas.id"), index=True)
    # inside | nearest (a fix just outside every micro-grid, placed at the nearest; staff confirm it)
    # | address (an Open311 request with only an address, placed in a configured area) | confirmed
    located_by: Mapped[str] = mapped_column(String(12), default="inside", server_default="inside")
    located_distance_m: Mapped[float | None] = mapped_column(Float)
    location_accuracy_m: Mapped[float | None] = mapped_column(Float)
    reported_at: Mapped[datetime] = mapped_column(UTCDateTime)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    status: Mapped[str] = mapped_column(String(16), default="reported", index=True)
    previous_status: Mapped[str | None] = mapped_column(String(16))
    level: Mapped[int] = mapped_column(default=0)
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"), index=True)
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    fixer_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    dispatched_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    deadline: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    deadline_provisional: Mapped[bool] = mapped_column(default=True)
    deadline_uncertain: Mapped[bool] = mapped_column(default=False)
    deferred_remaining_s: Mapped[float | None] = mapped_column(Float)
    fixed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    closed_on_time: Mapped[bool | None]
    was_deferred: Mapped[bool] = mapped_column(default=False)
    rework_count: Mapped[int] = mapped_column(default=0)
    reopen_count: Mapped[int] = mapped_column(default=0)
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("issues.id"))
    photos: Mapped[list] = mapped_column(JSON, default=list)
    media_url: Mapped[str | None] = mapped_column(String(500))
    fix_photos: Mapped[list] = mapped_column(JSON, default=list)
    patrol_id: Mapped[int | None] = mapped_column(index=True)
    market_id: Mapped[int | None] = mapped_column(ForeignKey("markets.id"), index=True)
    market_date: Mapped[str | None] = mapped_column(String(10))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    # Not stored: what a list reads with its rows (queries.with_briefs) for the answer to show, the
    # category's code and the micro-grid's brief; None when the issue was loaded without them.
    listed_category_code: Mapped[str | None] = query_expression()
    listed_area_id: Mapped[int | None] = query_expression()
    listed_area_code: Mapped[str | None] = query_expression()
    listed_area_name: Mapped[str | None] = query_expression()
    listed_area_level: Mapped[str | None] = query_expression()

    @hybrid_method
    def overdue_at(self, now: datetime) -> bool:
        """Overdue at `now`: its clock runs and the deadline a dispatch set has passed."""
        return (
            self.status in CLOCK_RUNNING
            and not self.deadline_provisional
            and self.deadline is not None
            and self.deadline < now
        )

    @overdue_at.expression
    def overdue_at(cls, now: datetime):
        return and_(cls.status.in_(CLOCK_RUNNING), cls.deadline_provisional.is_(False), cls.deadline < now)


class IssueEvent(TimelineEvent, db.Model):
    """One line of an issue's timeline: every state change, with its actor and time."""

    __tablename__ = "issue_events"
    __audit__ = False
    subject_key = "issue_id"

    id: Mapped[int] = mapped_column(primary_key=True)
    issue_id: Mapped[int] = mapped_column(ForeignKey("issues.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    action: Mapped[str] = mapped_column(String(32))
    from_status: Mapped[str | None] = mapped_column(String(16))
    to_status: Mapped[str | None] = mapped_column(String(16))
    note: Mapped[str | None] = mapped_column(Text)
    data: Mapped[dict | None] = mapped_column(JSON)


class Whistle(db.Model):
    """吹哨报到: a department called to an issue, which must report in by a deadline."""

    __tablename__ = "issue_whistles"
    __table_args__ = (UniqueConstraint("issue_id", "department_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    issue_id: Mapped[int] = mapped_column(ForeignKey("issues.id", ondelete="CASCADE"), index=True)
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"))
    called_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    called_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    ack_deadline: Mapped[datetime] = mapped_column(UTCDateTime)
    acked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    acked_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class Upload(db.Model):
    """A photo. A phone names each upload with its own `client_uuid`, so a retried upload whose
    answer was lost finds the first one instead of storing a second (unique per owner)."""

    __tablename__ = "uploads"
    __table_args__ = (UniqueConstraint("owner_id", "client_uuid"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    client_uuid: Mapped[str | None] = mapped_column(String(36))
    sha256: Mapped[str] = mapped_column(String(64))
    content_type: Mapped[str] = mapped_column(String(32))
    size: Mapped[int]
    path: Mapped[str] = mapped_column(String(300))
    issue_id: Mapped[int | None] = mapped_column(ForeignKey("issues.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
