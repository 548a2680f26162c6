"""Grid issues: submission, idempotency, sync, the whole workflow, scope, deadlines and figures."""

import io
import threading
import uuid
from datetime import datetime, timedelta

import pytest
from PIL import Image
from sqlalchemy import func, select

from gridgov.extensions import db
from gridgov.issues.catalogue import seed_catalogue
from gridgov.issues.models import Department, DepartmentMember, Issue, IssueEvent
from gridgov.workcal.services import seed_from_library

POINT_A = {"type": "Point", "coordinates": [113.001, 33.001]}  # in micro-grid MA (town TA)
POINT_B = {"type": "Point", "coordinates": [113.101, 33.001]}  # in micro-grid MB (town TB)


@pytest.fixture
def world(app, make_user, auth_headers, two_towns):
    seed_catalogue()
    seed_from_library()
    cg = db.session.scalar(select(Department).where(Department.code == "CG"))
    people = {
        "worker_a": make_user(roles=["grid_worker"], areas=[two_towns["GA"]]),
        "worker_b": make_user(roles=["grid_worker"], areas=[two_towns["GB"]]),
        "worker_a2": make_user(roles=["grid_worker"], areas=[two_towns["GA"]]),
        "staff_a": make_user(roles=["staff"], areas=[two_towns["TA"]]),
        "dept": make_user(roles=["department"]),
        "leader": make_user(roles=["leader"], areas=[two_towns["D"]]),
    }
    db.session.add(DepartmentMember(department_id=cg.id, user_id=people["dept"].id))
    db.session.commit()
    headers = {name: auth_headers(user, "en") for name, user in people.items()}
    return {"people": people, "h": headers, "cg": cg, "areas": two_towns}


def report(client, headers, point=POINT_A, category="INFRA-LIGHT", **extra):
    body = {
        "client_uuid": str(uuid.uuid4()),
        "category": category,
        "description": "路灯不亮",
        "location": point,
        **extra,
    }
    return client.post("/api/v1/issues", json=body, headers=headers), body


def act(client, headers, issue_id, action, **data):
    return client.post(f"/api/v1/issues/{issue_id}/actions", json={"action": action, **data}, headers=headers)


def photo(client, headers, fmt="JPEG") -> int:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), "blue").save(buffer, fmt)
    response = client.post(
        "/api/v1/uploads",
        data={"file": (io.BytesIO(buffer.getvalue()), "x.bin")},
        headers=headers,
        content_type="multipart/form-data",
    )
    assert response.status_code == 201, response.get_json()
    return response.get_json()["id"]


def test_submit_resolves_micro_grid_and_deadline(client, world):
    response, body = report(client, world["h"]["worker_a"])
    assert response.status_code == 201
    issue = response.get_json()
    assert issue["micro_grid"]["code"] == "MA" and issue["status"] == "reported"
    assert issue["deadline"] and issue["deadline_provisional"] is True
    assert issue["possible_duplicates"] == []
    again, _ = report(client, world["h"]["worker_a"], description="路灯不亮")
    assert [d["id"] for d in again.get_json()["possible_duplicates"]] == [issue["id"]]


def test_same_uuid_same_body_is_200_and_different_body_409(client, world):
    response, body = report(client, world["h"]["worker_a"])
    first = response.get_json()
    for _ in range(5):
        replay = client.post("/api/v1/issues", json=body, headers=world["h"]["worker_a"])
        assert replay.status_code == 200 and replay.get_json()["id"] == first["id"]
    changed = client.post(
        "/api/v1/issues", json={**body, "description": "另一件事"}, headers=world["h"]["worker_a"]
    )
    assert changed.status_code == 409
    assert db.session.scalar(select(func.count(Issue.id))) == 1


