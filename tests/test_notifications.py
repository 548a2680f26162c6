"""The outbox: market-day reminders at the right local time, once; delivery with retries; in-app."""

import hashlib
import hmac
from datetime import date, datetime, time, timedelta

import pytest
from sqlalchemy import func, select

from gridgov.extensions import db
from gridgov.markets.rosters import assign, create_team
from gridgov.markets.services import add_exception, create_market
from gridgov.notifications.delivery import quiet_until
from gridgov.notifications.jobs import deliver, tick
from gridgov.notifications.models import Delivery, Notification
from gridgov.notifications.services import create_channel
from gridgov.timeutil import LOCAL_TZ
from tests.receiver import Receiver

MARKET_DAY = date(2026, 12, 2)  # a Wednesday


@pytest.fixture
def app_config(app_config):
    """The local test receiver listens on loopback, which a deployment must allow by name."""
    return {**app_config, "WEBHOOK_ALLOW": "127.0.0.1/32"}


@pytest.fixture(autouse=True)
def two_weeks_later(clock):
    """The app's clock stands two weeks after the market day: each tick below is given its own
    time, and must not mix it with the clock (deliveries stamped by the clock were never due)."""
    clock.set(local(MARKET_DAY + timedelta(days=14), 10))
    return clock


def local(day: date, hh: int, mm: int = 0) -> datetime:
    return datetime.combine(day, time(hh, mm), LOCAL_TZ)


@pytest.fixture
def market_setup(make_user, two_towns):
    staff = make_user(roles=["staff"], areas=[two_towns["TA"]], username="staff_a")
    member = make_user(roles=["patrol"], username="patrol_a")
    other_staff = make_user(roles=["staff"], areas=[two_towns["TB"]], username="staff_b")
    market = create_market(
        staff,
        {
            "name": "东村",
            "area_id": two_towns["CA"].id,
            "rule": "每周三",
            "missing_day": "skip",
            "start_time": time(7),
            "end_time": time(12),
            "zones": None,
        },
    )
    team = create_team(staff, {"name": "一队", "area_id": two_towns["TA"].id, "member_ids": [member.id]})
    assign(staff, market.id, {"team_ids": [team.id], "date": MARKET_DAY})
    return {"staff": staff, "member": member, "other_staff": other_staff, "market": market, "team": team}


def count(model, *where):
    return db.session.scalar(select(func.count(model.id)).where(*where))


def test_reminder_written_once_at_the_right_local_time(market_setup):
    assert tick(local(MARKET_DAY - timedelta(days=1), 17, 59)) == 0
    created = tick(local(MARKET_DAY - timedelta(days=1), 18, 0))
    # Member, responsible staff of the town, and the area broadcast; not the other town's staff.
    assert created == 3
    recipients = set(
        db.session.scalars(
            select(Notification.recipient_id).where(Notification.kind == "market_reminder_evening")
        )
    )
    assert recipients == {market_setup["member"].id, market_setup["staff"].id, None}
    assert tick(local(MARKET_DAY - timedelta(days=1), 18, 1)) == 0  # run again: nothing new
    assert tick(local(MARKET_DAY - timedelta(days=1), 18, 1)) == 0
    assert tick(local(MARKET_DAY, 6, 0)) == 3  # the morning-of reminder
    assert count(Notification) == 6
    evening = db.session.scalar(
        select(Notification).where(
            Notification.recipient_id == market_setup["member"].id,
            Notification.kind == "market_reminder_evening",
        )
    )
    assert (
        evening.title.startswith("明日集市：东村（农历")
        and "一队" in evening.body
        and "07:00" in evening.body
    )


def test_missed_reminder_after_restart_is_written_once(market_setup):
    # The scheduler was down at 18:00 and comes back at 21:30: the reminder still goes out, once.
    assert tick(local(MARKET_DAY - timedelta(days=1), 21, 30)) == 3
    assert tick(local(MARKET_DAY - timedelta(days=1), 21, 31)) == 0
    # Beyond the look-back (6 h) an old reminder is not sent late.
    assert tick(local(MARKET_DAY + timedelta(days=6), 13, 0)) == 0


