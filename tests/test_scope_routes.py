"""Generated from the URL map: every route that takes an object id refuses a user of another scope.

User B holds every role but admin, in the sibling town; every object belongs to town A. A route
added later with an id parameter this test does not know fails `test_every_id_parameter_is_known`,
so it cannot escape the check.
"""

import uuid
from datetime import time

import pytest
from sqlalchemy import select
from werkzeug.routing import IntegerConverter

from gridgov.auth.models import ROLES
from gridgov.extensions import db
from gridgov.issues.catalogue import seed_catalogue
from gridgov.issues.models import Department, DepartmentMember
from gridgov.markets.rosters import assign, create_team
from gridgov.markets.services import add_exception, create_market
from gridgov.notifications.models import Notification
from gridgov.notifications.outbox import Draft, enqueue
from gridgov.notifications.services import create_channel
from gridgov.timeutil import utcnow
from gridgov.wages.intake import file_claim

ID_PARAMS = {
    "user_id",
    "area_id",
    "issue_id",
    "upload_id",
    "category_id",
    "market_id",
    "exception_id",
    "assignment_id",
    "team_id",
    "notification_id",
    "channel_id",
    "delivery_id",
    "patrol_id",
    "case_id",
    "notice_id",
    "evidence_id",
}
ADMIN_ONLY = {"user_id", "category_id", "delivery_id"}
NOT_IDS = {"year"}  # /calendar/<int:year>: a calendar year, the same in every scope
QUERIES = {"/api/v1/markets/<int:market_id>/occurrences": "?from=2026-12-01&to=2026-12-31"}
BODIES = {
    ("PATCH", "/api/v1/areas/<int:area_id>"): {"name": "x"},
    ("PUT", "/api/v1/areas/<int:area_id>/workers"): {"user_ids": []},
    ("PUT", "/api/v1/areas/<int:area_id>/patrol-plan"): {"frequency": "daily"},
    ("POST", "/api/v1/issues/<int:issue_id>/actions"): {"action": "accept"},
    ("PATCH", "/api/v1/markets/<int:market_id>"): {"name": "x"},
    ("POST", "/api/v1/markets/<int:market_id>/exceptions"): {
        "action": "add",
        "date": "2030-01-01",
        "reason": "x",
    },
    ("POST", "/api/v1/markets/<int:market_id>/assignments"): {"team_ids": [1], "date": "2030-01-01"},
    ("POST", "/api/v1/markets/<int:market_id>/checkins"): {"lon": 113.001, "lat": 33.001},
    ("PATCH", "/api/v1/patrol-teams/<int:team_id>"): {"name": "x"},
    ("PATCH", "/api/v1/notification-channels/<int:channel_id>"): {"name": "x"},
    ("POST", "/api/v1/patrols/<int:patrol_id>/points"): {"seq": 99, "points": []},
    ("POST", "/api/v1/patrols/<int:patrol_id>/finish"): {"ended_at": "2030-01-01T00:00:00+08:00"},
    ("POST", "/api/v1/wage-cases/<int:case_id>/actions"): {"action": "accept"},
    ("POST", "/api/v1/wage-cases/<int:case_id>/reveal"): {"field": "phone", "reason": "just looking"},
    ("PATCH", "/api/v1/users/<int:user_id>"): {"is_active": False},
    ("PATCH", "/api/v1/categories/<int:category_id>"): {"urgent": True},
}


CONSOLE_FORMS = {
    "/console/issues/<int:issue_id>/actions": {"action": "escalate", "note": "x"},
    "/console/markets/<int:market_id>/assign": {"team_ids": "1", "date": "2030-01-01"},
    "/console/markets/<int:market_id>/exceptions": {"action": "add", "date": "2030-01-01", "reason": "x"},
    "/console/wages/<int:case_id>/actions": {"action": "extend", "note": "x"},
    "/console/wages/<int:case_id>/reveal": {"field": "phone", "reason": "just looking"},
}


