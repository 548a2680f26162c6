"""States as data and the one workflow engine, as users notice them: what a response offers this
user, and the console's wage filter offering every state a case can be in."""

from __future__ import annotations

import re
import uuid

import pytest
from sqlalchemy import select

from gridgov.auth.models import User
from gridgov.extensions import db
from gridgov.issues.catalogue import seed_catalogue
from gridgov.seeding import seed_demo
from gridgov.workcal.services import seed_from_library
from tests.test_console import OwnContextClient, sign_in
from tests.test_issues import photo

POINT_A = {"type": "Point", "coordinates": [113.001, 33.001]}  # in micro-grid MA (town TA)
ALL_WAGE_STATES = {
    "received",
    "not_accepted",
    "transferred",
    "merged",
    "verifying",
    "coordinating",
    "payment_ordered",
    "payment_committed",
    "paying",
    "callback",
    "closed",
}


@pytest.fixture
def people(app, make_user, auth_headers, two_towns):
    seed_catalogue()
    seed_from_library()
    users = {
        "worker": make_user(roles=["grid_worker"], areas=[two_towns["GA"]]),
        "checker": make_user(roles=["grid_worker"], areas=[two_towns["GA"]]),
        "staff": make_user(roles=["staff"], areas=[two_towns["TA"]]),
    }
    return {name: auth_headers(user, "en") for name, user in users.items()}


def _issue(client, headers, issue_id):
    return client.get(f"/api/v1/issues/{issue_id}", headers=headers).get_json()


def _act(client, headers, issue_id, action, **data):
    return client.post(f"/api/v1/issues/{issue_id}/actions", json={"action": action, **data}, headers=headers)


def test_allowed_actions_are_what_this_user_may_do_in_this_state(client, people):
    body = {"client_uuid": str(uuid.uuid4()), "category": "INFRA-LIGHT", "description": "路灯不亮"}
    created = client.post("/api/v1/issues", json={**body, "location": POINT_A}, headers=people["worker"])
    issue_id = created.get_json()["id"]
    # A reported issue: staff accept, reject, dispatch …; the worker who reported it may do nothing yet.
    assert _issue(client, people["worker"], issue_id)["allowed_actions"] == []
    staff_moves = _issue(client, people["staff"], issue_id)["allowed_actions"]
    assert {"accept", "reject", "dispatch", "merge", "escalate"} <= set(staff_moves)
    assert "confirm_location" not in staff_moves  # the report lies inside its micro-grid
    refused = _act(client, people["worker"], issue_id, "accept")
    assert refused.status_code == 403
    worker_id = created.get_json()["reporter_id"]
    dispatched = _act(client, people["staff"], issue_id, "dispatch", assignee_id=worker_id)
    assert dispatched.status_code == 200  # staff may do every move of the state: handle, report in …
    assert dispatched.get_json()["allowed_actions"] == [
        "dispatch",
        "start",
        "fix",
        "defer",
        "merge",
        "escalate",
        "report_in",
    ]
    assert _issue(client, people["worker"], issue_id)["allowed_actions"] == ["start", "fix"]
    fixed = _act(
        client, people["worker"], issue_id, "fix", note="修好了", photos=[photo(client, people["worker"])]
    )
    assert fixed.status_code == 200 and fixed.get_json()["allowed_actions"] == []  # not his own verify
    assert _issue(client, people["checker"], issue_id)["allowed_actions"] == ["verify"]
    assert _act(client, people["worker"], issue_id, "verify", result="pass").status_code == 403


def test_a_state_conflict_names_the_state_and_the_moves_left_to_this_user(client, people):
    body = {"client_uuid": str(uuid.uuid4()), "category": "INFRA-LIGHT", "description": "路灯不亮"}
    created = client.post("/api/v1/issues", json={**body, "location": POINT_A}, headers=people["worker"])
    issue_id = created.get_json()["id"]
    refused = _act(client, people["worker"], issue_id, "verify", result="pass")
    answer = refused.get_json()
    assert refused.status_code == 409 and answer["state"] == "reported"
    assert answer["allowed_actions"] == []  # nothing the reporter himself may do yet
    assert "reported" in answer["message"] and "verify" in answer["message"]
    by_staff = _act(client, people["staff"], issue_id, "verify", result="pass").get_json()
    assert by_staff["allowed_actions"][:3] == ["accept", "reject", "dispatch"]
    assert "accept, reject, dispatch" in by_staff["message"]


@pytest.fixture
def console(app):
    app.test_client_class = OwnContextClient
    return app.test_client()


def test_the_console_wage_filter_offers_every_state_and_finds_a_merged_case(console, app, auth_headers):
    demo = seed_demo(history=False)
    officer = db.session.scalar(select(User).where(User.username == "wage_officer"))
    claim = {
        "claimant": {"name": "王建国", "phone": "13812345678", "id_number": "11010519491231002X"},
        "project": {"name": "锦华苑二期", "area_code": "410471001001"},
        "work_period": {"from": "2026-01-01", "to": "2026-02-01"},
        "amount_claimed": "7000.00",
        "description": "工资未结",
    }
    api = app.test_client()
    first = api.post("/api/v1/public/wage-claims", json=claim).get_json()["number"]
    second = api.post("/api/v1/public/wage-claims", json={**claim, "description": "同一工地"}).get_json()
    cases = api.get("/api/v1/wage-cases?page_size=100", headers=auth_headers(officer)).get_json()
    second_id = next(c["id"] for c in cases if c["number"] == second["number"])
    merged = api.post(
        f"/api/v1/wage-cases/{second_id}/actions",
        json={"action": "merge", "into_number": first},
        headers=auth_headers(officer),
    )
    assert merged.status_code == 200 and merged.get_json()["status"] == "merged"

    sign_in(console, "wage_officer", demo["password"])
    page = console.get("/console/wages").get_data(as_text=True)
    select_html = re.search(r'<select name="status">(.*?)</select>', page, re.S).group(1)
    options = dict(re.findall(r'<option value="([a-z_]+)"[^>]*>([^<]+)</option>', select_html))
    assert set(options) == ALL_WAGE_STATES
    assert options["not_accepted"] == "不予受理"
    assert options["transferred"] == "已移交其他机关"
    assert options["merged"] == "已与其他案件合并办理"
    filtered = console.get("/console/wages?status=merged").get_data(as_text=True)
    assert set(re.findall(r'data-case="(\d+)"', filtered)) == {str(second_id)}
