"""What the field app needs from the server, over HTTP: the browser session of the API (sign-in,
CSRF, sign-out), uploads a retry cannot double, and the shell (service worker, manifest, budget)."""

from __future__ import annotations

import gzip
import io
import re
import uuid

import pytest
from flask.testing import FlaskClient
from PIL import Image
from sqlalchemy import func, select

from gridgov.auth.models import ConsoleSession
from gridgov.extensions import db
from gridgov.issues.models import Upload
from tests.conftest import PASSWORD

SHELL_BUDGET = 200 * 1024  # bytes transferred (gzip) on the first visit: the issue's 3G budget


class OwnContextClient(FlaskClient):
    """Each request in an app context of its own, as in a server (the CSRF token cache in `g`)."""

    def open(self, *args, **kwargs):
        with self.application.app_context():
            return super().open(*args, **kwargs)


@pytest.fixture
def browser_client(app):
    app.test_client_class = OwnContextClient
    return app.test_client()


def jpeg(colour: str = "blue") -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), colour).save(buffer, "JPEG")
    return buffer.getvalue()


def upload(client, headers, data: bytes, client_uuid: str | None = None):
    form = {"file": (io.BytesIO(data), "photo.jpg")}
    if client_uuid is not None:
        form["client_uuid"] = client_uuid
    return client.post("/api/v1/uploads", data=form, headers=headers, content_type="multipart/form-data")


def uploads_of(user) -> int:
    return db.session.scalar(select(func.count(Upload.id)).where(Upload.owner_id == user.id))


# ---------------------------------------------------------------- uploads a retry cannot double


def test_an_upload_retried_with_its_client_uuid_is_the_first_one(client, make_user, auth_headers):
    worker = make_user(roles=["grid_worker"])
    headers = auth_headers(worker, "en")
    name = str(uuid.uuid4())
    first = upload(client, headers, jpeg(), name)
    again = upload(client, headers, jpeg(), name)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json["id"] == first.json["id"] and uploads_of(worker) == 1
    # Another photo under the same name is refused, and stores nothing.
    other = upload(client, headers, jpeg("red"), name)
    assert other.status_code == 409 and "different photo" in other.json["message"]
    assert uploads_of(worker) == 1
    # Another worker's name space is his own; without a client_uuid each upload is new.
    colleague = make_user(roles=["grid_worker"])
    assert upload(client, auth_headers(colleague), jpeg(), name).status_code == 201
    assert upload(client, headers, jpeg()).status_code == 201
    assert upload(client, headers, jpeg()).status_code == 201
    assert uploads_of(worker) == 3


def test_a_malformed_upload_client_uuid_is_a_422(client, make_user, auth_headers):
    worker = make_user(roles=["grid_worker"])
    response = upload(client, auth_headers(worker, "en"), jpeg(), "not-a-uuid")
    assert response.status_code == 422
    assert response.json["errors"] == {"form": {"client_uuid": ["Not a valid UUID."]}}
    assert uploads_of(worker) == 0


# ---------------------------------------------------------------- the API's browser session


def test_browser_session_sign_in_csrf_and_sign_out(browser_client, make_user, two_towns):
    client = browser_client
    worker = make_user(roles=["grid_worker"], areas=[two_towns["GA"]], username="li_na")
    signed_out = client.get("/api/v1/auth/session")
    assert signed_out.status_code == 200 and signed_out.json["user"] is None
    token = signed_out.json["csrf_token"]
    credentials = {"username": "li_na", "password": PASSWORD}
    # Without the CSRF token (a page elsewhere posting): refused before the password is looked at.
    refused = client.post("/api/v1/auth/session", json=credentials)
    assert refused.status_code == 403 and db.session.scalar(select(func.count(ConsoleSession.id))) == 0
    wrong = client.post(
        "/api/v1/auth/session", json={**credentials, "password": "nope"}, headers={"X-CSRFToken": token}
    )
    assert wrong.status_code == 401 and wrong.json["code"] == 401
    signed_in = client.post("/api/v1/auth/session", json=credentials, headers={"X-CSRFToken": token})
    assert signed_in.status_code == 200
    assert signed_in.json["user"]["username"] == "li_na" and signed_in.json["user"]["id"] == worker.id
    assert "access_token" not in signed_in.json  # nothing for a script to keep
    cookie = signed_in.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    fresh = signed_in.json["csrf_token"]
    assert client.get("/api/v1/me").json["username"] == "li_na"
    assert client.get("/api/v1/auth/session").json["user"]["username"] == "li_na"
    # Writes with the cookie need the session's (new) token.
    body = {"client_uuid": str(uuid.uuid4()), "started_at": "2026-12-01T08:00:00+08:00"}
    assert client.post("/api/v1/patrols", json=body).status_code == 403
    assert client.post("/api/v1/patrols", json=body, headers={"X-CSRFToken": fresh}).status_code == 201
    assert client.delete("/api/v1/auth/session").status_code == 403
    assert client.delete("/api/v1/auth/session", headers={"X-CSRFToken": fresh}).status_code == 204
    assert client.get("/api/v1/me").status_code == 401
    assert client.get("/api/v1/auth/session").json["user"] is None


