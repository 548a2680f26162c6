"""RFC 5545 calendars of market days (icalendar), for phones to subscribe to."""

from __future__ import annotations

from datetime import date, datetime

from icalendar import Calendar, Event

from gridgov.timeutil import LOCAL_TZ, utcnow


def build_calendar(name: str, occurrences: list[dict], now: datetime | None = None) -> bytes:
    """One VEVENT per occurrence, with a stable UID, local times in Asia/Shanghai and its VTIMEZONE."""
    stamp = now or utcnow()
    cal = Calendar()
    cal.add("prodid", "-//gridgov//market days//ZH")
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("x-wr-calname", name)
    cal.add("x-wr-timezone", "Asia/Shanghai")
    for occ in occurrences:
        day = date.fromisoformat(occ["date"])
        event = Event()
        event.add("uid", f"market-{occ['market_id']}-{day:%Y%m%d}@gridgov")
        event.add("dtstamp", stamp)
        event.add("dtstart", datetime.fromisoformat(occ["start"]).astimezone(LOCAL_TZ))
        event.add("dtend", datetime.fromisoformat(occ["end"]).astimezone(LOCAL_TZ))
        summary = f"{occ['market_name']}集（农历{occ['lunar']['name']}）"
        teams = "、".join(t["name"] for t in occ.get("teams", []))
        if occ["status"] == "scheduled":
            event.add("status", "CONFIRMED")
        else:
            event.add("status", "CANCELLED")
            summary = (
                f"【取消】{summary}"
                if occ["status"] == "cancelled"
                else f"【改期至{occ['moved_to']}】{summary}"
            )
        event.add("summary", summary)
        description = [f"规则日：农历{occ['lunar']['name']}"]
        if teams:
            description.append(f"值守：{teams}")
        if occ.get("reason"):
            description.append(f"说明：{occ['reason']}")
        event.add("description", "\n".join(description))
        cal.add_component(event)
    cal.add_missing_timezones()
    return cal.to_ical()
