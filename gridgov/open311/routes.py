"""Open311 GeoReport v2 under /open311/v2/, in JSON and XML by the `.json` / `.xml` suffix."""

from __future__ import annotations

from xml.etree.ElementTree import Element, SubElement, tostring  # noqa: S405 - only builds XML, never parses

from flask import Blueprint, Response, current_app, request, url_for
from flask.views import MethodView
from flask_smorest import Blueprint as ApiBlueprint
from marshmallow import Schema, fields, validate
from werkzeug.exceptions import HTTPException

from gridgov.auth.security import auth_required
from gridgov.errors import DomainError
from gridgov.i18n import request_language
from gridgov.open311 import services
from gridgov.refs import Ref

blp = Blueprint("open311", __name__, url_prefix="/open311/v2")
FORMATS = ("json", "xml")
# Open311 follows its own standard (its own error list, form-encoded POSTs), so it is described in
# the OpenAPI document as a tag's text rather than as operations.
OPENAPI_TAG = {
    "name": "Open311",
    "description": (
        "Open311 GeoReport v2 at `/open311/v2/`, outside `/api/v1`: discovery at "
        "`/open311/v2/discovery.json` (or `.xml`); every endpoint answers JSON or XML by its suffix "
        "(`services`, `services/{code}`, `requests` GET and POST, `requests/{id}`, `tokens/{token}`, "
        "and the FixMyStreet/CitySDK extension `servicerequestupdates` of status changes since "
        "`start_date`). Errors are the spec's list `[{code, description}]` (400, 403, 404). "
        "Services are the active categories; `gridgov_public` says whether their issues are public.\n\n"
        "Keys: an admin issues one with `POST /api/v1/admin/open311-keys {name, area_id}`; it is "
        "shown once and bound to a jurisdiction, the area `area_id` (its code is the Open311 "
        "`jurisdiction_id`). Send it as `api_key` (form field to file, query parameter to read).\n\n"
        "What a reader sees: without a key, only issues of categories an admin marked `public` "
        "(none by default: residents' complaints are not public); with a key, every issue inside "
        "its jurisdiction and nothing outside it; `jurisdiction_id` narrows either to one area, "
        "and one the reader may not see answers 404. A wrong key is 403. A key files requests only "
        "inside its jurisdiction; a request with only `address_string` is placed in "
        "GRIDGOV_OPEN311_ADDRESS_AREA and flagged for staff (`located_by: address`), or refused "
        "when that is not set. `attribute[urgent]` is `yes` or `no`; `attribute[reported_at]` an "
        "ISO 8601 time. `status_notes` is the latest public note (reject, merge, fix, verify, "
        "defer, resume, reopen). Reads span at most 90 days (`start_date`..`end_date`)."
    ),
    "externalDocs": {"description": "GeoReport v2", "url": "http://wiki.open311.org/GeoReport_v2"},
}


def _to_xml(root: str, item: str | None, payload) -> bytes:
    def fill(parent, value):
        if isinstance(value, dict):
            for key, inner in value.items():
                if isinstance(inner, list):
                    holder = SubElement(parent, key)
                    for element in inner:
                        fill(SubElement(holder, key[:-1] if key.endswith("s") else key), element)
                else:
                    fill(SubElement(parent, key), inner)
        elif isinstance(value, bool):
            parent.text = "true" if value else "false"
        elif value is not None:
            parent.text = str(value)

    top = Element(root)
    if item is None:
        fill(top, payload)
    else:
        for entry in payload:
            fill(SubElement(top, item), entry)
    return b'<?xml version="1.0" encoding="utf-8"?>' + tostring(top, encoding="utf-8")


def render(fmt: str, payload, root: str, item: str | None, status: int = 200) -> Response:
    if fmt == "xml":
        return Response(_to_xml(root, item, payload), status=status, mimetype="text/xml")
    return Response(current_app.json.dumps(payload), status=status, mimetype="application/json")


def errors_response(status: int, description: str, fmt: str) -> Response:
    return render(fmt, [{"code": status, "description": description}], "errors", "error", status)


@blp.errorhandler(DomainError)
def _domain_error(error: DomainError):
    status = {422: 400, 409: 400, 401: 403}.get(error.status, error.status)
    text = error.message.pick(request_language()) if error.message else ""
    fmt = "xml" if request.path.endswith(".xml") else "json"
    return errors_response(status, text, fmt)


