"""The field app (/field/) in headless Chromium as a phone: a 360-px screen, touch, a WeChat user
agent and a GPS the test moves. Against a live server with the demo data, like the console's tests
(same fixtures, same skip rules); screenshots land in bench/screenshots/field-*.png."""

from __future__ import annotations

import io
import json
import re
import time
from datetime import UTC, datetime, timedelta

import pytest
from PIL import Image
from sqlalchemy import func, select

from gridgov.areas.models import Area
from gridgov.auth.models import ConsoleSession, User
from gridgov.extensions import db
from gridgov.issues.models import Department, Issue, Upload
from gridgov.markets.models import MarketAssignment, MarketCheckin, PatrolTeamMember
from gridgov.patrols.models import Patrol, PatrolPoint
from gridgov.timeutil import local_today, utcnow
from tests import test_console_browser as console

# The console's browser tests' fixtures: one Chromium per module, a live server with the demo.
browser, demo, server = console.browser, console.demo, console.server
SHOTS = console.SHOTS

PHONE = {
    "viewport": {"width": 360, "height": 740},
    "device_scale_factor": 3,
    "is_mobile": True,
    "has_touch": True,
    "user_agent": "Mozilla/5.0 (Linux; Android 13; Pixel 5) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0 Mobile Safari/537.36 MicroMessenger/8.0.44 wxwork/4.1.10",
    "locale": "zh-CN",
    "permissions": ["geolocation"],
}
# Inside 锦华社区1-1微网格 (worker_jinhua1's grid), and a point far from every micro-grid.
INSIDE = {"longitude": 113.1822, "latitude": 33.7423, "accuracy": 8}
FAR_AWAY = {"longitude": 113.10, "latitude": 33.70, "accuracy": 8}
WORKER = "worker_jinhua1"


@pytest.fixture
def phone(browser, server, demo):
    """Open the field app on a fresh phone; `service_workers='block'` unless the test needs one."""
    contexts = []

    def open_phone(username: str | None = WORKER, service_workers: str = "block", where=INSIDE, clock_behind=None):
        context = browser.new_context(**PHONE, geolocation=where, service_workers=service_workers)
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(15_000)
        if clock_behind:  # a phone whose clock is wrong: "today" must still be the server's
            page.clock.set_system_time(datetime.now(UTC) - clock_behind)
        page.goto(f"{server}/field/")
        if username:
            sign_in(page, username, demo["password"])
        return context, page

    yield open_phone
    for context in contexts:
        context.close()


def sign_in(page, username: str, password: str) -> None:
    page.wait_for_selector("#signin-form", state="visible")
    page.fill("#signin-form input[name=username]", username)
    page.fill("#signin-form input[name=password]", password)
    page.click("#signin-form button")
    page.wait_for_selector("body[data-ready='1']")
    page.wait_for_selector("#app", state="visible")


def until(page, expression: str, timeout: float = 15) -> None:
    """Poll a script expression (page.evaluate, which the page's CSP does not govern) until truthy."""
    deadline = time.monotonic() + timeout
    while not page.evaluate(expression):
        if time.monotonic() > deadline:
            raise AssertionError(f"still false: {expression}")
        page.wait_for_timeout(100)


def shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"field-{name}.png"), full_page=True)


def photo(colour: str) -> dict:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), colour).save(buffer, "JPEG")
    return {"name": f"{colour}.jpg", "mimeType": "image/jpeg", "buffer": buffer.getvalue()}


def report(page, description: str, colours=("red",), category: str = "FIRE-STAIRWELL") -> None:
    page.click('#tabs [data-screen="report"]')
    page.wait_for_selector("#report-form select option", state="attached")
    page.select_option("#report-form select[name=category]", category)
    page.fill("#report-form textarea[name=description]", description)
    page.set_input_files("#report-form input[name=photos]", [photo(c) for c in colours])
    page.wait_for_selector("#gps:has-text('±')")
    page.click("#report-form button[type=submit]")
    page.wait_for_selector(f"#queue li:has-text('{description}')")


def queue_states(page) -> dict[str, str]:
    return dict(
        page.locator("#queue li").evaluate_all(
            "rows => rows.map(r => [r.querySelector('.what').textContent, r.dataset.state])"
        )
    )


