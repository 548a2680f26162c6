"""The staff console driven in headless Chromium against a live server with the demo data.

Needs Debian's chromium (/usr/bin/chromium) and the built front-end assets (`make assets`);
skipped without them unless GRIDGOV_TEST_BROWSER=1, which `.ci/run` sets so CI always runs them.
Screenshots of every page land in bench/screenshots/ for a person to look at.
"""

from __future__ import annotations

import os
import re
import shutil
import threading
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from werkzeug.serving import make_server

from gridgov.audit.models import AuditEntry
from gridgov.auth.models import User
from gridgov.extensions import db
from gridgov.issues.models import Issue
from gridgov.markets.lunar import lunar_date
from gridgov.markets.models import Market, MarketAssignment, PatrolTeam
from gridgov.seeding import seed_demo
from gridgov.timeutil import local_today
from gridgov.wages.crypto import decrypt
from gridgov.wages.models import WageCase

ROOT = Path(__file__).resolve().parent.parent
SHOTS = ROOT / "bench" / "screenshots"
CHROMIUM = os.environ.get("GRIDGOV_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
ASSETS = ROOT / "gridgov" / "console" / "static" / "vendor" / ".built"
REQUIRED = os.environ.get("GRIDGOV_TEST_BROWSER") == "1"
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

playwright_api = pytest.importorskip("playwright.sync_api")


def _missing() -> str | None:
    if not os.path.exists(CHROMIUM):
        return f"no Chromium at {CHROMIUM} (apt-get install chromium)"
    if not ASSETS.exists():
        return "front-end assets not built (make assets)"
    return None


@pytest.fixture(scope="module")
def browser():
    missing = _missing()
    if missing:
        if REQUIRED:
            pytest.fail(missing)
        pytest.skip(missing)
    # Under libfaketime (CI's clock-ahead run) only the app's clock moves: Node and Chromium would
    # hang with it, and a browser on real time beside a server ahead of it is what users have.
    # Only LD_PRELOAD is withheld from the children: libfaketime in this process rereads FAKETIME
    # every few seconds, and without it the server's clock would fall back a year for that
    # while (a session cookie signed then is a year old at the next request).
    preload = {k: os.environ.pop(k) for k in ("LD_PRELOAD",) if k in os.environ}
    try:
        with playwright_api.sync_playwright() as pw:
            chromium = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_FLAGS)
            os.environ.update(preload)
            yield chromium
            chromium.close()
    finally:
        os.environ.update(preload)


@pytest.fixture
def demo(app):
    return seed_demo(history=False)


@pytest.fixture
def server(app, demo):
    httpd = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_port}"
    httpd.shutdown()
    thread.join(5)


@pytest.fixture
def open_page(browser, server, demo, request):
    """A fresh browser context per user; every request it makes must stay on the app's origin."""
    contexts, outside = [], []

    def open_as(username: str | None, lang: str = "zh-CN"):
        context = browser.new_context(locale=lang, viewport={"width": 1400, "height": 900})
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(10_000)
        page.on(
            "request",
            lambda req: None if req.url.startswith((server, "data:", "blob:")) else outside.append(req.url),
        )
        if username:
            page.goto(f"{server}/console/login")
            page.fill("input[name=username]", username)
            page.fill("input[name=password]", demo["password"])
            page.click("#login-form button")
            page.wait_for_url(re.compile(r"/console/map"))
        return page

    yield open_as
    for context in contexts:
        context.close()
    assert outside == [], f"pages made requests outside the app: {outside}"


def shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def _wait_map(page) -> None:
    page.wait_for_selector("body[data-map-ready]")
    assert page.get_attribute("body", "data-map-ready") == "1", page.inner_text("#map-status")


