"""The staff console over HTTP (no browser): sessions, CSRF, scope, errors, and the services it calls."""

from __future__ import annotations

import re

import pytest
from flask.testing import FlaskClient
from sqlalchemy import event, func, inspect, select

from gridgov.areas.models import Area
from gridgov.auth.models import ConsoleSession, User
from gridgov.auth.services import update_user
from gridgov.extensions import db
from gridgov.issues import workflow
from gridgov.issues.models import Issue
from gridgov.markets import rosters
from gridgov.markets import services as market_services
from gridgov.markets.models import Market, MarketAssignment
from gridgov.seeding import seed_demo
from gridgov.timeutil import local_today
from gridgov.wages import queries as wage_queries
from gridgov.wages import workflow as wage_workflow
from gridgov.wages.models import WageCase
from tests.conftest import PASSWORD

TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')
PAGES = ["/console/map", "/console/calendar", "/console/report", "/console/figures", "/console/wages"]


class OwnContextClient(FlaskClient):
    """Each request in an app context of its own, as in a server: `g` (CSRF token cache, rate-limit
    state, the signed-in user) must not leak from one request into the next."""

    def open(self, *args, **kwargs):
        with self.application.app_context():
            return super().open(*args, **kwargs)


@pytest.fixture
def client(app):
    app.test_client_class = OwnContextClient
    return app.test_client()


@pytest.fixture
def demo(app):
    return seed_demo(history=False)


def csrf_of(client, path="/console/login") -> str:
    return TOKEN.search(client.get(path).get_data(as_text=True)).group(1)


def sign_in(client, username, password, **extra):
    token = csrf_of(client)
    return client.post(
        "/console/login", data={"csrf_token": token, "username": username, "password": password, **extra}
    )


def user_named(name: str) -> User:
    return db.session.scalar(select(User).where(User.username == name))


def town_issue(town_worker: str) -> Issue:
    reporter = user_named(town_worker)
    return db.session.scalar(select(Issue).where(Issue.reporter_id == reporter.id).order_by(Issue.id))


def flashes(response, kind="error") -> list[str]:
    return re.findall(rf'class="flash {kind}"[^>]*>([^<]*)<', response.get_data(as_text=True))


def test_sign_in_sets_a_protected_cookie_and_no_token_reaches_the_page(client, demo):
    response = sign_in(client, "staff_zunhua", demo["password"], next="/console/calendar")
    assert response.status_code == 302 and response.headers["Location"] == "/console/calendar"
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    page = client.get("/console/map").get_data(as_text=True)
    assert "access_token" not in page and "localStorage" not in page
    rows = db.session.scalars(select(ConsoleSession)).all()
    assert len(rows) == 1 and rows[0].user_id == user_named("staff_zunhua").id


def test_every_page_renders_for_an_admin_without_outside_urls(client, demo):
    sign_in(client, "admin", demo["password"])
    case = db.session.scalar(select(WageCase).order_by(WageCase.id))
    issue = town_issue("worker_jinhua1")
    for path in [*PAGES, f"/console/issues/{issue.id}", f"/console/wages/{case.id}"]:
        response = client.get(path)
        assert response.status_code == 200, path
        html = response.get_data(as_text=True)
        outside = re.findall(r'(?:src|href|action)="(?!/|#|data:)([^"]*)"', html)
        assert outside == [], (path, outside)
        assert "default-src 'self'" in response.headers["Content-Security-Policy"]
        assert response.headers["Cache-Control"] == "no-store"


def test_sign_in_without_csrf_token_is_refused(client, demo):
    response = client.post("/console/login", data={"username": "admin", "password": demo["password"]})
    assert response.status_code == 400
    assert db.session.scalars(select(ConsoleSession)).all() == []


