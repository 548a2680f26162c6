"""The outbox: one row per notification, unique by (kind, subject, due time, recipient), and its
deliveries to external channels. In-app notifications are the outbox rows themselves."""

from __future__ import annotations

from datetime import datetime, time

from sqlalchemy import JSON, ForeignKey, Index, String, Text, Time, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from gridgov.dbtypes import UTCDateTime
from gridgov.extensions import db
from gridgov.timeutil import utcnow

CHANNEL_KINDS = ("webhook", "wecom", "dingtalk")


class Notification(db.Model):
    __tablename__ = "notifications"
    __audit__ = False
    __table_args__ = (Index("ix_notifications_recipient_created", "recipient_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(255), unique=True)
    kind: Mapped[str] = mapped_column(String(50), index=True)
    subject: Mapped[str] = mapped_column(String(100), index=True)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    recipient_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    area_id: Mapped[int | None] = mapped_column(ForeignKey("areas.id", ondelete="SET NULL"))
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    data: Mapped[dict | None] = mapped_column(JSON)
    urgent: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ChannelConfig(db.Model):
    """Where an area's (town, department, team) notifications also go: a webhook or a group robot."""

    __tablename__ = "notification_channels"
    __audit_exclude__ = ("secret",)

    id: Mapped[int] = mapped_column(primary_key=True)
    area_id: Mapped[int] = mapped_column(ForeignKey("areas.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(16))
    url: Mapped[str] = mapped_column(String(500))
    secret: Mapped[str | None] = mapped_column(String(200))
    kinds: Mapped[list | None] = mapped_column(JSON)  # notification kinds to forward; None = all
    quiet_start: Mapped[time | None] = mapped_column(Time)
    quiet_end: Mapped[time | None] = mapped_column(Time)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class RobotBudget(db.Model):
    """A group robot's posts in the last minute (epoch seconds), its budget (notifications/budget.py).

    Its own row, not audited: it changes with every message, which is no one's action.
    """

    __tablename__ = "robot_budgets"
    __audit__ = False

    channel_id: Mapped[int] = mapped_column(
        ForeignKey("notification_channels.id", ondelete="CASCADE"), primary_key=True
    )
    recent_posts: Mapped[list] = mapped_column(JSON, default=list)


class UserPreference(db.Model):
    __tablename__ = "notification_preferences"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    muted_kinds: Mapped[list] = mapped_column(JSON, default=list)
    webhook_url: Mapped[str | None] = mapped_column(String(500))
    webhook_secret: Mapped[str | None] = mapped_column(String(200))
    quiet_start: Mapped[time | None] = mapped_column(Time)
    quiet_end: Mapped[time | None] = mapped_column(Time)


class Delivery(db.Model):
    """One notification to one external channel; retried with backoff until sent or failed."""

    __tablename__ = "deliveries"
    __audit__ = False
    __table_args__ = (
        UniqueConstraint("notification_id", "channel_id"),
        UniqueConstraint("notification_id", "user_webhook_of"),
        Index("ix_deliveries_status_next", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    notification_id: Mapped[int] = mapped_column(
        ForeignKey("notifications.id", ondelete="CASCADE"), index=True
    )
    channel_id: Mapped[int | None] = mapped_column(ForeignKey("notification_channels.id", ondelete="CASCADE"))
    user_webhook_of: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending | sent | failed
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_error: Mapped[str | None] = mapped_column(String(500))
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class JobRun(db.Model):
    """The last runs of scheduled jobs, for the admin view."""

    __tablename__ = "job_runs"
    __audit__ = False

    id: Mapped[int] = mapped_column(primary_key=True)
    job_id: Mapped[str] = mapped_column(String(100), index=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ok: Mapped[bool | None]
    result: Mapped[str | None] = mapped_column(String(500))
