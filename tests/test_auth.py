from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from gridgov.auth.models import RefreshToken
from gridgov.auth.security import issue_access_token
from gridgov.extensions import db
from gridgov.timeutil import utcnow
from tests.conftest import PASSWORD


def login(client, username, password=PASSWORD, **kwargs):
    return client.post("/api/v1/auth/login", json={"username": username, "password": password}, **kwargs)


def test_login_returns_tokens_and_me_works(client, make_user, two_towns):
    make_user(roles=["staff"], areas=[two_towns["TA"]], username="wang")
    response = login(client, "wang")
    assert response.status_code == 200
    tokens = response.get_json()
    assert tokens["token_type"] == "Bearer"
    assert 0 < tokens["expires_in"] <= 900
    me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {tokens['access_token']}"}).get_json()
    assert me["username"] == "wang"
    assert me["roles"] == ["staff"]
    codes = {a.id: c for c, a in two_towns.items()}
    assert sorted(codes[i] for i in me["areas"]) == ["CA", "GA", "MA", "TA"]


def test_refresh_token_is_stored_only_as_hash(client, make_user):
    make_user(username="li")
    tokens = login(client, "li").get_json()
    stored = db.session.scalars(select(RefreshToken.token_hash)).all()
    assert len(stored) == 1 and tokens["refresh_token"] not in stored[0]


def test_wrong_password_and_unknown_user_are_401(client, make_user):
    make_user(username="zhao")
    assert login(client, "zhao", "wrong-password").status_code == 401
    assert login(client, "nobody").status_code == 401


def test_disabled_user_cannot_log_in_or_use_tokens(client, make_user, auth_headers):
    admin = make_user(roles=["admin"])
    user = make_user(username="chen")
    headers = auth_headers(user)
    tokens = login(client, "chen").get_json()
    response = client.patch(
        f"/api/v1/users/{user.id}", json={"is_active": False}, headers=auth_headers(admin)
    )
    assert response.status_code == 200 and response.get_json()["is_active"] is False
    assert login(client, "chen").status_code == 401
    assert client.get("/api/v1/me", headers=headers).status_code == 401
    refresh = client.post(
        "/api/v1/auth/refresh", headers={"Authorization": f"Bearer {tokens['refresh_token']}"}
    )
    assert refresh.status_code == 401


def test_access_token_expires_after_its_lifetime(client, make_user):
    user = make_user()
    fresh, _ = issue_access_token(user, utcnow() - timedelta(minutes=14))
    stale, _ = issue_access_token(user, utcnow() - timedelta(minutes=16))
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {fresh}"}).status_code == 200
    response = client.get("/api/v1/me", headers={"Authorization": f"Bearer {stale}"})
    assert response.status_code == 401
    assert response.get_json()["message"] == "访问令牌无效或已过期。"


def test_access_tokens_live_by_the_apps_clock(client, make_user, auth_headers, clock):
    user = make_user()
    clock.set(datetime(2030, 3, 1, 9, tzinfo=UTC))  # the wall clock is years away from this one
    headers = auth_headers(user)
    assert client.get("/api/v1/me", headers=headers).status_code == 200
    clock.advance(minutes=14)
    assert client.get("/api/v1/me", headers=headers).status_code == 200
    clock.advance(minutes=2)
    assert client.get("/api/v1/me", headers=headers).status_code == 401


def test_refresh_then_logout_revokes(client, make_user):
    make_user(username="sun")
    tokens = login(client, "sun").get_json()
    bearer = {"Authorization": f"Bearer {tokens['refresh_token']}"}
    refreshed = client.post("/api/v1/auth/refresh", headers=bearer)
    assert refreshed.status_code == 200
    new_access = refreshed.get_json()["access_token"]
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {new_access}"}).status_code == 200
    assert client.post("/api/v1/auth/logout", headers=bearer).status_code == 204
    assert client.post("/api/v1/auth/refresh", headers=bearer).status_code == 401
    assert client.post("/api/v1/auth/logout", headers=bearer).status_code == 401


def test_access_token_is_not_a_refresh_token(client, make_user, auth_headers):
    user = make_user()
    assert client.post("/api/v1/auth/refresh", headers=auth_headers(user)).status_code == 401


def test_login_limit_per_account_counts_failures(client, make_user):
    make_user(username="zhou")
    for _ in range(5):
        assert login(client, "zhou", "wrong-password").status_code == 401
    blocked = login(client, "zhou")
    assert blocked.status_code == 429
    # Another account from the same address is not blocked by zhou's failures.
    make_user(username="wu")
    assert login(client, "wu").status_code == 200


def test_login_limit_per_ip(app, client, make_user):
    app.config["LOGIN_LIMIT_PER_IP"] = "3 per minute"
    make_user(username="qian")
    statuses = [login(client, "qian").status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    other_ip = login(client, "qian", environ_base={"REMOTE_ADDR": "10.9.8.7"})
    assert other_ip.status_code == 200
