"""Logging: request ids on every line, and personal numbers scrubbed before anything is written."""

from __future__ import annotations

import logging
import re

from flask import g, has_request_context

# Mainland mobile numbers, 18-digit resident IDs and long digit runs such as bank accounts, when they
# stand alone: digits inside a hex request id or a token are not personal data.
_PERSONAL = re.compile(r"(?<![0-9A-Za-z])(?:1[3-9]\d{9}|\d{17}[\dXx]|\d{12,19})(?![0-9A-Za-z])")


def scrub(text: str) -> str:
    """Replace anything that looks like a phone, ID or account number with a placeholder."""
    return _PERSONAL.sub("[redacted]", text)


class ScrubFilter(logging.Filter):
    """Formats the record early and scrubs it, so no handler can write the raw numbers."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = scrub(message)
        if cleaned != message or record.args:
            record.msg, record.args = cleaned, ()
        record.request_id = g.get("request_id", "-") if has_request_context() else "-"
        return True


def configure_logging(level: int | str = logging.INFO) -> None:
    """Install the scrubbing filter on the root handlers (once per process)."""
    root = logging.getLogger()
    if not root.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(
            logging.Formatter("%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s")
        )
        root.addHandler(handler)
    root.setLevel(level)
    for handler in root.handlers:
        if not any(isinstance(f, ScrubFilter) for f in handler.filters):
            handler.addFilter(ScrubFilter())
    # Werkzeug's access log names the full URL; its own handler gets the filter too.
    for name in ("werkzeug", "gunicorn.access", "gunicorn.error"):
        for handler in logging.getLogger(name).handlers:
            if not any(isinstance(f, ScrubFilter) for f in handler.filters):
                handler.addFilter(ScrubFilter())
