"""Market-day reminders for the scheduler's tick: the evening before and the morning of, to the
teams on duty and the responsible staff, plus corrections when a day is cancelled or a person is
taken off it after the reminder went out."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, time, timedelta

from flask import current_app
from sqlalchemy import select

from gridgov.areas.models import Area
from gridgov.auth.models import User, UserArea, UserRole
from gridgov.extensions import db
from gridgov.markets.feeds import market_title
from gridgov.markets.models import Market, PatrolTeamMember
from gridgov.markets.services import among, ancestor_paths, compute_occurrences
from gridgov.notifications.models import Notification
from gridgov.notifications.outbox import Draft
from gridgov.timeutil import LOCAL_TZ

REMINDER_KINDS = ("market_reminder_evening", "market_reminder_morning")


def _clock(name: str) -> time:
    return time.fromisoformat(current_app.config[name])


def _staff_by_path() -> dict[str, set[int]]:
    rows = db.session.execute(
        select(Area.path, User.id)
        .join(UserArea, UserArea.area_id == Area.id)
        .join(User, User.id == UserArea.user_id)
        .join(UserRole, UserRole.user_id == User.id)
        .where(UserRole.role == "staff", User.is_active.is_(True))
    )
    found: dict[str, set[int]] = defaultdict(set)
    for path, user_id in rows:
        found[path].add(user_id)
    return found


def _responsible_staff(area_path: str, staff: dict[str, set[int]]) -> set[int]:
    """Staff assigned to the market's area or any area above it."""
    result: set[int] = set()
    for path in ancestor_paths(area_path):
        result |= staff.get(path, set())
    return result


class _Recipients:
    def __init__(self, area_ids: set[int]):
        self.staff = _staff_by_path()
        self.members: dict[int, set[int]] = defaultdict(set)
        for team_id, user_id in db.session.execute(
            select(PatrolTeamMember.team_id, PatrolTeamMember.user_id)
        ):
            self.members[team_id].add(user_id)
        # Only the markets' own areas: a province has a million micro-grids no reminder goes to.
        self.paths = dict(
            db.session.execute(
                select(Area.id, Area.path).where(among(Area.id, area_ids, select(Market.area_id)))
            ).all()
        )

    def of(self, occurrence: dict) -> set[int]:
        people = _responsible_staff(self.paths[occurrence["area_id"]], self.staff)
        for team in occurrence["teams"]:
            people |= self.members[team["id"]]
        return people


def _reminder_text(kind: str, occ: dict) -> tuple[str, str]:
    when = "明日" if kind == "market_reminder_evening" else "今日"
    teams = "、".join(t["name"] for t in occ["teams"]) or "（尚未安排巡防队）"
    start, end = occ["start"][11:16], occ["end"][11:16]
    lunar = occ.get("rule_lunar") or occ["lunar"]  # a moved day is known by its rule day
    title = f"{when}集市：{occ['market_name']}（农历{lunar['name']}）"
    body = (
        f"{occ['date']} {start}–{end}，值守：{teams}。请于 {start} 前到岗，引导流动商贩进入指定摊区，"
        f"劝离占道经营，保持主干道畅通。"
    )
    return title, body


def market_reminder_drafts(now: datetime) -> list[Draft]:
    """Reminders whose due time has come (within the look-back, so a restarted scheduler catches up)."""
    lookback = timedelta(hours=current_app.config["NOTIFY_LOOKBACK_HOURS"])
    evening, morning = _clock("MARKET_REMIND_EVENING"), _clock("MARKET_REMIND_MORNING")
    today = now.astimezone(LOCAL_TZ).date()
    slots: dict[date, list[tuple[str, datetime]]] = defaultdict(list)
    for day in (today - timedelta(days=1), today, today + timedelta(days=1)):
        for kind, due in (
            ("market_reminder_evening", datetime.combine(day - timedelta(days=1), evening, LOCAL_TZ)),
            ("market_reminder_morning", datetime.combine(day, morning, LOCAL_TZ)),
        ):
            if now - lookback < due <= now:
                slots[day].append((kind, due))
    if not slots:
        return []
    # Rows, not entities: the occurrence computation reads only these columns, of every market.
    markets = db.session.execute(
        select(
            Market.id,
            Market.name,
            Market.area_id,
            Market.rule,
            Market.missing_day,
            Market.start_time,
            Market.end_time,
        ).where(Market.active.is_(True))
    ).all()
    recipients = _Recipients({m.area_id for m in markets})
    drafts = []
    for day, kinds in slots.items():
        for occ in compute_occurrences(markets, day, day, with_cancelled=False):
            subject = f"market:{occ['market_id']}:{occ['date']}"
            data = {"market_id": occ["market_id"], "date": occ["date"]}
            for kind, due in kinds:
                title, body = _reminder_text(kind, occ)
                for user_id in sorted(recipients.of(occ)):
                    drafts.append(Draft(kind, subject, due, user_id, title, body, occ["area_id"], data))
                drafts.append(Draft(kind, subject, due, None, title, body, occ["area_id"], data))
    return drafts


def market_correction_drafts(now: datetime) -> list[Draft]:
    """After a reminder: tell its recipients when the day is cancelled or moved, or they are taken off it."""
    today = now.astimezone(LOCAL_TZ).date()
    sent: dict[str, set[int | None]] = defaultdict(set)
    data_of: dict[str, dict] = {}
    for subject, recipient_id, data in db.session.execute(
        select(Notification.subject, Notification.recipient_id, Notification.data).where(
            Notification.kind.in_(REMINDER_KINDS), Notification.due_at >= now - timedelta(days=2)
        )
    ):
        sent[subject].add(recipient_id)
        data_of[subject] = data
    if not sent:
        return []
    markets = {
        m.id: m
        for m in db.session.scalars(
            select(Market).where(Market.id.in_({d["market_id"] for d in data_of.values()}))
        )
    }
    recipients = _Recipients({m.area_id for m in markets.values()})
    drafts = []
    for subject, people in sent.items():
        data = data_of[subject]
        day = date.fromisoformat(data["date"])
        market = markets.get(data["market_id"])
        if market is None or day < today:
            continue
        current = next(
            (o for o in compute_occurrences([market], day, day) if o["date"] == data["date"]), None
        )
        status = current["status"] if current else "cancelled"
        due = datetime.combine(day, time(0), LOCAL_TZ)
        name = market.name
        if status != "scheduled":
            moved = f"，改至 {current['moved_to']}" if current and current.get("moved_to") else ""
            reason = f"（{current['reason']}）" if current and current.get("reason") else ""
            for user_id in people:
                drafts.append(
                    Draft(
                        f"market_correction_{status}",
                        subject,
                        due,
                        user_id,
                        f"更正：{name} {data['date']} 集市{'取消' if status == 'cancelled' else '改期'}",
                        f"{data['date']} 的{market_title(name)}{'取消' if status == 'cancelled' else '改期'}{moved}{reason}。",
                        market.area_id,
                        data,
                        urgent=True,
                    )
                )
            continue
        for user_id in (people - {None}) - recipients.of(current):
            drafts.append(
                Draft(
                    "market_correction_unassigned",
                    subject,
                    due,
                    user_id,
                    f"更正：您不再值守 {name} {data['date']} 集市",
                    f"{data['date']} 的{market_title(name)}值守已调整，您无需到岗。",
                    market.area_id,
                    data,
                    urgent=True,
                )
            )
    return drafts


COLLECTORS = [market_reminder_drafts, market_correction_drafts]
