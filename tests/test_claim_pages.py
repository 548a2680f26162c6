"""Public wage-claim pages (/claim/): filing, receipt, tracking, evidence and the poster, over the
API's own services and rate limits. The same suite runs on SQLite and PostgreSQL."""

from __future__ import annotations

import gzip
import io
import os
import re

import pytest
import zxingcpp
from flask import current_app
from PIL import Image
from sqlalchemy import func, select

from gridgov.extensions import db
from gridgov.wages.crypto import decrypt
from gridgov.wages.models import WageCase, WageEvidence, WageParty
from gridgov.workcal.services import seed_from_library

FORM = {
    "name": "王建国",
    "phone": "１３８ １２３４ ５６７８",  # full-width digits and spaces, as a phone keyboard may give
    "id_number": "１１０１０５１９４９１２３１００２ｘ",
    "bank_account": "6222 0202 0011 2233 445",
    "project_name": "锦华苑二期 5 号楼",
    "project_address": "高新区锦华路 18 号",
    "work_from": "2026/3/1",
    "work_to": "2026年8月31日",
    "amount": "7,000元",
    "workers": "1",
    "description": "抹灰工，完工后工资 7000 元未结清。",
    "crew_leader": "李工头",
    "crew_leader_phone": "13900001111",
    "subcontractor": "某劳务公司",
    "general_contractor": "中建某局",
}
BAD_ID = "110105194912310021"  # the right check digit is X


@pytest.fixture
def base(app, app_config, two_towns):
    seed_from_library()
    return two_towns


def _token(html: str, name: str = "csrf_token") -> str:
    return re.search(rf'name="{name}" value="([^"]+)"', html)[1]


def open_form(client, url="/claim/new") -> dict:
    page = client.get(url)
    assert page.status_code == 200
    tokens = {"csrf_token": _token(page.text)}
    if 'name="form_id"' in page.text:
        tokens["form_id"] = _token(page.text, "form_id")
    return tokens


def post_form(client, data: dict, files=None, **kw):
    body = {**open_form(client), **data}
    if files:
        body["photos"] = files
    return client.post("/claim/new", data=body, content_type="multipart/form-data", **kw)


def receipt(html: str) -> tuple[str, str]:
    number = re.search(r'id="case-number">([^<]+)<', html)[1]
    code = re.search(r'id="tracking-code">([^<]+)<', html)[1]
    return number, code


def field_message(html: str, name: str) -> str:
    found = re.search(rf'id="e-{name}"[^>]*>([^<]*)<', html)
    return found[1] if found else ""


def gps_jpeg() -> bytes:
    image = Image.new("RGB", (40, 30), "white")
    exif = Image.Exif()
    gps = exif.get_ifd(0x8825)
    gps.update({1: "N", 2: (33.0, 45.0, 0.0), 3: "E", 4: (113.0, 12.0, 0.0)})
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif)
    return out.getvalue()


def test_a_claim_filed_on_the_page_is_the_api_claim(client, base):
    photo = gps_jpeg()
    assert Image.open(io.BytesIO(photo)).getexif().get_ifd(0x8825)  # it does carry a location
    response = post_form(client, {**FORM, "photo_kind": "iou"}, files=[(io.BytesIO(photo), "iou.jpg")])
    assert response.status_code == 201, response.text
    number, code = receipt(response.text)
    assert re.fullmatch(r"QX-\d{4}-\d{5}", number) and len(code) == 10
    assert re.search(r'id="accept-deadline">\d{4}-\d{2}-\d{2} \d{2}:\d{2}<', response.text)
    assert "12333" in response.text and "/claim/track" in response.text
    assert response.headers["Cache-Control"] == "no-store"
    case = db.session.scalar(select(WageCase).where(WageCase.number == number))
    assert decrypt(case.phone_enc) == "13812345678" and decrypt(case.id_number_enc) == "11010519491231002X"
    assert case.amount_claimed_fen == 700000 and str(case.work_from) == "2026-03-01"
    assert case.description == FORM["description"]  # his punctuation (，) is his: only numbers are normalised
    assert str(case.work_to) == "2026-08-31" and case.area_id == base["D"].id  # no site area: the zone
    roles = db.session.scalars(
        select(WageParty.role).where(WageParty.case_id == case.id).order_by(WageParty.id)
    )
    assert list(roles) == ["crew_leader", "subcontractor", "general_contractor"]
    # The photo is kept without its location; the API's tracking view lists it for the claimant.
    stored = db.session.scalar(select(WageEvidence).where(WageEvidence.case_id == case.id))
    assert stored.kind == "iou" and stored.content_type == "image/jpeg"
    with open(os.path.join(current_app.config["UPLOAD_DIR"], stored.path), "rb") as handle:
        assert not Image.open(handle).getexif().get_ifd(0x8825)
    view = client.get(f"/api/v1/public/wage-claims/{number}?code={code}").get_json()
    assert view["status"] == "received" and view["amount_claimed"] == "7000.00"
    assert view["evidence"] == [
        {"kind": "iou", "kind_text": "欠条", "received_at": view["evidence"][0]["received_at"]}
    ]