def test_in_app_list_unread_and_read(client, auth_headers, market_setup):
    tick(local(MARKET_DAY - timedelta(days=1), 18, 0))
    tick(local(MARKET_DAY, 6, 0))
    headers = auth_headers(market_setup["member"])
    items = client.get("/api/v1/me/notifications", headers=headers).get_json()
    assert [i["kind"] for i in items] == ["market_reminder_morning", "market_reminder_evening"]
    assert client.get("/api/v1/me/notifications/unread-count", headers=headers).get_json() == {"unread": 2}
    assert client.post(f"/api/v1/me/notifications/{items[0]['id']}/read", headers=headers).get_json() == {
        "marked": 1
    }
    assert (
        client.get("/api/v1/me/notifications?unread=true", headers=headers).get_json()[0]["id"]
        == items[1]["id"]
    )
    # Someone else's notification is not there for him.
    other = auth_headers(market_setup["other_staff"])
    assert client.post(f"/api/v1/me/notifications/{items[1]['id']}/read", headers=other).status_code == 404
    assert client.get("/api/v1/me/notifications", headers=other).get_json() == []


def test_webhook_delivered_once_with_signature(market_setup, two_towns):
    with Receiver() as receiver:
        create_channel(
            market_setup["staff"],
            {
                "area_id": two_towns["TA"].id,
                "name": "镇办",
                "kind": "webhook",
                "url": receiver.url + "/hook",
                "secret": "s3cret",
            },
        )
        tick(local(MARKET_DAY - timedelta(days=1), 18, 0))
        assert deliver(local(MARKET_DAY - timedelta(days=1), 18, 0))["sent"] == 1
        assert deliver(local(MARKET_DAY - timedelta(days=1), 18, 5))["sent"] == 0
        tick(local(MARKET_DAY - timedelta(days=1), 18, 6))
        deliver(local(MARKET_DAY - timedelta(days=1), 18, 6))
    assert len(receiver.requests) == 1
    request = receiver.requests[0]
    payload = receiver.json_bodies()[0]
    assert payload["kind"] == "market_reminder_evening" and payload["id"] > 0
    assert request["headers"]["X-Gridgov-Delivery"] == str(payload["id"])
    expected = hmac.new(
        b"s3cret", request["headers"]["X-Gridgov-Timestamp"].encode() + b"." + request["body"], hashlib.sha256
    ).hexdigest()
    assert request["headers"]["X-Gridgov-Signature"] == "sha256=" + expected


def test_a_tick_and_a_delivery_stamp_what_they_write_with_their_own_time(market_setup, two_towns):
    with Receiver() as receiver:
        create_channel(
            market_setup["staff"],
            {"area_id": two_towns["TA"].id, "name": "镇办", "kind": "webhook", "url": receiver.url},
        )
        at = local(MARKET_DAY - timedelta(days=1), 18, 0)
        assert tick(at) == 3
        assert set(db.session.scalars(select(Notification.created_at))) == {at}
        assert set(db.session.scalars(select(Delivery.next_attempt_at))) == {at}
        sent_at = at + timedelta(seconds=15)
        assert deliver(sent_at)["sent"] == 1
        assert db.session.scalar(select(Delivery.sent_at)) == sent_at


def test_receiver_down_then_up_gets_it_after_retries(
    app, client, make_user, auth_headers, market_setup, two_towns
):
    app.config.update(NOTIFY_MAX_ATTEMPTS=3, NOTIFY_BACKOFF_SECONDS=60)
    with Receiver() as receiver:
        create_channel(
            market_setup["staff"],
            {
                "area_id": two_towns["TA"].id,
                "name": "robot",
                "kind": "wecom",
                "url": receiver.url + "/cgi-bin/webhook/send?key=abc",
            },
        )
        start = local(MARKET_DAY - timedelta(days=1), 18, 0)
        tick(start)
        receiver.fail_next = 2
        assert deliver(start)["retry"] == 1
        assert deliver(start + timedelta(seconds=30))["sent"] == 0  # backing off: not yet due
        assert deliver(start + timedelta(seconds=61))["retry"] == 1  # second failure
        assert deliver(start + timedelta(seconds=61 + 121))["sent"] == 1
        assert receiver.json_bodies()[0]["msgtype"] == "text"
        assert "[gridgov #" in receiver.json_bodies()[0]["text"]["content"]
        # Now a receiver that never recovers: marked failed after 3 attempts and shown to admins.
        add_exception(
            market_setup["staff"],
            market_setup["market"].id,
            {"action": "cancel", "date": MARKET_DAY, "reason": "寒潮"},
        )
        tick(start + timedelta(minutes=10))  # corrections (urgent) to the recipients and the group
        receiver.fail_next = 100
        moment = start + timedelta(minutes=10)
        for _ in range(3):
            deliver(moment)
            moment += timedelta(hours=1)
    assert count(Delivery, Delivery.status == "failed") == 1
    admin = auth_headers(make_user(roles=["admin"]))
    status = client.get("/api/v1/admin/scheduler", headers=admin).get_json()
    assert status["failed_deliveries"] == 1
    assert {j["id"] for j in status["jobs"]} >= {"notifications.tick", "notifications.deliver"}
    failed = client.get("/api/v1/admin/deliveries/failed", headers=admin).get_json()
    assert failed[0]["attempts"] == 3 and failed[0]["last_error"] == "HTTP 500"


