"""RFC 5545 calendars of market days (icalendar), for phones to subscribe to.

Each occurrence is one VEVENT whose UID names its rule day, so a moved day is the same event at
a new time (not a cancelled one and a new one). SEQUENCE counts its significant changes and
DTSTAMP/LAST-MODIFIED are its last change, so the same data gives the same bytes on every fetch.
"""

from __future__ import annotations

from datetime import date, datetime

from icalendar import Calendar, Event

from gridgov.timeutil import LOCAL_TZ

# Names that already say "market" take no second 集 (杨庄集, 城关集市, 物资交流会, 农贸市场).
MARKET_SUFFIXES = ("集", "集市", "市场", "会", "市")


def market_title(name: str) -> str:
    """The market as people say it: 杨庄 → 杨庄集, 杨庄集 stays 杨庄集."""
    return name if name.endswith(MARKET_SUFFIXES) else f"{name}集"


def _event(occ: dict) -> Event:
    start = datetime.fromisoformat(occ["start"]).astimezone(LOCAL_TZ)
    end = datetime.fromisoformat(occ["end"]).astimezone(LOCAL_TZ)
    rule_day = occ["rule_day"]
    rule_lunar = occ.get("rule_lunar") or occ["lunar"]
    title = market_title(occ["market_name"])
    description = [f"规则日：{rule_day.isoformat()}（农历{rule_lunar['name']}）"]
    if occ["status"] == "moved":  # moved to a day outside the window: show it where it is held
        held = date.fromisoformat(occ["moved_to"])
        start, end = datetime.combine(held, start.timetz()), datetime.combine(held, end.timetz())
    else:
        held = date.fromisoformat(occ["date"])
    event = Event()
    event.add("uid", f"market-{occ['market_id']}-{rule_day:%Y%m%d}@gridgov")
    event.add("dtstamp", occ["last_modified"])
    event.add("last-modified", occ["last_modified"])
    event.add("sequence", occ["sequence"])
    event.add("dtstart", start)
    event.add("dtend", end)
    if occ["status"] == "cancelled":
        event.add("status", "CANCELLED")
        summary = f"【取消】{title}（农历{rule_lunar['name']}）"
    elif held != rule_day:
        event.add("status", "CONFIRMED")
        summary = f"{title}（农历{rule_lunar['name']}，改期至{held.month}月{held.day}日）"
        description.append(f"改期：原定 {rule_day.isoformat()}，改至 {held.isoformat()}")
    else:
        event.add("status", "CONFIRMED")
        summary = f"{title}（农历{rule_lunar['name']}）"
    event.add("summary", summary)
    teams = "、".join(t["name"] for t in occ.get("teams", []))
    if teams:
        description.append(f"值守：{teams}")
    if occ.get("reason"):
        description.append(f"说明：{occ['reason']}")
    event.add("description", "\n".join(description))
    return event


def build_calendar(name: str, occurrences: list[dict]) -> bytes:
    """One VEVENT per occurrence (from `revisions.with_revisions`), local times with their VTIMEZONE.

    A moved day appears once, at its new date, under its rule day's UID.
    """
    cal = Calendar()
    cal.add("prodid", "-//gridgov//market days//ZH")
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("x-wr-calname", name)
    cal.add("x-wr-timezone", "Asia/Shanghai")
    moved_in = {(o["market_id"], o["rule_day"]) for o in occurrences if o.get("moved_from")}
    for occ in occurrences:
        if occ["status"] == "moved" and (occ["market_id"], occ["rule_day"]) in moved_in:
            continue  # the same event is written at the date it moved to
        cal.add_component(_event(occ))
    cal.add_missing_timezones()
    return cal.to_ical()
