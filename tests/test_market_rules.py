"""Rule strings, lunar dates and the cross-check of the lunar library (pure functions, no app)."""

from datetime import date, timedelta

import pytest
from tyme4py.solar import SolarDay

from gridgov.markets.lunar import lunar_date
from gridgov.markets.rules import RuleError, parse_rule
from gridgov.markets.schedule import DayTable, LunarBlackout
from tests import hko


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
    lunar = SolarDay.from_ymd(day.year, day.month, day.day).get_lunar_day()
    month = lunar.get_lunar_month()
    return month.get_year(), month.get_month(), lunar.get_day(), month.is_leap()


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
    """sxtwl (used) against tyme4py (an independent pure-Python implementation) on every day.

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


def test_month_starts_match_hong_kong_observatory_table_every_month_1901_2100():
    """Every month start, lunar year, leap flag and length of the HKO table, the flagged months too."""
    checked = 0
    for row in hko.month_starts():  # the Hong Kong Observatory's table (tests/hko.py)
        first = date.fromisoformat(row["gregorian_first_day"])
        lunar = lunar_date(first)
        assert (lunar.year, lunar.month, lunar.day, lunar.leap) == (
            int(row["lunar_year"]),
            int(row["lunar_month"]),
            1,
            row["is_leap"] == "1",
        ), first
        if row["days_in_month"]:
            assert lunar.month_days == int(row["days_in_month"]), first
        checked += 1
    assert checked == 2474


def test_days_of_the_months_the_observatory_flags_are_uncertain():
    # HKO: the month starting 2057-09-28 (九月) could start a day off; its eve and its days hang on it.
    assert lunar_date(date(2057, 9, 28)).name == "九月初一" and lunar_date(date(2057, 9, 28)).uncertain
    assert lunar_date(date(2057, 9, 27)).uncertain and lunar_date(date(2057, 10, 27)).uncertain
    assert not lunar_date(date(2057, 9, 26)).uncertain and not lunar_date(date(2057, 10, 28)).uncertain
    assert lunar_date(date(2089, 9, 4)).uncertain and lunar_date(date(2097, 8, 7)).uncertain
    assert not any(lunar.uncertain for _, lunar in DayTable(date(2026, 1, 1), date(2026, 12, 31)).days)


def test_missing_thirtieth_held_on_the_next_day():
    # 逢十 in 2025: 闰六月 has 29 days (ends 2025-08-22), so its 三十 is held on 七月初一, 2025-08-23.
    table = DayTable(date(2025, 8, 1), date(2025, 9, 30))
    held = table.dates(parse_rule("逢五排十"), missing_day="next_day")
    assert date(2025, 8, 23) in held and lunar_date(date(2025, 8, 23)).name == "七月初一"
    assert set(held) - set(table.dates(parse_rule("逢五排十"))) == {date(2025, 8, 23)}
    # The next day counts even when the short month ends just before the range.
    assert DayTable(date(2025, 8, 23), date(2025, 8, 24)).dates(parse_rule("逢十"), "next_day") == [
        date(2025, 8, 23)
    ]
    # Gregorian: the 31st in a 30-day month falls on the 1st; 29–31 in February on 1 March.
    gregorian = DayTable(date(2026, 2, 1), date(2026, 5, 31)).dates({"calendar": "gregorian", "days": [30]}, "next_day")
    assert gregorian == [date(2026, 3, 1), date(2026, 3, 30), date(2026, 4, 30), date(2026, 5, 30)]
