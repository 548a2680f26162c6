"""Masked forms of personal data for responses and logs. No Flask import."""

from __future__ import annotations


def mask_phone(phone: str | None) -> str | None:
    """`13812345678` → `138****5678`; short numbers keep only the last two digits."""
    if not phone:
        return phone
    if len(phone) >= 11:
        return phone[:3] + "****" + phone[-4:]
    return "*" * max(len(phone) - 2, 0) + phone[-2:]


def mask_id_number(id_number: str | None) -> str | None:
    """`110101199003071234` → `1101**********1234`."""
    if not id_number:
        return id_number
    if len(id_number) <= 8:
        return "*" * len(id_number)
    return id_number[:4] + "*" * (len(id_number) - 8) + id_number[-4:]


def mask_account(account: str | None) -> str | None:
    """A bank account shows only its last four digits."""
    if not account:
        return account
    return "*" * max(len(account) - 4, 0) + account[-4:]


def mask_name(name: str | None) -> str | None:
    """`张三丰` → `张**`: the family name only."""
    if not name:
        return name
    return name[0] + "*" * (len(name) - 1)
