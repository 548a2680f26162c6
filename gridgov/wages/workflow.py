"""The officers' work on a wage case: each move, the states it starts from, and its timeline line.

received → accept (the 60-day clock starts) | refuse | merge (into another case) | transfer
verifying/coordinating → visit, interview (→ coordinating), transfer
coordinating → order (to pay by a date) | commit (the general contractor's plan) → payment due
payment due → notice (reminder, supervision), pay → paying → callback → callback (confirmed) → close
a callback that finds the money did not arrive → coordinating again; extend once, with an approver
"""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select

from gridgov.auth.models import User
from gridgov.errors import Conflict, Forbidden, Invalid
from gridgov.extensions import db
from gridgov.i18n import Msg
from gridgov.timeutil import LOCAL_TZ, local_today
from gridgov.wages.clocks import CONCLUDE_DAYS, EXTENSION_DAYS
from gridgov.wages.identity import fen_to_yuan, yuan_to_fen
from gridgov.wages.intake import next_number
from gridgov.wages.models import (
    CLOSURE_CODES,
    Callback,
    Interview,
    Notice,
    Payment,
    PaymentPlan,
    SiteVisit,
    WageCase,
    WageEvent,
    WageParty,
)
from gridgov.wages.permissions import EXTENSION_APPROVERS
from gridgov.wages.queries import cases_query, get_case
from gridgov.wages.states import PAYMENT_DUE, TAKEN_UP, UNDER_CONCLUDE_CLOCK, WageState
from gridgov.wages.states import S as W
from gridgov.workcal.services import work_calendar
from gridgov.workflow import ROLE_REFUSED, Move, Rule, Workflow, for_update

OFFICER_ROLES = ("admin", "wage_officer")


def _not_extended(case: WageCase, now) -> Msg | None:
    return Msg("办案期限只能延长一次。", "The deadline can be extended only once.") if case.extended else None


RULES = {
    "accept": Rule((W.RECEIVED,), "officer"),
    "refuse": Rule((W.RECEIVED,), "officer"),
    "merge": Rule((W.RECEIVED,), "officer"),
    "transfer": Rule((W.RECEIVED, *TAKEN_UP), "officer"),
    "visit": Rule(TAKEN_UP, "officer"),
    "interview": Rule(TAKEN_UP, "officer"),
    "notice": Rule((W.COORDINATING, *PAYMENT_DUE), "officer"),
    "order": Rule((W.COORDINATING,), "officer"),
    "commit": Rule((W.COORDINATING,), "officer"),
    "pay": Rule(PAYMENT_DUE, "officer"),
    "callback": Rule((W.PAYING, W.CALLBACK, W.CLOSED), "officer"),
    "close": Rule((*TAKEN_UP, W.CALLBACK), "officer"),
    "extend": Rule(UNDER_CONCLUDE_CLOCK, "officer", _not_extended),
}


def _refusal(user: User, case: WageCase, who: str) -> Msg | None:
    return None if user.has_role(*OFFICER_ROLES) else ROLE_REFUSED


MOVES = Workflow(Msg("案件", "case"), WageState, RULES, _refusal, WageEvent)


def act(user: User, case_id: int, data: dict) -> WageCase:
    """Move a case on (commits); 409 naming the state and the allowed moves when it may not."""
    case = get_case(user, case_id, for_update=True)
    MOVES.run(user, case, data)
    case.officer_id = case.officer_id or user.id
    db.session.commit()
    return case


def _say(move: Move, public_text: str | None) -> None:
    """The line the claimant reads on his tracking page."""
    move.columns["public_text"] = public_text


def _party(move: Move) -> WageParty:
    party = db.session.scalar(
        select(WageParty).where(
            WageParty.id == move.data.get("party_id"), WageParty.case_id == move.subject.id
        )
    )
    if party is None:
        raise Invalid(
            Msg("当事方不属于本案。", "The party is not part of this case."),
            errors={"json": {"party_id": ["unknown"]}},
        )
    return party


def _stop(case: WageCase, status: WageState, move: Move) -> None:
    case.status, case.closed_at, case.next_step, case.next_due = status, move.now, None, None