def test_a_wrong_id_digit_says_so_and_keeps_every_other_field(client, base):
    response = post_form(client, {**FORM, "id_number": BAD_ID})
    assert response.status_code == 422
    assert "校验码" in field_message(response.text, "id_number")
    for name, value in FORM.items():
        if name == "id_number":
            continue
        shown = f'value="{value}"' in response.text or f">{value}</textarea>" in response.text
        assert shown, f"{name} was lost"
    assert f'value="{BAD_ID}"' in response.text
    assert db.session.scalar(select(func.count(WageCase.id))) == 0
    # Missing fields are named in plain words, in English when asked.
    client.set_cookie("gridgov_lang", "en")
    response = post_form(client, {**FORM, "phone": "", "amount": "seven thousand"})
    assert response.status_code == 422
    assert field_message(response.text, "phone") == "Please fill in the mobile number."
    assert "in figures" in field_message(response.text, "amount")


def test_the_form_needs_its_csrf_token_and_a_reload_files_nothing_twice(client, base):
    tokens = open_form(client)
    refused = client.post("/claim/new", data={**FORM, "form_id": tokens["form_id"]})
    assert refused.status_code == 400 and "text/html" in refused.content_type
    assert db.session.scalar(select(func.count(WageCase.id))) == 0
    first = client.post("/claim/new", data={**FORM, **tokens})
    again = client.post("/claim/new", data={**FORM, **tokens})
    assert first.status_code == 201 and again.status_code == 409
    assert "不会重复登记" in again.text and 'id="tracking-code"' not in again.text
    assert db.session.scalar(select(func.count(WageCase.id))) == 1


@pytest.fixture
def tight_limits(app_config):
    app_config.update(WAGE_INTAKE_LIMIT_PER_PHONE="2 per day", WAGE_TRACK_FAILURES_PER_IP="3 per hour")


def test_the_page_and_the_api_draw_on_the_same_limits(tight_limits, client, base):
    from tests.test_wages import CLAIM

    assert client.post("/api/v1/public/wage-claims", json=CLAIM).status_code == 201
    assert post_form(client, {**FORM, "phone": "13812345678"}).status_code == 201
    third = post_form(client, {**FORM, "phone": "13812345678"})
    assert third.status_code == 429 and "太频繁" in third.text
    assert db.session.scalar(select(func.count(WageCase.id))) == 2


def test_tracking_page_and_its_limits(tight_limits, client, base):
    number, code = receipt(post_form(client, FORM).text)
    tokens = open_form(client, "/claim/track")
    shown = client.post("/claim/track", data={**tokens, "number": number, "code": code.lower()})
    assert shown.status_code == 200
    assert "已收到，等待受理审查" in shown.text and "7000.00" in shown.text and "受理审查" in shown.text
    assert "收到您的欠薪投诉" in shown.text  # the public timeline
    wrong_code = client.post("/claim/track", data={**tokens, "number": number, "code": "AAAAAAAAAA"})
    wrong_number = client.post("/claim/track", data={**tokens, "number": "QX-2026-99999", "code": code})
    assert wrong_code.status_code == wrong_number.status_code == 404
    message = re.search(r'id="track-error">([^<]+)<', wrong_code.text)[1]
    assert message == re.search(r'id="track-error">([^<]+)<', wrong_number.text)[1]
    assert "7000.00" not in wrong_code.text
    # Two failures here and one on the API use up the shared budget of three.
    assert client.get(f"/api/v1/public/wage-claims/{number}?code=BBBBBBBBBB").status_code == 404
    assert client.post("/claim/track", data={**tokens, "number": number, "code": code}).status_code == 429


