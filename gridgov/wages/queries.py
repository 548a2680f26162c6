"""Reading wage cases: the officer's scope (a WHERE clause), one case, its timeline, parties,
notices and payments, and a personal field revealed with an audit entry."""

from __future__ import annotations

from sqlalchemy import func, select

from gridgov.areas.scope import area_id_in_scope
from gridgov.audit.services import record as audit_record
from gridgov.auth.models import User
from gridgov.errors import NotFound
from gridgov.extensions import db
from gridgov.wages.crypto import decrypt
from gridgov.wages.models import Notice, Payment, WageCase, WageEvent, WageParty
from gridgov.workflow import for_update as lock


def paid_fen(case_id: int) -> int:
    return db.session.scalar(
        select(func.coalesce(func.sum(Payment.amount_fen), 0)).where(Payment.case_id == case_id)
    )


def cases_query(user: User, status: str | None = None):
    query = select(WageCase).where(area_id_in_scope(user, WageCase.area_id)).order_by(WageCase.id.desc())
    if status:
        query = query.where(WageCase.status == status)
    return query


def get_case(user: User, case_id: int, for_update: bool = False) -> WageCase:
    """One case in the officer's scope; 404 otherwise. `for_update` locks its row (PostgreSQL)."""
    query = cases_query(user).where(WageCase.id == case_id)
    case = db.session.scalar(lock(query, WageCase) if for_update else query)
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
