"""Wage claims from the public: filing (checked, numbered, placed in an area), and the claimant's
own tracking with his case number and tracking code."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import unicodedata
from datetime import date, datetime

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from gridgov.areas.crs import to_wgs84
from gridgov.areas.locating import spatial_index
from gridgov.areas.models import Area
from gridgov.errors import Invalid, NotFound
from gridgov.extensions import db
from gridgov.i18n import Msg
from gridgov.timeutil import LOCAL_TZ, local_today, utcnow
from gridgov.wages import evidence
from gridgov.wages.clocks import ACCEPT_DAYS
from gridgov.wages.crypto import blind_index, encrypt
from gridgov.wages.identity import fen_to_yuan, normalise, valid_mobile, valid_resident_id, yuan_to_fen
from gridgov.wages.models import Counter, WageCase, WageEvent, WageParty
from gridgov.wages.queries import paid_fen
from gridgov.wages.states import WageState
from gridgov.workcal.services import work_calendar

TRACKING_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"


def next_number(name: str, prefix: str, width: int, now: datetime) -> str:
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
        number=next_number("case", "QX", 5, now),
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
    WageEvent.record(
        case, None, "file", None, case.status, public_text="收到您的欠薪投诉，将在 5 个工作日内决定是否受理。"
    )
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
        "status_text": WageState(case.status).label.zh,
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
