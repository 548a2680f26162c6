"""Spreadsheets read back with openpyxl: typed cells, formats, frozen header, text never a formula."""

import io
import uuid
from datetime import UTC, date, datetime

import pytest
from openpyxl import load_workbook

from gridgov.issues.catalogue import seed_catalogue
from gridgov.workcal.services import seed_from_library

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
HOSTILE = ["=1+1", '=HYPERLINK("http://evil.example/","点我")', "+SUM(A1:A9)", "-2+3", "@SUM(A1)"]


def sheet_of(response):
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == XLSX
    return load_workbook(io.BytesIO(response.data)).active


def column(sheet, header):
    headers = [c.value for c in sheet[1]]
    return [row[headers.index(header)] for row in sheet.iter_rows(min_row=2)]


def assert_plain_text(cell, text):
    """Read back as the string the user typed: a string cell, not a formula, quote-prefixed."""
    assert cell.value == text and cell.data_type == "s"
    assert cell.quotePrefix


@pytest.fixture
def people(app, make_user, auth_headers, two_towns, clock):
    clock.set(datetime(2026, 12, 2, 3, 30, tzinfo=UTC))  # 11:30 in Asia/Shanghai
    seed_catalogue()
    seed_from_library()
    return {
        "worker": auth_headers(make_user(roles=["grid_worker"], areas=[two_towns["GA"]])),
        "leader": auth_headers(make_user(roles=["leader"], areas=[two_towns["D"]])),
        "officer": auth_headers(make_user(roles=["wage_officer"], areas=[two_towns["TA"]])),
        "areas": two_towns,
    }


def report(client, headers, description):
    body = {
        "client_uuid": str(uuid.uuid4()),
        "category": "INFRA-LIGHT",
        "description": description,
        "location": {"type": "Point", "coordinates": [113.001, 33.001]},
    }
    response = client.post("/api/v1/issues", json=body, headers=headers)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def test_issue_ledger_has_date_cells_integers_and_text_descriptions(client, people):
    for text in HOSTILE:
        report(client, people["worker"], text)
    sheet = sheet_of(client.get("/api/v1/issues?format=xlsx", headers=people["leader"]))
    assert sheet.freeze_panes == "A2" and sheet.auto_filter.ref == "A1:K6"
    assert sheet.column_dimensions["C"].width > 10  # sized to the longest description
    descriptions = {c.value: c for c in column(sheet, "描述")}
    for text in HOSTILE:
        assert_plain_text(descriptions[text], text)
    received = column(sheet, "上报时间")[0]
    assert received.is_date and received.value == datetime(2026, 12, 2, 11, 30)  # local wall time
    assert received.number_format == "yyyy-mm-dd hh:mm"
    ids = column(sheet, "编号")
    assert all(isinstance(c.value, int) and c.data_type == "n" for c in ids)
    assert all(c.value == 0 and c.data_type == "n" for c in column(sheet, "返工次数"))
    assert all(c.value is None for c in column(sheet, "办结时间"))  # empty, not ''


def test_control_characters_in_a_description_do_not_break_the_export(client, people):
    report(client, people["worker"], "路灯\x07不亮\x1b")
    sheet = sheet_of(client.get("/api/v1/issues?format=xlsx", headers=people["leader"]))
    assert column(sheet, "描述")[0].value == "路灯不亮"


def test_issue_figures_have_percentages_and_counts(client, people):
    report(client, people["worker"], "路灯不亮")
    sheet = sheet_of(
        client.get(
            "/api/v1/stats/issues?from=2026-12-01&to=2026-12-31&group_by=category&format=xlsx",
            headers=people["leader"],
        )
    )
    assert sheet.title == "按类别统计" and sheet.freeze_panes == "A2"
    reported = column(sheet, "上报数")[0]
    assert reported.value == 1 and reported.data_type == "n" and reported.number_format == "0"
    rate = column(sheet, "办结率")[0]
    # Nothing was due yet (not dispatched): the rate has no denominator and is an empty cell, not 0.
    assert rate.value is None and rate.number_format.endswith("%")


