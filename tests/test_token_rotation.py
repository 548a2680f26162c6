"""Refresh tokens rotate on use and a used one presented again revokes the sign-in; logout and
disabling end the access tokens at once (a per-user token version)."""

from tests.conftest import PASSWORD


def login(client, username):
    return client.post("/api/v1/auth/login", json={"username": username, "password": PASSWORD}).get_json()


def bearer(token):
    return {"Authorization": f"Bearer {token}", "Accept-Language": "en"}


def test_refresh_rotates_and_reuse_revokes_the_whole_sign_in(client, make_user):
    make_user(username="wu")
    phone = login(client, "wu")
    desk = login(client, "wu")  # another sign-in of the same user, on another device
    first = client.post("/api/v1/auth/refresh", headers=bearer(phone["refresh_token"]))
    assert first.status_code == 200
    rotated = first.get_json()
    assert rotated["refresh_token"] and rotated["refresh_token"] != phone["refresh_token"]
    second = client.post("/api/v1/auth/refresh", headers=bearer(rotated["refresh_token"]))
    assert second.status_code == 200
    latest = second.get_json()
    assert client.get("/api/v1/me", headers=bearer(latest["access_token"])).status_code == 200

    # A thief replays the token the phone used first: the sign-in ends for both of them.
    replay = client.post("/api/v1/auth/refresh", headers=bearer(phone["refresh_token"]))
    assert replay.status_code == 401 and "already used" in replay.get_json()["message"]
    assert client.post("/api/v1/auth/refresh", headers=bearer(latest["refresh_token"])).status_code == 401
    assert client.get("/api/v1/me", headers=bearer(latest["access_token"])).status_code == 401
    # The other sign-in keeps working: it refreshes to a fresh access token.
    other = client.post("/api/v1/auth/refresh", headers=bearer(desk["refresh_token"]))
    assert other.status_code == 200
    assert client.get("/api/v1/me", headers=bearer(other.get_json()["access_token"])).status_code == 200


def test_logout_ends_the_access_token_too(client, make_user):
    make_user(username="qian")
    tokens = login(client, "qian")
    assert client.get("/api/v1/me", headers=bearer(tokens["access_token"])).status_code == 200
    assert client.post("/api/v1/auth/logout", headers=bearer(tokens["refresh_token"])).status_code == 204
    after = client.get("/api/v1/me", headers=bearer(tokens["access_token"]))
    assert after.status_code == 401 and after.get_json()["code"] == 401
    assert client.post("/api/v1/auth/refresh", headers=bearer(tokens["refresh_token"])).status_code == 401


def test_disabling_ends_access_tokens_even_if_enabled_again(client, make_user, auth_headers):
    admin = auth_headers(make_user(roles=["admin"]))
    user = make_user(username="feng")
    tokens = login(client, "feng")
    for active in (False, True):
        assert (
            client.patch(f"/api/v1/users/{user.id}", json={"is_active": active}, headers=admin).status_code
            == 200
        )
    assert client.get("/api/v1/me", headers=bearer(tokens["access_token"])).status_code == 401
    assert client.post("/api/v1/auth/refresh", headers=bearer(tokens["refresh_token"])).status_code == 401
    assert client.get("/api/v1/me", headers=bearer(login(client, "feng")["access_token"])).status_code == 200