def wait_states(page, expected: dict[str, str], timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        states = queue_states(page)
        if all(states.get(f"FIRE-STAIRWELL {k}") == v for k, v in expected.items()):
            return
        page.wait_for_timeout(250)
    raise AssertionError(f"queue is {queue_states(page)}, expected {expected}")


def issues_with(text: str) -> list[Issue]:
    db.session.expire_all()
    return list(db.session.scalars(select(Issue).where(Issue.description.contains(text))))


def photo_count(issue: Issue) -> int:
    return db.session.scalar(select(func.count(Upload.id)).where(Upload.issue_id == issue.id))


def test_offline_reports_with_photos_arrive_once_when_back_online(phone, server):
    context, page = phone()
    page.wait_for_selector("body[data-today-ready='1']")
    # Today: his grid's four micro-grids (none patrolled yet), his position, his open reports.
    assert page.inner_text("#map-status").startswith("微网格 4 · 今日已巡 0 · 今日未巡 4")
    assert page.locator("#map path.grid-open").count() == 4
    page.wait_for_selector("#map path.me-marker")
    assert page.locator("#today-issues li[data-issue]").count() == 2
    shot(page, "today")
    # Signed in by an HttpOnly cookie: nothing a script could steal is kept in the page's storage.
    # (localStorage holds only how far the phone's clock is from the server's, a number.)
    stored = page.evaluate("Object.fromEntries(Object.entries(localStorage))")
    assert set(stored) <= {"gridgov-field-clock-skew"} and all(re.fullmatch(r"-?\d+", v) for v in stored.values())
    assert "gridgov_console" not in page.evaluate("document.cookie")
    context.set_offline(True)
    page.wait_for_selector("#net.off")
    for number in (1, 2, 3):
        report(page, f"离线上报{number} 楼道堆物", colours=("red", "blue")[: 1 + number % 2])
    assert page.inner_text("#grid") == "发送时确定"
    shot(page, "report-offline")
    wait_states(page, {f"离线上报{n} 楼道堆物": "waiting" for n in (1, 2, 3)})
    assert issues_with("离线上报") == []
    context.set_offline(False)
    wait_states(page, {f"离线上报{n} 楼道堆物": "sent" for n in (1, 2, 3)})
    shot(page, "report-sent")
    issues = issues_with("离线上报")
    assert sorted(i.description for i in issues) == [f"离线上报{n} 楼道堆物" for n in (1, 2, 3)]
    assert {i.description[:5]: photo_count(i) for i in issues} == {
        "离线上报1": 2,
        "离线上报2": 1,
        "离线上报3": 2,
    }
    assert all(i.area_id is not None and i.status == "reported" for i in issues)
    # Acknowledged reports leave the phone: only receipts (no photo blobs) stay in IndexedDB.
    left = page.evaluate(
        "async () => (await Field.reports('worker_jinhua1')).map(r => [r.state, r.photos.length])"
    )
    assert left == [["sent", 0]] * 3


def test_a_lost_response_is_retried_into_one_issue(phone, server):
    context, page = phone()
    lost = []

    def drop_first_answer(route):
        if not lost:
            route.fetch()  # the server stores the issue ...
            lost.append(route.request.post_data_json["client_uuid"])
            route.abort("connectionreset")  # ... but the phone never hears back
        else:
            route.continue_()

    lost_uploads = []

    def drop_first_upload_answer(route):
        answer = route.fetch()
        if not lost_uploads:
            lost_uploads.append(1)
            route.abort("connectionreset")
        else:
            route.fulfill(response=answer)

    page.route(re.compile(r"/api/v1/issues$"), drop_first_answer)
    page.route(re.compile(r"/api/v1/uploads$"), drop_first_upload_answer)
    report(page, "响应丢失 楼道堆物")
    wait_states(page, {"响应丢失 楼道堆物": "sent"})
    issues = issues_with("响应丢失")
    assert len(issues) == 1 and str(issues[0].client_uuid) == lost[0]
    # The photo's upload was stored, its answer lost, and sent again: still one upload.
    assert photo_count(issues[0]) == 1
    assert db.session.scalar(select(func.count(Upload.id))) == 1


def test_reload_with_queued_items_loses_and_doubles_nothing(phone, server):
    context, page = phone()
    context.set_offline(True)
    report(page, "重载前一 楼道堆物")
    report(page, "重载前二 楼道堆物", colours=("green", "blue"))
    context.set_offline(False)
    page.route(re.compile(r"/api/v1/"), lambda route: route.abort("internetdisconnected"))
    page.reload()
    page.wait_for_selector("body[data-ready='1']")
    page.click('#tabs [data-screen="report"]')
    wait_states(page, {"重载前一 楼道堆物": "waiting", "重载前二 楼道堆物": "waiting"})
    page.unroute(re.compile(r"/api/v1/"))
    page.reload()
    page.wait_for_selector("body[data-ready='1']")
    page.click('#tabs [data-screen="report"]')
    wait_states(page, {"重载前一 楼道堆物": "sent", "重载前二 楼道堆物": "sent"})
    page.reload()  # and once more after they were sent: nothing goes out twice
    page.wait_for_selector("body[data-ready='1']")
    page.wait_for_timeout(1000)
    issues = issues_with("重载前")
    assert sorted(i.description[:4] for i in issues) == ["重载前一", "重载前二"]
    assert sorted(photo_count(i) for i in issues) == [1, 2]


def test_a_refused_report_shows_the_servers_message_and_stays_editable(phone, server, client):
    context, page = phone(where=FAR_AWAY)
    report(page, "网格之外 楼道堆物")
    wait_states(page, {"网格之外 楼道堆物": "refused"})
    item = page.locator("#queue li[data-state=refused]")
    message = item.locator(".server-message").inner_text()
    assert "最近的微网格" in message or "微网格" in message, message
    assert issues_with("网格之外") == []
    shot(page, "report-refused")
    # He walks into his grid, corrects the text and sends it again: one issue, placed there.
    context.set_geolocation(INSIDE)
    page.wait_for_selector("#grid:has-text('锦华')")
    item.locator("button.edit").click()
    assert page.input_value("#report-form textarea[name=description]") == "网格之外 楼道堆物"
    page.fill("#report-form textarea[name=description]", "网格之内 楼道堆物")
    page.click("#report-form button[type=submit]")
    wait_states(page, {"网格之内 楼道堆物": "sent"})
    assert "网格之外 楼道堆物" not in json.dumps(queue_states(page), ensure_ascii=False)
    issues = issues_with("网格之内")
    assert len(issues) == 1 and photo_count(issues[0]) == 1


def _walk(context, page, steps: list[tuple[float, float]]) -> None:
    for lon, lat in steps:
        before = page.evaluate("Field.currentPatrol('worker_jinhua1').then(p => p.points)")
        context.set_geolocation({"longitude": lon, "latitude": lat, "accuracy": 5})
        until(page, f"Field.currentPatrol('worker_jinhua1').then(p => p.points > {before})")
        page.wait_for_timeout(200)


def test_patrol_survives_two_network_drops_and_a_reload(phone, server):
    context, page = phone(service_workers="allow")  # the reload offline needs the cached shell
    page.evaluate("navigator.serviceWorker.ready.then(() => true)")
    # About 1 m per step, a walking pace; 1-1 then 1-2 (east of 113.185).
    path = [(113.18490 + i * 0.00001, 33.7423) for i in range(1, 25)]
    context.set_geolocation({"longitude": 113.18490, "latitude": 33.7423, "accuracy": 5})
    page.wait_for_selector("#gps:has-text('113.184900')", state="attached")
    page.click('#tabs [data-screen="patrol"]')
    page.click("#patrol-start")
    page.wait_for_selector("body[data-patrol=on]")
    _walk(context, page, path[:6])
    context.set_offline(True)
    _walk(context, page, path[6:12])
    context.set_offline(False)
    _walk(context, page, path[12:16])
    context.set_offline(True)
    _walk(context, page, path[16:19])
    page.reload()  # the phone closes the page mid-walk, offline
    page.wait_for_selector("body[data-ready='1']")
    page.click('#tabs [data-screen="patrol"]')
    page.wait_for_selector("body[data-patrol=on]")
    _walk(context, page, path[19:])
    context.set_offline(False)
    shot(page, "patrol")
    page.click("#patrol-finish")
    page.wait_for_selector("body[data-patrol=done]", timeout=30_000)
    shot(page, "patrol-done")
    recorded = page.evaluate("Field.currentPatrol('worker_jinhua1').then(p => p.points)")
    db.session.expire_all()
    patrol = db.session.scalar(select(Patrol))
    stored = db.session.scalars(select(PatrolPoint).where(PatrolPoint.patrol_id == patrol.id)).all()
    assert len(stored) == recorded >= len(path)
    assert len({(p.lon, p.lat, p.t) for p in stored}) == len(stored)  # each point once
    assert {(round(p.lon, 5), round(p.lat, 5)) for p in stored} >= {
        (round(x, 5), round(y, 5)) for x, y in path
    }
    assert patrol.status == "finished" and not patrol.flagged
    assert 20 < patrol.distance_m < 25  # 24 steps of 0.93 m: what the API computed from the points
    shown = {
        row.get_attribute("data-code"): row.inner_text()
        for row in page.locator("#patrol-grids tbody tr").all()
    }
    assert set(shown) == {"4104710010010101", "4104710010010102"}
    assert page.inner_text("#patrol-distance") == f"{round(patrol.distance_m)} m"


def test_shell_starts_offline_and_is_installable(phone, server):
    context, page = phone(service_workers="allow")
    page.evaluate("navigator.serviceWorker.ready.then(() => true)")
    page.reload()
    until(page, "navigator.serviceWorker.controller !== null")
    manifest_url = page.get_attribute("link[rel=manifest]", "href")
    manifest = page.request.get(server + manifest_url).json()
    assert manifest["display"] == "standalone" and manifest["start_url"] == "/field/"
    sizes = {icon["sizes"] for icon in manifest["icons"]}
    assert {"192x192", "512x512"} <= sizes
    for icon in manifest["icons"]:
        assert page.request.get(server + icon["src"]).headers["content-type"] == "image/png"
    context.set_offline(True)
    response = page.reload()
    assert response.from_service_worker
    page.wait_for_selector("body[data-ready='1']")  # the signed-in worker, from what the phone kept
    assert page.inner_text("#net") == "离线"
    report(page, "无网启动 楼道堆物")
    wait_states(page, {"无网启动 楼道堆物": "waiting"})
    shot(page, "offline-start")
    # English, and back online the server answers in it too.
    page.click("#lang-switch")
    assert (
        page.inner_text('#tabs [data-screen="report"]') == "Report" and page.inner_text("#net") == "offline"
    )
    context.set_offline(False)
    wait_states(page, {"无网启动 楼道堆物": "sent"})
    page.click('#tabs [data-screen="tasks"]')
    page.wait_for_selector("#task-list li")
    assert page.inner_text("#task-list") == "No tasks."
    # Signing out ends the session on the server and clears what the screens cached.
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("#sign-out")
    page.wait_for_selector("#signin-form", state="visible")
    assert page.evaluate("Field.get('cache', 'me')") is None
    assert page.request.get(f"{server}/api/v1/me").status == 401


def test_a_session_that_expired_offline_keeps_the_queue_and_sends_after_sign_in(phone, server, demo):
    context, page = phone()
    context.set_offline(True)
    report(page, "过期会话 楼道堆物")
    # While the phone is offline the session ends on the server (expiry, or staff disabled it).
    worker = db.session.scalar(select(User).where(User.username == WORKER))
    for row in db.session.scalars(select(ConsoleSession).where(ConsoleSession.user_id == worker.id)):
        row.revoked_at = utcnow()
    db.session.commit()
    context.set_offline(False)
    page.wait_for_selector("#signin-note", state="visible")
    assert "重新登录" in page.inner_text("#signin-note")
    assert page.input_value("#signin-form input[name=username]") == WORKER
    assert issues_with("过期会话") == []
    shot(page, "signin-expired")
    page.fill("#signin-form input[name=password]", demo["password"])
    page.click("#signin-form button")
    page.wait_for_selector("#app", state="visible")
    page.click('#tabs [data-screen="report"]')
    wait_states(page, {"过期会话 楼道堆物": "sent"})
    issues = issues_with("过期会话")
    assert len(issues) == 1 and photo_count(issues[0]) == 1


def _act(client, headers, issue_id, action, **data):
    return client.post(f"/api/v1/issues/{issue_id}/actions", json={"action": action, **data}, headers=headers)


def test_tasks_start_fix_verify_and_the_apis_409(phone, server, client, auth_headers):
    users = {u.username: u for u in db.session.scalars(select(User))}
    staff, dept = auth_headers(users["staff_huangtai"]), auth_headers(users["dept_urban"])
    weeds, stairwell = (issues_with(text)[0] for text in ("杂草丛生", "堵塞消防通道"))
    assert _act(client, staff, weeds.id, "dispatch", assignee_id=users[WORKER].id).status_code == 200
    # Someone else's fix in his grid, for him to verify.
    cg = db.session.scalar(select(Department).where(Department.code == "CG"))
    assert _act(client, staff, stairwell.id, "dispatch", department_id=cg.id).status_code == 200
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), "gray").save(buffer, "JPEG")
    fix_photo = client.post(
        "/api/v1/uploads",
        data={"file": (io.BytesIO(buffer.getvalue()), "fix.jpg")},
        headers=dept,
        content_type="multipart/form-data",
    ).json["id"]
    fixed = _act(client, dept, stairwell.id, "fix", note="纸箱已清走", photos=[fix_photo])
    assert fixed.status_code == 200, fixed.json

    context, page = phone()
    page.click('#tabs [data-screen="tasks"]')
    task = page.locator(f'#task-list li[data-issue="{weeds.id}"]')
    assert task.get_attribute("data-status") == "dispatched"
    shot(page, "tasks")
    task.locator("button.act-start").click()
    page.wait_for_selector(f'#task-list li[data-issue="{weeds.id}"][data-status="in_progress"]')
    # The office defers it meanwhile: his "fixed" meets the API's 409, word for word.
    assert _act(client, staff, weeds.id, "defer", note="等待物业配合").status_code == 200
    task = page.locator(f'#task-list li[data-issue="{weeds.id}"]')
    task.locator("input[name=note]").fill("已除草")
    task.locator("input[name=photo]").set_input_files([photo("green")])
    task.locator("button.act-fix").click()
    task.locator(".task-error:not(:empty)").wait_for()
    worker = auth_headers(users[WORKER])
    his_photo = client.post(  # an upload of his own: another's photo id is out of his scope (422)
        "/api/v1/uploads",
        data={"file": (io.BytesIO(buffer.getvalue()), "fix.jpg")},
        headers=worker,
        content_type="multipart/form-data",
    ).json["id"]
    refused = _act(client, worker, weeds.id, "fix", note="已除草", photos=[his_photo])
    assert refused.status_code == 409
    assert task.locator(".task-error").inner_text() == refused.json["message"]
    shot(page, "tasks-409")
    db.session.expire_all()
    assert db.session.get(Issue, weeds.id).status == "deferred"
    # He verifies the department's fix of the stairwell.
    page.locator(f'#task-list li[data-issue="{stairwell.id}"] button.act-pass').click()
    page.wait_for_selector(f'#task-list li[data-issue="{stairwell.id}"]', state="detached")
    db.session.expire_all()
    assert db.session.get(Issue, stairwell.id).status == "closed"


