"""Webhooks go only to public addresses (or ones the deployment names), checked at save time and
again at connect time; no redirects; only staff and admins configure them."""

import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy import select

from gridgov import egress
from gridgov.extensions import db
from gridgov.notifications.jobs import deliver
from gridgov.notifications.models import ChannelConfig, Delivery
from gridgov.notifications.outbox import Draft, enqueue
from gridgov.timeutil import utcnow
from tests.receiver import Receiver

INTERNAL = [
    "http://169.254.169.254/latest/meta-data/",
    "http://127.0.0.1:8000/hook",
    "http://10.0.0.1/hook",
    "http://192.168.1.1/hook",
    "http://localhost/hook",
    "http://2130706433/hook",  # 127.0.0.1 in decimal
    "http://0x7f000001/hook",  # in hex
    "http://0177.0.0.1/hook",  # in octal
    "http://127.1/hook",
    "http://0.0.0.0/hook",
    "http://[::1]/hook",
    "http://[::ffff:127.0.0.1]/hook",  # IPv4-mapped IPv6
    "http://[::ffff:a9fe:a9fe]/hook",  # 169.254.169.254, mapped
    "http://[fe80::1]/hook",
    "http://224.0.0.1/hook",  # multicast
    "http://240.0.0.1/hook",  # reserved
    "http://100.64.0.1/hook",  # carrier-grade NAT
]


@pytest.fixture
def staff(make_user, two_towns, auth_headers):
    user = make_user(roles=["staff"], areas=[two_towns["TA"]])
    return user, auth_headers(user)


@pytest.mark.parametrize("url", INTERNAL)
def test_internal_addresses_are_refused_when_a_channel_is_saved(client, staff, two_towns, url):
    _, h = staff
    body = {"area_id": two_towns["TA"].id, "name": "镇办", "kind": "webhook", "url": url}
    response = client.post("/api/v1/notification-channels", json=body, headers=h)
    assert response.status_code == 422, url
    assert "url" in response.get_json()["errors"]["json"]
    assert db.session.scalar(select(ChannelConfig.id)) is None


def test_a_personal_webhook_is_for_staff_only_and_public_only(client, make_user, auth_headers, staff):
    worker = make_user(roles=["grid_worker"])
    refused = client.put(
        "/api/v1/me/notification-preferences",
        json={"webhook_url": "https://8.8.8.8/hook"},
        headers=auth_headers(worker, "en"),
    )
    assert refused.status_code == 403 and "staff" in refused.get_json()["message"]
    _, h = staff
    internal = client.put(
        "/api/v1/me/notification-preferences", json={"webhook_url": "http://0x7f000001/"}, headers=h
    )
    assert internal.status_code == 422 and "webhook_url" in internal.get_json()["errors"]["json"]
    assert "GRIDGOV_WEBHOOK_ALLOW" in internal.get_json()["message"]
    public = client.put(
        "/api/v1/me/notification-preferences", json={"webhook_url": "https://8.8.8.8/hook"}, headers=h
    )
    assert public.status_code == 200
    muted = client.put(
        "/api/v1/me/notification-preferences", json={"muted_kinds": ["x"]}, headers=auth_headers(worker)
    )
    assert muted.status_code == 200  # everything else stays open to every role


def test_a_name_that_later_resolves_inside_is_refused_at_connect_time(app, staff, two_towns, monkeypatch):
    """Saved while the name pointed outside; by delivery time it points at the receiver on loopback."""
    user, _ = staff
    with Receiver() as receiver:
        port = receiver.server.server_address[1]
        answers = {"hooks.example.com": "93.184.215.14"}
        real = socket.getaddrinfo

        def fake(host, *args, **kwargs):
            if host in answers:
                return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (answers[host], port))]
            return real(host, *args, **kwargs)

        monkeypatch.setattr(egress.socket, "getaddrinfo", fake)
        from gridgov.notifications.services import create_channel

        create_channel(
            user,
            {
                "area_id": two_towns["TA"].id,
                "name": "x",
                "kind": "webhook",
                "url": f"http://hooks.example.com:{port}/",
            },
        )
        answers["hooks.example.com"] = "127.0.0.1"  # DNS rebinding
        enqueue([Draft("test", "s", utcnow(), None, "t", "b", two_towns["TA"].id)])
        db.session.commit()
        deliver(utcnow())
        assert receiver.requests == []
    delivery = db.session.scalar(select(Delivery))
    assert delivery.status == "pending" and "127.0.0.1 is not a public address" in delivery.last_error


def test_allowlisted_receiver_gets_it_and_redirects_are_not_followed(app, staff, two_towns):
    app.config["WEBHOOK_ALLOW"] = "127.0.0.1/32"
    user, _ = staff
    with Receiver() as inside:
        hits = []

        class Redirect(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's name
                hits.append(self.path)
                self.send_response(307)
                self.send_header("Location", inside.url + "/stolen")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Redirect)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        try:
            from gridgov.notifications.services import create_channel

            for name, url in (
                ("direct", inside.url + "/hook"),
                ("redirect", f"http://127.0.0.1:{server.server_address[1]}/"),
            ):
                create_channel(
                    user, {"area_id": two_towns["TA"].id, "name": name, "kind": "webhook", "url": url}
                )
            enqueue([Draft("test", "s", utcnow(), None, "t", "b", two_towns["TA"].id)])
            db.session.commit()
            deliver(utcnow())
        finally:
            server.shutdown()
            server.server_close()
        assert [r["path"] for r in inside.requests] == ["/hook"]  # the redirect's target got nothing
    assert hits == ["/"]
    errors = {d.channel_id: d.last_error for d in db.session.scalars(select(Delivery))}
    assert sorted(errors.values(), key=str) == ["HTTP 307", None] or set(errors.values()) == {
        None,
        "HTTP 307",
    }


def test_allowlist_setting_is_checked_at_start():
    from gridgov.config import ConfigError, load_config

    with pytest.raises(ConfigError):
        load_config("instance", {"GRIDGOV_WEBHOOK_ALLOW": "10.0.0.0/8, http://bad/"})
    assert load_config("instance", {"GRIDGOV_WEBHOOK_ALLOW": "10.0.0.0/8 hooks.corp.local"}).WEBHOOK_ALLOW


def test_a_webhook_kept_from_before_is_not_used_for_a_grid_worker(app, make_user):
    from gridgov.notifications.models import UserPreference

    worker = make_user(roles=["grid_worker"])
    staff = make_user(roles=["staff"])
    for user in (worker, staff):
        db.session.add(UserPreference(user_id=user.id, muted_kinds=[], webhook_url="https://8.8.8.8/hook"))
    db.session.commit()
    enqueue([Draft("test", "s", utcnow(), user.id, "t", "b") for user in (worker, staff)])
    db.session.commit()
    assert list(db.session.scalars(select(Delivery.user_webhook_of))) == [staff.id]
