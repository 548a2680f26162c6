"""Rule strings, lunar dates and the cross-check of the lunar library (pure functions, no app)."""

import csv
from datetime import date, timedelta
from pathlib import Path

import pytest
import sxtwl

from gridgov.markets.lunar import lunar_date
from gridgov.markets.rules import RuleError, parse_rule
from gridgov.markets.schedule import DayTable, LunarBlackout

HKO_MONTH_STARTS = Path(__file__).parents[2] / "shared" / "lunar" / "hko_month_starts_1901_2100.csv"


@pytest.mark.parametrize(
    "text, expected",
    [
        ("逢二", {"calendar": "lunar", "days": [2, 12, 22]}),
        ("逢九", {"calendar": "lunar", "days": [9, 19, 29]}),
        ("逢一四七", {"calendar": "lunar", "days": [1, 4, 7, 11, 14, 17, 21, 24, 27]}),
        ("逢三六九", {"calendar": "lunar", "days": [3, 6, 9, 13, 16, 19, 23, 26, 29]}),
        ("逢五排十", {"calendar": "lunar", "days": [5, 10, 15, 20, 25, 30]}),
        ("单日", {"calendar": "lunar", "days": list(range(1, 30, 2))}),
        ("双日", {"calendar": "lunar", "days": list(range(2, 31, 2))}),
        ("每周三", {"calendar": "weekly", "weekdays": [3]}),
        ("逢1、4、7", {"calendar": "gregorian", "days": [1, 4, 7, 11, 14, 17, 21, 24, 27, 31]}),
        ("阳历逢五", {"calendar": "gregorian", "days": [5, 15, 25]}),
        ("公历逢二", {"calendar": "gregorian", "days": [2, 12, 22]}),
        ("新历逢三、八", {"calendar": "gregorian", "days": [3, 8, 13, 18, 23, 28]}),
        ("农历逢2", {"calendar": "lunar", "days": [2, 12, 22]}),
        ("逢二、五、八", {"calendar": "lunar", "days": [2, 5, 8, 12, 15, 18, 22, 25, 28]}),
        ({"calendar": "lunar", "days": [22, 2, 12]}, {"calendar": "lunar", "days": [2, 12, 22]}),
        ({"calendar": "weekly", "weekdays": [7, 1]}, {"calendar": "weekly", "weekdays": [1, 7]}),
    ],
)
def test_rule_strings_parse(text, expected):
    assert parse_rule(text) == expected


@pytest.mark.parametrize(
    "bad",
    [
        "每月初一",
        "逢",
        "逢甲",
        "",
        {"calendar": "lunar", "days": [31]},
        {"calendar": "weekly", "weekdays": [0]},
        {"calendar": "julian"},
    ],
)
def test_bad_rules_list_the_accepted_forms(bad):
    with pytest.raises(RuleError) as caught:
        parse_rule(bad)
    assert "逢三六九" in caught.value.message.zh and "Accepted forms" in caught.value.message.en


def independent_lunar_day(day: date) -> tuple[int, int, int, bool]:
    d = sxtwl.fromSolar(day.year, day.month, day.day)
    return d.getLunarYear(), d.getLunarMonth(), d.getLunarDay(), bool(d.isLunarLeap())


def test_real_market_day_from_the_source():
    assert lunar_date(date(2024, 5, 29)).name == "四月廿二"
    assert date(2024, 5, 29) in DayTable(date(2024, 5, 1), date(2024, 6, 30)).dates(parse_rule("逢二"))


def test_feng_er_across_a_leap_month_and_a_29_day_month():
    start, end = date(2025, 6, 20), date(2025, 9, 30)  # 2025 has 闰六月 (29 days)
    got = DayTable(start, end).dates(parse_rule("逢二"))
    expected = [
        start + timedelta(n)
        for n in range((end - start).days + 1)
        if independent_lunar_day(start + timedelta(n))[2] in (2, 12, 22)
    ]
    assert got == expected
    assert date(2025, 7, 26) in got and lunar_date(date(2025, 7, 26)).name == "闰六月初二"
    assert [d for d in got if lunar_date(d).leap] == [date(2025, 7, 26), date(2025, 8, 5), date(2025, 8, 15)]


