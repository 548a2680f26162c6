"""Property-based checks of every operation in /api/v1/openapi.json, as each role (schemathesis).

Bounded: a few examples per operation and role, so CI stays fast; the same run covers SQLite and
PostgreSQL. Every response must be a documented, schema-conforming answer, never a server error.
"""

import io
import re
import threading
import uuid
from collections import Counter
from contextlib import contextmanager

import schemathesis
from schemathesis.engine import events, from_schema
from sqlalchemy import select
from werkzeug.serving import WSGIRequestHandler, make_server

from gridgov.auth.models import ROLES, User, UserRole
from gridgov.extensions import db
from gridgov.seeding import seed_demo
from gridgov.timeutil import utcnow

# Bounded so the run, every role on both backends, stays within about three minutes: the coverage
# phase (boundary values of every constraint, about 35 s a role) runs as staff, who reach the most
# writes; every role gets the examples and a few fuzzed cases per operation.
FUZZED = 4
COVERAGE_ROLES = ("staff",)
# A request the spec calls valid may still be refused for what no schema can state, and each such
# refusal must explain itself (`refusals_of_valid_data_explain_themselves`):
# - 422, a business rule (a category is data, a date may be no market day, an id may be outside the
#   caller's scope): the envelope names the field;
# - 400, the bounded JSON parse (a number over 30 digits inside a free-form object such as a
#   geometry): the envelope says the body is refused;
# - 415, a file whose bytes are no JPEG, PNG, WebP or HEIC: only where the body is a form upload.
# 429 stays accepted: the login and public claim limits answer a flood of valid requests.
ACCEPTED_FOR_VALID_DATA = ["2xx", "400", "401", "403", "404", "409", "415", "422", "429"]


@schemathesis.check
def refusals_of_valid_data_explain_themselves(ctx, response, case):
    """A 400, 415 or 422 to a request the spec calls valid is one of the refusals above."""
    meta = case.meta
    if response.status_code not in (400, 415, 422) or meta is None or not meta.generation.mode.is_positive:
        return None
    body = response.json()
    assert body.get("code") == response.status_code and body.get("message"), "outside the error envelope"
    errors = body.get("errors") or {}
    if response.status_code == 422:
        named = [name for fields in errors.values() for name in fields]
        assert named, f"a 422 to valid data that names no field: {body['message']}"
    elif response.status_code == 400:
        refused = errors.get("json", {}).get("_schema", [""])[0]
        assert refused.startswith("The body is refused"), f"a 400 to valid data: {body['message']}"
    else:
        assert case.media_type == "multipart/form-data", f"a 415 to valid data: {body['message']}"
    return True


def _config(headers: dict, coverage: bool):
    return schemathesis.Config.from_dict(
        {
            "seed": 11,
            "cache": {"enabled": False},  # no .schemathesis/ left in the work tree
            "headers": headers,
            "checks": {
                "enabled": True,
                "positive_data_acceptance": {"expected-statuses": ACCEPTED_FOR_VALID_DATA},
            },
            "phases": {
                "examples": {"enabled": True},
                "coverage": {"enabled": coverage},
                "fuzzing": {"enabled": True},
                "stateful": {"enabled": False},
            },
            "generation": {"max-examples": FUZZED, "database": "none"},
        }
    )


def _failures(schema) -> list[str]:
    found = []
    for event in from_schema(schema).execute():
        if isinstance(event, events.ScenarioFinished):
            for case_id, checks in event.recorder.checks.items():
                for check in checks:
                    if check.failure_info is not None:
                        case = event.recorder.cases[case_id].value
                        failure = check.failure_info.failure
                        found.append(
                            f"{event.label} {check.name} {event.recorder.interactions[case_id].response.status_code if case_id in event.recorder.interactions else '?'}: {failure.title} ({failure.message[:120]}) "
                            f"{case.path_parameters} {case.query} {str(case.body)[:160]} -> {event.recorder.interactions[case_id].response.content[:300] if case_id in event.recorder.interactions else ''}"
                        )
        elif isinstance(event, events.NonFatalError | events.FatalError):
            found.append(f"{getattr(event, 'label', 'run')}: {event.info.format()[:300]}")
    return found


class _Quiet(WSGIRequestHandler):
    def log_request(self, *args) -> None:
        """No access log: the generated paths and queries would flood the test's output."""


@contextmanager
def _served(app):
    """The app on a local port, one request at a time: schemathesis 4's engine passes
    `max_redirects` to werkzeug's EnvironBuilder when it calls a WSGI app in-process (a TypeError),
    so it calls a real server instead, as it would in production."""
    server = make_server("127.0.0.1", 0, app, threaded=False, request_handler=_Quiet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join()


def test_every_operation_as_every_role(app, auth_headers):
    """All checks, the examples, coverage and fuzzing phases, every role: no failure."""
    seed_demo(history=False)
    failures = []
    with _served(app) as base:
        for role in ROLES:
            user = db.session.scalar(
                select(User).join(UserRole).where(UserRole.role == role).order_by(User.id).limit(1)
            )
            config = _config(auth_headers(user), coverage=role in COVERAGE_ROLES)
            schema = schemathesis.openapi.from_url(f"{base}/api/v1/openapi.json", config=config)
            assert len(list(schema.get_all_operations())) > 50
            failures += [f"{role}: {line}" for line in _failures(schema)]
    assert not failures, "\n".join(failures[:40])


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


def test_refusals_of_valid_requests_name_their_field(client, make_user, auth_headers, two_towns):
    """What schemathesis found: business-rule 422s name the field, an empty client_uuid is no UUID,
    and the spec states the id and year ranges the server answers for."""
    staff = auth_headers(make_user(roles=["staff"], areas=[two_towns["D"]]))
    blackout = {"area_id": two_towns["CA"].id, "name": "春节休市", "start": {"month": 12, "day": 25}}
    blackout["end"] = {"month": 1, "day": 5}
    refused = client.post("/api/v1/market-blackouts", json=blackout, headers=staff)
    assert refused.status_code == 422 and "area_id" in refused.get_json()["errors"]["json"]
    workers = client.put(f"/api/v1/areas/{two_towns['CA'].id}/workers", json={"user_ids": []}, headers=staff)
    assert workers.status_code == 422 and "area_id" in workers.get_json()["errors"]["path"]
    worker = auth_headers(make_user(roles=["grid_worker"], areas=[two_towns["GA"]]))
    photo = {"file": (io.BytesIO(b"\x89PNG\r\n\x1a\n"), "a.png"), "client_uuid": ""}
    upload = client.post("/api/v1/uploads", data=photo, headers=worker, content_type="multipart/form-data")
    assert upload.status_code == 422 and "client_uuid" in upload.get_json()["errors"]["form"]
    spec = client.get("/api/v1/openapi.json").get_json()
    [year] = spec["paths"]["/api/v1/calendar/{year}"]["parameters"]
    assert year["schema"] == {"type": "integer", "minimum": 1901, "maximum": 2100}
    [area] = [p for p in spec["paths"]["/api/v1/issues"]["get"]["parameters"] if p["name"] == "area"]
    assert (area["schema"]["minimum"], area["schema"]["maximum"]) == (1, 2**31 - 1)
    photos = spec["components"]["schemas"]["IssueCreate"]["properties"]["photos"]["items"]
    assert (photos["minimum"], photos["maximum"]) == (1, 2**31 - 1)
