"""Request hooks: request ids, content-type checks, a per-request memo, and the offline docs assets."""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Callable
from typing import TypeVar

import flask_smorest
import marshmallow as ma
from flask import Flask, current_app, g, has_request_context, request, send_from_directory
from flask.json.provider import DefaultJSONProvider
from webargs import core as webargs_core
from webargs.flaskparser import FlaskParser, abort, is_json_request
from werkzeug.routing import IntegerConverter

from gridgov import bounded
from gridgov.errors import error_response

_REQUEST_ID = re.compile(r"^[A-Za-z0-9-]{8,64}$")
_BODY_TYPES = {"application/json", "application/geo+json", "multipart/form-data"}
SWAGGER_UI_DIR = os.path.join(os.path.dirname(__import__("flask_swagger_ui").__file__), "dist")
T = TypeVar("T")


def request_cached(key, compute: Callable[[], T]) -> T:
    """`compute()` once per HTTP request under `key`; outside a request, on every call."""
    memo = request_memo()
    if key not in memo:
        memo[key] = compute()
    return memo[key]


def request_memo() -> dict:
    """A dict that lives as long as the current HTTP request (a new, unshared one outside a request).

    It lives in the request's WSGI environ, which no other request shares; an app context, and so
    `g`, can outlive one request in tests and CLI code.
    """
    if not has_request_context():
        return {}
    return request.environ.setdefault("gridgov.memo", {})


class BoundedJSONProvider(DefaultJSONProvider):
    """Flask's JSON, with bodies read by `bounded.loads` (request.get_json answers 400 on too much)."""

    def loads(self, s, **kwargs):
        return bounded.loads(s, **kwargs)


class BoundedArgumentsParser(FlaskParser):
    """flask-smorest's arguments parser, reading JSON bodies with `bounded.loads`.

    A schema class (how routes and smorest's pagination name their arguments) is instantiated
    once and the instance reused: webargs would build one per request, and building one costs
    more than loading a query string with it. A marshmallow schema keeps no state between loads,
    and none of ours keeps any in its hooks.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._schemas: dict[type, ma.Schema] = {}

    def _get_schema(self, argmap, req):
        if isinstance(argmap, type) and issubclass(argmap, ma.Schema):
            schema = self._schemas.get(argmap)
            return schema if schema is not None else self._schemas.setdefault(argmap, argmap())
        return super()._get_schema(argmap, req)

    def _raw_load_json(self, req):
        if not req.get_data(cache=True):
            # The spec marks every request body required: an empty one is refused, not read as {}.
            abort(422, messages={"json": {"_schema": ["A JSON body is required."]}})
        if not is_json_request(req):
            return webargs_core.missing
        try:
            return bounded.loads(req.get_data(cache=True))
        except bounded.JSONTooComplex as exc:
            abort(400, exc=exc, messages={"json": {"_schema": [f"The body is refused: {exc}."]}})


# Every blueprint's `arguments` decorator uses this parser; route modules are imported after this
# package, so the parser is in place before any route is decorated.
flask_smorest.Blueprint.ARGUMENTS_PARSER = BoundedArgumentsParser()
flask_smorest.Blueprint.PAGINATION_ARGUMENTS_PARSER = BoundedArgumentsParser()
bounded.refuse_fractions()


def _assign_request_id():
    incoming = request.headers.get("X-Request-ID", "")
    g.request_id = incoming if _REQUEST_ID.match(incoming) else uuid.uuid4().hex


def _check_request_size():
    # gunicorn's own limits (gunicorn.conf.py) sit above these, so an oversized request line or
    # header is answered here, in the envelope, rather than by gunicorn's plain-text page.
    line = len(request.full_path.encode()) if request.query_string else len(request.path.encode())
    if line > current_app.config["MAX_URL_BYTES"]:
        return error_response(414)
    sizes = [len(k) + len(v) + 4 for k, v in request.headers.items()]
    if max(sizes, default=0) > current_app.config["MAX_HEADER_BYTES"] or sum(sizes) > 4 * current_app.config[
        "MAX_HEADER_BYTES"
    ]:
        return error_response(431)
    return None


def _require_json_body():
    # A body in another format would otherwise be read as "no fields" and answered 422.
    if request.method in ("POST", "PUT", "PATCH") and request.path.startswith("/api/"):
        has_body = (request.content_length or 0) > 0 or request.headers.get("Transfer-Encoding")
        if has_body and request.mimetype not in _BODY_TYPES and not request.mimetype.endswith("+json"):
            return error_response(415)
    return None


def _add_request_id(response):
    response.headers["X-Request-ID"] = g.get("request_id", "")
    return response


# Paths whose answers carry secrets without a signed-in user: tokens, tracking codes, feed tokens.
_SECRET_PATHS = ("/api/v1/auth/", "/api/v1/public/")
_SECRET_QUERY = ("token", "code")
REFERRER_POLICY = "strict-origin-when-cross-origin"  # a map-tile key still sees our origin


def _carries_credentials() -> bool:
    if (request.endpoint or "").endswith("static"):
        return False  # the console's own CSS and scripts: the same for everyone
    return (
        g.get("current_user") is not None
        or "Authorization" in request.headers
        or current_app.config["SESSION_COOKIE_NAME"] in request.cookies
        or request.path.startswith(_SECRET_PATHS)
        or any(name in request.args for name in _SECRET_QUERY)
    )


def _security_headers(response):
    """No content sniffing and a referrer policy everywhere; nothing private kept by shared caches.

    A response to a request with credentials may be cached only by the user's own browser
    (`private`, when the view gave it a lifetime, as photos have), and otherwise not at all.
    """
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers.setdefault("Referrer-Policy", REFERRER_POLICY)
    if _carries_credentials():
        cache = response.cache_control
        if cache.no_store:
            pass  # already kept nowhere
        elif cache.max_age:
            cache.public = False
            cache.private = True
        else:
            response.headers["Cache-Control"] = "private, no-store"
    return response


class IdConverter(IntegerConverter):
    """`<int:…>` ids stop at the largest database integer: a bigger number matches no route (404)."""

    def __init__(self, url_map, *args, **kwargs):
        kwargs.setdefault("max", 2**31 - 1)
        super().__init__(url_map, *args, **kwargs)


def register_request_hooks(app: Flask) -> None:
    app.before_request(_assign_request_id)
    app.before_request(_check_request_size)
    app.before_request(_require_json_body)
    app.after_request(_add_request_id)
    app.after_request(_security_headers)

    @app.get("/healthz")
    def healthz():
        """Liveness for load balancers: answers without touching the database."""
        return {"ok": True}

    @app.get("/api/v1/docs/assets/<path:filename>")
    def swagger_ui_asset(filename):
        """Swagger UI's files, from the installed package, so the docs page works offline."""
        return send_from_directory(SWAGGER_UI_DIR, filename, max_age=86400)
