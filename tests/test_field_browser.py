"""The field app (/field/) in headless Chromium as a phone: a 360-px screen, touch, a WeChat user
agent and a GPS the test moves. Against a live server with the demo data, like the console's tests
(same fixtures, same skip rules); screenshots land in bench/screenshots/field-*.png."""

from __future__ import annotations

import io
import json
import re
import time

import pytest
from PIL import Image
from sqlalchemy import func, select

from gridgov.extensions import db
from gridgov.issues.models import Issue, Upload
from gridgov.patrols.models import Patrol, PatrolPoint
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

    def open_phone(username: str | None = WORKER, service_workers: str = "block", where=INSIDE):
        context = browser.new_context(**PHONE, geolocation=where, service_workers=service_workers)
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(15_000)
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


def shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"field-{name}.png"), full_page=True)


def photo(colour: str) -> dict:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), colour).save(buffer, "JPEG")
    return {"name": f"{colour}.jpg", "mimeType": "image/jpeg", "buffer": buffer.getvalue()}


def report(page, description: str, colours=("red",), category: str = "FIRE-STAIRWELL") -> None:
    page.click('#tabs [data-screen="report"]')
    page.wait_for_function("document.querySelectorAll('#report-form select option').length > 0")
    page.select_option("#report-form select[name=category]", category)
    page.fill("#report-form textarea[name=description]", description)
    page.set_input_files("#report-form input[name=photos]", [photo(c) for c in colours])
    page.wait_for_function("document.querySelector('#gps').textContent.includes('±')")
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
    shot(page, "today")
    # Signed in by an HttpOnly cookie: nothing a script could steal is kept in the page's storage.
    assert page.evaluate("Object.keys(localStorage)") == [] and "gridgov_console" not in page.evaluate(
        "document.cookie"
    )
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

    page.route(re.compile(r"/api/v1/issues$"), drop_first_answer)
    report(page, "响应丢失 楼道堆物")
    wait_states(page, {"响应丢失 楼道堆物": "sent"})
    issues = issues_with("响应丢失")
    assert len(issues) == 1 and str(issues[0].client_uuid) == lost[0]
    assert photo_count(issues[0]) == 1


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
    page.wait_for_function("document.querySelector('#grid').textContent.includes('锦华')")
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
        page.wait_for_function(
            f"Field.currentPatrol('worker_jinhua1').then(p => p.points > {before})", polling=100
        )
        page.wait_for_timeout(300)


def test_patrol_survives_two_network_drops_and_a_reload(phone, server):
    context, page = phone(service_workers="allow")  # the reload offline needs the cached shell
    page.evaluate("navigator.serviceWorker.ready")
    page.click('#tabs [data-screen="patrol"]')
    page.click("#patrol-start")
    page.wait_for_selector("body[data-patrol=on]")
    # About 1 m per step, a walking pace; 1-1 then 1-2 (east of 113.185).
    path = [(113.18490 + i * 0.00001, 33.7423) for i in range(1, 25)]
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
    assert patrol.status == "finished"
    shown = {
        row.get_attribute("data-code"): row.inner_text()
        for row in page.locator("#patrol-grids tbody tr").all()
    }
    assert set(shown) == {"4104710010010101", "4104710010010102"}
    assert page.inner_text("#patrol-distance") == f"{round(patrol.distance_m)} m"


def test_shell_starts_offline_and_is_installable(phone, server):
    context, page = phone(service_workers="allow")
    page.wait_for_function("navigator.serviceWorker.controller !== null || navigator.serviceWorker.ready")
    page.evaluate("navigator.serviceWorker.ready")
    page.reload()
    page.wait_for_function("navigator.serviceWorker.controller !== null")
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
