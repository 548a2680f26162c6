"""The public claim pages in headless Chromium on a low-end phone's screen (320 × 640), with
JavaScript on and off, checked by axe-core (from the npm registry, injected by the test).

Runs where the console's browser tests run (GRIDGOV_TEST_BROWSER=1 in CI); axe-core comes from
`make assets` (gridgov/console/frontend devDependencies). Screenshots land in bench/screenshots/.
"""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from sqlalchemy import select

from gridgov.areas.models import Area
from gridgov.extensions import db
from tests import test_console_browser as console_browser
from tests.test_console_browser import REQUIRED, SHOTS

# The console's browser, seeded demo and live server, shared as fixtures of this module too.
browser, demo, server = console_browser.browser, console_browser.demo, console_browser.server

zxingcpp = pytest.importorskip("zxingcpp")
Image = pytest.importorskip("PIL.Image")

AXE = Path(__file__).resolve().parent.parent / "gridgov/console/frontend/node_modules/axe-core/axe.min.js"
PHONE = {"width": 320, "height": 640}
FILL = {
    "name": "王建国",
    "phone": "１３８１２３４５６７８",
    "project_name": "锦华苑二期 5 号楼",
    "work_from": "2026-03-01",
    "work_to": "2026-08-31",
    "amount": "7000",
    "description": "抹灰工，完工后工资 7000 元未结清。",
    "crew_leader": "李工头",
    "general_contractor": "中建某局",
}


@pytest.fixture
def phone(browser, server):
    """A new phone-sized context; every request it makes must stay on the app's origin."""
    contexts, outside = [], []

    def open_phone(javascript: bool = True, lang: str = "zh-CN"):
        context = browser.new_context(
            viewport=PHONE,
            device_scale_factor=2,
            is_mobile=True,
            has_touch=True,
            locale=lang,
            java_script_enabled=javascript,
            bypass_csp=javascript,  # axe-core is injected as a script of the test's own
        )
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(10_000)
        page.on(
            "request",
            lambda req: None if req.url.startswith((server, "data:", "blob:")) else outside.append(req.url),
        )
        return page

    yield open_phone
    for context in contexts:
        context.close()
    assert outside == [], f"pages made requests outside the app: {outside}"


def shot(page, name: str) -> None:
    """Save a screenshot, and check nothing is wider than the phone (with or without JavaScript)."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"claim-{name}.png"), full_page=True)
    assert page.evaluate("() => document.documentElement.scrollWidth") <= PHONE["width"], name


def axe_check(page, name: str) -> None:
    """No serious or critical accessibility violation (axe-core's own rules, WCAG 2.x A/AA and best practice)."""
    if not AXE.exists():
        if REQUIRED:
            pytest.fail(f"axe-core is not installed at {AXE} (make assets)")
        pytest.skip("axe-core not installed (make assets)")
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("() => axe.run(document, {resultTypes: ['violations']})")
    bad = [
        f"{v['id']} ({v['impact']}): {[n['target'] for n in v['nodes']][:3]}"
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]
    assert result["passes"], f"{name}: axe-core checked nothing"
    assert bad == [], f"{name}: {bad}"


def fill_claim(page, id_number: str) -> None:
    for name, value in FILL.items():
        page.fill(f"[name={name}]", value)
    page.fill("[name=id_number]", id_number)


def check_kept(page) -> None:
    for name, value in FILL.items():
        assert page.input_value(f"[name={name}]") == value, f"{name} was lost"


@pytest.mark.parametrize("javascript", [True, False], ids=["js-on", "js-off"])
def test_file_a_claim_then_follow_it(phone, server, javascript):
    page = phone(javascript)
    page.goto(f"{server}/claim/")
    suffix = "js" if javascript else "nojs"
    shot(page, f"index-{suffix}")
    if javascript:
        axe_check(page, "index")
    page.click("text=我要投诉欠薪")
    page.wait_for_url(re.compile(r"/claim/new"))
    fill_claim(page, "110105194912310021")  # the right check digit is X
    if javascript:  # the enhancement says so before sending; the server says the same without it
        page.locator("[name=id_number]").dispatch_event("change")
        assert "校验码" in page.inner_text("#e-id_number")
        axe_check(page, "form")
    shot(page, f"form-{suffix}")
    page.click("#send")
    page.wait_for_selector("#form-error")
    assert "校验码" in page.inner_text("#e-id_number")
    check_kept(page)
    shot(page, f"form-error-{suffix}")
    if javascript:
        axe_check(page, "form with an error")
    page.fill("[name=id_number]", "11010519491231002X")
    page.click("#send")
    page.wait_for_selector("#receipt")
    number, code = page.inner_text("#case-number"), page.inner_text("#tracking-code")
    assert re.fullmatch(r"QX-\d{4}-\d{5}", number) and len(code) == 10
    assert "12333" in page.inner_text("#receipt") and page.inner_text("#accept-deadline")
    shot(page, f"receipt-{suffix}")
    if javascript:
        axe_check(page, "receipt")
    # The receipt's code opens the tracking page.
    page.click("text=查询进度")
    page.wait_for_url(re.compile(r"/claim/track\?number="))
    assert page.input_value("[name=number]") == number
    page.fill("[name=code]", code)
    page.click("#track-send")
    page.wait_for_selector("#status")
    assert "等待受理审查" in page.inner_text("#status-text")
    assert page.inner_text("#amount-claimed").startswith("7000.00")
    shot(page, f"track-{suffix}")
    if javascript:
        axe_check(page, "tracking")


def test_evidence_refused_for_a_non_image_and_a_wrong_code_and_the_poster_decodes(phone, server, tmp_path):
    page = phone(True)
    page.goto(f"{server}/claim/new")
    fill_claim(page, "11010519491231002X")
    page.click("#send")
    page.wait_for_selector("#receipt")
    number, code = page.inner_text("#case-number"), page.inner_text("#tracking-code")
    page.click("text=补交证据照片")
    page.wait_for_selector("#evidence-form")
    axe_check(page, "evidence")
    fake = tmp_path / "contract.jpg"
    fake.write_bytes(b"%PDF-1.4 not a photo")
    page.fill("[name=code]", code)
    page.set_input_files("[name=photos]", str(fake))
    page.click("#evidence-send")
    page.wait_for_selector("#evidence-error")
    assert "只能上传照片" in page.inner_text("#evidence-error")
    photo = tmp_path / "iou.png"
    Image.new("RGB", (60, 40), "white").save(photo)
    page.fill("[name=code]", "WRONGCODE9")
    page.set_input_files("[name=photos]", str(photo))
    page.click("#evidence-send")
    page.wait_for_selector("#evidence-error")
    assert "查询码不正确" in page.inner_text("#evidence-error")
    page.fill("[name=code]", code)
    page.set_input_files("[name=photos]", str(photo))
    page.select_option("[name=kind]", "iou")
    page.click("#evidence-send")
    page.wait_for_selector("#evidence-ok")
    assert "欠条" in page.inner_text("#evidence-list")
    shot(page, "evidence")
    assert number in page.input_value("[name=number]")

    area = db.session.scalar(select(Area).where(Area.level == "town").order_by(Area.id))
    page.goto(f"{server}/claim/poster?area={area.code}")
    page.wait_for_selector("#qr")
    assert area.name in page.inner_text("#office")
    axe_check(page, "poster")
    shot(page, "poster")
    png = page.locator("#qr").screenshot()
    decoded = [d.text for d in zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))]
    assert decoded == [f"{server}/claim/new?area={area.code}"]
