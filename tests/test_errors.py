"""Every status comes back in the one envelope, in Chinese by default and English on request."""

import logging
import os
import runpy
import uuid
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import insert

from gridgov.auth.models import User
from gridgov.extensions import db


def assert_envelope(response, code):
    assert response.status_code == code
    assert response.is_json
    body = response.get_json()
    assert body["code"] == code
    assert isinstance(body["status"], str) and body["status"]
    assert isinstance(body["message"], str) and body["message"]
    return body


def test_unknown_route_is_404_in_chinese_by_default(client):
    body = assert_envelope(client.get("/api/v1/nowhere"), 404)
    assert body["message"] == "资源不存在。"
    assert assert_envelope(client.get("/nowhere-at-all"), 404)


def test_english_when_asked(client):
    body = assert_envelope(client.get("/api/v1/nowhere", headers={"Accept-Language": "en-US,en;q=0.9"}), 404)
    assert body["message"] == "Not found."


def test_method_not_allowed_is_405_with_allow_header(client):
    response = client.delete("/api/v1/auth/login")
    assert_envelope(response, 405)
    assert "POST" in response.headers["Allow"]


def test_body_over_256_kib_is_413(client):
    response = client.post(
        "/api/v1/auth/login", data=b"{" + b" " * (300 * 1024) + b"}", content_type="application/json"
    )
    assert_envelope(response, 413)


def test_form_body_is_415(client):
    response = client.post("/api/v1/auth/login", data={"username": "a", "password": "b"})
    body = assert_envelope(response, 415)
    assert "JSON" in body["message"]


def test_missing_fields_are_422_with_field_errors(client):
    body = assert_envelope(client.post("/api/v1/auth/login", json={"username": "x"}), 422)
    assert body["errors"]["json"]["password"] == ["必填字段缺失。"]
    body = assert_envelope(
        client.post("/api/v1/auth/login", json={"username": "x"}, headers={"Accept-Language": "en"}), 422
    )
    assert body["errors"]["json"]["password"] == ["Missing data for required field."]


def test_malformed_json_is_400(client):
    response = client.post("/api/v1/auth/login", data=b"{nope", content_type="application/json")
    assert_envelope(response, 400)


def test_missing_token_is_401_and_wrong_role_403(client, make_user, auth_headers):
    assert_envelope(client.get("/api/v1/me"), 401)
    assert_envelope(client.get("/api/v1/me", headers={"Authorization": "Bearer garbage"}), 401)
    worker = make_user(roles=["grid_worker"])
    assert_envelope(client.get("/api/v1/users", headers=auth_headers(worker)), 403)


def test_integrity_error_is_409_not_a_traceback(app, client):
    @app.post("/api/v1/_test/duplicate")
    def duplicate():
        row = {"username": "twin", "display_name": "", "password_hash": "x", "is_active": True}
        db.session.execute(insert(User), [row, row])
        return {}

    body = assert_envelope(client.post("/api/v1/_test/duplicate"), 409)
    assert "Traceback" not in str(body)


def test_crash_is_500_with_request_id_logged(app, client, caplog):
    @app.get("/api/v1/_test/crash")
    def crash():
        raise RuntimeError("boom secret detail")

    with caplog.at_level(logging.ERROR):
        response = client.get("/api/v1/_test/crash")
    body = assert_envelope(response, 500)
    assert "boom" not in response.get_data(as_text=True)
    assert body["request_id"] == response.headers["X-Request-ID"]
    assert any(body["request_id"] in record.getMessage() for record in caplog.records)


@pytest.mark.parametrize(
    "lang, expected", [("zh", "请求过于频繁，请稍后再试。"), ("en", "Too many requests: try again later.")]
)
def test_rate_limited_login_is_429_in_envelope(client, lang, expected):
    last = None
    for _ in range(6):
        last = client.post(
            "/api/v1/auth/login",
            json={"username": "ghost", "password": "wrong-password"},
            headers={"Accept-Language": lang},
        )
    body = assert_envelope(last, 429)
    assert body["message"] == expected


