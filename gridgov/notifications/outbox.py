"""Writing notifications into the outbox exactly once, and fanning them out to channels."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from gridgov.areas.models import Area
from gridgov.auth.models import UserRole
from gridgov.extensions import db
from gridgov.notifications.models import ChannelConfig, Delivery, Notification, UserPreference
from gridgov.timeutil import as_utc, utcnow

WEBHOOK_ROLES = ("admin", "staff")  # who may have a personal webhook


@dataclass
class Draft:
    """A notification to be written; (kind, subject, due_at, recipient) is its identity."""

    kind: str
    subject: str
    due_at: datetime
    recipient_id: int | None  # None: the area's broadcast (group robots, webhooks)
    title: str
    body: str
    area_id: int | None = None
    data: dict = field(default_factory=dict)
    urgent: bool = False

    @property
    def key(self) -> str:
        who = self.recipient_id if self.recipient_id is not None else "area"
        return f"{self.kind}|{self.subject}|{as_utc(self.due_at):%Y%m%dT%H%M%SZ}|{who}"


def _insert():
    return pg_insert if db.engine.dialect.name == "postgresql" else sqlite_insert


def enqueue(drafts: list[Draft], now: datetime | None = None, chunk: int = 2000) -> int:
    """Insert the drafts whose key is new; a key already there is left alone (does not commit).

    Returns how many were new. Running the same collection twice, or in two schedulers at
    once, cannot make a second notification: the unique key decides in the database. `now` is
    the tick's clock: it stamps the rows and makes their deliveries due at once.
    """
    if not drafts:
        return 0
    now = now or utcnow()
    muted = _muted({d.recipient_id for d in drafts if d.recipient_id is not None})
    rows = [
        {
            "key": d.key,
            "kind": d.kind,
            "subject": d.subject,
            "due_at": as_utc(d.due_at),
            "recipient_id": d.recipient_id,
            "area_id": d.area_id,
            "title": d.title,
            "body": d.body,
            "data": d.data,
            "urgent": d.urgent,
            "created_at": now,
        }
        for d in drafts
        if d.kind not in muted.get(d.recipient_id, ())
    ]
    created: list[int] = []
    insert = _insert()
    for start in range(0, len(rows), chunk):
        statement = (
            insert(Notification).on_conflict_do_nothing(index_elements=["key"]).returning(Notification.id)
        )
        created.extend(db.session.scalars(statement, rows[start : start + chunk]).all())
    if created:
        _fan_out(created, now)
    return len(created)


def _muted(user_ids: set[int]) -> dict[int, set[str]]:
    if not user_ids:
        return {}
    return {
        p.user_id: set(p.muted_kinds or ())
        for p in db.session.scalars(select(UserPreference).where(UserPreference.user_id.in_(user_ids)))
        if p.muted_kinds
    }


def _fan_out(notification_ids: list[int], now: datetime) -> None:
    """Deliveries for new notifications: area broadcasts to the channels of the area and its
    ancestors; personal ones to the recipient's own webhook if he set one."""
    deliveries = []
    channels = list(db.session.scalars(select(ChannelConfig).where(ChannelConfig.active.is_(True))))
    # A personal webhook is for staff and admins: one a user kept from another role is not used.
    webhook_roles = select(UserRole.user_id).where(UserRole.role.in_(WEBHOOK_ROLES))
    webhooks = set(
        db.session.scalars(
            select(UserPreference.user_id).where(
                UserPreference.webhook_url.is_not(None), UserPreference.user_id.in_(webhook_roles)
            )
        )
    )
    if not channels and not webhooks:
        return
    paths = dict(db.session.execute(select(Area.id, Area.path)).all()) if channels else {}
    for start in range(0, len(notification_ids), 5000):
        rows = db.session.execute(
            select(Notification.id, Notification.recipient_id, Notification.area_id, Notification.kind).where(
                Notification.id.in_(notification_ids[start : start + 5000])
            )
        )
        for n_id, recipient_id, area_id, kind in rows:
            if recipient_id is None and area_id is not None:
                path = paths.get(area_id, "")
                for channel in channels:
                    if path.startswith(paths.get(channel.area_id, "\0")) and (
                        not channel.kinds or kind in channel.kinds
                    ):
                        deliveries.append({"notification_id": n_id, "channel_id": channel.id})
            elif recipient_id in webhooks:
                deliveries.append({"notification_id": n_id, "user_webhook_of": recipient_id})
    if deliveries:
        db.session.execute(
            Delivery.__table__.insert(),
            [
                {
                    "status": "pending",
                    "attempts": 0,
                    "next_attempt_at": now,
                    "channel_id": None,
                    "user_webhook_of": None,
                    **d,
                }
                for d in deliveries
            ],
        )
