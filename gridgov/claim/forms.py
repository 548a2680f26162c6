"""The claim form as the API's JSON body, and the API's errors as plain words beside each field."""

from __future__ import annotations

import re
import unicodedata

from marshmallow import ValidationError

from gridgov.i18n import Msg
from gridgov.wages.identity import normalise, valid_resident_id
from gridgov.wages.schemas import ClaimSchema

# The parties in the words workers use, in the order they meet them.
PARTIES = (
    ("crew_leader", Msg("包工头 / 班组长", "Gang boss / crew leader")),
    ("subcontractor", Msg("劳务公司", "Labour company")),
    ("general_contractor", Msg("总包（总承包单位）", "General contractor")),
    ("construction_unit", Msg("建设单位（开发商、业主）", "Developer / owner")),
)
TEXT_FIELDS = (
    "name",
    "phone",
    "id_number",
    "bank_account",
    "project_name",
    "project_address",
    "work_from",
    "work_to",
    "amount",
    "workers",
    "description",
    *(f"{role}{suffix}" for role, _ in PARTIES for suffix in ("", "_phone")),
)
LABELS = {
    "name": Msg("姓名", "name"),
    "phone": Msg("手机号", "mobile number"),
    "id_number": Msg("身份证号", "ID number"),
    "bank_account": Msg("银行卡号", "bank card number"),
    "project_name": Msg("工地或项目名称", "site or project name"),
    "project_address": Msg("工地地址", "site address"),
    "work_from": Msg("开始干活的日期", "first day of work"),
    "work_to": Msg("最后干活的日期", "last day of work"),
    "amount": Msg("被欠的工资", "unpaid wages"),
    "workers": Msg("被欠工资的人数", "number of workers owed"),
    "description": Msg("发生了什么", "what happened"),
}
PLAIN = {
    "phone": Msg(
        "请填写 11 位手机号，例如 13812345678。", "Enter an 11-digit mobile number, e.g. 13812345678."
    ),
    "id_number": Msg(
        "身份证号应为 18 位（最后一位可能是 X），请对照身份证填写。",
        "An ID number has 18 characters (the last may be X).",
    ),
    "id_check": Msg(
        "身份证号最后一位（校验码）对不上，请对照身份证再核对一遍。",
        "The last digit (check digit) of the ID number does not match; compare it with the card.",
    ),
    "amount": Msg(
        "金额请只写数字，例如 7000 或 7000.50。", "Write the amount in figures, e.g. 7000 or 7000.50."
    ),
    "work_from": Msg("请写日期，例如 2026-03-01。", "Write a date, e.g. 2026-03-01."),
    "work_to": Msg(
        "请写日期，例如 2026-08-31，不能早于开始日期。",
        "Write a date, e.g. 2026-08-31, not before the first day.",
    ),
    "workers": Msg("人数请写 1 到 500 之间的数字。", "Write a number from 1 to 500."),
    "too_long": Msg("写得太长了，请简短一些。", "This is too long; please shorten it."),
    "party": Msg("请写名称（至少一个字），电话可不填。", "Write a name; the phone is optional."),
}
NUMERIC = {
    "phone",
    "id_number",
    "bank_account",
    "work_from",
    "work_to",
    "amount",
    "workers",
    *(f"{role}_phone" for role, _ in PARTIES),
}
_DATE = re.compile(r"^(\d{4})\D{1,2}(\d{1,2})\D{1,2}(\d{1,2})\D?$")


def _date(text: str) -> str:
    """2026-3-1, 2026/3/1, 2026.3.1 and 2026年3月1日 as 2026-03-01; anything else as typed."""
    match = _DATE.match(text)
    return f"{match[1]}-{int(match[2]):02d}-{int(match[3]):02d}" if match else text


def _amount(text: str) -> str:
    """Full-width digits, thousands commas, spaces and a trailing 元 are how people write money."""
    return re.sub(r"[\s,，]|元$", "", text)


def typed(form) -> dict[str, str]:
    """What the claimant typed, kept to redraw the form: nothing is lost on an error."""
    return {name: form.get(name, "")[:3000] for name in TEXT_FIELDS}