def test_wrong_password_counts_against_the_shared_login_limit(client, demo):
    bad = sign_in(client, "staff_zunhua", "wrong-password-1")
    assert bad.status_code == 401 and flashes(bad) == ["用户名或密码错误。"]
    for _ in range(3):
        assert sign_in(client, "staff_zunhua", "wrong-password-1").status_code == 401
    # The API's sign-in shares the per-account budget (5 failures a minute).
    api = client.post("/api/v1/auth/login", json={"username": "staff_zunhua", "password": "nope-nope-1"})
    assert api.status_code == 401
    limited = sign_in(client, "staff_zunhua", demo["password"])
    assert limited.status_code == 429
    assert "请求过于频繁" in limited.get_data(as_text=True)


def test_unsafe_next_is_ignored(client, demo):
    for target in ("//evil.example/x", "https://evil.example/", "javascript:alert(1)"):
        response = sign_in(client, "staff_zunhua", demo["password"], next=target)
        assert response.headers["Location"] == "/console/map"


def test_cookie_authenticated_api_writes_need_the_csrf_token(client, demo):
    sign_in(client, "staff_zunhua", demo["password"])
    issue = town_issue("worker_yangzhuang1")
    before = issue.status
    refused = client.post(f"/api/v1/issues/{issue.id}/actions", json={"action": "escalate", "note": "上报"})
    assert refused.status_code == 403
    assert "CSRF" in refused.json["message"]
    db.session.expire_all()
    assert db.session.get(Issue, issue.id).status == before
    token = csrf_of(client, "/console/map")
    timeline = client.get(f"/api/v1/issues/{issue.id}/timeline")
    assert timeline.status_code == 200  # reads need no token
    accepted = client.post(
        f"/api/v1/issues/{issue.id}/actions",
        json={"action": "merge", "into_id": issue.id},
        headers={"X-CSRFToken": token},
    )
    assert accepted.status_code != 403  # past the CSRF check: the rule itself answers


def test_sign_out_and_disabling_end_the_session_on_the_server(client, app, demo):
    app.test_client_class = OwnContextClient
    sign_in(client, "staff_zunhua", demo["password"])
    stolen = client.get_cookie(app.config["SESSION_COOKIE_NAME"]).value
    token = csrf_of(client, "/console/map")
    assert client.post("/console/logout", data={"csrf_token": token}).status_code == 302
    other = app.test_client()
    other.set_cookie(app.config["SESSION_COOKIE_NAME"], stolen)
    replay = other.get("/console/map")
    assert replay.status_code == 302 and "/console/login" in replay.headers["Location"]
    assert other.get("/api/v1/me").status_code == 401

    sign_in(client, "staff_huangtai", demo["password"])
    assert client.get("/console/map").status_code == 200
    update_user(user_named("staff_huangtai").id, {"is_active": False})
    assert client.get("/console/map").status_code == 302


def test_language_switch_turns_pages_and_api_messages_english(client, demo):
    sign_in(client, "staff_zunhua", demo["password"])
    response = client.get("/console/lang/en?next=/console/calendar")
    assert response.headers["Location"] == "/console/calendar"
    page = client.get("/console/calendar").get_data(as_text=True)
    assert "Market calendar" in page and "集市日历" not in page
    assert client.get("/api/v1/issues/999999").json["message"] == "Not found."
    client.get("/console/lang/zh")
    assert "集市日历" in client.get("/console/calendar").get_data(as_text=True)