def test_evidence_later_images_only_right_code_only(client, base, make_user, auth_headers):
    number, code = receipt(post_form(client, FORM).text)
    tokens = open_form(client, f"/claim/evidence?number={number}")

    def send(data: bytes, name: str, with_code=code):
        return client.post(
            "/claim/evidence",
            data={
                **tokens,
                "number": number,
                "code": with_code,
                "kind": "chat",
                "photos": [(io.BytesIO(data), name)],
            },
            content_type="multipart/form-data",
        )

    not_image = send(b"%PDF-1.4 fake contract", "contract.jpg")
    assert not_image.status_code == 415 and "只能上传照片" in not_image.text
    wrong = send(gps_jpeg(), "chat.jpg", with_code="ZZZZZZZZZZ")
    assert wrong.status_code == 404 and "查询码不正确" in wrong.text
    assert db.session.scalar(select(func.count(WageEvidence.id))) == 0
    ok = send(gps_jpeg(), "chat.jpg")
    assert ok.status_code == 201 and "聊天截图" in ok.text
    # The API takes the same, with the code in the query; a wrong code is the same 404.
    api = client.post(
        f"/api/v1/public/wage-claims/{number}/evidence?code={code}&kind=site_photo",
        data={"file": (io.BytesIO(gps_jpeg()), "site.jpg")},
        content_type="multipart/form-data",
    )
    assert api.status_code == 201 and api.get_json()[0]["kind"] == "site_photo"
    assert (
        client.post(
            f"/api/v1/public/wage-claims/{number}/evidence?code=WRONGWRONG",
            data={"file": (io.BytesIO(gps_jpeg()), "site.jpg")},
            content_type="multipart/form-data",
        ).status_code
        == 404
    )
    # Officers of the case's area see the pictures; the claimant sees only the list.
    case = db.session.scalar(select(WageCase).where(WageCase.number == number))
    officer = make_user(roles=["wage_officer"], areas=[base["D"]])
    other = make_user(roles=["wage_officer"], areas=[base["TB"]])
    listed = client.get(f"/api/v1/wage-cases/{case.id}/evidence", headers=auth_headers(officer)).get_json()
    assert [e["kind"] for e in listed] == ["chat", "site_photo"]
    picture = client.get(
        f"/api/v1/wage-cases/{case.id}/evidence/{listed[0]['id']}", headers=auth_headers(officer)
    )
    assert picture.status_code == 200 and picture.mimetype == "image/jpeg"
    assert not Image.open(io.BytesIO(picture.data)).getexif().get_ifd(0x8825)
    assert (
        client.get(f"/api/v1/wage-cases/{case.id}/evidence", headers=auth_headers(other)).status_code == 404
    )
    view = client.get(f"/api/v1/public/wage-claims/{number}?code={code}").get_json()
    assert [e["kind"] for e in view["evidence"]] == ["chat", "site_photo"] and "id" not in view["evidence"][0]


def test_evidence_count_per_claim(client, base):
    current_app.config["WAGE_EVIDENCE_MAX_PER_CLAIM"] = 2
    number, code = receipt(post_form(client, FORM, files=[(io.BytesIO(gps_jpeg()), "a.jpg")]).text)
    url = f"/api/v1/public/wage-claims/{number}/evidence?code={code}"
    two = {"file": [(io.BytesIO(gps_jpeg()), "b.jpg"), (io.BytesIO(gps_jpeg()), "c.jpg")]}
    assert client.post(url, data=two, content_type="multipart/form-data").status_code == 422
    one = {"file": [(io.BytesIO(gps_jpeg()), "b.jpg")]}
    assert client.post(url, data=one, content_type="multipart/form-data").status_code == 201
    assert db.session.scalar(select(func.count(WageEvidence.id))) == 2


def test_poster_qr_code_decodes_to_the_filing_url(client, base):
    current_app.config["PUBLIC_BASE_URL"] = "https://gx.example.gov.cn"
    poster = client.get("/claim/poster?area=TA")
    assert poster.status_code == 200
    assert "TA根治欠薪工作专班" in poster.text and "12333" in poster.text
    src = re.search(r'<img id="qr" src="([^"]+)"', poster.text)[1].replace("&amp;", "&")
    image = client.get(src)
    assert image.mimetype == "image/png"
    decoded = zxingcpp.read_barcodes(Image.open(io.BytesIO(image.data)))
    assert [d.text for d in decoded] == ["https://gx.example.gov.cn/claim/new?area=TA"]
    assert client.get("/claim/poster?area=NOPE").status_code == 404
    # The URL the code holds opens the form that files into that town.
    form = client.get("/claim/new?area=TA")
    assert 'name="area" value="TA"' in form.text


