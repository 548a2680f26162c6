"""The case ledger (台账), period figures, monthly spot checks and printable notices."""

from __future__ import annotations

import random
from datetime import date, datetime, time, timedelta

from flask import render_template
from sqlalchemy import func, select

from gridgov.auth.models import User
from gridgov.extensions import db
from gridgov.masking import mask_name
from gridgov.spreadsheets import Column, workbook
from gridgov.timeutil import LOCAL_TZ
from gridgov.wages.identity import fen_to_yuan
from gridgov.wages.models import Interview, Notice, Payment, SiteVisit, WageCase, WageParty
from gridgov.wages.queries import cases_query, get_case
from gridgov.wages.states import WageState

PARTY_ZH = {
    "construction_unit": "建设单位",
    "general_contractor": "总承包单位",
    "subcontractor": "劳务分包单位",
    "crew_leader": "班组长",
}


def _bounds(start: date, end: date) -> tuple[datetime, datetime]:
    return datetime.combine(start, time(0), LOCAL_TZ), datetime.combine(
        end + timedelta(days=1), time(0), LOCAL_TZ
    )


def ledger(user: User, start: date, end: date, status: str | None = None) -> list[dict]:
    """Cases received in the period (in one status, if given), with claimed, paid and outstanding
    amounts (claimant masked)."""
    low, high = _bounds(start, end)
    cases = list(
        db.session.scalars(
            cases_query(user, status)
            .where(WageCase.received_at >= low, WageCase.received_at < high)
            .order_by(WageCase.received_at)
        )
    )
    ids = [c.id for c in cases]
    paid = (
        dict(
            db.session.execute(
                select(Payment.case_id, func.sum(Payment.amount_fen))
                .where(Payment.case_id.in_(ids))
                .group_by(Payment.case_id)
            ).all()
        )
        if ids
        else {}
    )
    parties: dict[int, list[str]] = {}
    for party in db.session.scalars(
        select(WageParty).where(WageParty.case_id.in_(ids)).order_by(WageParty.id)
    ):
        parties.setdefault(party.case_id, []).append(f"{PARTY_ZH[party.role]}：{party.name}")
    officer_ids = {c.officer_id for c in cases if c.officer_id is not None}
    officers = dict(
        db.session.execute(select(User.id, User.display_name).where(User.id.in_(officer_ids))).all()
    )
    rows = []
    for case in cases:
        basis = case.amount_verified_fen if case.amount_verified_fen is not None else case.amount_claimed_fen
        paid_fen = int(paid.get(case.id) or 0)
        rows.append(
            {
                "id": case.id,
                "number": case.number,
                "received_at": case.received_at.astimezone(LOCAL_TZ).date().isoformat(),
                "claimant": mask_name(case.claimant_name),
                "project": case.project_name,
                "parties": "；".join(parties.get(case.id, [])),
                "claimed": fen_to_yuan(case.amount_claimed_fen),
                "paid": fen_to_yuan(paid_fen),
                "outstanding": fen_to_yuan(max(basis - paid_fen, 0)),
                "status": case.status,
                "status_text": WageState(case.status).label.zh,
                "officer": officers.get(case.officer_id),
                "closed": case.closed_at.astimezone(LOCAL_TZ).date().isoformat() if case.closed_at else None,
            }
        )
    return rows


def ledger_xlsx(rows: list[dict]) -> bytes:
    columns = [
        ("number", Column("案件编号")),
        ("received_at", Column("收案日期", "date")),
        ("claimant", Column("投诉人")),
        ("project", Column("项目")),
        ("parties", Column("当事方")),
        ("claimed", Column("投诉金额（元）", "money")),
        ("paid", Column("已支付（元）", "money")),
        ("outstanding", Column("未支付（元）", "money")),
        ("status_text", Column("状态")),
        ("officer", Column("承办人")),
        ("closed", Column("结案日期", "date")),
    ]
    return workbook(
        "欠薪案件台账", [column for _, column in columns], [[r[key] for key, _ in columns] for r in rows]
    )


FIGURE_COLUMNS = [
    ("sites_visited", Column("走访工地数", "int")),
    ("site_visits", Column("走访次数", "int")),
    ("reminder_notices", Column("提醒单", "int")),
    ("supervision_orders", Column("督办单", "int")),
    ("interviews", Column("约谈次数", "int")),
    ("arrears_cases", Column("欠薪案件数", "int")),
    ("employment_problems_corrected", Column("纠正用工问题", "int")),
    ("amount_recovered", Column("追回金额（元）", "money")),
    ("cases_closed", Column("结案数", "int")),
    ("closed_on_time", Column("按期结案数", "int")),
]