def test_browser_session_shares_the_sign_in_limits(browser_client, app, make_user):
    app.config["LOGIN_LIMIT_PER_ACCOUNT"] = "2 per minute"
    make_user(roles=["grid_worker"], username="zhao_lei")
    token = browser_client.get("/api/v1/auth/session").json["csrf_token"]
    statuses = [
        browser_client.post(
            "/api/v1/auth/session",
            json={"username": "zhao_lei", "password": "wrong"},
            headers={"X-CSRFToken": token},
        ).status_code
        for _ in range(3)
    ]
    assert statuses == [401, 401, 429]
    # The token API draws on the same budget for that account.
    api = browser_client.post("/api/v1/auth/login", json={"username": "zhao_lei", "password": PASSWORD})
    assert api.status_code == 429


def test_bearer_tokens_still_work_without_csrf(client, make_user, auth_headers, two_towns):
    worker = make_user(roles=["grid_worker"], areas=[two_towns["GA"]])
    body = {"client_uuid": str(uuid.uuid4()), "started_at": "2026-12-01T08:00:00+08:00"}
    assert client.post("/api/v1/patrols", json=body, headers=auth_headers(worker)).status_code == 201


# ---------------------------------------------------------------- the shell


def test_shell_service_worker_and_manifest(client):
    shell = client.get("/field/")
    assert shell.status_code == 200 and shell.mimetype == "text/html"
    csp = shell.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "worker-src 'self'" in csp
    worker = client.get("/field/sw.js")
    assert worker.mimetype == "text/javascript"
    listed = re.search(r"const SHELL = (\[.*?\]);", worker.get_data(as_text=True)).group(1)
    urls = __import__("json").loads(listed)
    assert urls[0] == "/field/" and "/field/assets/leaflet.js" in urls
    for url in urls:  # everything the service worker precaches exists
        assert client.get(url).status_code == 200, url
    manifest = client.get("/field/manifest.webmanifest")
    assert manifest.mimetype == "application/manifest+json"
    assert manifest.json["display"] == "standalone" and manifest.json["start_url"] == "/field/"
    assert {i["sizes"] for i in manifest.json["icons"]} == {"192x192", "512x512"}
    assert client.get("/field/assets/..%2Fconfig.py").status_code == 404
    assert client.get("/field/assets/routes.py").status_code == 404


def test_shell_first_load_fits_the_budget_gzip(client):
    urls = re.findall(r'(?:href|src)="(/field/[^"]+)"', client.get("/field/").get_data(as_text=True))
    assert "/field/assets/app.js" in urls and "/field/assets/leaflet.js" in urls
    total = 0
    for url in ["/field/", *urls]:
        response = client.get(url, headers={"Accept-Encoding": "gzip"})
        assert response.status_code == 200, url
        if response.mimetype != "image/png":
            assert response.headers["Content-Encoding"] == "gzip", url
            gzip.decompress(response.data)
        total += len(response.data)
    assert total <= SHELL_BUDGET, total
    # A revisit is a 304, not the bytes again.
    first = client.get("/field/assets/app.js")
    assert (
        client.get("/field/assets/app.js", headers={"If-None-Match": first.headers["ETag"]}).status_code
        == 304
    )