def payload(values: dict[str, str], area_code: str | None) -> dict:
    """The JSON body `POST /api/v1/public/wage-claims` would receive for this form."""
    # Numbers and dates as the API reads them (full-width digits to ASCII); words as he wrote them.
    clean = {k: (unicodedata.normalize("NFKC", v) if k in NUMERIC else v).strip() for k, v in values.items()}
    body: dict = {
        "claimant": {k: clean[k] for k in ("name", "phone", "id_number") if clean[k]},
        "project": {"name": clean["project_name"]} if clean["project_name"] else {},
        "parties": [],
        "description": clean["description"],
    }
    if not body["description"]:
        del body["description"]
    if clean["bank_account"]:
        body["claimant"]["bank_account"] = clean["bank_account"]
    if clean["project_address"]:
        body["project"]["address"] = clean["project_address"]
    if area_code:
        body["project"]["area_code"] = area_code
    for role, _ in PARTIES:
        if clean[role] or clean[f"{role}_phone"]:
            party = {"role": role, "name": clean[role]}
            if clean[f"{role}_phone"]:
                party["phone"] = clean[f"{role}_phone"]
            body["parties"].append(party)
    period = {k: _date(clean[f"work_{k}"]) for k in ("from", "to") if clean[f"work_{k}"]}
    body["work_period"] = period
    if clean["amount"]:
        body["amount_claimed"] = _amount(clean["amount"])
    if clean["workers"]:
        body["workers"] = clean["workers"]
    return body


def load(body: dict) -> dict:
    """The body loaded by the API's own schema (ValidationError as the API would answer 422)."""
    return ClaimSchema().load(body)


def _flat(errors, prefix=()) -> list[tuple]:
    if isinstance(errors, dict):
        return [item for key, value in errors.items() for item in _flat(value, (*prefix, key))]
    return [prefix]


_PATHS = {
    ("claimant", "name"): "name",
    ("claimant", "phone"): "phone",
    ("claimant", "id_number"): "id_number",
    ("claimant", "bank_account"): "bank_account",
    ("project", "name"): "project_name",
    ("project", "address"): "project_address",
    ("work_period", "from"): "work_from",
    ("work_period", "to"): "work_to",
    ("amount_claimed",): "amount",
    ("workers",): "workers",
    ("description",): "description",
    # what the service itself checks after the schema
    ("json", "phone"): "phone",
    ("json", "id_number"): "id_number",
    ("json", "amount_claimed"): "amount",
    ("json", "work_period"): "work_to",
}


def field_errors(errors: dict, body: dict, values: dict[str, str], lang: str) -> dict[str, str]:
    """The schema's or the service's errors as one plain sentence per form field."""
    out: dict[str, str] = {}
    roles = [party["role"] for party in body.get("parties", [])]
    for path in _flat(errors):
        if (
            path
            and path[0] == "parties"
            and len(path) > 1
            and isinstance(path[1], int)
            and path[1] < len(roles)
        ):
            out.setdefault(roles[path[1]], PLAIN["party"].pick(lang))
            continue
        name = _PATHS.get(tuple(path[:2])) or _PATHS.get(tuple(path[:1]))
        if name is None:
            name = {"claimant": "name", "project": "project_name", "work_period": "work_from"}.get(
                path[0], "description"
            )
        if name in out:
            continue
        value = unicodedata.normalize("NFKC", values.get(name, "")).strip()
        if not value:
            out[name] = Msg(f"请填写{LABELS[name].zh}。", f"Please fill in the {LABELS[name].en}.").pick(lang)
        elif name == "id_number":
            id_number = normalise(value)
            wrong_digit = (
                len(id_number) == 18 and id_number[:17].isdigit() and not valid_resident_id(id_number)
            )
            out[name] = PLAIN["id_check" if wrong_digit else "id_number"].pick(lang)
        elif name in PLAIN:
            out[name] = PLAIN[name].pick(lang)
        else:
            out[name] = PLAIN["too_long"].pick(lang)
    return out


__all__ = ["PARTIES", "LABELS", "ValidationError", "field_errors", "load", "payload", "typed"]
