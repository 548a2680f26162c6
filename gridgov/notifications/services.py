"""In-app notifications, preferences, area channels, and the admin view of the outbox."""

from __future__ import annotations

from flask import current_app
from sqlalchemy import func, select, update

from gridgov.areas.models import Area
from gridgov.areas.scope import area_in_scope
from gridgov.areas.services import get_area
from gridgov.auth.models import User
from gridgov.egress import Allowlist, UnsafeURL, check_url
from gridgov.errors import Forbidden, Invalid, NotFound
from gridgov.extensions import db
from gridgov.i18n import Msg
from gridgov.notifications.models import ChannelConfig, Delivery, JobRun, Notification, UserPreference
from gridgov.notifications.outbox import WEBHOOK_ROLES
from gridgov.timeutil import utcnow


def my_notifications(user: User, unread_only: bool = False):
    query = select(Notification).where(Notification.recipient_id == user.id).order_by(Notification.id.desc())
    if unread_only:
        query = query.where(Notification.read_at.is_(None))
    return query


def unread_count(user: User) -> int:
    return db.session.scalar(
        select(func.count(Notification.id)).where(
            Notification.recipient_id == user.id, Notification.read_at.is_(None)
        )
    )


def mark_read(user: User, notification_id: int | None = None) -> int:
    """Mark one (or, without an id, every) notification of the user read (commits)."""
    statement = update(Notification).where(
        Notification.recipient_id == user.id, Notification.read_at.is_(None)
    )
    if notification_id is not None:
        if (
            db.session.scalar(
                select(Notification.id).where(
                    Notification.id == notification_id, Notification.recipient_id == user.id
                )
            )
            is None
        ):
            raise NotFound()
        statement = statement.where(Notification.id == notification_id)
    count = db.session.execute(statement.values(read_at=utcnow())).rowcount
    db.session.commit()
    return count


def get_preferences(user: User) -> UserPreference:
    return db.session.get(UserPreference, user.id) or UserPreference(user_id=user.id, muted_kinds=[])


WEBHOOK_FORBIDDEN = Msg("只有工作人员和管理员可以设置 webhook。", "Only staff and admins may set a webhook.")


def check_webhook_url(url: str, field: str) -> None:
    """422 unless the URL reaches only public addresses (or ones GRIDGOV_WEBHOOK_ALLOW names)."""
    try:
        check_url(url, Allowlist.parse(current_app.config["WEBHOOK_ALLOW"]))
    except UnsafeURL as exc:
        raise Invalid(
            Msg(
                f"不能向该地址发送通知：{exc}。内网接收端须在 GRIDGOV_WEBHOOK_ALLOW 中列出。",
                f"Notifications may not go to this address: {exc}. "
                "An intranet receiver must be listed in GRIDGOV_WEBHOOK_ALLOW.",
            ),
            errors={"json": {field: [str(exc)]}},
        ) from exc


def set_preferences(user: User, changes: dict) -> UserPreference:
    """Change the user's preferences (commits); a personal webhook is for staff and admins only."""
    if changes.get("webhook_url") is not None:
        if not user.has_role(*WEBHOOK_ROLES):
            raise Forbidden(WEBHOOK_FORBIDDEN)
        check_webhook_url(changes["webhook_url"], "webhook_url")
    prefs = db.session.get(UserPreference, user.id)
    if prefs is None:
        prefs = UserPreference(user_id=user.id, muted_kinds=[])
        db.session.add(prefs)
    for field, value in changes.items():
        setattr(prefs, field, value)
    db.session.commit()
    return prefs


def channels_query(user: User):
    return (
        select(ChannelConfig)
        .join(Area, Area.id == ChannelConfig.area_id)
        .where(area_in_scope(user))
        .order_by(ChannelConfig.id)
    )


def create_channel(user: User, data: dict) -> ChannelConfig:
    get_area(user, data["area_id"])
    check_webhook_url(data["url"], "url")
    channel = ChannelConfig(**data)
    db.session.add(channel)
    db.session.commit()
    return channel


def update_channel(user: User, channel_id: int, changes: dict) -> ChannelConfig:
    channel = db.session.scalar(channels_query(user).where(ChannelConfig.id == channel_id))
    if channel is None:
        raise NotFound()
    if "area_id" in changes:
        get_area(user, changes["area_id"])
    if "url" in changes:
        check_webhook_url(changes["url"], "url")
    for field, value in changes.items():
        setattr(channel, field, value)
    db.session.commit()
    return channel


def outbox_status() -> dict:
    """Jobs and their last runs, the delivery backlog and the failed deliveries (admin)."""
    from gridgov.scheduler.runner import registered_jobs

    last_runs = {}
    for job in registered_jobs():
        run = db.session.scalar(
            select(JobRun).where(JobRun.job_id == job.id).order_by(JobRun.id.desc()).limit(1)
        )
        last_runs[job.id] = {
            "id": job.id,
            "trigger": job.trigger,
            "schedule": job.trigger_args,
            "last_started_at": run.started_at.isoformat() if run else None,
            "last_finished_at": run.finished_at.isoformat() if run and run.finished_at else None,
            "last_ok": run.ok if run else None,
            "last_result": run.result if run else None,
        }
    pending = db.session.execute(
        select(func.count(Delivery.id), func.min(Delivery.next_attempt_at)).where(
            Delivery.status == "pending"
        )
    ).one()
    failed = db.session.scalar(select(func.count(Delivery.id)).where(Delivery.status == "failed"))
    return {
        "jobs": list(last_runs.values()),
        "pending_deliveries": pending[0],
        "oldest_pending_at": pending[1].isoformat() if pending[1] else None,
        "failed_deliveries": failed,
        "notifications": db.session.scalar(select(func.count(Notification.id))),
    }


def failed_deliveries():
    return select(Delivery).where(Delivery.status == "failed").order_by(Delivery.id.desc())


def retry_delivery(delivery_id: int) -> Delivery:
    delivery = db.session.get(Delivery, delivery_id)
    if delivery is None:
        raise NotFound()
    delivery.status, delivery.attempts, delivery.next_attempt_at = "pending", 0, utcnow()
    db.session.commit()
    return delivery
