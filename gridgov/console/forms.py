"""Form posts into the API's schemas and services; outcomes into flashed messages."""

from __future__ import annotations

from collections.abc import Callable

from flask import flash, request
from marshmallow import Schema, ValidationError, fields

from gridgov.errors import STATUS_MESSAGES, DomainError, safe_rollback
from gridgov.i18n import Msg, request_language, translate_field_errors


def form_payload(schema: Schema) -> dict:
    """The posted form as the JSON body the API would receive: blanks left out, lists as lists."""
    payload: dict = {}
    for name, field in schema.fields.items():
        if field.dump_only:
            continue
        key = field.data_key or name
        if isinstance(field, fields.List):
            values = [v for v in request.form.getlist(key) if v.strip()]
            if values:
                payload[key] = values
            continue
        value = request.form.get(key, "").strip()
        if value:
            payload[key] = value
    return payload


def _describe(errors) -> str:
    if isinstance(errors, dict):
        return "；".join(f"{key}: {_describe(value)}" for key, value in errors.items())
    if isinstance(errors, list):
        return "，".join(_describe(value) for value in errors)
    return str(errors)


def submit(schema: Schema, action: Callable[[dict], object], done: Msg) -> object | None:
    """Load the form with the API's schema and run the service; flash the result either way.

    Returns what the service returned, or None when the input or the rule refused it (nothing
    is changed then: the service rolls back, and so do we).
    """
    lang = request_language()
    try:
        body = schema.load(form_payload(schema))
        result = action(body)
    except ValidationError as exc:
        safe_rollback()
        detail = _describe(translate_field_errors(exc.messages, lang))
        flash(f"{STATUS_MESSAGES[422].pick(lang)} {detail}", "error")
        return None
    except DomainError as exc:
        safe_rollback()
        text = exc.message.pick(lang) if isinstance(exc.message, Msg) else str(exc.message)
        if exc.errors:
            text = f"{text} {_describe(translate_field_errors(exc.errors, lang))}"
        flash(text, "error")
        return None
    flash(done.pick(lang), "ok")
    return result
