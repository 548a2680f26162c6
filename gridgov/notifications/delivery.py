"""Delivering pending outbox messages to their channels, with backoff, quiet hours and failure."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, time, timedelta

import requests
from flask import current_app
from sqlalchemy import select

from gridgov.egress import Allowlist, guarded_session
from gridgov.extensions import db
from gridgov.notifications.budget import ROBOT_KINDS, digest_text, free_again_at, pack, recent_posts
from gridgov.notifications.channels import DeliveryError, send_dingtalk, send_webhook, send_wecom
from gridgov.notifications.models import ChannelConfig, Delivery, Notification, RobotBudget, UserPreference
from gridgov.timeutil import LOCAL_TZ, utcnow

_local = threading.local()


def _session(allow: str) -> requests.Session:
    """This thread's session, opening connections only to addresses the allowlist permits."""
    sessions = getattr(_local, "sessions", None)
    if sessions is None:
        sessions = _local.sessions = {}
    if allow not in sessions:
        sessions[allow] = guarded_session(Allowlist.parse(allow))
    return sessions[allow]


def quiet_until(now: datetime, start: time | None, end: time | None) -> datetime | None:
    """When quiet hours (local time, possibly over midnight) end, if `now` falls inside them."""
    if start is None or end is None or start == end:
        return None
    local = now.astimezone(LOCAL_TZ)
    t = local.time()
    inside = start <= t < end if start < end else (t >= start or t < end)
    if not inside:
        return None
    end_at = datetime.combine(local.date(), end, LOCAL_TZ)
    if end_at <= local:
        end_at += timedelta(days=1)
    return end_at


def backoff(attempts: int, base_seconds: int) -> timedelta:
    """Exponential: base, 2×base, 4×base …, capped at six hours."""
    return timedelta(seconds=min(base_seconds * 2 ** max(attempts - 1, 0), 6 * 3600))


def _text(notification: Notification) -> str:
    return f"{notification.title}\n{notification.body}\n[gridgov #{notification.id}]"


def _payload(notification: Notification) -> dict:
    return {
        "id": notification.id,
        "kind": notification.kind,
        "subject": notification.subject,
        "title": notification.title,
        "body": notification.body,
        "data": notification.data or {},
        "due_at": notification.due_at.isoformat(),
        "urgent": notification.urgent,
    }


def _send(job: tuple, timeout: float, allow: str) -> str | None:
    """Send one message (for robots, possibly a digest of several); None when accepted, else the error."""
    kind, url, secret, notifications = job
    session = _session(allow)
    try:
        if kind == "wecom":
            send_wecom(session, url, digest_text([_text(n) for n in notifications]), timeout)
        elif kind == "dingtalk":
            send_dingtalk(session, url, secret, digest_text([_text(n) for n in notifications]), timeout)
        else:
            send_webhook(session, url, secret, _payload(notifications[0]), timeout)
    except DeliveryError as exc:
        return str(exc)[:500]
    return None


def deliver_due(now: datetime | None = None, limit: int = 1000) -> dict:
    """Send every delivery that is due, in parallel; record the outcome of each (commits)."""
    now = now or utcnow()
    config = current_app.config
    query = (
        select(Delivery, Notification)
        .join(Notification, Notification.id == Delivery.notification_id)
        .where(Delivery.status == "pending", Delivery.next_attempt_at <= now)
        .order_by(Delivery.next_attempt_at, Delivery.id)
        .limit(limit)
    )
    if db.engine.dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True, of=Delivery)
    rows = db.session.execute(query).all()
    if not rows:
        db.session.commit()
        return {"sent": 0, "retry": 0, "failed": 0, "held": 0}
    channels = {
        c.id: c
        for c in db.session.scalars(
            select(ChannelConfig).where(ChannelConfig.id.in_({d.channel_id for d, _ in rows if d.channel_id}))
        )
    }
    prefs = {
        p.user_id: p
        for p in db.session.scalars(
            select(UserPreference).where(
                UserPreference.user_id.in_({d.user_webhook_of for d, _ in rows if d.user_webhook_of})
            )
        )
    }
    jobs, held = [], 0
    robots: dict[int, list] = {}
    for delivery, notification in rows:
        target = (
            channels.get(delivery.channel_id) if delivery.channel_id else prefs.get(delivery.user_webhook_of)
        )
        if target is None:
            delivery.status, delivery.last_error = "failed", "channel removed"
            continue
        until = None if notification.urgent else quiet_until(now, target.quiet_start, target.quiet_end)
        if until is not None:
            delivery.next_attempt_at = until
            held += 1
            continue
        if delivery.channel_id and target.kind in ROBOT_KINDS:
            robots.setdefault(target.id, []).append((delivery, notification))
        elif delivery.channel_id:
            jobs.append(([delivery], (target.kind, target.url, target.secret, [notification])))
        else:
            jobs.append(([delivery], ("webhook", target.webhook_url, target.webhook_secret, [notification])))
    budgets = (
        {
            b.channel_id: b
            for b in db.session.scalars(select(RobotBudget).where(RobotBudget.channel_id.in_(robots)))
        }
        if robots
        else {}
    )
    for channel_id, items in robots.items():
        budget = budgets.get(channel_id)
        if budget is None:
            budget = RobotBudget(channel_id=channel_id, recent_posts=[])
            db.session.add(budget)
        held += _within_budget(channels[channel_id], budget, items, now, config["ROBOT_PER_MINUTE"], jobs)
    timeout = config["NOTIFY_TIMEOUT_SECONDS"]
    with ThreadPoolExecutor(max_workers=config["NOTIFY_SENDERS"]) as pool:
        outcomes = list(pool.map(lambda job: _send(job[1], timeout, config["WEBHOOK_ALLOW"]), jobs))
    counts = {"sent": 0, "retry": 0, "failed": 0, "held": held}
    for (deliveries, _), error in zip(jobs, outcomes, strict=True):
        for delivery in deliveries:  # a digest's notifications share its outcome
            _record(delivery, error, now, config, counts)
    db.session.commit()
    return counts


def _record(delivery: Delivery, error: str | None, now: datetime, config, counts: dict) -> None:
    delivery.attempts += 1
    if error is None:
        delivery.status, delivery.sent_at, delivery.last_error = "sent", now, None
        counts["sent"] += 1
    elif delivery.attempts >= config["NOTIFY_MAX_ATTEMPTS"]:
        delivery.status, delivery.last_error = "failed", error
        counts["failed"] += 1
    else:
        delivery.next_attempt_at = now + backoff(delivery.attempts, config["NOTIFY_BACKOFF_SECONDS"])
        delivery.last_error = error
        counts["retry"] += 1


def _within_budget(
    channel: ChannelConfig, budget: RobotBudget, items: list, now: datetime, per_minute: int, jobs: list
) -> int:
    """Add the robot's posts that its minute's budget allows to `jobs`, a burst folded into digests;
    the rest waits until the budget frees up. Returns how many deliveries wait."""
    at = now.timestamp()
    recent = recent_posts(budget.recent_posts, at)
    posts, left = pack(items, per_minute - len(recent), lambda item: _text(item[1]))
    for post in posts:
        jobs.append(([d for d, _ in post], (channel.kind, channel.url, channel.secret, [n for _, n in post])))
    recent = sorted(recent + [at] * len(posts))
    budget.recent_posts = recent  # a new list, so the JSON column is written
    if left:
        resume = datetime.fromtimestamp(free_again_at(recent), UTC)
        for delivery, _ in left:
            delivery.next_attempt_at = resume
    return len(left)
