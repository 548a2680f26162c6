"""Wage claims: intake, tracking, the officer's workflow, legal clocks, masking, ledger."""

import io
from datetime import datetime

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from gridgov.audit.models import AuditEntry
from gridgov.extensions import db
from gridgov.timeutil import LOCAL_TZ, local_today
from gridgov.wages.models import WageCase
from gridgov.workcal.services import seed_from_library
from tests.conftest import WAGE_CLAIM as CLAIM

ID_NUMBER = "11010519491231002X"


def local(*args):
    return datetime(*args, tzinfo=LOCAL_TZ)


@pytest.fixture
def setup(app, make_user, auth_headers, two_towns):
    seed_from_library()
    officer = make_user(roles=["wage_officer"], areas=[two_towns["TA"]], display_name="周静")
    colleague = make_user(roles=["wage_officer"], areas=[two_towns["TA"]])
    other_town = make_user(roles=["wage_officer"], areas=[two_towns["TB"]])
    return {
        "officer": officer,
        "colleague": colleague,
        "h": auth_headers(officer),
        "h2": auth_headers(colleague),
        "other": auth_headers(other_town),
    }


def file(client, claim=CLAIM, **headers):
    return client.post("/api/v1/public/wage-claims", json=claim, headers=headers)


def act(client, headers, case_id, action, **data):
    response = client.post(
        f"/api/v1/wage-cases/{case_id}/actions", json={"action": action, **data}, headers=headers
    )
    return response


def test_claim_validation(client, setup):
    bad_id = {**CLAIM, "claimant": {**CLAIM["claimant"], "id_number": "110105194912310021"}}
    response = file(client, bad_id)
    assert response.status_code == 422 and "id_number" in response.get_json()["errors"]["json"]
    assert file(client, {**CLAIM, "amount_claimed": "7000.005"}).status_code == 422
    assert file(client, {**CLAIM, "amount_claimed": 7000}).status_code == 422


def test_tracking_code_opens_only_its_own_case(client, setup):
    first = file(client).get_json()
    second = file(client, {**CLAIM, "claimant": {**CLAIM["claimant"], "phone": "13912345678"}}).get_json()
    assert first["number"] != second["number"] and first["tracking_code"]
    mine = client.get(f"/api/v1/public/wage-claims/{first['number']}?code={first['tracking_code']}")
    assert mine.status_code == 200
    view = mine.get_json()
    assert view["status_text"] == "已收到，等待受理审查" and view["amount_claimed"] == "7000.00"
    assert view["amount_outstanding"] == "7000.00" and view["next_deadline"]
    assert "13812345678" not in mine.get_data(as_text=True) and ID_NUMBER not in mine.get_data(as_text=True)
    assert (
        client.get(f"/api/v1/public/wage-claims/{second['number']}?code={first['tracking_code']}").status_code
        == 404
    )
    assert client.get(f"/api/v1/public/wage-claims/{first['number']}?code=WRONGCODE1").status_code == 404


def test_wrong_codes_are_rate_limited(app, client, setup):
    app.config["WAGE_TRACK_FAILURES_PER_IP"] = "3 per hour"
    case = file(client).get_json()
    statuses = [
        client.get(f"/api/v1/public/wage-claims/{case['number']}?code=BADCODE{i}").status_code
        for i in range(4)
    ]
    assert statuses == [404, 404, 404, 429]