@MOVES.handles("accept")
def accept(move: Move) -> None:
    case = move.subject
    case.status, case.accepted_at = W.VERIFYING, move.now
    case.conclude_deadline = work_calendar().add_working_days(move.now, CONCLUDE_DAYS)
    case.next_step, case.next_due = "现场核实", case.conclude_deadline.astimezone(LOCAL_TZ).date()
    _say(move, "已受理，劳动保障监察员将到现场核实。")


@MOVES.handles("refuse")
def refuse(move: Move) -> None:
    reason = move.need("note")
    _stop(move.subject, W.NOT_ACCEPTED, move)
    _say(move, f"不予受理：{reason}")


@MOVES.handles("merge")
def merge(move: Move) -> None:
    case = move.subject
    query = cases_query(move.user).where(WageCase.number == move.need("into_number"))
    target = db.session.scalar(for_update(query, WageCase))  # not merged away meanwhile
    if target is None or target.id == case.id:
        raise Invalid(Msg("合并目标案件不存在。", "No such case to merge into."))
    if target.status == W.MERGED:
        raise Conflict(Msg("目标案件已被合并。", "The target case was itself merged."))
    _stop(case, W.MERGED, move)
    case.merged_into_id = target.id
    _say(move, f"与案件 {target.number} 合并办理。")


@MOVES.handles("transfer")
def transfer(move: Move) -> None:
    case = move.subject
    case.transferred_to = move.need("authority")
    _stop(case, W.TRANSFERRED, move)
    _say(move, f"已移交{case.transferred_to}处理。")


@MOVES.handles("visit")
def visit(move: Move) -> None:
    officers = set(move.need("officer_ids"))
    if len(officers) < 2:
        raise Invalid(
            Msg("现场核实至少需要两名监察员。", "A site visit needs at least two officers."),
            errors={"json": {"officer_ids": ["at least two"]}},
        )
    case, data = move.subject, move.data
    db.session.add(
        SiteVisit(
            case_id=case.id,
            visited_on=data.get("on") or local_today(move.now),
            officer_ids=sorted(officers),
            findings=move.need("findings"),
            employment_problems_corrected=data.get("employment_problems_corrected", 0),
        )
    )
    if data.get("amount_verified"):
        case.amount_verified_fen = yuan_to_fen(data["amount_verified"])
    _say(move, "监察员已到现场核实。")


@MOVES.handles("interview")
def interview(move: Move) -> None:
    case, party = move.subject, _party(move)
    db.session.add(
        Interview(
            case_id=case.id,
            party_id=party.id,
            held_on=move.data.get("on") or local_today(move.now),
            outcome=move.need("outcome"),
            rectification=move.data.get("rectification"),
        )
    )
    case.status, case.next_step = W.COORDINATING, "协调支付"
    _say(move, "已约谈用工单位，正在协调支付。")


@MOVES.handles("notice")
def notice(move: Move) -> None:
    party, kind = _party(move), move.need("kind")
    prefix = {"reminder": "TX", "supervision": "DB"}[kind]
    issued = Notice(
        case_id=move.subject.id,
        kind=kind,
        number=next_number(prefix, prefix, 4, move.now),
        party_id=party.id,
        issued_on=local_today(move.now),
        served_on=move.data.get("served_on"),
        due_on=move.need("due_on"),
        content=move.need("content"),
    )
    db.session.add(issued)
    move.event["notice_number"] = issued.number
    _say(move, "已向用工单位下达" + ("提醒单。" if kind == "reminder" else "督办单。"))


def _plan(move: Move, party: WageParty, to: WageState) -> str:
    """A payment plan of the party's (one date and amount, or instalments); returns its first due date."""
    case, verb = move.subject, move.data["action"]
    instalments = move.data.get("instalments") or [
        {"due": move.need("due_on").isoformat(), "amount": move.need("amount")}
    ]
    plan = [{"due": str(i["due"]), "amount_fen": yuan_to_fen(i["amount"])} for i in instalments]
    db.session.add(PaymentPlan(case_id=case.id, kind=verb, party_id=party.id, instalments=plan))
    case.status = to
    case.next_step, case.next_due = "按期支付", date.fromisoformat(plan[0]["due"])
    return plan[0]["due"]


