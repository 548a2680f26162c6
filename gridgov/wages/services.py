"""Wage claims: public intake and tracking, and the officers' work on each case.

Clocks (Labour Security Supervision Regulations, arts. 14 and 17): 5 working days from receipt to
accept or refuse; 60 working days from acceptance to conclude, extendable once by 30 working
days with a reason and an approver. Both run on the holiday calendar shared with grid issues.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import unicodedata
from datetime import date, datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from gridgov.areas.crs import to_wgs84
from gridgov.areas.locating import spatial_index
from gridgov.areas.models import Area
from gridgov.areas.scope import area_id_in_scope
from gridgov.audit.services import record as audit_record
from gridgov.auth.models import User
from gridgov.errors import Conflict, Forbidden, Invalid, NotFound
from gridgov.extensions import db
from gridgov.i18n import Msg
from gridgov.timeutil import LOCAL_TZ, local_today, utcnow
from gridgov.wages import evidence
from gridgov.wages.crypto import blind_index, decrypt, encrypt
from gridgov.wages.identity import fen_to_yuan, normalise, valid_mobile, valid_resident_id, yuan_to_fen
from gridgov.wages.models import (
    CLOSURE_CODES,
    Callback,
    Counter,
    Interview,
    Notice,
    Payment,
    PaymentPlan,
    SiteVisit,
    WageCase,
    WageEvent,
    WageParty,
)
from gridgov.workcal.services import work_calendar

TRACKING_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
STATUS_ZH = {
    "received": "已收到，等待受理审查",
    "not_accepted": "不予受理",
    "transferred": "已移交其他机关",
    "merged": "已与其他案件合并办理",
    "verifying": "已受理，正在核实",
    "coordinating": "正在协调（约谈用工单位）",
    "payment_ordered": "已责令限期支付",
    "payment_committed": "总承包单位已承诺支付",
    "paying": "正在支付",
    "callback": "已支付，等待回访确认",
    "closed": "已结案",
}
STATUS_EN = {
    "received": "Received; we decide within 5 working days whether to take it up",
    "not_accepted": "Not taken up",
    "transferred": "Passed to another authority",
    "merged": "Handled together with another case",
    "verifying": "Taken up; officers are checking the facts",
    "coordinating": "Officers are talking to the employer about paying",
    "payment_ordered": "The employer has been ordered to pay by a deadline",
    "payment_committed": "The general contractor has promised to pay",
    "paying": "Payment under way",
    "callback": "Paid; we will phone you to confirm",
    "closed": "Closed",
}


def _next_number(name: str, prefix: str, width: int, now: datetime) -> str:
    """`prefix-YYYY-000123`: a per-year sequence (the local year of `now`) taken under a row lock."""
    year = local_today(now).year
    key = f"{name}-{year}"
    for _ in range(3):
        value = db.session.execute(
            update(Counter)
            .where(Counter.name == key)
            .values(value=Counter.value + 1)
            .returning(Counter.value)
        ).scalar()
        if value is not None:
            return f"{prefix}-{year}-{value:0{width}d}"
        try:
            with db.session.begin_nested():
                db.session.add(Counter(name=key, value=0))
        except IntegrityError:
            continue
    raise RuntimeError("could not allocate a number")


def _hash_code(code: str) -> str:
    return hashlib.sha256(code.encode()).hexdigest()


def _event(
    case: WageCase,
    actor: User | None,
    action: str,
    before: str | None,
    public_text: str | None = None,
    note: str | None = None,
    data: dict | None = None,
) -> None:
    db.session.add(
        WageEvent(
            case_id=case.id,
            actor_id=actor.id if actor else None,
            action=action,
            from_status=before,
            to_status=case.status,
            public_text=public_text,
            note=note,
            data=data,
        )
    )


def _case_area(project: dict) -> int | None:
    if project.get("location"):
        lon, lat = to_wgs84(*project["location"]["coordinates"][:2], project.get("crs", "wgs84"))
        found = spatial_index().locate(lon, lat)
        if found:
            return found.id
    if project.get("area_code"):
        area = db.session.scalar(select(Area).where(Area.code == project["area_code"]))
        if area is None:
            raise Invalid(
                Msg("项目所在区域编码不存在。", "Unknown project area code."),
                errors={"json": {"project": {"area_code": ["unknown"]}}},
            )
        return area.id
    # Without a location the claim goes to the zone itself, where the anti-arrears group sits.
    return db.session.scalar(select(Area.id).where(Area.level == "district").order_by(Area.id).limit(1))


def claim_errors(data: dict) -> dict:
    """What the schema cannot see: the ID check digit, a mobile number, the amount, the period.

    Reads what is there, so a form that the schema refused can still be told all its errors at once.
    """
    claimant = data.get("claimant") or {}
    errors = {}
    if "id_number" in claimant and not valid_resident_id(normalise(claimant["id_number"])):
        errors["id_number"] = ["not a valid 18-digit resident ID (check digit)"]
    if "phone" in claimant and not valid_mobile(normalise(claimant["phone"])):
        errors["phone"] = ["not a mainland mobile number"]
    if "amount_claimed" in data:
        try:
            yuan_to_fen(data["amount_claimed"])
        except ValueError as exc:
            errors["amount_claimed"] = [str(exc)]
    period = data.get("work_period") or {}
    if (
        isinstance(period.get("from_"), date)
        and isinstance(period.get("to"), date)
        and period["to"] < period["from_"]
    ):
        errors["work_period"] = ["to is before from"]
    return errors


def file_claim(data: dict, photos: list[bytes] = (), photo_kind: str = "other") -> tuple[WageCase, str]:
    """Register a claim from the public form; returns the case and its tracking code (commits).

    Photos sent with it are checked and cleaned first: a bad one refuses the whole claim unfiled.
    """
    claimant = data["claimant"]
    id_number = normalise(claimant["id_number"])
    phone = normalise(claimant["phone"])
    errors = claim_errors(data)
    if errors:
        raise Invalid(
            Msg("申请信息有误，请检查身份证号、手机号和金额。", "Check the ID number, phone and amount."),
            errors={"json": {k: v for k, v in errors.items()}},
        )
    cleaned = evidence.clean_all(list(photos)) if photos else []
    amount_fen = yuan_to_fen(data["amount_claimed"])
    now = utcnow()
    code = "".join(secrets.choice(TRACKING_ALPHABET) for _ in range(10))
    case = WageCase(
        number=_next_number("case", "QX", 5, now),
        tracking_code_hash=_hash_code(code),
        claimant_name=claimant["name"],
        phone_enc=encrypt(phone),
        phone_index=blind_index(phone),
        id_number_enc=encrypt(id_number),
        bank_account_enc=encrypt(normalise(claimant.get("bank_account") or "")),
        project_name=data["project"]["name"],
        project_address=data["project"].get("address"),
        area_id=_case_area(data["project"]),
        work_from=data["work_period"]["from_"],
        work_to=data["work_period"]["to"],
        amount_claimed_fen=amount_fen,
        workers=data.get("workers", 1),
        description=data["description"],
        evidence=data.get("evidence") or [],
        received_at=now,
        accept_deadline=work_calendar().add_working_days(now, ACCEPT_DAYS),
        next_step="受理审查",
    )
    case.next_due = case.accept_deadline.astimezone(LOCAL_TZ).date()
    db.session.add(case)
    db.session.flush()
    for party in data.get("parties") or []:
        db.session.add(
            WageParty(
                case_id=case.id,
                role=party["role"],
                name=party["name"],
                phone_enc=encrypt(normalise(party.get("phone") or "")),
            )
        )
    if cleaned:
        evidence.store(case, cleaned, photo_kind)
    _event(case, None, "file", None, "收到您的欠薪投诉，将在 5 个工作日内决定是否受理。")
    db.session.commit()
    return case, code


def find_claim(number: str, code: str) -> WageCase:
    """The case of this number whose tracking code this is; one and the same 404 for any mismatch."""
    case = db.session.scalar(
        select(WageCase).where(WageCase.number == unicodedata.normalize("NFKC", number or "").strip().upper())
    )
    if (
        case is None
        or not code
        or not hmac.compare_digest(case.tracking_code_hash, _hash_code(normalise(code)))
    ):
        raise NotFound(Msg("案件编号或查询码不正确。", "Wrong case number or tracking code."))
    return case


def claimant_view(number: str, code: str) -> dict:
    """What the worker sees with his number and tracking code; 404 for any mismatch."""
    case = find_claim(number, code)
    paid = paid_fen(case.id)
    basis = case.amount_verified_fen if case.amount_verified_fen is not None else case.amount_claimed_fen
    events = db.session.scalars(
        select(WageEvent)
        .where(WageEvent.case_id == case.id, WageEvent.public_text.is_not(None))
        .order_by(WageEvent.id)
    )
    return {
        "number": case.number,
        "status": case.status,
        "status_text": STATUS_ZH[case.status],
        "amount_claimed": fen_to_yuan(case.amount_claimed_fen),
        "amount_verified": fen_to_yuan(case.amount_verified_fen),
        "amount_paid": fen_to_yuan(paid),
        "amount_outstanding": fen_to_yuan(max(basis - paid, 0)),
        "next_step": case.next_step,
        "next_deadline": case.next_due.isoformat() if case.next_due else None,
        "received_at": case.received_at.isoformat(),
        "timeline": [{"at": e.at.isoformat(), "text": e.public_text} for e in events],
        "evidence": [
            {
                "kind": e.kind,
                "kind_text": evidence.KIND_TITLES[e.kind].zh,
                "received_at": e.received_at.isoformat(),
            }
            for e in evidence.listed(case)
        ],
    }


def paid_fen(case_id: int) -> int:
    return db.session.scalar(
        select(func.coalesce(func.sum(Payment.amount_fen), 0)).where(Payment.case_id == case_id)
    )


# --- officers ---------------------------------------------------------------------------------


def cases_query(user: User, status: str | None = None):
    query = select(WageCase).where(area_id_in_scope(user, WageCase.area_id)).order_by(WageCase.id.desc())
    if status:
        query = query.where(WageCase.status == status)
    return query


def get_case(user: User, case_id: int, for_update: bool = False) -> WageCase:
    """One case in the officer's scope; 404 otherwise. `for_update` locks its row (PostgreSQL)."""
    query = cases_query(user).where(WageCase.id == case_id)
    if for_update and db.engine.dialect.name == "postgresql":
        query = query.with_for_update(of=WageCase)
    case = db.session.scalar(query)
    if case is None:
        raise NotFound()
    return case