def test_masking_and_audited_reveal(client, setup):
    number = file(client).get_json()["number"]
    listed = client.get("/api/v1/wage-cases", headers=setup["h"]).get_json()
    case = next(c for c in listed if c["number"] == number)
    assert case["id_number"] == "1101**********002X" and case["phone"] == "138****5678"
    assert case["bank_account"].endswith("3445") and "622202" not in case["bank_account"]
    assert case["claimant_name"] == "王**"
    stored = db.session.get(WageCase, case["id"])
    assert ID_NUMBER.encode() not in stored.id_number_enc and b"13812345678" not in stored.phone_enc
    assert (
        client.post(
            f"/api/v1/wage-cases/{case['id']}/reveal", json={"field": "id_number"}, headers=setup["h"]
        ).status_code
        == 422
    )  # a reason is required
    revealed = client.post(
        f"/api/v1/wage-cases/{case['id']}/reveal",
        json={"field": "id_number", "reason": "核对身份，准备约谈"},
        headers=setup["h"],
    )
    assert revealed.get_json() == {"field": "id_number", "value": ID_NUMBER}
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "reveal"))
    assert entry.actor_id == setup["officer"].id and entry.reason == "核对身份，准备约谈"
    assert entry.changes == {"field": "id_number"} and ID_NUMBER not in str(entry.changes)
    assert all(
        ID_NUMBER not in str(e.changes) and "13812345678" not in str(e.changes)
        for e in db.session.scalars(select(AuditEntry))
    )
    assert client.get(f"/api/v1/wage-cases/{case['id']}", headers=setup["other"]).status_code == 404
    assert (
        client.post(
            f"/api/v1/wage-cases/{case['id']}/reveal",
            json={"field": "phone", "reason": "试图查看"},
            headers=setup["other"],
        ).status_code
        == 404
    )


def test_clocks_across_a_tiaoxiu_sunday_and_national_day(client, setup, clock):
    clock.set(local(2026, 9, 18, 9))
    case = file(client).get_json()
    detail = client.get("/api/v1/wage-cases", headers=setup["h"]).get_json()[0]
    # Fri 18 Sep + 5 working days: Sun 20 Sep (调休), Mon 21 … Thu 24 Sep.
    assert datetime.fromisoformat(detail["accept_deadline"]) == local(2026, 9, 24, 18)
    clock.set(local(2026, 9, 30, 10))
    accepted = act(client, setup["h"], detail["id"], "accept").get_json()
    # 60 working days from Wed 30 Sep, skipping 1–7 Oct and counting Sat 10 Oct (调休): Tue 29 Dec.
    assert datetime.fromisoformat(accepted["conclude_deadline"]) == local(2026, 12, 29, 18)
    assert case["number"].startswith("QX-2026-")
    refused = act(
        client, setup["h"], detail["id"], "extend", note="案情复杂", approver_id=setup["officer"].id
    )
    assert refused.status_code == 403  # one cannot approve one's own extension
    extended = act(
        client, setup["h"], detail["id"], "extend", note="案情复杂", approver_id=setup["colleague"].id
    )
    assert extended.get_json()["extended"] is True
    assert (
        act(
            client, setup["h"], detail["id"], "extend", note="再延", approver_id=setup["colleague"].id
        ).status_code
        == 409
    )