@MOVES.handles("order")
def order(move: Move) -> None:
    due = _plan(move, _party(move), W.PAYMENT_ORDERED)
    _say(move, f"已责令于 {due} 前支付。")


@MOVES.handles("commit")
def commit(move: Move) -> None:
    party = _party(move)
    if party.role != "general_contractor":
        raise Invalid(
            Msg("支付承诺应由总承包单位作出。", "A payment commitment is made by the general contractor.")
        )
    due = _plan(move, party, W.PAYMENT_COMMITTED)
    _say(move, f"总承包单位已承诺于 {due} 前支付。")


@MOVES.handles("pay")
def pay(move: Move) -> None:
    case = move.subject
    amount = yuan_to_fen(move.need("amount"))
    paid_on = move.data.get("paid_on") or local_today(move.now)
    db.session.add(
        Payment(
            case_id=case.id,
            worker_name=move.need("worker_name"),
            amount_fen=amount,
            paid_on=paid_on,
            recorded_by=move.user.id,
        )
    )
    db.session.add(Callback(case_id=case.id, due_on=paid_on + timedelta(days=3), reason="payment"))
    case.status, case.next_step, case.next_due = W.PAYING, "回访确认到账", paid_on + timedelta(days=3)
    _say(move, f"已支付 {fen_to_yuan(amount)} 元，工作人员将电话回访确认。")


@MOVES.handles("callback")
def callback(move: Move) -> None:
    case, outcome = move.subject, move.need("outcome")
    pending = db.session.scalar(
        select(Callback)
        .where(Callback.case_id == case.id, Callback.done_at.is_(None))
        .order_by(Callback.due_on)
    )
    if pending is not None:
        pending.done_at, pending.outcome, pending.note = move.now, outcome, move.note
    move.event["outcome"] = outcome
    if outcome == "not_paid":
        case.status, case.closed_at, case.closed_on_time, case.closure_code = W.COORDINATING, None, None, None
        case.reopen_count += 1
        case.next_step, case.next_due = "重新协调支付", None
        _say(move, "回访反映未足额到账，案件重新协调。")
    elif outcome == "confirmed" and case.status == W.PAYING:
        case.status, case.next_step = W.CALLBACK, "结案"
        _say(move, "回访确认已到账。")


@MOVES.handles("close")
def close(move: Move) -> None:
    case, code = move.subject, move.need("closure_code")
    if code not in CLOSURE_CODES:
        raise Invalid(
            Msg("结案类型无效。", "Unknown closure code."),
            errors={"json": {"closure_code": list(CLOSURE_CODES)}},
        )
    if code in ("paid_in_full", "paid_in_part_by_agreement") and case.status != W.CALLBACK:
        raise MOVES.conflict(
            move,
            Msg("支付结案前须完成回访确认。", "Close as paid only after the callback confirmed payment."),
        )
    case.closure_code, case.closure_reason = code, move.need("note")
    case.closed_on_time = case.conclude_deadline is None or move.now <= case.conclude_deadline
    _stop(case, W.CLOSED, move)
    db.session.add(
        Callback(case_id=case.id, due_on=local_today(move.now) + timedelta(days=3), reason="closing")
    )
    _say(move, "案件已办结。")


@MOVES.handles("extend")
def extend(move: Move) -> None:
    case = move.subject
    approver = db.session.get(User, move.need("approver_id"))
    if (
        approver is None
        or approver.id == move.user.id
        or not approver.may(EXTENSION_APPROVERS)
    ):
        raise Forbidden(
            Msg("延期须由另一名负责人批准。", "An extension needs another officer or leader to approve it.")
        )
    move.need("note")
    old_due = case.conclude_deadline.astimezone(LOCAL_TZ).date()
    case.conclude_deadline = work_calendar().add_working_days(case.conclude_deadline, EXTENSION_DAYS)
    case.extended = True
    if case.next_due is None or case.next_due == old_due:  # the next step was due at the old deadline
        case.next_due = case.conclude_deadline.astimezone(LOCAL_TZ).date()
    move.event.update(approver_id=approver.id, deadline=case.conclude_deadline.isoformat())
    _say(move, "案情复杂，经批准延长办案期限 30 个工作日。")