def test_a_town_never_reaches_another_towns_records(client, demo):
    sign_in(client, "staff_huangtai", demo["password"])
    theirs = town_issue("worker_yangzhuang1")
    page = client.get(f"/console/issues/{theirs.id}")
    assert page.status_code == 404 and theirs.description not in page.get_data(as_text=True)
    token = csrf_of(client, "/console/map")
    before = theirs.status
    acted = client.post(
        f"/console/issues/{theirs.id}/actions",
        data={"csrf_token": token, "action": "escalate", "note": "x"},
        follow_redirects=True,
    )
    assert acted.status_code == 404 and "资源不存在。" in flashes(acted)
    db.session.expire_all()
    assert db.session.get(Issue, theirs.id).status == before
    market = db.session.scalar(select(Market).where(Market.name == "杨庄集"))
    count = select(func.count()).select_from(MarketAssignment).where(MarketAssignment.market_id == market.id)
    assignments = db.session.scalar(count)
    staff = db.session.scalar(select(User).where(User.username == "staff_huangtai"))
    team = rosters.create_team(
        staff, {"name": "黄台队", "area_id": staff.area_ids[0], "member_ids": [staff.id]}
    ).id
    assign = client.post(
        f"/console/markets/{market.id}/assign",
        data={"csrf_token": token, "team_ids": str(team), "from": "2026-01-01", "to": "2026-12-31"},
        follow_redirects=True,
    )
    assert flashes(assign) == ["资源不存在。"]  # staff may assign, but not at another town's market
    assert db.session.scalar(count) == assignments
    calendar = client.get("/console/calendar").get_data(as_text=True)
    assert "杨庄集" not in calendar
    report = client.get("/console/report").get_data(as_text=True)
    assert "杨庄" not in report
    assert client.get("/console/report?area=999999").status_code == 404


def test_roles_decide_the_pages(client, demo):
    sign_in(client, "worker_jinhua1", demo["password"])
    page = client.get("/console/map").get_data(as_text=True)
    assert "/console/wages" not in page and "/console/figures" not in page
    assert client.get("/console/wages").status_code == 403
    assert client.get("/console/figures").status_code == 403
    case = db.session.scalar(select(WageCase).order_by(WageCase.id))
    assert client.get(f"/console/wages/{case.id}").status_code == 403


def test_refused_form_shows_the_rule_and_changes_nothing(client, demo):
    sign_in(client, "staff_zunhua", demo["password"])
    issue = town_issue("worker_yangzhuang1")
    token = csrf_of(client, f"/console/issues/{issue.id}")
    response = client.post(
        f"/console/issues/{issue.id}/actions",
        data={"csrf_token": token, "action": "merge", "into_id": "abc"},
        follow_redirects=True,
    )
    assert flashes(response)[0].startswith("请求参数有误")
    response = client.post(
        f"/console/issues/{issue.id}/actions",
        data={"csrf_token": token, "action": "fly"},
        follow_redirects=True,
    )
    assert flashes(response)
    market = db.session.scalar(select(Market).where(Market.name == "杨庄集"))
    response = client.post(
        f"/console/markets/{market.id}/exceptions",
        data={"csrf_token": token, "action": "cancel", "date": "2026-13-40", "reason": "雨"},
        follow_redirects=True,
    )
    assert flashes(response) and response.status_code == 200


def test_bad_query_strings_never_break_a_page(client, demo):
    sign_in(client, "admin", demo["password"])
    for path in (
        "/console/calendar?month=abc&area=x",
        "/console/calendar?month=2026-13",
        "/console/report?date=yesterday",
        "/console/figures?from=2026-12-01&to=2026-01-01&group_by=planet",
        "/console/wages?from=x&to=y&status=none",
        "/console/map?from=x&to=2026-02-30&overdue=maybe",
    ):
        assert client.get(path).status_code == 200, path


