"""Market-day rules: the Chinese strings people say, parsed to one structured form. No Flask import.

Structured forms:
    {"calendar": "lunar" | "gregorian", "days": [1..30 or 31]}
    {"calendar": "weekly", "weekdays": [1..7]}        (Monday = 1, Sunday = 7)

Strings: 逢二, 逢九, 逢一四七, 逢三六九, 逢五排十, 逢二、五、八, 单日, 双日, 每周三, 每周一、四,
星期六, with 阳历/公历/新历 (or 农历/阴历/老历) in front to name the calendar. Lunar unless the
string says otherwise or writes the days in Arabic numerals as printed tables do (逢1、4、7).
"逢N" means every day whose last digit is N (逢二 = 2, 12, 22; 逢十 = 10, 20, 30); 排 joins two
numbers (逢五排十 = 逢五十 = 5, 10, 15, 20, 25, 30).
"""

from __future__ import annotations

import re

from gridgov.i18n import Msg

ACCEPTED = "逢二、逢九、逢一四七、逢三六九、逢五排十、逢1、4、7（公历）、单日、双日、每周三、阳历逢五"
ACCEPTED_EN = (
    '"逢二", "逢九", "逢一四七", "逢三六九", "逢五排十", "逢1、4、7" (Gregorian), "单日", "双日", "每周三", '
    '"阳历逢五", or {"calendar": "lunar"|"gregorian", "days": [...]} / {"calendar": "weekly", "weekdays": [1..7]}'
)

_DIGITS = {
    "一": 1,
    "二": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
    "十": 10,
    "〇": 10,
    "零": 10,
}
_WEEKDAYS = {"一": 1, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6, "日": 7, "天": 7, "七": 7}
_GREGORIAN = ("阳历", "公历", "新历", "新日子")
_LUNAR = ("农历", "阴历", "老历", "老日子")
_SEPARATORS = re.compile(r"[、，,/ 和及与排\s]+")


class RuleError(ValueError):
    """A rule that cannot be understood; `message` lists the accepted forms."""

    def __init__(self, detail: Msg):
        self.message = Msg(
            f"{detail.zh}可用的写法：{ACCEPTED}。", f"{detail.en} Accepted forms: {ACCEPTED_EN}."
        )
        super().__init__(self.message.en)


def _last_digit_days(digit: int, calendar: str) -> list[int]:
    top = 31 if calendar == "gregorian" else 30
    if digit == 10:
        return [10, 20, 30]
    return [d for d in (digit, digit + 10, digit + 20, digit + 30) if d <= top]


def _bad(text: str) -> RuleError:
    return RuleError(Msg(f"无法识别的集市规则“{text}”。", f"Cannot read the market rule {text!r}."))


def parse_rule(rule) -> dict:
    """The structured form of a rule given as a string or a dict; RuleError when it cannot be read."""
    if isinstance(rule, dict):
        return _check_structured(rule)
    if not isinstance(rule, str) or not rule.strip():
        raise _bad(str(rule))
    text = rule.strip().replace("（", "(").replace("）", ")")
    calendar = None
    for word in _GREGORIAN:
        if word in text:
            calendar, text = "gregorian", text.replace(word, "")
    for word in _LUNAR:
        if word in text:
            calendar, text = "lunar", text.replace(word, "")
    text = re.sub(r"\(.*?\)", "", text).strip()
    weekly = re.fullmatch(r"(?:每周|每星期|星期|周|礼拜|每礼拜)([一二三四五六日天七、，,和\s]+)", text)
    if weekly:
        days = sorted({_WEEKDAYS[c] for c in weekly.group(1) if c in _WEEKDAYS})
        return {"calendar": "weekly", "weekdays": days}
    if text in ("单日", "单号", "逢单"):
        calendar = calendar or "lunar"
        return {"calendar": calendar, "days": list(range(1, 32 if calendar == "gregorian" else 30, 2))}
    if text in ("双日", "双号", "逢双"):
        return {"calendar": calendar or "lunar", "days": list(range(2, 31, 2))}
    match = re.fullmatch(r"逢(.+)", text)
    if not match:
        raise _bad(rule)
    body = match.group(1)
    arabic = re.fullmatch(r"[0-9、，,/ 和及与排\s]+", body)
    if arabic:
        calendar = calendar or "gregorian"
        digits = [int(p) for p in _SEPARATORS.split(body) if p]
        if not digits or any(not 0 <= d <= 10 for d in digits):
            raise _bad(rule)
        digits = [10 if d == 0 else d for d in digits]
    else:
        calendar = calendar or "lunar"
        chars = [c for c in _SEPARATORS.sub("", body)]
        if not chars or any(c not in _DIGITS for c in chars):
            raise _bad(rule)
        digits = [_DIGITS[c] for c in chars]
    days = sorted({day for digit in digits for day in _last_digit_days(digit, calendar)})
    return {"calendar": calendar, "days": days}


def _check_structured(rule: dict) -> dict:
    calendar = rule.get("calendar")
    if calendar == "weekly":
        weekdays = rule.get("weekdays")
        if (
            not isinstance(weekdays, list)
            or not weekdays
            or not all(isinstance(d, int) and not isinstance(d, bool) and 1 <= d <= 7 for d in weekdays)
        ):
            raise RuleError(
                Msg(
                    "weekdays 应为 1（周一）至 7（周日）的列表。",
                    "weekdays must list numbers 1 (Monday) to 7 (Sunday).",
                )
            )
        return {"calendar": "weekly", "weekdays": sorted(set(weekdays))}
    if calendar in ("lunar", "gregorian"):
        top = 30 if calendar == "lunar" else 31
        days = rule.get("days")
        if (
            not isinstance(days, list)
            or not days
            or not all(isinstance(d, int) and not isinstance(d, bool) and 1 <= d <= top for d in days)
        ):
            raise RuleError(Msg(f"days 应为 1 至 {top} 的列表。", f"days must list numbers 1 to {top}."))
        return {"calendar": calendar, "days": sorted(set(days))}
    raise RuleError(
        Msg("calendar 应为 lunar、gregorian 或 weekly。", "calendar must be lunar, gregorian or weekly.")
    )


def describe(rule: dict) -> str:
    """A short Chinese description of a structured rule, as a printed market table would say it."""
    if rule["calendar"] == "weekly":
        return "每周" + "、".join("一二三四五六日"[d - 1] for d in rule["weekdays"])
    days = rule["days"]
    if rule["calendar"] == "gregorian":
        return "公历每月" + "、".join(str(d) for d in days) + "日"
    return "农历每月" + "、".join(str(d) for d in days) + "日"
