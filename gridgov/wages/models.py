"""Wage cases and everything officers record on them. Personal fields are stored encrypted."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Date, ForeignKey, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from gridgov.dbtypes import UTCDateTime
from gridgov.extensions import db
from gridgov.timeutil import utcnow
from gridgov.workflow import TimelineEvent

CLOSURE_CODES = (
    "paid_in_full",
    "paid_in_part_by_agreement",
    "no_arrears_found",
    "transferred_labour_inspection",
    "transferred_arbitration",
    "transferred_court",
    "transferred_police",
)
PARTY_ROLES = ("construction_unit", "general_contractor", "subcontractor", "crew_leader")


class WageCase(db.Model):
    __tablename__ = "wage_cases"
    __audit_exclude__ = (
        "phone_enc",
        "id_number_enc",
        "bank_account_enc",
        "phone_index",
        "tracking_code_hash",
    )
    __audit_mask__ = ("claimant_name",)

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(20), unique=True)
    tracking_code_hash: Mapped[str] = mapped_column(String(64))
    claimant_name: Mapped[str] = mapped_column(String(50))
    phone_enc: Mapped[bytes] = mapped_column(LargeBinary)
    phone_index: Mapped[str] = mapped_column(String(64), index=True)
    id_number_enc: Mapped[bytes] = mapped_column(LargeBinary)
    bank_account_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    project_name: Mapped[str] = mapped_column(String(200))
    project_address: Mapped[str | None] = mapped_column(String(200))
    area_id: Mapped[int | None] = mapped_column(ForeignKey("areas.id"), index=True)
    work_from: Mapped[date] = mapped_column(Date)
    work_to: Mapped[date] = mapped_column(Date)
    amount_claimed_fen: Mapped[int]
    amount_verified_fen: Mapped[int | None]
    workers: Mapped[int] = mapped_column(default=1)
    description: Mapped[str] = mapped_column(Text)
    evidence: Mapped[list] = mapped_column(JSON, default=list)
    status: Mapped[str] = mapped_column(String(20), default="received", index=True)
    officer_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    accept_deadline: Mapped[datetime] = mapped_column(UTCDateTime)
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    conclude_deadline: Mapped[datetime | None] = mapped_column(UTCDateTime)
    extended: Mapped[bool] = mapped_column(default=False)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    closed_on_time: Mapped[bool | None]
    closure_code: Mapped[str | None] = mapped_column(String(40))
    closure_reason: Mapped[str | None] = mapped_column(Text)
    transferred_to: Mapped[str | None] = mapped_column(String(100))
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("wage_cases.id"))
    next_step: Mapped[str | None] = mapped_column(String(200))
    next_due: Mapped[date | None] = mapped_column(Date)
    reopen_count: Mapped[int] = mapped_column(default=0)


class WageParty(db.Model):
    __tablename__ = "wage_parties"
    __audit_exclude__ = ("phone_enc",)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("wage_cases.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(30))
    name: Mapped[str] = mapped_column(String(200))
    phone_enc: Mapped[bytes | None] = mapped_column(LargeBinary)


class WageEvent(TimelineEvent, db.Model):
    """The case timeline. `public_text` is what the claimant sees; `note` stays with staff."""

    __tablename__ = "wage_events"
    __audit__ = False
    subject_key = "case_id"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("wage_cases.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    action: Mapped[str] = mapped_column(String(30))
    from_status: Mapped[str | None] = mapped_column(String(20))
    to_status: Mapped[str | None] = mapped_column(String(20))
    public_text: Mapped[str | None] = mapped_column(String(300))
    note: Mapped[str | None] = mapped_column(Text)
    data: Mapped[dict | None] = mapped_column(JSON)


class SiteVisit(db.Model):
    __tablename__ = "wage_site_visits"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("wage_cases.id", ondelete="CASCADE"), index=True)
    visited_on: Mapped[date] = mapped_column(Date)
    officer_ids: Mapped[list] = mapped_column(JSON)
    findings: Mapped[str] = mapped_column(Text)
    employment_problems_corrected: Mapped[int] = mapped_column(default=0)


class Interview(db.Model):
    """约谈: a summons interview with a party, its outcome and any rectification ordered."""

    __tablename__ = "wage_interviews"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("wage_cases.id", ondelete="CASCADE"), index=True)
    party_id: Mapped[int] = mapped_column(ForeignKey("wage_parties.id"))
    held_on: Mapped[date] = mapped_column(Date)
    outcome: Mapped[str] = mapped_column(Text)
    rectification: Mapped[str | None] = mapped_column(Text)


class Notice(db.Model):
    """提醒单 (TX) and 督办单 (DB), numbered per year."""

    __tablename__ = "wage_notices"
    __table_args__ = (UniqueConstraint("number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("wage_cases.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(12))  # reminder | supervision
    number: Mapped[str] = mapped_column(String(20))
    party_id: Mapped[int] = mapped_column(ForeignKey("wage_parties.id"))
    issued_on: Mapped[date] = mapped_column(Date)
    served_on: Mapped[date | None] = mapped_column(Date)
    due_on: Mapped[date] = mapped_column(Date)
    content: Mapped[str] = mapped_column(Text)
    result: Mapped[str | None] = mapped_column(Text)


class Counter(db.Model):
    """Per-year sequence numbers (case numbers, notice numbers), taken under a row lock."""

    __tablename__ = "wage_counters"

    name: Mapped[str] = mapped_column(String(20), primary_key=True)
    value: Mapped[int] = mapped_column(default=0)


class PaymentPlan(db.Model):
    """An order to pay by a date, or the general contractor's commitment with instalments."""

    __tablename__ = "wage_payment_plans"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("wage_cases.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(12))  # order | commitment
    party_id: Mapped[int] = mapped_column(ForeignKey("wage_parties.id"))
    instalments: Mapped[list] = mapped_column(JSON)  # [{"due": "YYYY-MM-DD", "amount_fen": int}]


class Payment(db.Model):
    __tablename__ = "wage_payments"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("wage_cases.id", ondelete="CASCADE"), index=True)
    worker_name: Mapped[str] = mapped_column(String(50))
    amount_fen: Mapped[int]
    paid_on: Mapped[date] = mapped_column(Date, index=True)
    recorded_by: Mapped[int] = mapped_column(ForeignKey("users.id"))


class Callback(db.Model):
    """回访: phoning the worker after a payment and at closing."""

    __tablename__ = "wage_callbacks"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("wage_cases.id", ondelete="CASCADE"), index=True)
    due_on: Mapped[date] = mapped_column(Date, index=True)
    reason: Mapped[str] = mapped_column(String(20))  # payment | closing
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    outcome: Mapped[str | None] = mapped_column(String(20))  # confirmed | not_paid | unreachable
    note: Mapped[str | None] = mapped_column(Text)


EVIDENCE_KINDS = ("iou", "contract", "attendance", "chat", "site_photo", "other")


class WageEvidence(db.Model):
    """A photo the claimant sent (欠条, contract, attendance sheet, chat, site), location data removed."""

    __tablename__ = "wage_evidence"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("wage_cases.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(20), default="other")
    content_type: Mapped[str] = mapped_column(String(32))
    size: Mapped[int]
    sha256: Mapped[str] = mapped_column(String(64))
    path: Mapped[str] = mapped_column(String(300))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
