"""Property-based checks of every operation in /api/v1/openapi.json, as each role (schemathesis).

Bounded: a few examples per operation and role, so CI stays fast; the same run covers SQLite and
PostgreSQL. Every response must be a documented, schema-conforming answer, never a server error.
"""

import re
import uuid
from collections import Counter

import schemathesis
from hypothesis import HealthCheck, given, settings
from sqlalchemy import select

from gridgov.auth.models import ROLES, User, UserRole
from gridgov.extensions import db
from gridgov.seeding import seed_demo
from gridgov.timeutil import utcnow

EXAMPLES = 8
# A schema-valid request may still break a business rule (an unknown category, a date that is no
# market day): a 4xx for it is right, so "positive data acceptance" is not checked.
EXCLUDED = [schemathesis.checks.positive_data_acceptance]


def _first_line(exc) -> str:
    text = str(exc).strip()
    lines = [line.strip(" -|") for line in text.splitlines() if line.strip(" -|")]
    return (
        lines[1] if len(lines) > 1 and "distinct failure" in lines[0] else lines[0] if lines else repr(exc)
    )[:160]


def test_every_operation_as_every_role(app, auth_headers):
    seed_demo(history=False)
    headers = {}
    for role in ROLES:
        user = db.session.scalar(
            select(User).join(UserRole).where(UserRole.role == role).order_by(User.id).limit(1)
        )
        headers[role] = auth_headers(user)
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    failures: list[tuple[str, str, str]] = []
    operations = 0

    def check(operation):
        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            database=None,
            derandomize=True,
        )
        def run(case):
            for role in ROLES:
                try:
                    case.call_and_validate(headers=headers[role], excluded_checks=EXCLUDED)
                except (Exception, BaseExceptionGroup) as exc:  # noqa: BLE001 - gather every failure, shrink none
                    failures.append((operation.label, role, _first_line(exc)))

        run()

    for result in schema.get_all_operations():
        operations += 1
        check(result.ok())
    assert operations > 50
    summary = Counter((label, message) for label, _, message in failures)
    assert not failures, "\n".join(
        f"{n}× {label}: {message}" for (label, message), n in summary.most_common(40)
    )


def test_the_spec_states_the_constraints_the_server_enforces(client, make_user, auth_headers, two_towns):
    spec = client.get("/api/v1/openapi.json").get_json()
    [area_id] = spec["paths"]["/api/v1/areas/{area_id}"]["parameters"]
    assert area_id["schema"] == {"type": "integer", "minimum": 1, "maximum": 2**31 - 1}
    [bbox] = [p for p in spec["paths"]["/api/v1/issues"]["get"]["parameters"] if p["name"] == "bbox"]
    assert re.fullmatch(bbox["schema"]["pattern"], "113.0,33.0,113.2,33.2")
    assert not re.fullmatch(bbox["schema"]["pattern"], "113.0,33.0,113.2")
    # Numbers meant as integers refuse fractions instead of truncating them.
    worker = make_user(roles=["grid_worker"], areas=[two_towns["GA"]])
    headers = auth_headers(worker)
    started = client.post(
        "/api/v1/patrols",
        json={"client_uuid": str(uuid.uuid4()), "started_at": utcnow().isoformat()},
        headers=headers,
    )
    assert started.status_code == 201
    point = {"lon": 113.001, "lat": 33.001, "t": utcnow().isoformat()}
    url = f"/api/v1/patrols/{started.get_json()['id']}/points"
    fraction = client.post(url, json={"seq": 7.5, "points": [point]}, headers=headers)
    assert fraction.status_code == 422 and "seq" in fraction.get_json()["errors"]["json"]
    assert client.post(url, json={"seq": 7, "points": [point]}, headers=headers).status_code == 200
    # Staff write strictly below their own areas: their own town is 403, not an import error.
    staff = auth_headers(make_user(roles=["staff"], areas=[two_towns["TA"]]))
    assert client.patch(f"/api/v1/areas/{two_towns['TA'].id}", json={}, headers=staff).status_code == 403
    assert client.patch(f"/api/v1/areas/{two_towns['CA'].id}", json={}, headers=staff).status_code == 200


def _concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "1", path)


def test_deeply_nested_and_oversized_inputs_to_every_operation(app, auth_headers, caplog):
    """#16: every operation, as an admin, with a body nested 100,000 deep, a 5,000-digit integer, an
    oversized string, and oversized values in each query parameter: a 4xx envelope, never a 500."""
    seed_demo()
    admin = db.session.scalar(select(User).join(UserRole).where(UserRole.role == "admin").limit(1))
    headers = auth_headers(admin)
    client = app.test_client()
    spec = client.get("/api/v1/openapi.json").get_json()
    bodies = [
        "[" * 100_000 + "]" * 100_000,
        '{"id": ' + "9" * 5000 + "}",
        '{"name": "' + "名" * 100_000 + '"}',
    ]
    answered = Counter()
    for path, item in spec["paths"].items():
        url = _concrete(path)
        for method, operation in item.items():
            if method not in ("get", "post", "put", "patch", "delete"):
                continue
            if "requestBody" in operation:
                for body in bodies:
                    response = client.open(
                        url,
                        method=method.upper(),
                        data=body,
                        content_type="application/json",
                        headers=headers,
                    )
                    answered[response.status_code] += 1
                    assert 400 <= response.status_code < 500, (method, path, response.status_code)
                    assert response.get_json()["code"] == response.status_code
            for parameter in operation.get("parameters", []):
                if parameter["in"] != "query":
                    continue
                for value in ("9" * 5000, "9" * 1000, "9999-12-31T23:59:59-12:00", "0001-01-01", "-1e999"):
                    response = client.open(
                        f"{url}?{parameter['name']}={value}", method=method.upper(), headers=headers
                    )
                    answered[response.status_code] += 1
                    assert response.status_code < 500, (method, path, parameter["name"], value[:20])
    assert answered[400] and answered[413] and answered[414]
    assert "Traceback" not in caplog.text


def test_a_required_body_may_not_be_left_out(client, make_user, auth_headers, two_towns):
    staff = auth_headers(make_user(roles=["staff"], areas=[two_towns["TA"]]))
    empty = client.patch(f"/api/v1/areas/{two_towns['CA'].id}", headers=staff)
    assert empty.status_code == 422 and empty.get_json()["errors"]["json"]["_schema"]
    assert client.put("/api/v1/me/notification-preferences", headers=staff).status_code == 422
    spec = client.get("/api/v1/openapi.json").get_json()
    upload = spec["paths"]["/api/v1/uploads"]["post"]["requestBody"]
    assert upload["required"] and upload["content"]["multipart/form-data"]["schema"]["required"] == ["file"]
    assert "fix" in spec["components"]["schemas"]["Action"]["properties"]["note"]["description"]
    preferences = spec["components"]["schemas"]["Preference"]["properties"]["quiet_start"]
    assert preferences["pattern"] and re.fullmatch(preferences["pattern"], "22:00")