def reveal(user: User, case_id: int, field: str, reason: str) -> str:
    """One personal field of one case in clear, recorded in the audit log with who, when and why (commits)."""
    case = get_case(user, case_id)
    value = decrypt(
        {"id_number": case.id_number_enc, "phone": case.phone_enc, "bank_account": case.bank_account_enc}[
            field
        ]
    )
    audit_record("reveal", "wage_cases", case.id, reason=reason, changes={"field": field})
    db.session.commit()
    return value or ""


def case_timeline(user: User, case_id: int) -> list[WageEvent]:
    case = get_case(user, case_id)
    return list(
        db.session.scalars(select(WageEvent).where(WageEvent.case_id == case.id).order_by(WageEvent.id))
    )


def case_parties(user: User, case_id: int) -> list[WageParty]:
    case = get_case(user, case_id)
    return list(
        db.session.scalars(select(WageParty).where(WageParty.case_id == case.id).order_by(WageParty.id))
    )


def case_notices(user: User, case_id: int) -> list[Notice]:
    case = get_case(user, case_id)
    return list(db.session.scalars(select(Notice).where(Notice.case_id == case.id).order_by(Notice.id)))


MOVES = {
    "accept": ("received",),
    "refuse": ("received",),
    "merge": ("received",),
    "transfer": ("received", "verifying", "coordinating"),
    "visit": ("verifying", "coordinating"),
    "interview": ("verifying", "coordinating"),
    "notice": ("coordinating", "payment_ordered", "payment_committed", "paying"),
    "order": ("coordinating",),
    "commit": ("coordinating",),
    "pay": ("payment_ordered", "payment_committed", "paying"),
    "callback": ("paying", "callback", "closed"),
    "close": ("verifying", "coordinating", "callback"),
    "extend": ("verifying", "coordinating", "payment_ordered", "payment_committed", "paying", "callback"),
}


