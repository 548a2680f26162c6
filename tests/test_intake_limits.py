"""Public wage intake limits: typos do not use up a worker's daily claims; guessing a claim's
tracking code is limited per address and per claim number."""

from tests.test_wages import CLAIM, file, setup  # noqa: F401 - `setup` is a fixture

TYPO = {**CLAIM, "claimant": {**CLAIM["claimant"], "id_number": "110105194912310021"}}  # bad check digit


def test_mistyped_claims_do_not_count_against_the_phone(app, client, setup):  # noqa: F811
    app.config["WAGE_INTAKE_LIMIT_PER_IP"] = "7 per hour"
    assert [file(client, TYPO).status_code for _ in range(2)] == [422, 422]
    assert [file(client).status_code for _ in range(3)] == [201, 201, 201]  # 3 per day, all filed
    refused = file(client, **{"Accept-Language": "en"})
    assert refused.status_code == 429 and refused.get_json()["code"] == 429
    other_phone = {**CLAIM, "claimant": {**CLAIM["claimant"], "phone": "13900001111"}}
    assert file(client, other_phone).status_code == 201  # the per-IP limit counts every attempt: 7th
    assert file(client, other_phone).status_code == 429


def test_wrong_codes_for_one_claim_are_limited_from_any_address(app, client, setup):  # noqa: F811
    app.config["WAGE_TRACK_FAILURES_PER_IP"] = "100 per hour"
    app.config["WAGE_TRACK_FAILURES_PER_NUMBER"] = "3 per hour"
    case = file(client).get_json()
    other = file(client, {**CLAIM, "claimant": {**CLAIM["claimant"], "phone": "13900001111"}}).get_json()
    statuses = [
        client.get(
            f"/api/v1/public/wage-claims/{case['number']}?code=BADCODE{i}",
            environ_base={"REMOTE_ADDR": f"198.51.100.{i + 1}"},
        ).status_code
        for i in range(4)
    ]
    assert statuses == [404, 404, 404, 429]
    mine = client.get(f"/api/v1/public/wage-claims/{other['number']}?code={other['tracking_code']}")
    assert mine.status_code == 200  # another claim is not affected