def test_feng_wu_pai_shi_skips_the_missing_thirtieth_or_moves_it():
    start, end = date(2025, 7, 1), date(2025, 9, 30)
    table = DayTable(start, end)
    leap_month_end = date(2025, 8, 22)  # 闰六月廿九, a 29-day month
    assert lunar_date(leap_month_end).name == "闰六月廿九" and lunar_date(leap_month_end).month_days == 29
    skipped = table.dates(parse_rule("逢五排十"))
    assert all(lunar_date(d).day in (5, 10, 15, 20, 25, 30) for d in skipped)
    assert leap_month_end not in skipped and date(2025, 8, 23) not in skipped  # 七月初一
    thirties = [d for d in skipped if lunar_date(d).day == 30]
    assert thirties and all(lunar_date(d).month_days == 30 for d in thirties)
    moved = table.dates(parse_rule("逢五排十"), missing_day="last_day")
    assert set(moved) - set(skipped) == {leap_month_end}


def test_gregorian_31st_and_weekly():
    table = DayTable(date(2026, 1, 1), date(2026, 3, 31))
    assert table.dates({"calendar": "gregorian", "days": [31]}) == [date(2026, 1, 31), date(2026, 3, 31)]
    assert table.dates({"calendar": "gregorian", "days": [31]}, "last_day") == [
        date(2026, 1, 31),
        date(2026, 2, 28),
        date(2026, 3, 31),
    ]
    wednesdays = table.dates(parse_rule("每周三"))
    assert len(wednesdays) == 12 and all(d.isoweekday() == 3 for d in wednesdays)


def test_blackout_wraps_the_new_year():
    rule = LunarBlackout((12, 25), (1, 5))
    assert rule.covers(lunar_date(date(2026, 2, 16)))  # 腊月廿九 (2026 Spring Festival is 02-17)
    assert rule.covers(lunar_date(date(2026, 2, 21)))  # 正月初五
    assert not rule.covers(lunar_date(date(2026, 2, 22)))  # 正月初六


@pytest.mark.slow
def test_lunar_library_agrees_with_an_independent_one_every_day_1901_2099():
    """tyme4py (used) against sxtwl (independent C++ implementation) on every day.

    The only expected difference is 2057's 九月/十月 boundary, which the Hong Kong Observatory
    itself flags as uncertain (the new moon falls within a minute of midnight).
    """
    day, end = date(1901, 2, 19), date(2099, 12, 31)
    mismatches = []
    while day <= end:
        ours = lunar_date(day)
        theirs = independent_lunar_day(day)
        if (ours.year, ours.month, ours.day, ours.leap) != theirs:
            mismatches.append(day)
        day += timedelta(days=1)
    assert all(date(2057, 9, 28) <= d <= date(2057, 10, 28) for d in mismatches), mismatches[:5]
    assert len(mismatches) <= 31


@pytest.mark.slow
@pytest.mark.skipif(not HKO_MONTH_STARTS.exists(), reason="shared/lunar (HKO table) not beside the checkout")
def test_month_starts_match_hong_kong_observatory_table():
    uncertain = {date(2057, 9, 28), date(2089, 9, 4), date(2097, 8, 7)}
    checked = 0
    with HKO_MONTH_STARTS.open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            first = date.fromisoformat(row["gregorian_first_day"])
            # Skip the flagged starts and the months that end at them (their length hangs on it).
            if first.year > 2099 or any(timedelta(-1) <= u - first <= timedelta(31) for u in uncertain):
                continue
            lunar = lunar_date(first)
            assert lunar.day == 1, (first, lunar)
            assert (lunar.month, lunar.leap) == (
                int(row["lunar_month"]),
                row["is_leap"] in ("1", "True", "true"),
            )
            if row.get("days_in_month"):
                assert lunar.month_days == int(row["days_in_month"]), first
            checked += 1
    assert checked > 2400