@blp.errorhandler(HTTPException)
def _http_error(error: HTTPException):
    fmt = "xml" if request.path.endswith(".xml") else "json"
    status = 400 if error.code in (405, 413, 415, 422) else error.code
    return errors_response(status, error.description or error.name, fmt)


@blp.get("/discovery.<any(json, xml):fmt>")
def discovery(fmt):
    base = url_for("open311.discovery", fmt="json", _external=True).rsplit("/", 1)[0] + "/"
    payload = {
        "changeset": "2026-11-22T00:00:00+08:00",
        "contact": "town office (镇街道办)",
        "key_service": "ask an admin",
        "endpoints": [
            {
                "specification": "http://wiki.open311.org/GeoReport_v2",
                "url": base,
                "changeset": "2026-11-22T00:00:00+08:00",
                "type": "production",
                "formats": ["application/json", "text/xml"],
            }
        ],
    }
    return render(fmt, payload, "discovery", None)


@blp.get("/services.<any(json, xml):fmt>")
def service_list(fmt):
    return render(fmt, services.services(), "services", "service")


@blp.get("/services/<string:code>.<any(json, xml):fmt>")
def service_definition(code, fmt):
    return render(fmt, services.definition(code), "service_definition", None)


@blp.route("/requests.<any(json, xml):fmt>", methods=["GET", "POST"])
def requests_(fmt):
    if request.method == "POST":
        form = request.form.to_dict() if request.form else (request.get_json(silent=True) or {})
        done = services.file_request(form, request.headers.get("Idempotency-Key"))
        issue = done.issue
        payload = [
            {
                "service_request_id": str(issue.id),
                "token": issue.client_uuid,
                "service_notice": "",
                "account_id": "",
            }
        ]
        return render(fmt, payload, "service_requests", "request", 201 if done.created else 200)
    return render(
        fmt,
        services.as_requests(services.find_requests(request.args)),
        "service_requests",
        "request",
    )


@blp.get("/requests/<int:request_id>.<any(json, xml):fmt>")
def request_item(request_id, fmt):
    return render(
        fmt,
        services.as_requests([services.get_request(request_id, request.args)]),
        "service_requests",
        "request",
    )


@blp.get("/servicerequestupdates.<any(json, xml):fmt>")
def request_updates(fmt):
    return render(fmt, services.find_updates(request.args), "service_request_updates", "request_update")


@blp.get("/tokens/<string:token>.<any(json, xml):fmt>")
def token_item(token, fmt):
    issue = services.request_by_token(token, request.args)
    if issue is None:
        return errors_response(404, "No request for this token.", fmt)
    return render(fmt, [{"service_request_id": str(issue.id), "token": token}], "service_requests", "request")


@blp.route("/<path:anything>", methods=["GET", "POST"])
def unknown(anything):
    return errors_response(404, "Not found.", "xml" if anything.endswith(".xml") else "json")


admin_blp = ApiBlueprint(
    "open311_admin", __name__, url_prefix="/api/v1/admin/open311-keys", description="Open311 API keys (admin)"
)


class KeyCreateSchema(Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=100))
    area_id = Ref(
        "area",
        required=True,
        metadata={"description": "The key's jurisdiction: it reads only issues inside this area"},
    )


class KeySchema(Schema):
    id = fields.Integer()
    name = fields.String()
    area_id = fields.Integer()
    jurisdiction_id = fields.String(metadata={"description": "The area's code, as Open311 jurisdiction_id"})
    api_key = fields.String(metadata={"description": "Shown once"})


@admin_blp.route("")
class Keys(MethodView):
    @auth_required("admin")
    @admin_blp.arguments(KeyCreateSchema)
    @admin_blp.response(201, KeySchema)
    def post(self, body):
        """Issue an API key for an Open311 client, bound to one jurisdiction (shown once)."""
        record, key = services.issue_key(body["name"], body["area_id"])
        return {
            "id": record.id,
            "name": record.name,
            "area_id": record.area_id,
            "jurisdiction_id": services.jurisdiction_code(record),
            "api_key": key,
        }