STOPPED_STATUSES = ("not_accepted", "transferred", "merged")  # the clocks stop without being met
ACCEPT_DAYS, CONCLUDE_DAYS, EXTENSION_DAYS = 5, 60, 30


def case_clocks(case: WageCase, today: date | None = None) -> list[dict]:
    """The two legal clocks (accept, conclude), for the API and the console alike.

    Each: `deadline`; `met` (when it was met); `working_days` (the clock's length), `used` (working
    days from its start to today or the deadline, whichever is first) and `left` (None once met or
    stopped; negative when the deadline has passed); `paused` (the case left the group, refused,
    transferred or merged, before the clock was met); `uncertain` (the count passes a day of a
    provisional year, so the deadline may move when the State Council publishes it).
    """
    today = today or local_today()
    calendar = work_calendar()
    stopped = case.status in STOPPED_STATUSES
    clocks = []
    for name, start, deadline, met, length in (
        ("accept", case.received_at, case.accept_deadline, case.accepted_at, ACCEPT_DAYS),
        (
            "conclude",
            case.accepted_at,
            case.conclude_deadline,
            case.closed_at if case.status == "closed" else None,
            CONCLUDE_DAYS + (EXTENSION_DAYS if case.extended else 0),
        ),
    ):
        left = used = None
        uncertain = paused = False
        if deadline is not None:
            due = deadline.astimezone(LOCAL_TZ).date()
            begin = start.astimezone(LOCAL_TZ).date() if start is not None else min(today, due)
            end = met.astimezone(LOCAL_TZ).date() if met else min(today, due)
            used = calendar.working_days_between(begin, max(begin, end)) if start is not None else None
            uncertain = calendar.uncertain_between(begin, due)
            paused = met is None and stopped
            if met is None and not stopped:
                left = (
                    calendar.working_days_between(today, due)
                    if due >= today
                    else -calendar.working_days_between(due, today)
                )
        clocks.append(
            {
                "clock": name,
                "deadline": deadline,
                "met": met,
                "working_days": length if deadline is not None else None,
                "used": used,
                "left": left,
                "paused": paused,
                "uncertain": uncertain,
            }
        )
    return clocks


