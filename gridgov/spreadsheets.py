"""Every .xlsx the app sends is built here, so that every export types its cells the same way.

Each domain says only which columns its sheet has; the sheet, the download response and the
OpenAPI description of an endpoint that answers JSON or, with format=xlsx, a sheet are made here.

Columns say what they hold: user text is always a text cell (never a formula, whatever it starts
with), dates and times are real date cells in local time, money is a number in yuan with two
decimals, counts are integers and rates are percentages. The header row is frozen, filterable and
the columns are sized to their content.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from flask import Response
from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from gridgov.timeutil import LOCAL_TZ

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
KINDS = ("text", "int", "money", "rate", "number", "date", "datetime")
FORMATS = {
    "text": "@",
    "int": "0",
    "money": '"¥"#,##0.00',
    "rate": "0.0%",
    "number": "0.00",
    "date": "yyyy-mm-dd",
    "datetime": "yyyy-mm-dd hh:mm",
}
# Characters that make a spreadsheet treat typed text as a formula (=, +, -, @), or the
# tab/CR that some tools strip before looking; such cells also get Excel's quote prefix.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
# XML 1.0 forbids these control characters; openpyxl refuses them rather than writing them.
ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
MAX_WIDTH = 60
MAX_TEXT = 32_767  # the most characters a cell holds; Excel refuses to open a file with more


@dataclass(frozen=True)
class Column:
    """One column of a sheet: its header and the kind of value it holds (see KINDS)."""

    header: str
    kind: str = "text"

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"unknown column kind {self.kind!r}")


def _value(kind: str, value):
    """The cell value for a Python value of a column's kind (None stays an empty cell)."""
    if value is None or value == "":
        return None
    if kind == "text":
        return ILLEGAL.sub("", str(value))[:MAX_TEXT]
    if kind == "int":
        return int(value)
    if kind == "money":
        return Decimal(str(value)).quantize(Decimal("0.01"))
    if kind in ("rate", "number"):
        return float(value)
    if kind == "datetime":
        if not isinstance(value, datetime):
            value = datetime.fromisoformat(str(value))
        if value.tzinfo is not None:  # Excel has no time zones: write the local wall time
            value = value.astimezone(LOCAL_TZ).replace(tzinfo=None)
        return value.replace(second=0, microsecond=0)
    if isinstance(value, datetime):
        return value.astimezone(LOCAL_TZ).date() if value.tzinfo else value.date()
    return value if isinstance(value, date) else date.fromisoformat(str(value))


def _width(kind: str, value) -> int:
    """Roughly how many characters wide a value shows (a CJK character counts as two)."""
    if kind in ("date", "datetime", "rate"):
        return {"date": 10, "datetime": 16, "rate": 7}[kind]
    if kind != "text":
        return len(f"{value:,}") + 2
    return max((len(line) + sum(ord(ch) > 0x2E7F for ch in line) for line in value.splitlines()), default=0)


def workbook(title: str, columns: Sequence[Column], rows: Iterable[Sequence]) -> bytes:
    """An .xlsx with one sheet: the header row, then one row per item, each cell typed by its column."""
    book = Workbook()
    sheet = book.active
    sheet.title = ILLEGAL.sub("", re.sub(r"[\\/*?:\[\]]", "", title))[:31] or "Sheet1"
    widths = [_width("text", c.header) for c in columns]
    bold = Font(bold=True)
    for index, column in enumerate(columns, start=1):
        cell = sheet.cell(row=1, column=index, value=ILLEGAL.sub("", column.header))
        cell.data_type = "s"
        cell.font = bold
    count = 0
    for count, row in enumerate(rows, start=1):
        for index, (column, raw) in enumerate(zip(columns, row, strict=True), start=1):
            value = _value(column.kind, raw)
            cell = sheet.cell(row=count + 1, column=index, value=value)
            cell.number_format = FORMATS[column.kind]  # an empty cell too: what a clerk types reads alike
            if value is None:
                continue
            if column.kind == "text":
                cell.data_type = "s"  # a string cell, even if it starts with "="
                if value.startswith(FORMULA_START):
                    cell.quotePrefix = True  # and it stays text when a clerk edits it
            widths[index - 1] = max(widths[index - 1], _width(column.kind, value))
    for index, width in enumerate(widths, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = min(max(width, 6) + 2, MAX_WIDTH)
    sheet.freeze_panes = "A2"
    sheet.auto_filter.ref = f"A1:{get_column_letter(len(columns))}{count + 1}"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def xlsx_response(body: bytes, filename: str) -> Response:
    """A built workbook as a download named `filename`."""
    return Response(
        body, mimetype=XLSX, headers={"Content-Disposition": f'attachment; filename="{filename}"'}
    )


def json_or_xlsx(json_schema: dict, headers: dict | None = None, others: dict | None = None) -> dict:
    """The OpenAPI `responses` of a GET answering `json_schema`, or the sheet with format=xlsx.

    `others` maps further media types the GET may answer with to their schemas."""
    content = {
        "application/json": {"schema": json_schema},
        XLSX: {"schema": {"type": "string", "format": "binary"}},
    }
    content.update({media: {"schema": schema} for media, schema in (others or {}).items()})
    return {"200": {"description": "OK", **({"headers": headers} if headers else {}), "content": content}}


def array_of(component: str) -> dict:
    """The OpenAPI schema of a JSON array of one named component."""
    return {"type": "array", "items": {"$ref": f"#/components/schemas/{component}"}}
