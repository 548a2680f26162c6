"""Claimant data checks and money parsing. No Flask import."""

from __future__ import annotations

import re
import unicodedata
from decimal import Decimal, InvalidOperation

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"
_ID = re.compile(r"^\d{17}[\dX]$")
_PHONE = re.compile(r"^1[3-9]\d{9}$")


def normalise(text: str) -> str:
    """Full-width digits and letters to ASCII (NFKC), spaces and dashes removed, upper case."""
    return re.sub(r"[\s-]", "", unicodedata.normalize("NFKC", text or "")).upper()


def valid_resident_id(id_number: str) -> bool:
    """An 18-digit resident ID (GB 11643) with a correct ISO 7064 MOD 11-2 check digit."""
    if not _ID.match(id_number):
        return False
    total = sum(int(d) * w for d, w in zip(id_number[:17], _WEIGHTS, strict=True))
    return _CHECK[total % 11] == id_number[17]


def valid_mobile(phone: str) -> bool:
    return bool(_PHONE.match(phone))


def yuan_to_fen(amount: str) -> int:
    """ "7000.00" → 700000; refuses floats' cousins: more than two decimals, negatives, exponents."""
    if not isinstance(amount, str) or not re.fullmatch(r"\d{1,10}(\.\d{1,2})?", amount.strip()):
        raise ValueError("amount must be a decimal string in yuan with at most two decimals")
    try:
        value = Decimal(amount.strip())
    except InvalidOperation as exc:
        raise ValueError("not a number") from exc
    return int(value * 100)


def fen_to_yuan(fen: int | None) -> str | None:
    if fen is None:
        return None
    return f"{Decimal(fen) / 100:.2f}"
