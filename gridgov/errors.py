"""Domain errors and the one JSON error envelope used for every status and every route."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from http import HTTPStatus

from flask import Flask, g, jsonify, request
from marshmallow import INCLUDE, Schema, fields
from sqlalchemy.exc import DataError, IntegrityError, OperationalError
from werkzeug.exceptions import HTTPException

from gridgov.extensions import db
from gridgov.i18n import Msg, request_language, translate_field_errors

log = logging.getLogger(__name__)

STATUS_MESSAGES = {
    400: Msg("请求格式错误。", "The request is malformed."),
    401: Msg("未登录或登录已失效。", "Authentication is required or the token is invalid."),
    403: Msg("无权执行此操作。", "You are not allowed to do this."),
    404: Msg("资源不存在。", "Not found."),
    405: Msg("不支持该请求方法。", "This method is not allowed here."),
    409: Msg("与现有数据冲突。", "This conflicts with existing data."),
    413: Msg("请求内容过大。", "The request body is too large."),
    414: Msg("请求地址过长。", "The request URL is too long."),
    415: Msg("不支持的内容类型，请发送 JSON。", "Unsupported media type: send JSON."),
    422: Msg("请求参数有误，请检查各字段。", "The request could not be processed: check the fields."),
    429: Msg("请求过于频繁，请稍后再试。", "Too many requests: try again later."),
    431: Msg("请求头过大。", "The request headers are too large."),
    500: Msg("服务器内部错误。", "Internal server error."),
    503: Msg("服务暂时不可用，请稍后再试。", "The service is temporarily unavailable."),
}


class ErrorSchema(Schema):
    """The envelope of every error; some errors add context fields (documented here)."""

    class Meta:
        unknown = INCLUDE

    code = fields.Integer(metadata={"description": "HTTP status code"})
    status = fields.String(metadata={"description": "HTTP status name"})
    message = fields.String(
        metadata={"description": "What went wrong, in Chinese or English (Accept-Language)"}
    )
    errors = fields.Dict(metadata={"description": "Field errors by location, then field"})
    request_id = fields.String(metadata={"description": "On 500: quote it when reporting the problem"})
    state = fields.String(metadata={"description": "On 409 for a workflow move: the current state"})
    allowed_actions = fields.List(
        fields.String(), metadata={"description": "On 409: the moves the state allows"}
    )
    nearest_micro_grid = fields.Dict(metadata={"description": "On 404 from locate: the nearest micro-grid"})
    distance_m = fields.Float(metadata={"description": "On 404 from locate: distance to it in metres"})


class DomainError(Exception):
    """An error a service raises; the handler turns it into the envelope."""

    status = 400

    def __init__(self, message: Msg | None = None, errors: dict | None = None, **extra):
        self.message = message or STATUS_MESSAGES.get(self.status)
        self.errors = errors
        self.extra = extra
        super().__init__(self.message.en if self.message else "")


class BadRequest(DomainError):
    status = 400


class Unauthorized(DomainError):
    status = 401


class Forbidden(DomainError):
    status = 403


class NotFound(DomainError):
    status = 404


class Conflict(DomainError):
    status = 409


class PayloadTooLarge(DomainError):
    status = 413


class UnsupportedMediaType(DomainError):
    status = 415


class Invalid(DomainError):
    status = 422


class TooManyRequests(DomainError):
    status = 429


# Path prefix -> renderer(status, message, errors) for parts of the site that people read as pages.
_page_renderers: dict[str, Callable] = {}


def render_errors_as_pages(prefix: str, renderer: Callable) -> None:
    """Errors under `prefix` become pages drawn by `renderer` instead of the JSON envelope."""
    _page_renderers[prefix] = renderer


def error_response(status: int, message: Msg | str | None = None, errors=None, **extra):
    """Build the envelope `{"code", "status", "message", "errors"?}` in the client's language."""
    lang = request_language()
    if message is None:
        message = STATUS_MESSAGES.get(status) or Msg(HTTPStatus(status).phrase, HTTPStatus(status).phrase)
    text = message.pick(lang) if isinstance(message, Msg) else message
    errors = translate_field_errors(errors, lang) if errors else None
    for prefix, renderer in _page_renderers.items():
        if request.path.startswith(prefix):
            return renderer(status, text, errors)
    body = {"code": status, "status": HTTPStatus(status).phrase, "message": text}
    if errors:
        body["errors"] = errors
    body.update(extra)
    response = jsonify(body)
    response.status_code = status
    return response


def safe_rollback() -> None:
    """Roll back; when the connection itself is gone (database restarting), drop the session."""
    try:
        db.session.rollback()
    except Exception:  # noqa: BLE001 - any failure here means the connection is unusable
        log.warning("rollback failed; discarding the session (request %s)", g.get("request_id"))
        try:
            db.session.close()
        except Exception:  # noqa: BLE001 - closing a dead connection may fail too
            db.session.registry.clear()


def _handle_http_exception(error: HTTPException):
    status = error.code or 500
    data = getattr(error, "data", None) or {}
    errors = data.get("messages")
    message = None
    if status == 400 and errors and "json" in errors and "Invalid JSON body." in str(errors):
        message = Msg("JSON 格式错误。", "The body is not valid JSON.")
    if status == 429:
        errors = None
    response = error_response(status, message, errors)
    if status == 405 and getattr(error, "valid_methods", None):
        response.headers["Allow"] = ", ".join(error.valid_methods)
    for key, value in (data.get("headers") or {}).items():
        response.headers[key] = value
    return response


def _handle_domain_error(error: DomainError):
    return error_response(error.status, error.message, error.errors, **error.extra)


def _handle_integrity_error(error: IntegrityError):
    safe_rollback()
    log.info("integrity error turned into 409: %s", type(error.orig).__name__)
    return error_response(409)


def _handle_operational_error(error: OperationalError):
    safe_rollback()
    log.error("database unavailable (request %s): %s", g.get("request_id"), type(error.orig).__name__)
    response = error_response(503)
    response.headers["Retry-After"] = "5"
    return response


def _handle_out_of_range(error: Exception):
    safe_rollback()
    return error_response(422, Msg("数值超出范围。", "A number is out of range."))


def _handle_unexpected(error: Exception):
    if isinstance(error, HTTPException):
        return _handle_http_exception(error)
    safe_rollback()
    request_id = g.get("request_id") or uuid.uuid4().hex
    log.exception("unhandled error in %s %s (request %s)", request.method, request.path, request_id)
    return error_response(500, request_id=request_id)


def register_error_handlers(app: Flask) -> None:
    """Route every error, including unknown routes and crashes, into the envelope."""
    app.register_error_handler(HTTPException, _handle_http_exception)
    app.register_error_handler(DomainError, _handle_domain_error)
    app.register_error_handler(IntegrityError, _handle_integrity_error)
    app.register_error_handler(OperationalError, _handle_operational_error)
    app.register_error_handler(DataError, _handle_out_of_range)
    app.register_error_handler(OverflowError, _handle_out_of_range)
    app.register_error_handler(Exception, _handle_unexpected)