def test_sign_in_map_and_dispatch(open_page, server, app):
    page = open_page("staff_zunhua")
    _wait_map(page)
    shot(page, "map")
    user = db.session.scalar(select(User).where(User.username == "staff_zunhua"))
    from gridgov.areas.services import areas_query

    micro_grids = [a for a in db.session.scalars(areas_query(user, "micro_grid"))]
    assert f"微网格 {len(micro_grids)} 个" in page.inner_text("#map-status")
    # Every area in scope is drawn, and one marker per open issue in scope.
    open_issues = db.session.scalars(
        select(Issue).where(Issue.status.not_in(["closed", "rejected", "merged"]))
    )
    mine = [i for i in open_issues if i.area_id in {a.id for a in micro_grids}]
    assert page.locator("path.issue-marker").count() == len(mine) > 0
    assert page.locator("#issue-list tbody tr").count() == len(mine)
    assert page.locator("#map path.leaflet-interactive").count() >= len(micro_grids) + len(mine)
    frame = page.locator("#map").bounding_box()
    for marker in page.locator("path.issue-marker").all():  # drawn where a person can see them
        box = marker.bounding_box()
        assert box["width"] < 30 and frame["x"] < box["x"] < frame["x"] + frame["width"]
        assert frame["y"] < box["y"] < frame["y"] + frame["height"]

    stall = next(i for i in mine if "流动商贩" in i.description)
    page.locator(f"path.issue-{stall.id}").dispatch_event("click")
    page.click(".leaflet-popup .issue-link")
    page.wait_for_url(re.compile(rf"/console/issues/{stall.id}$"))
    shot(page, "issue")
    form = page.locator("#action-dispatch")
    form.locator("select[name=department_id]").select_option(label="城市管理局（城管）")
    form.locator("textarea[name=note]").fill("请城管中队处理")
    form.locator("button").click()
    page.wait_for_selector(".flash.ok")
    assert page.get_attribute("#issue-status", "data-status") == "dispatched"
    assert page.inner_text("#issue-status") == "已派遣"
    assert "请城管中队处理" in page.inner_text("#timeline")
    db.session.expire_all()
    assert db.session.get(Issue, stall.id).status == "dispatched"


def test_map_filters_and_english(open_page, server):
    page = open_page("staff_huangtai")
    _wait_map(page)
    page.click("#lang-switch")
    page.wait_for_selector("text=Map & issues")
    _wait_map(page)
    assert "micro-grids" in page.inner_text("#map-status")
    page.select_option("select[name=category]", "FIRE-STAIRWELL")
    page.click("#map-filters button")
    _wait_map(page)
    rows = page.locator("#issue-list tbody tr")
    assert rows.count() == 1
    assert "FIRE-STAIRWELL" in rows.first.inner_text()


def _next_market_day(market: Market, after: date) -> date:
    day = after
    while True:
        day += timedelta(days=1)
        if lunar_date(day).day in (2, 12, 22):
            return day


def test_calendar_assign_and_conflict(open_page, server, client, auth_headers):
    page = open_page("staff_zunhua")
    staff = db.session.scalar(select(User).where(User.username == "staff_zunhua"))
    yangzhuang = db.session.scalar(select(Market).where(Market.name == "杨庄集"))
    headers = auth_headers(staff)
    # A second market on the same lunar days and hours, and a new team to put on it.
    created = client.post(
        "/api/v1/markets",
        json={
            "name": "南街集",
            "area_id": yangzhuang.area_id,
            "rule": "逢二",
            "start_time": "07:00",
            "end_time": "12:00",
        },
        headers=headers,
    )
    assert created.status_code == 201, created.json
    team = client.post(
        "/api/v1/patrol-teams",
        json={"name": "南街巡防队", "area_id": yangzhuang.area_id, "member_ids": []},
        headers=headers,
    )
    assert team.status_code == 201, team.json
    day = _next_market_day(yangzhuang, local_today() + timedelta(days=2))
    busy = db.session.scalar(
        select(PatrolTeam)
        .join(MarketAssignment, MarketAssignment.team_id == PatrolTeam.id)
        .where(MarketAssignment.market_id == yangzhuang.id, MarketAssignment.date == day)
    )
    assert busy is not None, "the demo rotation covers the next month"

    page.goto(f"{server}/console/calendar?month={day:%Y-%m}")
    cell = page.locator(f'td[data-date="{day.isoformat()}"]')
    assert lunar_date(day).name in cell.inner_text()
    new_market = cell.locator(f'.market[data-market="{created.json["id"]}"]')
    assert "gap" in new_market.get_attribute("class")
    shot(page, "calendar")

    form = page.locator("#assign-form")
    form.locator(".market-select").select_option(label="南街集")
    form.locator("select[name=team_ids]").select_option(label="南街巡防队")
    form.locator("input[name=date]").fill(day.isoformat())
    form.locator("button").click()
    page.wait_for_selector(".flash.ok")
    new_market = page.locator(
        f'td[data-date="{day.isoformat()}"] .market[data-market="{created.json["id"]}"]'
    )
    assert "南街巡防队" in new_market.inner_text()
    assert "gap" not in new_market.get_attribute("class")

    # The team already on duty at 杨庄集 that day: refused with the API's own message.
    form = page.locator("#assign-form")
    form.locator(".market-select").select_option(label="南街集")
    form.locator("select[name=team_ids]").select_option(label=busy.name)
    form.locator("input[name=date]").fill(day.isoformat())
    form.locator("button").click()
    error = page.locator(".flash.error")
    error.wait_for()
    api = client.post(
        f"/api/v1/markets/{created.json['id']}/assignments",
        json={"team_ids": [busy.id], "date": day.isoformat()},
        headers=headers,
    )
    assert api.status_code == 409
    assert error.inner_text() == api.json["message"]
    assert "杨庄集" in error.inner_text()
    shot(page, "calendar-conflict")
    assigned = db.session.scalars(
        select(MarketAssignment.team_id).where(MarketAssignment.market_id == created.json["id"])
    ).all()
    assert assigned == [team.json["id"]]