PAGES = ("/claim/", "/claim/new", "/claim/track", "/claim/evidence", "/claim/poster?area=TA")


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_every_page_is_light_and_stays_on_this_site(client, base, lang):
    client.set_cookie("gridgov_lang", lang)
    for url in PAGES:
        page = client.get(url)
        assert page.status_code == 200, url
        total = len(gzip.compress(page.data))
        for ref in re.findall(r'(?:src|href)="([^"]+)"', page.text):
            assert not re.match(r"(https?:)?//", ref), f"{url} refers to another site: {ref}"
            if ref.startswith("/claim/static/") or "qr.png" in ref:
                total += len(gzip.compress(client.get(ref.replace("&amp;", "&")).data))
        assert total < 30 * 1024, f"{url}: {total} bytes"
        assert "default-src 'self'" in page.headers["Content-Security-Policy"]


def test_openapi_documents_the_evidence_routes(client):
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    assert "post" in paths["/api/v1/public/wage-claims/{number}/evidence"]
    assert "get" in paths["/api/v1/wage-cases/{case_id}/evidence"]


def test_officers_see_the_photos_on_the_console_case_page(client, base, make_user):
    number, _ = receipt(
        post_form(client, {**FORM, "photo_kind": "iou"}, files=[(io.BytesIO(gps_jpeg()), "a.jpg")]).text
    )
    case = db.session.scalar(select(WageCase).where(WageCase.number == number))
    officer = make_user(roles=["wage_officer"], areas=[base["D"]], username="zhou")
    login = client.get("/console/login")
    client.post(
        "/console/login",
        data={"csrf_token": _token(login.text), "username": "zhou", "password": "correct-horse-battery"},
    )
    page = client.get(f"/console/wages/{case.id}")
    assert page.status_code == 200 and officer.id
    section = page.text.split('id="evidence"', 1)[1].split("</section>", 1)[0]
    link = re.search(r'href="([^"]+)"[^>]*>欠条<', section)[1]
    picture = client.get(link)
    assert picture.status_code == 200 and picture.mimetype == "image/jpeg"


def test_phone_sized_photos_are_taken_and_an_oversized_form_is_refused(client, base):
    noisy = Image.frombytes("RGB", (420, 420), os.urandom(420 * 420 * 3))
    out = io.BytesIO()
    noisy.save(out, "PNG")
    assert len(out.getvalue()) > 400 * 1024  # larger than a JSON body may be
    filed = post_form(client, FORM, files=[(io.BytesIO(out.getvalue()), "site.png")])
    assert filed.status_code == 201, filed.text[:300]
    assert db.session.scalar(select(func.count(WageEvidence.id))) == 1
    current_app.config["WAGE_EVIDENCE_MAX_BYTES"] = 100 * 1024
    refused = post_form(
        client, {**FORM, "phone": "13912345678"}, files=[(io.BytesIO(out.getvalue()), "site.png")]
    )
    assert refused.status_code == 413 and "照片太大" in refused.text
    assert db.session.scalar(select(func.count(WageCase.id))) == 1


def test_evidence_limit_per_claim_is_shared_and_counts_only_what_was_taken(client, base):
    current_app.config["WAGE_EVIDENCE_LIMIT_PER_CLAIM"] = "1 per day"
    number, code = receipt(post_form(client, FORM).text)
    url = f"/api/v1/public/wage-claims/{number}/evidence?code={code}"
    not_image = {"file": [(io.BytesIO(b"not a photo"), "a.jpg")]}
    assert client.post(url, data=not_image, content_type="multipart/form-data").status_code == 415
    one = {"file": [(io.BytesIO(gps_jpeg()), "b.jpg")]}
    assert client.post(url, data=one, content_type="multipart/form-data").status_code == 201
    tokens = open_form(client, f"/claim/evidence?number={number}")
    page = client.post(
        "/claim/evidence",
        data={
            **tokens,
            "number": number,
            "code": code,
            "kind": "iou",
            "photos": [(io.BytesIO(gps_jpeg()), "c.jpg")],
        },
        content_type="multipart/form-data",
    )
    assert page.status_code == 429
    assert db.session.scalar(select(func.count(WageEvidence.id))) == 1