def test_market_duty_lists_his_teams_days_and_checks_in(phone, server, client, auth_headers):
    users = {u.username: u for u in db.session.scalars(select(User))}
    staff = auth_headers(users["staff_zunhua"])
    village = db.session.scalar(select(Area).where(Area.code == "410471100201"))
    market = client.post(
        "/api/v1/markets",
        json={
            "name": "每日早市",
            "area_id": village.id,
            "rule": {"calendar": "weekly", "weekdays": [1, 2, 3, 4, 5, 6, 7]},
            "start_time": "00:00",
            "end_time": "23:59",
        },
        headers=staff,
    )
    assert market.status_code == 201, market.json
    # A team of his own for the all-day market. The demo's rotation follows the date and may have
    # him on duty elsewhere today; nobody can be at two markets at once, so staff take him off first.
    today = local_today()
    elsewhere = db.session.scalars(
        select(MarketAssignment.id)
        .join(PatrolTeamMember, PatrolTeamMember.team_id == MarketAssignment.team_id)
        .where(PatrolTeamMember.user_id == users["patrol_zunhua"].id, MarketAssignment.date == today)
    ).all()
    for assignment_id in elsewhere:
        assert client.delete(f"/api/v1/market-assignments/{assignment_id}", headers=staff).status_code == 204
    team = client.post(
        "/api/v1/patrol-teams",
        json={"name": "早市巡防队", "area_id": village.id, "member_ids": [users["patrol_zunhua"].id]},
        headers=staff,
    )
    assert team.status_code == 201, team.json
    today = today.isoformat()
    assigned = client.post(
        f"/api/v1/markets/{market.json['id']}/assignments",
        json={"team_ids": [team.json["id"]], "date": today},
        headers=staff,
    )
    assert assigned.status_code in (200, 201), assigned.json
    context, page = phone(
        "patrol_zunhua",
        where={"longitude": 113.2021, "latitude": 33.7416, "accuracy": 6},
        clock_behind=timedelta(days=400),
    )
    page.click('#tabs [data-screen="market"]')
    day = page.locator(f'#market-list li[data-market="{market.json["id"]}"][data-date="{today}"]')
    assert "mine" in day.get_attribute("class") and "早市巡防队" in day.inner_text()
    # A check-in's device time must fall on the day it is received: right his clock first (this
    # also puts the browser, which libfaketime does not move, on the server's time in test-future).
    page.clock.set_system_time(datetime.now(UTC))
    page.wait_for_selector("#gps:has-text('±')", state="attached")
    day.locator("button.checkin").click()
    day.locator(".checkin-result:not(:empty)").wait_for()
    assert "已签到" in day.inner_text() and "在集市范围内" in day.inner_text()
    shot(page, "market")
    checkins = db.session.scalars(
        select(MarketCheckin).where(MarketCheckin.market_id == market.json["id"])
    ).all()
    assert [(c.user_id, c.inside) for c in checkins] == [(users["patrol_zunhua"].id, True)]