def test_report_and_figures_draw_charts(open_page, server):
    page = open_page("leader")
    page.goto(f"{server}/console/report")
    page.wait_for_selector("body[data-chart-ready]")
    assert "应巡微网格" in page.inner_text("#report-summary")
    assert page.locator("#report-grids tbody tr").count() > 0
    shot(page, "report")
    start = local_today().replace(day=1) - timedelta(days=31)
    page.goto(
        f"{server}/console/figures?from={start.isoformat()}&to={local_today().isoformat()}&group_by=grid"
    )
    page.wait_for_selector("body[data-chart-ready]")
    assert page.locator("#figures-table tbody tr").count() >= 2
    shot(page, "figures")
    with page.expect_download() as download:
        page.click("#figures-xlsx")
    assert download.value.suggested_filename == "issue-figures.xlsx"


def test_wage_case_reveal_is_audited(open_page, server):
    page = open_page("wage_officer")
    page.goto(f"{server}/console/wages")
    rows = page.locator("#ledger tbody tr[data-case]")
    assert rows.count() > 0
    shot(page, "wages")
    case_id = int(rows.first.get_attribute("data-case"))
    rows.first.locator("a").click()
    page.wait_for_url(re.compile(rf"/console/wages/{case_id}$"))
    case = db.session.get(WageCase, case_id)
    phone = decrypt(case.phone_enc)
    assert phone not in page.content()
    assert "*" in page.inner_text("#pii-phone")
    shot(page, "wage-case")

    page.select_option("#reveal-form select[name=field]", "phone")
    page.fill("#reveal-form input[name=reason]", "电话回访需核对号码")
    page.click("#reveal-form button")
    page.wait_for_selector("#pii-phone .revealed")
    assert page.inner_text("#pii-phone .revealed") == phone
    officer = db.session.scalar(select(User).where(User.username == "wage_officer"))
    entries = db.session.scalars(
        select(AuditEntry).where(AuditEntry.action == "reveal", AuditEntry.object_id == str(case_id))
    ).all()
    assert [(e.actor_id, e.reason, e.changes) for e in entries] == [
        (officer.id, "电话回访需核对号码", {"field": "phone"})
    ]
    # Reloading the page shows the masked value again.
    page.goto(f"{server}/console/wages/{case_id}")
    assert phone not in page.content()


def test_a_town_never_sees_another_towns_data(open_page, server):
    huangtai = open_page("staff_huangtai")
    zunhua = open_page("staff_zunhua")
    for page in (huangtai, zunhua):
        _wait_map(page)
    theirs = {
        name: {
            int(r)
            for r in page.locator("#issue-list tbody tr").evaluate_all("rs => rs.map(r => r.dataset.issue)")
        }
        for name, page in (("huangtai", huangtai), ("zunhua", zunhua))
    }
    assert theirs["huangtai"] and theirs["zunhua"] and not theirs["huangtai"] & theirs["zunhua"]
    # The other town's issue by URL: not found, and nothing of it on the page.
    other = min(theirs["zunhua"])
    huangtai.goto(f"{server}/console/issues/{other}")
    assert "404" in huangtai.inner_text("h1")
    issue = db.session.get(Issue, other)
    assert issue.description not in huangtai.content()
    # The calendar shows no market of the other town.
    huangtai.goto(f"{server}/console/calendar")
    assert "杨庄集" not in huangtai.content() and "李营集" not in huangtai.content()
    zunhua.goto(f"{server}/console/calendar")
    # The figures name only the user's own grids.
    huangtai.goto(f"{server}/console/figures?from=2020-01-01&to={local_today().isoformat()}&group_by=grid")
    assert "杨庄" not in huangtai.inner_text("#figures-table")
    # The API the map reads refuses to hand over the other town's issue too.
    response = huangtai.request.get(f"{server}/api/v1/issues/{other}")
    assert response.status == 404


def test_sign_out_ends_the_session(open_page, server):
    page = open_page("staff_huangtai")
    page.click("#sign-out")
    page.wait_for_url(re.compile(r"/console/login"))
    page.goto(f"{server}/console/map")
    page.wait_for_url(re.compile(r"/console/login\?next="))
    response = page.request.get(f"{server}/api/v1/issues")
    assert response.status == 401
