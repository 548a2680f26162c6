"""Scheduler bench: 100,000 due reminders through the outbox, then webhook delivery.

    .venv/bin/python bench/scheduler.py        # PostgreSQL, a fresh database

Prints the time to materialise 100,000 reminders (the unique-key insert the tick uses), to have
them readable in-app, to run the same tick again (nothing new), and the webhook delivery rate to
a local receiver. Targets (issue #8): 100,000 materialised and delivered in-app in at most 60 s;
webhooks at least 300 per second.
"""

from __future__ import annotations

import sys
import time
from datetime import timedelta

from sqlalchemy import func, insert, select

from common import fresh_postgres, table
from gridgov import create_app
from gridgov.areas.services import upsert_features
from gridgov.auth.models import User, UserRole
from gridgov.extensions import db
from gridgov.notifications.delivery import deliver_due
from gridgov.notifications.models import ChannelConfig, Notification
from gridgov.notifications.outbox import Draft, enqueue
from gridgov.notifications.services import my_notifications, unread_count
from gridgov.timeutil import utcnow
from tests.receiver import Receiver

REMINDERS = 100_000
USERS = 1_000
WEBHOOKS = 3_000


def main() -> int:
    with fresh_postgres() as url:
        app = create_app(
            {
                "GRIDGOV_DATABASE_URL": url,
                "GRIDGOV_LOG_LEVEL": "WARNING",
                "NOTIFY_SENDERS": 16,
                "WEBHOOK_ALLOW": "127.0.0.1",  # the bench's receiver is on loopback
            }
        )
        with app.app_context():
            db.create_all()
            upsert_features(
                [
                    {
                        "type": "Feature",
                        "geometry": None,
                        "properties": {"code": "D", "name": "D", "level": "district", "parent_code": None},
                    }
                ]
            )
            db.session.execute(
                insert(User),
                [
                    {"username": f"u{i}", "display_name": "", "password_hash": "x", "is_active": True}
                    for i in range(USERS)
                ],
            )
            db.session.execute(insert(UserRole), [{"user_id": i + 1, "role": "patrol"} for i in range(USERS)])
            db.session.commit()
            due = utcnow() - timedelta(minutes=1)
            drafts = [
                Draft(
                    "market_reminder_evening",
                    f"market:{i // USERS}:2027-01-01",
                    due,
                    i % USERS + 1,
                    "明日集市",
                    "请于 07:00 前到岗。",
                    1,
                    {"n": i},
                )
                for i in range(REMINDERS)
            ]
            started = time.perf_counter()
            created = enqueue(drafts)
            db.session.commit()
            materialise = time.perf_counter() - started

            started = time.perf_counter()
            user = db.session.get(User, 1)
            visible = unread_count(user)
            first_page = db.session.scalars(my_notifications(user).limit(20)).all()
            in_app = time.perf_counter() - started

            started = time.perf_counter()
            again = enqueue(drafts)
            db.session.commit()
            rerun = time.perf_counter() - started
            total = db.session.scalar(select(func.count(Notification.id)))

            with Receiver() as receiver:
                db.session.add(
                    ChannelConfig(
                        area_id=1, name="bench", kind="webhook", url=receiver.url + "/hook", secret="k"
                    )
                )
                db.session.commit()
                broadcast = [
                    Draft(
                        "market_reminder_morning",
                        f"market:{i}:2027-01-02",
                        due,
                        None,
                        "今日集市",
                        "到岗",
                        1,
                        {},
                    )
                    for i in range(WEBHOOKS)
                ]
                enqueue(broadcast)
                db.session.commit()
                started = time.perf_counter()
                sent = 0
                while sent < WEBHOOKS:
                    counts = deliver_due(limit=1000)
                    if counts["sent"] == 0:
                        break
                    sent += counts["sent"]
                webhook_seconds = time.perf_counter() - started
                received = len(receiver.requests)
            db.engine.dispose()
    rate = sent / webhook_seconds if webhook_seconds else 0
    print(f"{REMINDERS:,} reminders to {USERS:,} people; {WEBHOOKS:,} webhook deliveries; PostgreSQL")
    print(
        table(
            ["step", "seconds", "count"],
            [
                ["materialise (unique-key insert)", f"{materialise:.2f}", f"{created:,}"],
                [
                    "readable in-app (unread count + first page)",
                    f"{in_app:.3f}",
                    f"{visible} for user 1, page {len(first_page)}",
                ],
                ["same tick again (nothing new)", f"{rerun:.2f}", f"{again:,} new, {total:,} in all"],
                [
                    "webhooks to a local receiver",
                    f"{webhook_seconds:.2f}",
                    f"{sent:,} sent, {received:,} received",
                ],
            ],
        )
    )
    ok_in_app = materialise + in_app <= 60 and created == REMINDERS and again == 0
    ok_hooks = rate >= 300 and received == WEBHOOKS
    print(
        f"target: 100,000 materialised and in-app ≤ 60 s → {materialise + in_app:.1f} s {'MET' if ok_in_app else 'MISSED'}"
    )
    print(f"target: webhooks ≥ 300/s → {rate:,.0f}/s {'MET' if ok_hooks else 'MISSED'}")
    return 0 if ok_in_app and ok_hooks else 1


if __name__ == "__main__":
    sys.exit(main())
