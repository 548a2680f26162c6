"""Personal fields encrypted at rest with a key from the environment (never from the database).

Fernet (AES-128-CBC with HMAC-SHA256, from `cryptography`). A keyed hash of the phone number lets
the rate limiter and duplicate checks match phones without decrypting anything.
"""

from __future__ import annotations

import hashlib
import hmac

from cryptography.fernet import Fernet, InvalidToken
from flask import current_app


def _key() -> bytes:
    return current_app.config["PII_KEY"].encode()


def encrypt(value: str | None) -> bytes | None:
    if value is None or value == "":
        return None
    return Fernet(_key()).encrypt(value.encode())


def decrypt(token: bytes | None) -> str | None:
    if token is None:
        return None
    try:
        return Fernet(_key()).decrypt(bytes(token)).decode()
    except InvalidToken as exc:
        raise RuntimeError("personal data cannot be decrypted with the configured GRIDGOV_PII_KEY") from exc


def blind_index(value: str) -> str:
    """A keyed hash for equality lookups (phones), useless without the key."""
    secret = hashlib.sha256(b"blind-index" + _key()).digest()
    return hmac.new(secret, value.encode(), hashlib.sha256).hexdigest()
