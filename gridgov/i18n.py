"""Bilingual messages: Chinese by default, English when the request asks for it."""

from __future__ import annotations

from typing import NamedTuple

from flask import has_request_context, request


class Msg(NamedTuple):
    """A message in both languages; services raise these, the error handler picks one."""

    zh: str
    en: str

    def pick(self, lang: str) -> str:
        return self.en if lang == "en" else self.zh


LANG_COOKIE = "gridgov_lang"


def request_language() -> str:
    """The console's language switch (a cookie) if set, else `en` when Accept-Language prefers
    English over Chinese, else `zh`."""
    if not has_request_context():
        return "zh"
    chosen = request.cookies.get(LANG_COOKIE)
    if chosen in ("zh", "en"):
        return chosen
    best = request.accept_languages.best_match(["zh", "en"], default="zh")
    return "en" if best == "en" else "zh"


# Common marshmallow/webargs messages, translated for Chinese clients.
_FIELD_MESSAGES_ZH = {
    "Missing data for required field.": "必填字段缺失。",
    "Field may not be null.": "该字段不能为空值。",
    "Not a valid string.": "不是有效的字符串。",
    "Not a valid integer.": "不是有效的整数。",
    "Not a valid number.": "不是有效的数字。",
    "Not a valid boolean.": "不是有效的布尔值。",
    "Not a valid date.": "不是有效的日期（YYYY-MM-DD）。",
    "Not a valid datetime.": "不是有效的日期时间（ISO 8601）。",
    "Not a valid UUID.": "不是有效的 UUID。",
    "Not a valid list.": "不是有效的列表。",
    "Not a valid mapping type.": "不是有效的对象。",
    "Not a valid email address.": "不是有效的电子邮件地址。",
    "Unknown field.": "未知字段。",
    "Invalid input type.": "输入类型无效。",
    "Invalid value.": "取值无效。",
    "Invalid JSON body.": "JSON 格式错误。",
    "Shorter than minimum length {min}.": "长度不足。",
    "Length must be between {min} and {max}.": "长度不符合要求。",
    "Unknown, or not in your scope.": "不存在或不在您的管辖范围内。",
}


def translate_field_errors(errors, lang: str):
    """Translate marshmallow's field messages (recursively) when the client reads Chinese."""
    if isinstance(errors, Msg):
        return errors.pick(lang)
    if isinstance(errors, dict):
        return {key: translate_field_errors(value, lang) for key, value in errors.items()}
    if isinstance(errors, list):
        return [translate_field_errors(value, lang) for value in errors]
    if isinstance(errors, str) and lang != "en":
        return _FIELD_MESSAGES_ZH.get(errors, errors)
    return errors
