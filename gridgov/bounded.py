"""Bounded parses: JSON bodies (depth, digits) and dates and times (the window the domain supports).

Too much is a 4xx decided before the expensive work starts, never a RecursionError or an
OverflowError deep in a handler. No Flask import: the app's JSON provider and the arguments
parser call `loads`; schemas use `Date` and `AwareDateTime` for what clients send.
"""

from __future__ import annotations

import json
import math
import re
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from marshmallow import ValidationError, fields

MAX_JSON_DEPTH = 64
MAX_INT_DIGITS = 30  # an id or a count fits in 19; nothing in the API needs more
# The window of every date and time a client may send: the lunar tables the market rules rest on
# cover 1901-2100 (the Hong Kong Observatory's conversion table), and nothing else reaches further.
EARLIEST = date(1901, 1, 1)
LATEST = date(2100, 12, 31)
WINDOW_TEXT = f"between {EARLIEST.isoformat()} and {LATEST.isoformat()}"
# A local time as people write it; the spec's "time" format would demand seconds, which is refused.
HH_MM = {"format": "HH:MM", "pattern": r"^([01]\d|2[0-3]):[0-5]\d$", "example": "07:00"}
_STRINGS = re.compile(r'"(?:[^"\\]|\\.)*"')
_BRACKETS = re.compile(r"[\[\]{}]")


class JSONTooComplex(ValueError):
    """The body is valid JSON but nests too deep or carries a number too long to be meant."""


def _depth_ok(text: str, limit: int) -> bool:
    if text.count("[") + text.count("{") <= limit:
        return True
    depth = 0
    for match in _BRACKETS.finditer(_STRINGS.sub("", text)):
        depth += 1 if match.group() in "[{" else -1
        if depth > limit:
            return False
    return True


def _bounded_int(digits: str) -> int:
    if len(digits.lstrip("-")) > MAX_INT_DIGITS:
        raise JSONTooComplex(f"a number longer than {MAX_INT_DIGITS} digits")
    return int(digits)


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise JSONTooComplex("a number too large to be finite")
    return value


def _no_constant(name: str):
    raise JSONTooComplex(f"{name} is not JSON")


def loads(text: str | bytes, **kwargs):
    """`json.loads`, refusing nesting deeper than MAX_JSON_DEPTH, integers over MAX_INT_DIGITS,
    numbers that overflow to infinity and the non-standard NaN/Infinity."""
    if isinstance(text, bytes | bytearray):
        text = text.decode("utf-8")
    if not _depth_ok(text, MAX_JSON_DEPTH):
        raise JSONTooComplex(f"nested deeper than {MAX_JSON_DEPTH} levels")
    try:
        return json.loads(
            text, parse_int=_bounded_int, parse_float=_finite_float, parse_constant=_no_constant, **kwargs
        )
    except RecursionError as exc:  # pragma: no cover - the depth check runs first
        raise JSONTooComplex(f"nested deeper than {MAX_JSON_DEPTH} levels") from exc


def in_window(day: date) -> bool:
    return EARLIEST <= day <= LATEST


def _with_window(kwargs: dict, what: str) -> dict:
    metadata = dict(kwargs.pop("metadata", None) or {})
    described = metadata.get("description")
    metadata["description"] = f"{described} ({what} {WINDOW_TEXT})" if described else f"{what} {WINDOW_TEXT}"
    return {**kwargs, "metadata": metadata}


class Date(fields.Date):
    """A calendar date within the domain's window (1901-2100); outside it, a 422 field error."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **_with_window(kwargs, "A date"))

    def _deserialize(self, value, attr, data, **kwargs):
        day = super()._deserialize(value, attr, data, **kwargs)
        if not in_window(day):
            raise ValidationError(f"must be {WINDOW_TEXT}")
        return day


class AwareDateTime(fields.AwareDateTime):
    """An ISO 8601 time with an offset whose UTC moment lies within the domain's window."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **_with_window(kwargs, "A time"))

    def _deserialize(self, value, attr, data, **kwargs):
        moment = super()._deserialize(value, attr, data, **kwargs)
        if not check_moment(moment):
            raise ValidationError(f"must be {WINDOW_TEXT}")
        return moment


def check_moment(moment: datetime) -> bool:
    """Whether an aware time lies in the window (and can be moved to UTC and to China time)."""
    try:
        utc = moment.astimezone(UTC)
        (utc + timedelta(hours=14)).date()
        (utc - timedelta(hours=14)).date()
    except (OverflowError, ValueError):
        return False
    return in_window(utc.date())


_integer_validated = fields.Integer._validated


def _whole_integer(self, value):
    if isinstance(value, float | Decimal) and not (math.isfinite(value) and value == int(value)):
        raise self.make_error("invalid")
    return _integer_validated(self, value)


def refuse_fractions() -> None:
    """Make every marshmallow Integer refuse a number with a fraction (7.5) instead of truncating it
    to 7. `strict=True` would do it too, but would also refuse the strings a query string carries;
    this covers every Integer field of every schema, in bodies and queries alike."""
    fields.Integer._validated = _whole_integer