def test_five_concurrent_replays_make_one_issue(app, world):
    body = {
        "client_uuid": str(uuid.uuid4()),
        "category": "INFRA-LIGHT",
        "description": "并发重试",
        "location": POINT_A,
    }
    statuses = []

    def send():
        with app.test_client() as client:
            statuses.append(
                client.post("/api/v1/issues", json=body, headers=world["h"]["worker_a"]).status_code
            )

    threads = [threading.Thread(target=send) for _ in range(5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(statuses) == [200, 200, 200, 200, 201]
    assert db.session.scalar(select(func.count(Issue.id))) == 1


def test_sync_batch_stores_49_and_refuses_the_malformed_one(client, world):
    items = [
        {
            "client_uuid": str(uuid.uuid4()),
            "category": "ENV-RUBBISH",
            "description": f"垃圾 {i}",
            "location": {"type": "Point", "coordinates": [113.0001 + i * 0.00009, 33.001]},
            "reported_at": "2026-11-20T09:00:00+08:00",
        }
        for i in range(50)
    ]
    items[17] = {"client_uuid": "not-a-uuid", "category": "ENV-RUBBISH", "location": {"type": "Point"}}
    response = client.post("/api/v1/sync/issues", json={"items": items}, headers=world["h"]["worker_a"])
    assert response.status_code == 200
    results = response.get_json()
    assert [r["status"] for r in results].count(201) == 49
    assert results[17]["status"] == 422 and results[17]["index"] == 17
    assert db.session.scalar(select(func.count(Issue.id))) == 49
    stored = db.session.scalar(select(Issue).where(Issue.description == "垃圾 3"))
    assert stored.reported_at == datetime(2026, 11, 20, 1, 0, tzinfo=stored.reported_at.tzinfo)
    assert stored.received_at > stored.reported_at and stored.source == "sync"
    again = client.post(
        "/api/v1/sync/issues", json={"items": items}, headers=world["h"]["worker_a"]
    ).get_json()
    assert [r["status"] for r in again].count(200) == 49
    assert db.session.scalar(select(func.count(Issue.id))) == 49


def test_full_path_rework_twice_defer_resume_then_close_and_reopen(client, world):
    h, cg = world["h"], world["cg"]
    issue_id = report(client, h["worker_a"])[0].get_json()["id"]
    assert act(client, h["staff_a"], issue_id, "accept").get_json()["status"] == "accepted"
    dispatched = act(client, h["staff_a"], issue_id, "dispatch", department_id=cg.id).get_json()
    assert dispatched["status"] == "dispatched" and dispatched["deadline_provisional"] is False
    assert act(client, h["dept"], issue_id, "start").get_json()["status"] == "in_progress"
    deferred = act(client, h["staff_a"], issue_id, "defer", note="等待配件")
    assert deferred.get_json()["status"] == "deferred"
    assert (
        act(client, h["dept"], issue_id, "fix", note="x", photos=[photo(client, h["dept"])]).status_code
        == 409
    )
    assert act(client, h["staff_a"], issue_id, "resume").get_json()["status"] == "in_progress"
    for round_ in (1, 2):
        fixed = act(
            client, h["dept"], issue_id, "fix", note=f"第{round_}次处置", photos=[photo(client, h["dept"])]
        )
        assert fixed.get_json()["status"] == "fixed"
        failed = act(client, h["worker_a"], issue_id, "verify", result="fail", note="仍不亮")
        assert failed.get_json()["status"] == "in_progress" and failed.get_json()["rework_count"] == round_
    act(client, h["dept"], issue_id, "fix", note="更换灯头", photos=[photo(client, h["dept"])])
    assert act(client, h["dept"], issue_id, "verify", result="pass").status_code == 403  # the fixer himself
    closed = act(client, h["worker_a"], issue_id, "verify", result="pass").get_json()
    assert closed["status"] == "closed" and closed["closed_on_time"] is True
    reopened = act(client, h["staff_a"], issue_id, "reopen", note="复发").get_json()
    assert reopened["status"] == "in_progress" and reopened["reopen_count"] == 1
    timeline = client.get(f"/api/v1/issues/{issue_id}/timeline", headers=h["staff_a"]).get_json()
    assert [e["action"] for e in timeline] == [
        "report",
        "accept",
        "dispatch",
        "start",
        "defer",
        "resume",
        "fix",
        "verify",
        "fix",
        "verify",
        "fix",
        "verify",
        "reopen",
    ]
    assert all(e["actor_id"] and e["at"] for e in timeline)


def test_merge_reject_and_forbidden_moves(client, world):
    h = world["h"]
    first = report(client, h["worker_a"])[0].get_json()["id"]
    second = report(client, h["worker_a"])[0].get_json()["id"]
    merged = act(client, h["staff_a"], second, "merge", into_id=first).get_json()
    assert merged["status"] == "merged" and merged["merged_into_id"] == first
    refused = act(client, h["staff_a"], second, "accept")
    assert refused.status_code == 409
    body = refused.get_json()
    assert body["state"] == "merged" and body["allowed_actions"] == [] and "merged" in body["message"]
    assert act(client, h["worker_a"], first, "accept").status_code == 403  # grid workers do not file
    assert act(client, h["staff_a"], first, "reject").status_code == 422  # needs a reason
    assert act(client, h["staff_a"], first, "reject", note="重复上报").get_json()["status"] == "rejected"
    assert act(client, h["staff_a"], first, "verify", result="pass").status_code == 409


def test_fix_on_the_spot_still_needs_verification(client, world):
    h = world["h"]
    pid = photo(client, h["worker_a"])
    response, _ = report(client, h["worker_a"], fixed_on_spot=True, fix_note="已清理", fix_photos=[pid])
    issue = response.get_json()
    assert issue["status"] == "fixed" and issue["fixer_id"] == world["people"]["worker_a"].id
    assert act(client, h["worker_a"], issue["id"], "verify", result="pass").status_code == 403
    assert act(client, h["worker_a2"], issue["id"], "verify", result="pass").get_json()["status"] == "closed"


def test_grid_worker_cannot_see_or_act_on_another_grids_issue(client, world):
    h = world["h"]
    other = report(client, h["worker_b"], point=POINT_B)[0].get_json()["id"]
    assert client.get(f"/api/v1/issues/{other}", headers=h["worker_a"]).status_code == 404
    assert client.get(f"/api/v1/issues/{other}/timeline", headers=h["worker_a"]).status_code == 404
    assert act(client, h["worker_a"], other, "verify", result="pass").status_code == 404
    assert act(client, h["staff_a"], other, "accept").status_code == 404  # other town's staff too
    mine = {i["id"] for i in client.get("/api/v1/issues", headers=h["worker_a"]).get_json()}
    assert other not in mine
    assert other in {i["id"] for i in client.get("/api/v1/issues", headers=h["worker_b"]).get_json()}


def test_idempotency_key_on_actions(client, world):
    h = world["h"]
    issue_id = report(client, h["worker_a"])[0].get_json()["id"]
    headers = {**h["staff_a"], "Idempotency-Key": "accept-1"}
    first = client.post(f"/api/v1/issues/{issue_id}/actions", json={"action": "accept"}, headers=headers)
    second = client.post(f"/api/v1/issues/{issue_id}/actions", json={"action": "accept"}, headers=headers)
    assert first.status_code == second.status_code == 200
    assert second.headers["Idempotent-Replayed"] == "true" and second.get_json() == first.get_json()
    assert db.session.scalar(select(func.count(IssueEvent.id)).where(IssueEvent.action == "accept")) == 1
    other = client.post(
        f"/api/v1/issues/{issue_id}/actions", json={"action": "reject", "note": "x"}, headers=headers
    )
    assert other.status_code == 409


def test_whistle_and_report_in(client, world):
    h, cg = world["h"], world["cg"]
    issue_id = report(client, h["worker_a"])[0].get_json()["id"]
    escalated = act(
        client, h["staff_a"], issue_id, "escalate", departments=[cg.id], note="多部门联动"
    ).get_json()
    assert escalated["level"] == "community"
    whistles = client.get(f"/api/v1/issues/{issue_id}/whistles", headers=h["staff_a"]).get_json()
    assert [w["department_id"] for w in whistles] == [cg.id] and whistles[0]["acked_at"] is None
    assert act(client, h["dept"], issue_id, "report_in").status_code == 200
    assert client.get(f"/api/v1/issues/{issue_id}/whistles", headers=h["staff_a"]).get_json()[0]["acked_at"]
    assert act(client, h["dept"], issue_id, "report_in").status_code == 404


def test_uploads_by_content_without_gps_and_scoped(client, world):
    h = world["h"]
    exif = Image.Exif()
    exif[0x8825] = {1: "N", 2: (33.0, 45.0, 0.0)}
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), "red").save(buffer, "JPEG", exif=exif.tobytes())
    response = client.post(
        "/api/v1/uploads",
        data={"file": (io.BytesIO(buffer.getvalue()), "photo.txt")},
        headers=h["worker_b"],
        content_type="multipart/form-data",
    )
    assert response.status_code == 201 and response.get_json()["content_type"] == "image/jpeg"
    upload_id = response.get_json()["id"]
    stored = client.get(f"/api/v1/uploads/{upload_id}", headers=h["worker_b"])
    assert stored.status_code == 200 and Image.open(io.BytesIO(stored.data)).getexif().get_ifd(0x8825) == {}
    assert client.get(f"/api/v1/uploads/{upload_id}", headers=h["worker_a"]).status_code == 404
    text = client.post(
        "/api/v1/uploads",
        data={"file": (io.BytesIO(b"GIF89a not allowed"), "a.jpg")},
        headers=h["worker_b"],
        content_type="multipart/form-data",
    )
    assert text.status_code == 415
    big = client.post(
        "/api/v1/uploads",
        data={"file": (io.BytesIO(b"\xff\xd8\xff" + bytes(11 * 1024 * 1024)), "a.jpg")},
        headers=h["worker_b"],
        content_type="multipart/form-data",
    )
    assert big.status_code == 413