@pytest.mark.parametrize(
    ("module", "name", "path", "form"),
    [
        (workflow, "act", "/console/issues/{issue}/actions", {"action": "escalate", "note": "需要吹哨"}),
        (rosters, "assign", "/console/markets/{market}/assign", {"team_ids": "{team}", "date": "{day}"}),
        (
            market_services,
            "add_exception",
            "/console/markets/{market}/exceptions",
            {"action": "cancel", "date": "{day}", "reason": "下雨休市"},
        ),
        (wage_workflow, "act", "/console/wages/{case}/actions", {"action": "extend", "note": "x"}),
        (wage_queries, "reveal", "/console/wages/{case}/reveal", {"field": "phone", "reason": "核对号码"}),
    ],
)
def test_each_form_calls_the_api_service(client, demo, monkeypatch, module, name, path, form):
    """The console posts into the very service function its API route calls."""
    calls = []
    original = getattr(module, name)

    def spy(*args, **kwargs):
        calls.append(args[0].id)  # the signed-in user, as the API route passes it
        return original(*args, **kwargs)

    monkeypatch.setattr(module, name, spy)
    sign_in(client, "admin", demo["password"])
    market = db.session.scalar(select(Market).where(Market.name == "杨庄集"))
    day = market_services.market_days(
        user_named("admin"), local_today(), local_today().replace(year=local_today().year + 1)
    )
    held = next(o["date"] for o in day if o["market_id"] == market.id and o["status"] == "scheduled")
    values = {
        "issue": town_issue("worker_yangzhuang1").id,
        "market": market.id,
        "team": db.session.scalars(rosters.teams_query(user_named("admin"))).first().id,
        "day": held,
        "case": db.session.scalar(select(WageCase.id).order_by(WageCase.id)),
    }
    token = csrf_of(client, "/console/map")
    data = {key: value.format(**values) for key, value in form.items()}
    client.post(path.format(**values), data={"csrf_token": token, **data})
    assert calls == [user_named("admin").id]


def test_a_configured_tile_server_is_the_only_outside_origin_allowed(app, client, demo):
    app.config["MAP_TILE_URL"] = (
        "https://t{s}.tianditu.gov.cn/vec_w/wmts?TILEMATRIX={z}&TILEROW={y}&TILECOL={x}&tk=k"
    )
    app.config["MAP_TILE_SUBDOMAINS"] = "01234567"
    sign_in(client, "staff_zunhua", demo["password"])
    response = client.get("/console/map")
    policy = response.headers["Content-Security-Policy"]
    assert "img-src 'self' data: blob: https://*.tianditu.gov.cn;" in policy
    assert "script-src 'self';" in policy
    config = re.search(r'id="map-config">([^<]*)<', response.get_data(as_text=True)).group(1)
    assert '"tileSubdomains": "01234567"' in config and "tianditu" in config


def test_wage_ledger_filters_by_status(client, demo):
    sign_in(client, "wage_officer", demo["password"])
    everything = client.get("/console/wages").get_data(as_text=True)
    statuses = set(db.session.scalars(select(WageCase.status)))
    shown = set(re.findall(r'data-case="(\d+)"', everything))
    assert len(shown) == db.session.scalar(select(func.count()).select_from(WageCase))
    for status in statuses:
        page = client.get(f"/console/wages?status={status}").get_data(as_text=True)
        wanted = {str(i) for i in db.session.scalars(select(WageCase.id).where(WageCase.status == status))}
        assert set(re.findall(r'data-case="(\d+)"', page)) == wanted


@pytest.mark.parametrize("path", ["/console/calendar", "/console/report", "/console/figures"])
def test_area_pickers_offer_their_levels_without_loading_other_areas(client, area_tree, make_user, path):
    areas = area_tree(micro_grids=8)
    staff = make_user(roles=["staff", "leader"], areas=[areas["TA"]])
    assert sign_in(client, staff.username, PASSWORD).status_code == 302
    loaded = []

    def record(area, context):  # reads only the identity: touching an unloaded column here would load it
        state = inspect(area)
        loaded.append((state.identity[0], "geometry" in state.unloaded))

    event.listen(Area, "load", record)
    try:
        page = client.get(path)
    finally:
        event.remove(Area, "load", record)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert f'<option value="{areas["CA"].id}"' in html and f'<option value="{areas["MA0"].id}"' not in html
    # The picker reads its levels from SQL and leaves the boundaries in the database.
    picked = {area_id for area_id, unloaded in loaded if unloaded}
    micro_grids = {area.id for code, area in areas.items() if code.startswith("MA")}
    assert areas["CA"].id in picked and not picked & micro_grids
