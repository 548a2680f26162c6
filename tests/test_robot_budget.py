"""WeCom and DingTalk robots get at most their budget a minute; a burst is folded into digests,
and nothing is lost or kept waiting for more than a minute or so."""

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from gridgov.extensions import db
from gridgov.notifications.jobs import deliver
from gridgov.notifications.models import Delivery
from gridgov.notifications.outbox import Draft, enqueue
from gridgov.notifications.services import create_channel
from tests.receiver import Receiver


@pytest.fixture
def app_config(app_config):
    return {**app_config, "WEBHOOK_ALLOW": "127.0.0.1/32"}  # the test robot listens on loopback


@pytest.fixture
def robot(app, make_user, two_towns):
    staff = make_user(roles=["staff"], areas=[two_towns["TA"]])
    with Receiver() as receiver:
        create_channel(
            staff,
            {
                "area_id": two_towns["TA"].id,
                "name": "镇办群",
                "kind": "wecom",
                "url": receiver.url + "/cgi-bin/webhook/send?key=k",
            },
        )
        yield receiver


def burst(clock, area, count, start=0):
    drafts = [
        Draft("issue.overdue", f"issue:{i}", clock(), None, f"事件 {i} 已超期", "请尽快处理。" * 5, area.id)
        for i in range(start, start + count)
    ]
    enqueue(drafts, clock())
    db.session.commit()


def texts(receiver):
    return [body["text"]["content"] for body in receiver.json_bodies()]


def ids(receiver):
    return [int(i) for text in texts(receiver) for i in re.findall(r"\[gridgov #(\d+)\]", text)]


def test_a_burst_is_folded_into_digests_within_the_budget(app, robot, two_towns, clock):
    burst(clock, two_towns["TA"], 300)
    deliver(clock())
    first_minute = len(robot.requests)
    assert first_minute <= 18
    assert all(len(text.encode()) <= 2048 for text in texts(robot))
    assert "合并发送" in texts(robot)[0]
    clock.advance(seconds=30)
    deliver(clock())
    assert len(robot.requests) == first_minute  # still inside the minute: nothing more
    clock.advance(seconds=31)
    deliver(clock())
    clock.advance(seconds=61)
    deliver(clock())
    assert sorted(ids(robot)) == sorted(db.session.scalars(select(Delivery.notification_id)))
    assert len(set(ids(robot))) == 300  # every one, once
    assert set(db.session.scalars(select(Delivery.status))) == {"sent"}


def test_a_few_messages_go_one_by_one_and_the_budget_carries_over(app, robot, two_towns, clock):
    burst(clock, two_towns["TA"], 5)
    deliver(clock())
    assert len(robot.requests) == 5 and not any("合并发送" in t for t in texts(robot))
    clock.advance(seconds=10)
    burst(clock, two_towns["TA"], 13, start=5)  # exactly what is left of this minute: one by one
    deliver(clock())
    assert len(robot.requests) == 18 and not any("合并发送" in t for t in texts(robot))
    clock.advance(seconds=5)
    burst(clock, two_towns["TA"], 1, start=18)
    deliver(clock())
    assert len(robot.requests) == 18  # the budget is spent: it waits
    pending = db.session.scalar(select(Delivery).where(Delivery.status == "pending"))
    assert pending is not None and pending.next_attempt_at <= clock() + timedelta(seconds=60)
    clock.advance(seconds=50)  # the first five leave the window
    deliver(clock())
    assert len(robot.requests) == 19 and len(set(ids(robot))) == 19