def recompute_case_deadlines(calendar, year: int, actor: User | None) -> int:
    """Re-run the clocks of open cases whose count passes `year` (after the year was edited).

    Each case whose deadline moved gets a `deadline_recomputed` event with a public line for the
    claimant, and its next due date follows the deadline it was set from. The caller commits.
    """
    moved = 0
    cases = db.session.scalars(select(WageCase).where(WageCase.closed_at.is_(None)))
    for case in cases:
        changes = {}
        clocks = [("accept", case.received_at, ACCEPT_DAYS)] if case.accepted_at is None else []
        if case.accepted_at is not None and case.conclude_deadline is not None:
            clocks.append(("conclude", case.accepted_at, CONCLUDE_DAYS))
        for name, start, days in clocks:
            old = case.accept_deadline if name == "accept" else case.conclude_deadline
            if not start.astimezone(LOCAL_TZ).year <= year <= old.astimezone(LOCAL_TZ).year:
                continue
            new = calendar.add_working_days(start, days)
            if name == "conclude" and case.extended:
                new = calendar.add_working_days(new, EXTENSION_DAYS)
            if new != old:
                changes[name] = {"from": old.isoformat(), "to": new.isoformat()}
                if case.next_due == old.astimezone(LOCAL_TZ).date():
                    case.next_due = new.astimezone(LOCAL_TZ).date()
                if name == "accept":
                    case.accept_deadline = new
                else:
                    case.conclude_deadline = new
        if changes:
            moved += len(changes)
            due = min(datetime.fromisoformat(c["to"]) for c in changes.values()).astimezone(LOCAL_TZ).date()
            _event(
                case,
                actor,
                "deadline_recomputed",
                case.status,
                f"{year} 年节假日安排已公布，办理期限调整为 {due.isoformat()}。",
                data={"year": year, **changes},
            )
    return moved


def allowed_moves(case: WageCase) -> list[str]:
    return [name for name, sources in MOVES.items() if case.status in sources]


def _party(case: WageCase, party_id: int | None) -> WageParty:
    party = db.session.scalar(select(WageParty).where(WageParty.id == party_id, WageParty.case_id == case.id))
    if party is None:
        raise Invalid(
            Msg("当事方不属于本案。", "The party is not part of this case."),
            errors={"json": {"party_id": ["unknown"]}},
        )
    return party


def _need(data: dict, field: str):
    if data.get(field) in (None, "", []):
        raise Invalid(
            Msg(f"缺少 {field}。", f"{field} is required for this action."),
            errors={"json": {field: ["required"]}},
        )
    return data[field]