def own_refs(body: dict, outsider, town) -> dict:
    """Ids inside a body name the outsider's own objects, so only the path id is foreign."""
    if body and "team_ids" in body:
        team = create_team(outsider, {"name": "乙队", "area_id": town.id, "member_ids": [outsider.id]})
        value = [team.id] if isinstance(body["team_ids"], list) else str(team.id)
        return {**body, "team_ids": value}
    return body


def id_rules(app, prefix="/api/v1"):
    for rule in app.url_map.iter_rules():
        names = {a for a, c in rule._converters.items() if isinstance(c, IntegerConverter)} - NOT_IDS
        if rule.rule.startswith(prefix) and names:
            yield rule, names


def test_every_id_parameter_is_known(app):
    rules = [*id_rules(app), *id_rules(app, "/console")]
    unknown = {(rule.rule, name) for rule, names in rules for name in names if name not in ID_PARAMS}
    assert unknown == set(), "add these id parameters (and an object of town A) to the scope test"


@pytest.fixture
def app_config(app_config):
    return {**app_config, "WEBHOOK_ALLOW": "127.0.0.1/32"}  # the channel below points at loopback


@pytest.fixture
def town_a_objects(client, make_user, auth_headers, two_towns):
    """One object of every kind, all in town A."""
    seed_catalogue()
    admin = make_user(roles=["admin"])
    staff_a = make_user(roles=["staff", "grid_worker", "wage_officer"], areas=[two_towns["TA"]])
    headers_a = auth_headers(staff_a)
    issue = client.post(
        "/api/v1/issues",
        headers=headers_a,
        json={
            "client_uuid": str(uuid.uuid4()),
            "category": "INFRA-LIGHT",
            "description": "d",
            "location": {"type": "Point", "coordinates": [113.001, 33.001]},
        },
    ).get_json()
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (4, 4)).save(buffer, "PNG")
    upload = client.post(
        "/api/v1/uploads",
        headers=headers_a,
        content_type="multipart/form-data",
        data={"file": (io.BytesIO(buffer.getvalue()), "a.png")},
    ).get_json()
    market = create_market(
        staff_a,
        {
            "name": "东村",
            "area_id": two_towns["CA"].id,
            "rule": "每周三",
            "missing_day": "skip",
            "start_time": time(7),
            "end_time": time(12),
            "zones": None,
        },
    )
    team = create_team(staff_a, {"name": "一队", "area_id": two_towns["TA"].id, "member_ids": [staff_a.id]})
    from datetime import date

    assignment = assign(staff_a, market.id, {"team_ids": [team.id], "date": date(2026, 12, 2)})[0]
    exception = add_exception(
        staff_a, market.id, {"action": "cancel", "date": date(2026, 12, 9), "reason": "雨"}
    )
    patrol = client.post(
        "/api/v1/patrols",
        headers=headers_a,
        json={"client_uuid": str(uuid.uuid4()), "started_at": "2026-11-20T09:00:00+08:00"},
    ).get_json()
    from datetime import date as d

    case, _ = file_claim(
        {
            "claimant": {"name": "王", "phone": "13812345678", "id_number": "11010519491231002X"},
            "project": {"name": "p", "area_code": "TA"},
            "parties": [{"role": "general_contractor", "name": "g"}],
            "work_period": {"from_": d(2026, 1, 1), "to": d(2026, 2, 1)},
            "amount_claimed": "100.00",
            "workers": 1,
            "description": "x",
        }
    )
    from gridgov.wages import evidence
    from gridgov.wages.workflow import act

    (photo,) = evidence.add(case, [buffer.getvalue()], "iou")
    act(staff_a, case.id, {"action": "accept"})
    from gridgov.wages.models import WageParty

    party = db.session.scalar(select(WageParty).where(WageParty.case_id == case.id))
    act(staff_a, case.id, {"action": "interview", "party_id": party.id, "outcome": "o"})
    act(
        staff_a,
        case.id,
        {
            "action": "notice",
            "party_id": party.id,
            "kind": "reminder",
            "due_on": d(2026, 12, 1),
            "content": "c",
        },
    )
    from gridgov.wages.models import Notice

    notice = db.session.scalar(select(Notice))
    channel = create_channel(
        staff_a,
        {"area_id": two_towns["TA"].id, "name": "c", "kind": "webhook", "url": "http://127.0.0.1:9/hook"},
    )
    enqueue([Draft("test", "s", utcnow(), staff_a.id, "t", "b", two_towns["TA"].id)])
    enqueue([Draft("test", "s", utcnow(), None, "t", "b", two_towns["TA"].id)])
    db.session.commit()
    cg = db.session.scalar(select(Department).where(Department.code == "CG"))
    db.session.add(DepartmentMember(department_id=cg.id, user_id=staff_a.id))
    db.session.commit()
    from gridgov.notifications.models import Delivery

    return {
        "user_id": staff_a.id,
        "area_id": two_towns["MA"].id,
        "issue_id": issue["id"],
        "upload_id": upload["id"],
        "category_id": 1,
        "market_id": market.id,
        "exception_id": exception.id,
        "assignment_id": assignment.id,
        "team_id": team.id,
        "notification_id": db.session.scalar(
            select(Notification.id).where(Notification.recipient_id == staff_a.id)
        ),
        "channel_id": channel.id,
        "delivery_id": db.session.scalar(select(Delivery.id)),
        "patrol_id": patrol["id"],
        "case_id": case.id,
        "notice_id": notice.id,
        "evidence_id": photo.id,
        "_admin": admin,
    }