def figures_xlsx(values: dict, start: date, end: date) -> bytes:
    """The period figures as one row, after the period's first and last day."""
    columns = [Column("起始日期", "date"), Column("截止日期", "date")]
    columns += [column for _, column in FIGURE_COLUMNS]
    return workbook("根治欠薪工作数据", columns, [[start, end, *(values[key] for key, _ in FIGURE_COLUMNS)]])


def figures(user: User, start: date, end: date) -> dict:
    """The year-report figures of DOMAIN.md for a period, over the cases in scope."""
    low, high = _bounds(start, end)
    scoped = cases_query(user).with_only_columns(WageCase.id).subquery()
    in_scope = select(scoped.c.id)

    def count(query):
        return db.session.scalar(query) or 0

    visits = count(
        select(func.count(SiteVisit.id)).where(
            SiteVisit.case_id.in_(in_scope), SiteVisit.visited_on.between(start, end)
        )
    )
    corrected = count(
        select(func.sum(SiteVisit.employment_problems_corrected)).where(
            SiteVisit.case_id.in_(in_scope), SiteVisit.visited_on.between(start, end)
        )
    )
    notices = dict(
        db.session.execute(
            select(Notice.kind, func.count(Notice.id))
            .where(Notice.case_id.in_(in_scope), Notice.issued_on.between(start, end))
            .group_by(Notice.kind)
        ).all()
    )
    recovered = count(
        select(func.sum(Payment.amount_fen)).where(
            Payment.case_id.in_(in_scope), Payment.paid_on.between(start, end)
        )
    )
    accepted = count(
        select(func.count(WageCase.id)).where(
            WageCase.id.in_(in_scope), WageCase.accepted_at >= low, WageCase.accepted_at < high
        )
    )
    closed = count(
        select(func.count(WageCase.id)).where(
            WageCase.id.in_(in_scope),
            WageCase.status == "closed",
            WageCase.closed_at >= low,
            WageCase.closed_at < high,
        )
    )
    on_time = count(
        select(func.count(WageCase.id)).where(
            WageCase.id.in_(in_scope),
            WageCase.status == "closed",
            WageCase.closed_at >= low,
            WageCase.closed_at < high,
            WageCase.closed_on_time.is_(True),
        )
    )
    sites = count(
        select(func.count(func.distinct(WageCase.project_name))).where(
            WageCase.id.in_(
                select(SiteVisit.case_id).where(
                    SiteVisit.case_id.in_(in_scope), SiteVisit.visited_on.between(start, end)
                )
            )
        )
    )
    interviews = count(
        select(func.count(Interview.id)).where(
            Interview.case_id.in_(in_scope), Interview.held_on.between(start, end)
        )
    )
    return {
        "sites_visited": sites,
        "site_visits": visits,
        "reminder_notices": notices.get("reminder", 0),
        "supervision_orders": notices.get("supervision", 0),
        "interviews": interviews,
        "arrears_cases": accepted,
        "employment_problems_corrected": corrected,
        "amount_recovered": fen_to_yuan(recovered),
        "cases_closed": closed,
        "closed_on_time": on_time,
    }


def spot_checks(user: User, month: date, size: int = 3) -> list[dict]:
    """A random sample of projects with cases closed before the month; the same sample all month."""
    first = month.replace(day=1)
    rows = db.session.execute(
        cases_query(user)
        .with_only_columns(WageCase.project_name, WageCase.project_address, func.max(WageCase.closed_at))
        .where(WageCase.status == "closed", WageCase.closed_at < datetime.combine(first, time(0), LOCAL_TZ))
        .group_by(WageCase.project_name, WageCase.project_address)
        .order_by(None)
        .order_by(WageCase.project_name)
    ).all()
    picker = random.Random(f"spot-check-{first:%Y-%m}")  # noqa: S311 - a reproducible sample, not a secret
    chosen = picker.sample(rows, min(size, len(rows)))
    return [
        {"project": r[0], "address": r[1], "last_closed": r[2].astimezone(LOCAL_TZ).date().isoformat()}
        for r in sorted(chosen)
    ]


def notice_html(user: User, notice_id: int) -> str:
    notice = db.session.get(Notice, notice_id)
    if notice is None:
        from gridgov.errors import NotFound

        raise NotFound()
    case = get_case(user, notice.case_id)
    party = db.session.get(WageParty, notice.party_id)
    return render_template(
        "wage_notice.html",
        notice=notice,
        case=case,
        party=party,
        title="欠薪提醒单" if notice.kind == "reminder" else "欠薪督办单",
        claimed=fen_to_yuan(case.amount_claimed_fen),
    )