def act(user: User, case_id: int, data: dict) -> WageCase:
    """Move a case on (commits); 409 naming the state and the allowed moves when it may not."""
    action = data["action"]
    # The row lock holds until the commit: a second officer's move waits, then sees the new state.
    case = get_case(user, case_id, for_update=True)
    if case.status not in MOVES[action]:
        allowed = allowed_moves(case)
        raise Conflict(
            Msg(
                f"案件当前为“{STATUS_ZH[case.status]}”，不能执行 {action}；可执行：{', '.join(allowed) or '无'}。",
                f"The case is {case.status}; {action} is not allowed. Allowed: {', '.join(allowed) or 'none'}.",
            ),
            state=case.status,
            allowed_actions=allowed,
        )
    now, before = utcnow(), case.status
    today = local_today(now)
    calendar = work_calendar()
    note, public, extra = data.get("note"), None, {}
    case.officer_id = case.officer_id or user.id
    if action == "accept":
        case.status, case.accepted_at = "verifying", now
        case.conclude_deadline = calendar.add_working_days(now, CONCLUDE_DAYS)
        case.next_step, case.next_due = "现场核实", case.conclude_deadline.astimezone(LOCAL_TZ).date()
        public = "已受理，劳动保障监察员将到现场核实。"
    elif action == "refuse":
        _need(data, "note")
        case.status, case.closed_at, case.next_step, case.next_due = "not_accepted", now, None, None
        public = f"不予受理：{data['note']}"
    elif action == "merge":
        query = cases_query(user).where(WageCase.number == _need(data, "into_number"))
        if db.engine.dialect.name == "postgresql":
            query = query.with_for_update(of=WageCase)  # the target may not be merged away meanwhile
        target = db.session.scalar(query)
        if target is None or target.id == case.id:
            raise Invalid(Msg("合并目标案件不存在。", "No such case to merge into."))
        if target.status == "merged":
            raise Conflict(Msg("目标案件已被合并。", "The target case was itself merged."))
        case.status, case.merged_into_id, case.closed_at = "merged", target.id, now
        public = f"与案件 {target.number} 合并办理。"
    elif action == "transfer":
        case.transferred_to = _need(data, "authority")
        case.status, case.closed_at, case.next_step, case.next_due = "transferred", now, None, None
        public = f"已移交{case.transferred_to}处理。"
    elif action == "visit":
        officers = set(_need(data, "officer_ids"))
        if len(officers) < 2:
            raise Invalid(
                Msg("现场核实至少需要两名监察员。", "A site visit needs at least two officers."),
                errors={"json": {"officer_ids": ["at least two"]}},
            )
        db.session.add(
            SiteVisit(
                case_id=case.id,
                visited_on=data.get("on") or today,
                officer_ids=sorted(officers),
                findings=_need(data, "findings"),
                employment_problems_corrected=data.get("employment_problems_corrected", 0),
            )
        )
        if data.get("amount_verified"):
            case.amount_verified_fen = yuan_to_fen(data["amount_verified"])
        public = "监察员已到现场核实。"
    elif action == "interview":
        party = _party(case, data.get("party_id"))
        db.session.add(
            Interview(
                case_id=case.id,
                party_id=party.id,
                held_on=data.get("on") or today,
                outcome=_need(data, "outcome"),
                rectification=data.get("rectification"),
            )
        )
        case.status, case.next_step = "coordinating", "协调支付"
        public = "已约谈用工单位，正在协调支付。"
    elif action == "notice":
        party = _party(case, data.get("party_id"))
        kind = _need(data, "kind")
        prefix = {"reminder": "TX", "supervision": "DB"}[kind]
        notice = Notice(
            case_id=case.id,
            kind=kind,
            number=_next_number(prefix, prefix, 4, now),
            party_id=party.id,
            issued_on=today,
            served_on=data.get("served_on"),
            due_on=_need(data, "due_on"),
            content=_need(data, "content"),
        )
        db.session.add(notice)
        extra = {"notice_number": notice.number}
        public = "已向用工单位下达" + ("提醒单。" if kind == "reminder" else "督办单。")
    elif action in ("order", "commit"):
        party = _party(case, data.get("party_id"))
        if action == "commit" and party.role != "general_contractor":
            raise Invalid(
                Msg("支付承诺应由总承包单位作出。", "A payment commitment is made by the general contractor.")
            )
        instalments = data.get("instalments") or [
            {"due": _need(data, "due_on").isoformat(), "amount": _need(data, "amount")}
        ]
        plan = [{"due": str(i["due"]), "amount_fen": yuan_to_fen(i["amount"])} for i in instalments]
        db.session.add(PaymentPlan(case_id=case.id, kind=action, party_id=party.id, instalments=plan))
        case.status = "payment_ordered" if action == "order" else "payment_committed"
        case.next_step, case.next_due = "按期支付", date.fromisoformat(plan[0]["due"])
        public = ("已责令" if action == "order" else "总承包单位已承诺") + f"于 {plan[0]['due']} 前支付。"
    elif action == "pay":
        amount = yuan_to_fen(_need(data, "amount"))
        paid_on = data.get("paid_on") or today
        db.session.add(
            Payment(
                case_id=case.id,
                worker_name=_need(data, "worker_name"),
                amount_fen=amount,
                paid_on=paid_on,
                recorded_by=user.id,
            )
        )
        db.session.add(Callback(case_id=case.id, due_on=paid_on + timedelta(days=3), reason="payment"))
        case.status, case.next_step, case.next_due = "paying", "回访确认到账", paid_on + timedelta(days=3)
        public = f"已支付 {fen_to_yuan(amount)} 元，工作人员将电话回访确认。"
    elif action == "callback":
        outcome = _need(data, "outcome")
        pending = db.session.scalar(
            select(Callback)
            .where(Callback.case_id == case.id, Callback.done_at.is_(None))
            .order_by(Callback.due_on)
        )
        if pending is not None:
            pending.done_at, pending.outcome, pending.note = now, outcome, note
        if outcome == "not_paid":
            case.status, case.closed_at, case.closed_on_time, case.closure_code = (
                "coordinating",
                None,
                None,
                None,
            )
            case.reopen_count += 1
            case.next_step, case.next_due = "重新协调支付", None
            public = "回访反映未足额到账，案件重新协调。"
        elif outcome == "confirmed" and case.status == "paying":
            case.status, case.next_step = "callback", "结案"
            public = "回访确认已到账。"
        else:
            public = None
        extra = {"outcome": outcome}
    elif action == "close":
        code = _need(data, "closure_code")
        if code not in CLOSURE_CODES:
            raise Invalid(
                Msg("结案类型无效。", "Unknown closure code."),
                errors={"json": {"closure_code": list(CLOSURE_CODES)}},
            )
        if code in ("paid_in_full", "paid_in_part_by_agreement") and case.status != "callback":
            raise Conflict(
                Msg("支付结案前须完成回访确认。", "Close as paid only after the callback confirmed payment."),
                state=case.status,
                allowed_actions=allowed_moves(case),
            )
        case.closure_code, case.closure_reason = code, _need(data, "note")
        case.status, case.closed_at = "closed", now
        case.closed_on_time = case.conclude_deadline is None or now <= case.conclude_deadline
        case.next_step, case.next_due = None, None
        db.session.add(Callback(case_id=case.id, due_on=today + timedelta(days=3), reason="closing"))
        public = "案件已办结。"
    elif action == "extend":
        if case.extended:
            raise Conflict(
                Msg("办案期限只能延长一次。", "The deadline can be extended only once."),
                state=case.status,
                allowed_actions=[m for m in allowed_moves(case) if m != "extend"],
            )
        approver = db.session.get(User, _need(data, "approver_id"))
        if (
            approver is None
            or approver.id == user.id
            or not approver.has_role("wage_officer", "admin", "leader")
        ):
            raise Forbidden(
                Msg(
                    "延期须由另一名负责人批准。",
                    "An extension needs another officer or leader to approve it.",
                )
            )
        _need(data, "note")
        old_due = case.conclude_deadline.astimezone(LOCAL_TZ).date()
        case.conclude_deadline = calendar.add_working_days(case.conclude_deadline, EXTENSION_DAYS)
        case.extended = True
        if case.next_due is None or case.next_due == old_due:  # the next step was due at the old deadline
            case.next_due = case.conclude_deadline.astimezone(LOCAL_TZ).date()
        extra = {"approver_id": approver.id, "deadline": case.conclude_deadline.isoformat()}
        public = "案情复杂，经批准延长办案期限 30 个工作日。"
    _event(case, user, action, before, public, note, extra or None)
    db.session.commit()
    return case