def test_plasterer_case_from_claim_to_close_with_a_reopen(client, setup):
    filed = file(client).get_json()
    case_id = client.get("/api/v1/wage-cases", headers=setup["h"]).get_json()[0]["id"]
    parties = client.get(f"/api/v1/wage-cases/{case_id}/parties", headers=setup["h"]).get_json()
    contractor = next(p for p in parties if p["role"] == "general_contractor")["id"]
    subcontractor = next(p for p in parties if p["role"] == "subcontractor")["id"]
    assert act(client, setup["h"], case_id, "pay", worker_name="王建国", amount="1").status_code == 409
    assert act(client, setup["h"], case_id, "accept").get_json()["status"] == "verifying"
    one_officer = act(client, setup["h"], case_id, "visit", officer_ids=[setup["officer"].id], findings="x")
    assert one_officer.status_code == 422
    visited = act(
        client,
        setup["h"],
        case_id,
        "visit",
        officer_ids=[setup["officer"].id, setup["colleague"].id],
        findings="核实欠薪 7000 元属实",
        amount_verified="7000.00",
        employment_problems_corrected=2,
    )
    assert visited.get_json()["amount_verified"] == "7000.00"
    assert (
        act(
            client,
            setup["h"],
            case_id,
            "interview",
            party_id=subcontractor,
            outcome="承认拖欠",
            rectification="限期整改",
        ).get_json()["status"]
        == "coordinating"
    )
    notice = act(
        client,
        setup["h"],
        case_id,
        "notice",
        party_id=subcontractor,
        kind="reminder",
        due_on="2026-12-10",
        content="请于限期内足额支付拖欠工资。",
    )
    assert notice.status_code == 200
    notices = client.get(f"/api/v1/wage-cases/{case_id}/notices", headers=setup["h"]).get_json()
    assert notices[0]["number"].startswith(f"TX-{local_today().year}-")
    page = client.get(f"/api/v1/wage-notices/{notices[0]['id']}.html", headers=setup["h"])
    assert page.status_code == 200 and "欠薪提醒单" in page.get_data(as_text=True)
    assert (
        act(
            client,
            setup["h"],
            case_id,
            "commit",
            party_id=subcontractor,
            instalments=[{"due": "2026-12-01", "amount": "7000.00"}],
        ).status_code
        == 422
    )  # not the GC
    committed = act(
        client,
        setup["h"],
        case_id,
        "commit",
        party_id=contractor,
        instalments=[{"due": "2026-12-01", "amount": "4000.00"}, {"due": "2026-12-15", "amount": "3000.00"}],
    )
    assert committed.get_json()["status"] == "payment_committed"
    act(client, setup["h"], case_id, "pay", worker_name="王建国", amount="4000.00", paid_on="2026-12-01")
    view = client.get(
        f"/api/v1/public/wage-claims/{filed['number']}?code={filed['tracking_code']}"
    ).get_json()
    assert view["amount_paid"] == "4000.00" and view["amount_outstanding"] == "3000.00"
    # The worker says on the callback that the money did not arrive: the case goes back to coordinating.
    reopened = act(client, setup["h"], case_id, "callback", outcome="not_paid", note="称未到账").get_json()
    assert reopened["status"] == "coordinating" and reopened["reopen_count"] == 1
    act(client, setup["h"], case_id, "order", party_id=contractor, due_on="2026-12-20", amount="3000.00")
    act(client, setup["h"], case_id, "pay", worker_name="王建国", amount="3000.00", paid_on="2026-12-18")
    assert act(client, setup["h"], case_id, "close", closure_code="paid_in_full", note="x").status_code == 409
    assert (
        act(client, setup["h"], case_id, "callback", outcome="confirmed").get_json()["status"] == "callback"
    )
    closed = act(
        client, setup["h"], case_id, "close", closure_code="paid_in_full", note="全额支付，回访确认"
    ).get_json()
    assert closed["status"] == "closed" and closed["closure_code"] == "paid_in_full"
    view = client.get(
        f"/api/v1/public/wage-claims/{filed['number']}?code={filed['tracking_code']}"
    ).get_json()
    assert view["status_text"] == "已结案" and view["amount_outstanding"] == "0.00"
    texts = [e["text"] for e in view["timeline"]]
    assert "称未到账" not in str(texts) and texts[-1] == "案件已办结。"
    timeline = client.get(f"/api/v1/wage-cases/{case_id}/timeline", headers=setup["h"]).get_json()
    assert any(e["note"] == "称未到账" for e in timeline)


def test_ledger_sums_equal_recorded_payments(client, setup):
    ids = []
    for phone, amount in (("13800000001", "5000.00"), ("13800000002", "12000.50")):
        file(client, {**CLAIM, "claimant": {**CLAIM["claimant"], "phone": phone}, "amount_claimed": amount})
    for case in client.get("/api/v1/wage-cases", headers=setup["h"]).get_json():
        ids.append(case["id"])
        contractor = client.get(f"/api/v1/wage-cases/{case['id']}/parties", headers=setup["h"]).get_json()[0][
            "id"
        ]
        act(client, setup["h"], case["id"], "accept")
        act(client, setup["h"], case["id"], "interview", party_id=contractor, outcome="同意支付")
        act(
            client,
            setup["h"],
            case["id"],
            "order",
            party_id=contractor,
            due_on="2026-12-31",
            amount="1000.00",
        )
    payments = [(ids[0], "1000.10"), (ids[0], "2000.20"), (ids[1], "333.33")]
    for case_id, amount in payments:
        assert act(client, setup["h"], case_id, "pay", worker_name="工人", amount=amount).status_code == 200
    today = datetime.now(LOCAL_TZ).date().isoformat()
    rows = client.get(f"/api/v1/wage-cases/ledger?from=2026-01-01&to={today}", headers=setup["h"]).get_json()
    from decimal import Decimal

    assert sum(Decimal(r["paid"]) for r in rows) == sum(Decimal(a) for _, a in payments) == Decimal("3333.63")
    by_id = {r["id"]: r for r in rows}
    assert by_id[ids[0]]["paid"] == "3000.30" and by_id[ids[1]]["paid"] == "333.33"
    assert by_id[ids[0]]["claimant"] == "王**"
    figures = client.get(
        f"/api/v1/wage-cases/figures?from=2026-01-01&to={today}", headers=setup["h"]
    ).get_json()
    assert (
        figures["amount_recovered"] == "3333.63"
        and figures["arrears_cases"] == 2
        and figures["interviews"] == 2
    )
    sheet = client.get(
        f"/api/v1/wage-cases/ledger?from=2026-01-01&to={today}&format=xlsx", headers=setup["h"]
    )
    values = list(load_workbook(io.BytesIO(sheet.data)).active.values)
    assert values[0][0] == "案件编号" and len(values) == 3