def _bad_input_cases(staff_headers, area_id):
    deep = "[" * 100_000 + "]" * 100_000
    yield "post", "/api/v1/auth/login", {"data": deep, "content_type": "application/json"}, 400
    yield "post", "/api/v1/categories", {"data": '{"limit_value": ' + "7" * 5000 + "}"}, 400
    yield "post", "/api/v1/categories", {"data": '{"limit_value": 1e999}'}, 400
    yield "post", "/api/v1/auth/login", {"data": '{"username": NaN}'}, 400
    for moment in ("9999-12-31T23:59:59-12:00", "0001-01-01T00:00:00+14:00", "1900-12-31T23:00:00+00:00"):
        yield "get", f"/api/v1/issues?since={moment.replace('+', '%2B')}", {}, 422
        yield (
            "post",
            "/api/v1/patrols",
            {"json": {"client_uuid": str(uuid.uuid4()), "started_at": moment}},
            422,
        )
    for day in ("0001-01-01", "9999-12-31", "1900-12-31", "2101-01-01"):
        yield "get", f"/api/v1/reports/daily?date={day}&area={area_id}", {}, 422
        yield "get", f"/api/v1/stats/issues?from={day}&to=2026-12-01", {}, 422
        yield "get", f"/api/v1/wage-cases/ledger?from={day}&to=2026-12-01", {}, 422


def test_bad_input_is_4xx_never_500(client, make_user, auth_headers, two_towns, caplog):
    admin = auth_headers(make_user(roles=["admin", "staff", "wage_officer", "grid_worker"]))
    for method, url, kwargs, status in _bad_input_cases(admin, two_towns["TA"].id):
        if "data" in kwargs:
            kwargs["content_type"] = "application/json"
        response = getattr(client, method)(url, headers=admin, **kwargs)
        assert response.status_code == status, (method, url[:80], response.get_data(as_text=True)[:200])
        assert_envelope(response, status)
    assert "Traceback" not in caplog.text


def test_reports_only_for_days_the_zone_kept_records(client, make_user, auth_headers, two_towns, clock, app):
    clock.set(datetime(2026, 12, 2, 9, 0, tzinfo=UTC))
    staff = auth_headers(make_user(roles=["staff"], areas=[two_towns["TA"]]), lang="en")
    url = "/api/v1/reports/daily?area={}&date={}".format
    assert client.get(url(two_towns["TA"].id, "2026-12-02"), headers=staff).status_code == 200
    tomorrow = client.get(url(two_towns["TA"].id, "2026-12-03"), headers=staff)
    assert_envelope(tomorrow, 422)
    assert "to today (2026-12-02)" in tomorrow.get_json()["message"]
    app.config["REPORTS_SINCE"] = date(2024, 1, 1)
    before = client.get(url(two_towns["TA"].id, "2023-12-31"), headers=staff)
    assert_envelope(before, 422)
    assert "from 2024-01-01" in before.get_json()["message"]


def test_oversized_request_line_and_headers_are_in_the_envelope(client):
    assert_envelope(client.get("/api/v1/issues?q=" + "x" * 5000), 414)
    assert_envelope(client.get("/api/v1/me", headers={"X-Filler": "y" * 9000}), 431)
    assert client.get("/healthz", headers={"X-Filler": "y" * 1000}).status_code == 200
    # gunicorn.conf.py leaves room above the app's limits, so the app answers first.
    settings = runpy.run_path(os.path.join(os.path.dirname(__file__), "..", "gunicorn.conf.py"))
    assert settings["limit_request_line"] > 4096 and settings["limit_request_field_size"] > 8000


def test_lost_database_connection_is_503_once_then_served(app, client, make_user, auth_headers):
    """PostgreSQL restarted under a live pool: the request that meets the dead connection is a 503
    in the envelope (the client retries), never a 500, and the next one is served on a new one."""
    if db.engine.dialect.name != "postgresql":
        pytest.skip("needs PostgreSQL's pg_terminate_backend")
    import psycopg

    headers = auth_headers(make_user(roles=["staff"]))
    assert client.get("/api/v1/me", headers=headers).status_code == 200
    db.session.remove()  # the connection goes back to the pool, as at the end of a real request
    with psycopg.connect(os.environ["GRIDGOV_TEST_POSTGRES_URL"], autocommit=True) as admin:
        killed = admin.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        ).fetchone()[0]
    assert killed >= 1
    first = client.get("/api/v1/me", headers=headers)
    if first.status_code != 200:
        assert_envelope(first, 503)
        assert first.headers["Retry-After"] == "5"
    db.session.remove()
    assert client.get("/api/v1/me", headers=headers).status_code == 200
