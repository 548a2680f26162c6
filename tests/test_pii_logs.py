"""A scenario full of personal data leaves none of it in the logs."""

import io
import logging

from gridgov.logs import configure_logging
from gridgov.workcal.services import seed_from_library

PHONE, ID_NUMBER, ACCOUNT = "13812345678", "11010519491231002X", "6222020200112233445"


def test_no_phone_id_or_account_in_logs(app, client, make_user, auth_headers, two_towns):
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(name)s %(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    old_level = root.level
    root.setLevel(logging.DEBUG)
    logging.getLogger("sqlalchemy.engine").setLevel(logging.INFO)  # every SQL statement and its parameters
    try:
        configure_logging(logging.DEBUG)
        seed_from_library()
        officer = auth_headers(make_user(roles=["wage_officer"], areas=[two_towns["TA"]], phone=PHONE))
        claim = {
            "claimant": {"name": "王建国", "phone": PHONE, "id_number": ID_NUMBER, "bank_account": ACCOUNT},
            "project": {"name": "工地", "area_code": "TA"},
            "work_period": {"from": "2026-01-01", "to": "2026-02-01"},
            "amount_claimed": "7000.00",
            "description": f"联系电话 {PHONE}，身份证 {ID_NUMBER}",
        }
        filed = client.post("/api/v1/public/wage-claims", json=claim).get_json()
        client.get(f"/api/v1/public/wage-claims/{filed['number']}?code={filed['tracking_code']}")
        case_id = client.get("/api/v1/wage-cases", headers=officer).get_json()[0]["id"]
        for field in ("phone", "id_number", "bank_account"):
            client.post(
                f"/api/v1/wage-cases/{case_id}/reveal",
                json={"field": field, "reason": "核对信息"},
                headers=officer,
            )
        client.post(
            "/api/v1/public/wage-claims", json={**claim, "amount_claimed": "bad"}
        )  # a 422 with the data in it
        client.get(f"/api/v1/nowhere/{PHONE}")
    finally:
        logging.getLogger("sqlalchemy.engine").setLevel(logging.WARNING)
        root.removeHandler(handler)
        root.setLevel(old_level)
    text = stream.getvalue()
    assert "sqlalchemy.engine" in text and len(text) > 1000  # the logs did record the scenario
    for secret in (PHONE, ID_NUMBER, ACCOUNT):
        assert secret not in text