def test_cancellation_after_reminder_sends_a_correction(market_setup):
    tick(local(MARKET_DAY - timedelta(days=1), 18, 0))
    add_exception(
        market_setup["staff"],
        market_setup["market"].id,
        {"action": "cancel", "date": MARKET_DAY, "reason": "暴雨"},
    )
    assert tick(local(MARKET_DAY - timedelta(days=1), 19, 0)) == 3
    assert tick(local(MARKET_DAY - timedelta(days=1), 19, 1)) == 0
    correction = db.session.scalar(
        select(Notification).where(
            Notification.kind == "market_correction_cancelled",
            Notification.recipient_id == market_setup["member"].id,
        )
    )
    assert "取消" in correction.title and "暴雨" in correction.body and correction.urgent


def test_taken_off_duty_after_reminder_is_told(market_setup):
    from gridgov.markets.models import MarketAssignment
    from gridgov.markets.rosters import unassign

    tick(local(MARKET_DAY - timedelta(days=1), 18, 0))
    assignment = db.session.scalar(select(MarketAssignment))
    unassign(market_setup["staff"], assignment.id)
    tick(local(MARKET_DAY - timedelta(days=1), 18, 30))
    kinds = dict(
        db.session.execute(
            select(Notification.recipient_id, Notification.kind).where(
                Notification.kind.like("market_correction%")
            )
        ).all()
    )
    assert kinds == {market_setup["member"].id: "market_correction_unassigned"}


def test_quiet_hours_hold_non_urgent_messages():
    late = local(date(2026, 12, 1), 23, 30)
    assert quiet_until(late, time(22), time(7)) == local(date(2026, 12, 2), 7, 0)
    assert quiet_until(local(date(2026, 12, 2), 6, 59), time(22), time(7)) == local(date(2026, 12, 2), 7, 0)
    assert quiet_until(local(date(2026, 12, 2), 7, 0), time(22), time(7)) is None
    assert quiet_until(late, None, None) is None


def test_dingtalk_signed_url(market_setup, two_towns):
    from urllib.parse import parse_qs, urlparse

    with Receiver() as receiver:
        create_channel(
            market_setup["staff"],
            {
                "area_id": two_towns["TA"].id,
                "name": "钉钉",
                "kind": "dingtalk",
                "url": receiver.url + "/robot/send?access_token=t",
                "secret": "SECxyz",
                "quiet_start": time(22),
                "quiet_end": time(7),
            },
        )
        tick(local(MARKET_DAY - timedelta(days=1), 18, 0))
        assert deliver(local(MARKET_DAY - timedelta(days=1), 23, 0))["held"] == 1  # quiet hours: held
        assert receiver.requests == []
        assert deliver(local(MARKET_DAY, 7, 0))["sent"] == 1
    query = parse_qs(urlparse(receiver.requests[0]["path"]).query)
    assert query["access_token"] == ["t"] and query["timestamp"] and query["sign"]
    import base64

    digest = hmac.new(b"SECxyz", f"{query['timestamp'][0]}\nSECxyz".encode(), hashlib.sha256).digest()
    assert query["sign"][0] == base64.b64encode(digest).decode()


def test_channel_can_be_switched_off_partially(client, auth_headers, market_setup, two_towns):
    channel = create_channel(
        market_setup["staff"],
        {
            "area_id": two_towns["TA"].id,
            "name": "c",
            "kind": "webhook",
            "url": "http://127.0.0.1:9/hook",
            "secret": "s",
        },
    )
    headers = auth_headers(market_setup["staff"])
    response = client.patch(
        f"/api/v1/notification-channels/{channel.id}", json={"active": False}, headers=headers
    )
    assert response.status_code == 200 and response.get_json()["active"] is False
    assert "secret" not in response.get_json() and response.get_json()["has_secret"] is True
    other = auth_headers(market_setup["other_staff"])
    assert (
        client.patch(
            f"/api/v1/notification-channels/{channel.id}", json={"active": True}, headers=other
        ).status_code
        == 404
    )