def claim(project, amount="4200.00", phone="13812345678"):
    return {
        "claimant": {"name": "王建国", "phone": phone, "id_number": "11010519491231002X"},
        "project": {"name": project, "address": "高新区锦华路 18 号", "area_code": "TA"},
        "parties": [{"role": "general_contractor", "name": "=cmd|' /C calc'!A0"}],
        "work_period": {"from": "2026-03-01", "to": "2026-08-31"},
        "amount_claimed": amount,
        "workers": 1,
        "description": "抹灰工",
    }


def test_wage_ledger_amounts_are_yuan_numbers_and_names_stay_text(client, people):
    for index, project in enumerate(HOSTILE):
        assert (
            client.post(
                "/api/v1/public/wage-claims", json=claim(project, f"420{index}.50", f"1381234567{index}")
            ).status_code
            == 201
        )
    sheet = sheet_of(
        client.get(
            "/api/v1/wage-cases/ledger?from=2026-12-01&to=2026-12-31&format=xlsx", headers=people["officer"]
        )
    )
    projects = {c.value: c for c in column(sheet, "项目")}
    for text in HOSTILE:
        assert_plain_text(projects[text], text)
    parties = column(sheet, "当事方")[0]
    assert parties.data_type == "s" and parties.value == "总承包单位：=cmd|' /C calc'!A0"
    claimed = column(sheet, "投诉金额（元）")
    assert sorted(c.value for c in claimed) == [4200.5, 4201.5, 4202.5, 4203.5, 4204.5]
    assert all(c.data_type == "n" and "0.00" in c.number_format and "¥" in c.number_format for c in claimed)
    assert sum(c.value for c in column(sheet, "未支付（元）")) == pytest.approx(21012.5)
    received = column(sheet, "收案日期")[0]
    assert received.is_date and received.value.date() == date(2026, 12, 2)
    assert received.number_format == "yyyy-mm-dd"


def test_wage_figures_download_as_xlsx(client, people):
    assert client.post("/api/v1/public/wage-claims", json=claim("锦华苑")).status_code == 201
    url = "/api/v1/wage-cases/figures?from=2026-12-01&to=2026-12-31"
    assert client.get(url, headers=people["officer"]).mimetype == "application/json"
    response = client.get(url + "&format=xlsx", headers=people["officer"])
    assert response.headers["Content-Disposition"] == 'attachment; filename="wage-figures.xlsx"'
    sheet = sheet_of(response)
    start, recovered = column(sheet, "起始日期")[0], column(sheet, "追回金额（元）")[0]
    assert start.is_date and start.value.date() == date(2026, 12, 1)
    assert recovered.value == 0 and recovered.data_type == "n" and "¥" in recovered.number_format
    assert column(sheet, "欠薪案件数")[0].value == 0  # received, not yet accepted
    assert client.get(url + "&format=csv", headers=people["officer"]).status_code == 422


def test_ledger_download_keeps_the_status_filter(client, people):
    assert client.post("/api/v1/public/wage-claims", json=claim("锦华苑")).status_code == 201
    base = "/api/v1/wage-cases/ledger?from=2026-12-01&to=2026-12-31&format=xlsx"
    assert sheet_of(client.get(base + "&status=received", headers=people["officer"])).max_row == 2
    assert sheet_of(client.get(base + "&status=closed", headers=people["officer"])).max_row == 1
    assert client.get(base + "&status=nonsense", headers=people["officer"]).status_code == 422


def test_daily_report_counts_are_integers(client, people):
    report(client, people["worker"], "楼道堆物")
    town = people["areas"]["TA"].id
    sheet = sheet_of(
        client.get(f"/api/v1/reports/daily?date=2026-12-02&area={town}&format=xlsx", headers=people["leader"])
    )
    assert sheet.title == "巡查日报" and sheet.freeze_panes == "A2"
    assert [c.value for c in column(sheet, "网格编码")] == ["MA"]
    found = column(sheet, "发现问题")[0]
    assert found.value == 1 and found.data_type == "n" and found.number_format == "0"
    assert column(sheet, "已巡")[0].value == "否"