def test_case_clocks_count_working_days_left_and_late(app):
    from datetime import date

    from gridgov.wages.clocks import case_clocks

    seed_from_library()
    monday = date(2026, 11, 23)
    case = WageCase(
        accept_deadline=datetime(2026, 11, 30, 18, tzinfo=LOCAL_TZ),  # next Monday: Tue–Fri + Mon
        accepted_at=None,
        conclude_deadline=datetime(2026, 11, 20, 18, tzinfo=LOCAL_TZ),  # last Friday: Sat, Sun, Mon passed
        closed_at=None,
    )
    accept, conclude = case_clocks(case, today=monday)
    assert (accept["clock"], accept["left"]) == ("accept", 5)
    assert (conclude["clock"], conclude["left"]) == ("conclude", -1)
    case.accepted_at = datetime(2026, 11, 24, tzinfo=LOCAL_TZ)
    assert case_clocks(case, today=monday)[0]["left"] is None


def test_extension_moves_the_next_deadline_and_the_clocks_show_it(client, setup, clock):
    clock.set(local(2026, 9, 18, 9))
    filed = file(client).get_json()
    case_id = client.get("/api/v1/wage-cases", headers=setup["h"]).get_json()[0]["id"]
    clock.set(local(2026, 9, 30, 10))
    act(client, setup["h"], case_id, "accept")
    extended = act(
        client, setup["h"], case_id, "extend", note="案情复杂", approver_id=setup["colleague"].id
    ).get_json()
    # Tue 29 Dec 2026 + 30 working days, 2027 provisional (1 Jan, 5–10 Feb off): Tue 16 Feb 2027.
    assert datetime.fromisoformat(extended["conclude_deadline"]) == local(2027, 2, 16, 18)
    assert extended["next_due"] == "2027-02-16"
    public = client.get(f"/api/v1/public/wage-claims/{filed['number']}?code={filed['tracking_code']}")
    assert public.get_json()["next_deadline"] == "2027-02-16"
    accept, conclude = extended["clocks"]
    # Accepted late: Sun 20 Sep (调休), Mon 21–Thu 24, (Fri 25 中秋), Mon 28–Wed 30 Sep = 8 of 5 days.
    assert accept["met"] is not None and accept["left"] is None and accept["used"] == 8
    assert (conclude["working_days"], conclude["used"], conclude["left"]) == (90, 0, 90)
    assert conclude["uncertain"] is True and conclude["paused"] is False
    clock.set(local(2026, 10, 9, 10))  # 1–7 Oct off, Thu 8 and Fri 9 Oct worked
    conclude = client.get(f"/api/v1/wage-cases/{case_id}", headers=setup["h"]).get_json()["clocks"][1]
    assert (conclude["used"], conclude["left"]) == (2, 88)
    transferred = act(client, setup["h"], case_id, "transfer", authority="劳动保障监察大队").get_json()
    assert transferred["clocks"][1]["paused"] is True and transferred["clocks"][1]["left"] is None
