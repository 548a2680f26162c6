"""Response headers: nothing private kept by shared caches, no sniffing, a referrer policy, the
printable notice under the console's CSP."""

import io

from PIL import Image

from tests.test_wages import act, file, setup  # noqa: F401 - `setup` is a fixture


def test_every_response_says_nosniff_and_a_referrer_policy(client):
    for response in (client.get("/healthz"), client.get("/api/v1/no-such-route")):
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
    assert "private" not in client.get("/healthz").headers.get("Cache-Control", "")


def test_authenticated_answers_and_uploads_stay_out_of_shared_caches(
    client, make_user, auth_headers, two_towns
):
    worker = make_user(roles=["grid_worker"], areas=[two_towns["MA"]])
    h = auth_headers(worker)
    me = client.get("/api/v1/me", headers=h)
    assert me.status_code == 200 and me.headers["Cache-Control"] == "private, no-store"
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), "red").save(buffer, "PNG")
    upload = client.post(
        "/api/v1/uploads",
        data={"file": (io.BytesIO(buffer.getvalue()), "p.png")},
        headers=h,
        content_type="multipart/form-data",
    )
    assert upload.status_code == 201
    photo = client.get(f"/api/v1/uploads/{upload.get_json()['id']}", headers=h)
    cache = photo.headers["Cache-Control"]
    assert photo.status_code == 200 and "private" in cache and "public" not in cache
    assert photo.headers["X-Content-Type-Options"] == "nosniff"
    login = client.post("/api/v1/auth/login", json={"username": worker.username, "password": "x" * 12})
    assert login.status_code == 401 and login.headers["Cache-Control"] == "private, no-store"


def test_printable_notice_has_the_consoles_csp(client, setup):  # noqa: F811
    file(client)
    case_id = client.get("/api/v1/wage-cases", headers=setup["h"]).get_json()[0]["id"]
    act(client, setup["h"], case_id, "accept")
    parties = client.get(f"/api/v1/wage-cases/{case_id}/parties", headers=setup["h"]).get_json()
    act(
        client,
        setup["h"],
        case_id,
        "interview",
        party_id=parties[0]["id"],
        outcome="承认",
        rectification="整改",
    )
    notice = act(
        client,
        setup["h"],
        case_id,
        "notice",
        party_id=parties[0]["id"],
        kind="reminder",
        due_on="2026-12-10",
        content="请于限期内足额支付拖欠工资。",
    )
    assert notice.status_code == 200, notice.get_json()
    notice_id = client.get(f"/api/v1/wage-cases/{case_id}/notices", headers=setup["h"]).get_json()[0]["id"]
    page = client.get(f"/api/v1/wage-notices/{notice_id}.html", headers=setup["h"])
    assert page.status_code == 200
    csp = page.headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert "no-store" in page.headers["Cache-Control"]


def test_console_assets_stay_cacheable_for_a_signed_in_browser(client):
    client.set_cookie("gridgov_console", "some-session")
    asset = client.get("/console/static/charts.js")
    assert asset.status_code == 200 and "no-store" not in asset.headers.get("Cache-Control", "")
    assert asset.headers["X-Content-Type-Options"] == "nosniff"