def test_lists_filters_and_geojson(client, world):
    h = world["h"]
    report(client, h["worker_a"], category="ENV-RUBBISH")
    report(client, h["worker_a"], category="INFRA-LIGHT")
    only = client.get("/api/v1/issues?category=ENV-RUBBISH", headers=h["staff_a"]).get_json()
    assert len(only) == 1 and only[0]["category"] == "ENV-RUBBISH"
    assert client.get("/api/v1/issues?bbox=113.1,33,113.2,33.1", headers=h["staff_a"]).get_json() == []
    collection = client.get("/api/v1/issues?format=geojson", headers=h["staff_a"])
    assert collection.headers["Content-Type"].startswith("application/geo+json")
    assert len(collection.get_json()["features"]) == 2
    assert client.get("/api/v1/issues?bbox=1,2,3", headers=h["staff_a"]).status_code == 422
    assert client.get("/api/v1/issues?overdue=true", headers=h["staff_a"]).get_json() == []


def test_overdue_issue_escalates_and_notifies_new_owners(client, world):
    from gridgov.notifications.jobs import tick
    from gridgov.notifications.models import Notification

    h, cg = world["h"], world["cg"]
    issue_id = report(client, h["worker_a"], category="MANHOLE")[0].get_json()["id"]  # 2 working hours
    act(client, h["staff_a"], issue_id, "dispatch", department_id=cg.id)
    issue = db.session.get(Issue, issue_id)
    later = issue.deadline + timedelta(hours=25)
    tick(later)
    db.session.refresh(issue)
    assert issue.level == 1
    kinds = {(n.kind, n.recipient_id) for n in db.session.scalars(select(Notification))}
    assert ("issue_overdue", world["people"]["dept"].id) in kinds
    tick(later + timedelta(minutes=1))
    assert db.session.scalar(select(func.count(Notification.id))) == len(kinds)
    tick(issue.deadline + timedelta(hours=49))
    db.session.refresh(issue)
    assert issue.level == 2
    town_notice = db.session.scalar(
        select(Notification).where(
            Notification.kind == "issue_escalated", Notification.recipient_id == world["people"]["staff_a"].id
        )
    )
    assert town_notice is not None and "镇" in town_notice.title
    assert [
        e["action"]
        for e in client.get(f"/api/v1/issues/{issue_id}/timeline", headers=h["staff_a"]).get_json()
    ][-2:] == ["auto_escalate", "auto_escalate"]


def test_admin_edits_a_category_partially(client, world, make_user, auth_headers):
    from gridgov.issues.models import Category

    admin = auth_headers(make_user(roles=["admin"]))
    category = db.session.scalar(select(Category).where(Category.code == "INFRA-LIGHT"))
    response = client.patch(f"/api/v1/categories/{category.id}", json={"limit_value": 3}, headers=admin)
    assert response.status_code == 200 and response.get_json()["limit_value"] == 3
    assert response.get_json()["name_zh"] == "路灯损坏"
    assert (
        client.patch(
            f"/api/v1/categories/{category.id}", json={"limit_value": 3}, headers=world["h"]["staff_a"]
        ).status_code
        == 403
    )