def test_user_of_another_scope_is_refused_everywhere(
    app, client, make_user, auth_headers, two_towns, town_a_objects
):
    outsider = make_user(roles=[r for r in ROLES if r != "admin"], areas=[two_towns["TB"]])
    headers = auth_headers(outsider)
    checked = 0
    for rule, names in id_rules(app):
        url = rule.rule
        for name in names:
            url = url.replace(f"<int:{name}>", str(town_a_objects[name]))
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            body = own_refs(BODIES.get((method, rule.rule)), outsider, two_towns["TB"])
            target = url + (QUERIES.get(rule.rule, "") if method == "GET" else "")
            response = client.open(
                target, method=method, headers=headers, json=body if method != "GET" else None
            )
            allowed = {403, 404} if names & ADMIN_ONLY else {404}
            if body is None and method != "GET" and method != "DELETE":
                allowed = allowed | {422}  # no valid body known for it: still never a success
            assert response.status_code in allowed, (
                method,
                url,
                response.status_code,
                response.get_data(as_text=True)[:200],
            )
            checked += 1
    assert checked >= 30


def test_console_pages_refuse_another_scope(app, client, make_user, two_towns, town_a_objects):
    """The same for the staff console: its pages 404 (or 403), its forms change nothing and say why."""
    import re

    from tests.conftest import PASSWORD

    outsider = make_user(roles=[r for r in ROLES if r != "admin"], areas=[two_towns["TB"]])
    page = client.get("/console/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    signed_in = client.post(
        "/console/login", data={"csrf_token": token, "username": outsider.username, "password": PASSWORD}
    )
    assert signed_in.status_code == 302
    page = client.get("/console/map").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    checked = 0
    for rule, names in id_rules(app, "/console"):
        url = rule.rule
        for name in names:
            url = url.replace(f"<int:{name}>", str(town_a_objects[name]))
        if "GET" in rule.methods:
            assert client.get(url).status_code in {403, 404}, url
        if "POST" in rule.methods:
            with client.session_transaction() as session:
                session.pop("_flashes", None)
            form = own_refs(CONSOLE_FORMS[rule.rule], outsider, two_towns["TB"])
            response = client.post(url, data={"csrf_token": token, **form})
            with client.session_transaction() as session:
                flashed = session.get("_flashes", [])
            assert response.status_code == 403 or ("error", "资源不存在。") in flashed, (url, flashed)
        checked += 1
    assert checked >= 5
