"""Who reads what beyond his areas: departments see the issues sent to them, and a worker's track
is read by his supervisors only (README, "Who sees what")."""

import uuid

from sqlalchemy import select

from gridgov.extensions import db
from gridgov.issues.catalogue import seed_catalogue
from gridgov.issues.models import Department, DepartmentMember


def _report(client, headers, text):
    return client.post(
        "/api/v1/issues",
        headers=headers,
        json={
            "client_uuid": str(uuid.uuid4()),
            "category": "INFRA-LIGHT",
            "description": text,
            "location": {"type": "Point", "coordinates": [113.001, 33.001]},
        },
    ).get_json()["id"]


def _member(make_user, department_id, areas=()):
    user = make_user(roles=["department"], areas=areas)
    db.session.add(DepartmentMember(department_id=department_id, user_id=user.id))
    db.session.commit()
    return user


def test_a_department_sees_only_issues_dispatched_or_whistled_to_it(
    client, make_user, auth_headers, two_towns
):
    seed_catalogue()
    cg = db.session.scalar(select(Department.id).where(Department.code == "CG"))
    staff = auth_headers(make_user(roles=["staff"], areas=[two_towns["TA"]]))
    untouched = _report(client, staff, "路灯不亮")
    dispatched = _report(client, staff, "井盖缺失")
    whistled = _report(client, staff, "占道经营")
    act = lambda issue, body: client.post(f"/api/v1/issues/{issue}/actions", headers=staff, json=body)  # noqa: E731
    assert act(dispatched, {"action": "dispatch", "department_id": cg}).status_code == 200
    assert act(whistled, {"action": "escalate", "departments": [cg], "note": "多部门"}).status_code == 200

    placed_in_town = auth_headers(_member(make_user, cg, [two_towns["TA"]]))
    listed = client.get("/api/v1/issues", headers=placed_in_town).get_json()
    assert sorted(i["id"] for i in listed) == sorted([dispatched, whistled])
    assert client.get(f"/api/v1/issues/{untouched}", headers=placed_in_town).status_code == 404

    no_areas = auth_headers(_member(make_user, cg))
    assert client.get(f"/api/v1/issues/{whistled}", headers=no_areas).status_code == 200
    reported_in = client.post(
        f"/api/v1/issues/{whistled}/actions", headers=no_areas, json={"action": "report_in"}
    )
    assert reported_in.status_code == 200, reported_in.get_json()


def test_only_a_workers_supervisors_read_his_track(client, make_user, auth_headers, two_towns):
    def patrol_of(user):
        return client.post(
            "/api/v1/patrols",
            headers=auth_headers(user),
            json={"client_uuid": str(uuid.uuid4()), "started_at": "2026-11-20T09:00:00+08:00"},
        ).get_json()["id"]

    worker = make_user(roles=["grid_worker"], areas=[two_towns["MA"]])
    supervisor = make_user(roles=["staff"], areas=[two_towns["TA"]])
    colleague = make_user(roles=["staff", "grid_worker"], areas=[two_towns["TA"]])
    leader = make_user(roles=["leader"], areas=[two_towns["TA"]])
    worker_track = f"/api/v1/patrols/{patrol_of(worker)}/track"
    colleague_track = f"/api/v1/patrols/{patrol_of(colleague)}/track"

    assert client.get(worker_track, headers=auth_headers(worker)).status_code == 200
    assert client.get(worker_track, headers=auth_headers(supervisor)).status_code == 200
    assert client.get(worker_track, headers=auth_headers(leader)).status_code == 404
    assert client.get(colleague_track, headers=auth_headers(supervisor)).status_code == 404
    other_town = make_user(roles=["staff"], areas=[two_towns["TB"]])
    assert client.get(worker_track, headers=auth_headers(other_town)).status_code == 404
