from sqlalchemy import select

from gridgov.audit.models import AuditEntry
from gridgov.extensions import db


def test_sibling_town_staff_see_only_their_own_areas(client, make_user, auth_headers, two_towns):
    staff_a = make_user(roles=["staff"], areas=[two_towns["TA"]])
    staff_b = make_user(roles=["staff"], areas=[two_towns["TB"]])
    codes_a = {a["code"] for a in client.get("/api/v1/areas", headers=auth_headers(staff_a)).get_json()}
    codes_b = {a["code"] for a in client.get("/api/v1/areas", headers=auth_headers(staff_b)).get_json()}
    assert codes_a == {"TA", "CA", "GA", "MA"}
    assert codes_b == {"TB", "CB", "GB", "MB"}
    # The other town's area exists, but to staff A it is simply not there.
    response = client.get(f"/api/v1/areas/{two_towns['MB'].id}", headers=auth_headers(staff_a))
    assert response.status_code == 404
    assert client.get(f"/api/v1/areas/{two_towns['MA'].id}", headers=auth_headers(staff_a)).status_code == 200


def test_user_without_areas_sees_nothing_and_admin_everything(client, make_user, auth_headers, two_towns):
    nobody = make_user(roles=["staff"])
    assert client.get("/api/v1/areas", headers=auth_headers(nobody)).get_json() == []
    admin = make_user(roles=["admin"])
    response = client.get("/api/v1/areas?page_size=100", headers=auth_headers(admin))
    assert len(response.get_json()) == 9
    assert '"total": 9' in response.headers["X-Pagination"]


def test_pagination_header_and_page_size_cap(client, make_user, auth_headers, two_towns):
    admin = make_user(roles=["admin"])
    response = client.get("/api/v1/areas?page=2&page_size=4", headers=auth_headers(admin))
    assert len(response.get_json()) == 4
    assert '"page": 2' in response.headers["X-Pagination"]
    assert client.get("/api/v1/areas?page_size=101", headers=auth_headers(admin)).status_code == 422


def test_admin_creates_user_with_roles_and_areas(client, make_user, auth_headers, two_towns):
    admin = make_user(roles=["admin"])
    body = {
        "username": "new_worker",
        "password": "long-enough-pass",
        "roles": ["grid_worker"],
        "area_ids": [two_towns["GA"].id],
        "phone": "13912345678",
    }
    response = client.post("/api/v1/users", json=body, headers=auth_headers(admin))
    assert response.status_code == 201
    created = response.get_json()
    assert created["roles"] == ["grid_worker"] and created["area_ids"] == [two_towns["GA"].id]
    assert created["phone"] == "139****5678"
    assert client.post("/api/v1/users", json=body, headers=auth_headers(admin)).status_code == 409
    login = client.post("/api/v1/auth/login", json={"username": "new_worker", "password": "long-enough-pass"})
    assert login.status_code == 200


def test_admin_rejects_unknown_role_short_password_and_unknown_area(client, make_user, auth_headers):
    admin = make_user(roles=["admin"])
    headers = auth_headers(admin)
    base = {"username": "someone", "password": "long-enough-pass", "roles": ["staff"]}
    assert client.post("/api/v1/users", json={**base, "roles": ["king"]}, headers=headers).status_code == 422
    assert (
        client.post("/api/v1/users", json={**base, "password": "short"}, headers=headers).status_code == 422
    )
    assert client.post("/api/v1/users", json={**base, "area_ids": [9999]}, headers=headers).status_code == 422
    assert (
        db.session.scalar(
            select(AuditEntry).where(
                AuditEntry.object_type == "users", AuditEntry.changes["username"].as_string() == "someone"
            )
        )
        is None
    )


def test_non_admin_cannot_manage_users(client, make_user, auth_headers):
    staff = make_user(roles=["staff"])
    body = {"username": "x_user", "password": "long-enough-pass", "roles": ["admin"]}
    assert client.post("/api/v1/users", json=body, headers=auth_headers(staff)).status_code == 403
    assert (
        client.patch(
            f"/api/v1/users/{staff.id}", json={"roles": ["admin"]}, headers=auth_headers(staff)
        ).status_code
        == 403
    )


def test_writes_are_audited_with_actor_and_personal_fields_hidden(client, make_user, auth_headers, two_towns):
    admin = make_user(roles=["admin"])
    body = {"username": "audited", "password": "long-enough-pass", "roles": ["staff"], "phone": "13712345678"}
    created = client.post("/api/v1/users", json=body, headers=auth_headers(admin)).get_json()
    client.patch(
        f"/api/v1/users/{created['id']}",
        json={"roles": ["staff", "leader"], "phone": "13700000000"},
        headers=auth_headers(admin),
    )
    entries = client.get(
        f"/api/v1/audit?object_type=users&object_id={created['id']}", headers=auth_headers(admin)
    ).get_json()
    actions = [e["action"] for e in entries]
    assert actions == ["update", "create"]
    assert all(e["actor_id"] == admin.id for e in entries)
    text = str(entries)
    assert "13712345678" not in text and "13700000000" not in text
    assert "argon2" not in text and "password_hash" not in entries[1]["changes"]
    assert entries[0]["changes"]["phone"] == ["***", "***"]
    role_entries = client.get("/api/v1/audit?object_type=user_roles", headers=auth_headers(admin)).get_json()
    assert any(e["changes"].get("role") == "leader" for e in role_entries)
    staff = make_user(roles=["staff"])
    assert client.get("/api/v1/audit", headers=auth_headers(staff)).status_code == 403
