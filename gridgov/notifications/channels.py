"""Sending one message to one external channel. No Flask import.

Every message carries the outbox id, so receivers can drop repeats (delivery is at least once).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import urllib.parse

import requests

from gridgov.egress import blocked_reason


class DeliveryError(Exception):
    """The channel did not accept the message; it will be retried."""


def _post(
    session: requests.Session, url: str, body: bytes, headers: dict, timeout: float
) -> requests.Response:
    try:
        response = session.post(
            url,
            data=body,
            headers={"Content-Type": "application/json", **headers},
            timeout=timeout,
            allow_redirects=False,  # a redirect could send the body anywhere, intranet included
        )
    except requests.RequestException as exc:
        raise DeliveryError(blocked_reason(exc) or type(exc).__name__) from exc
    if response.status_code >= 300:
        raise DeliveryError(f"HTTP {response.status_code}")  # the status line only, never the body
    return response


def sign_webhook(secret: str, timestamp: str, body: bytes) -> str:
    """HMAC-SHA256 over "<timestamp>.<body>", hex: what X-Gridgov-Signature carries."""
    return hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


def send_webhook(session, url: str, secret: str | None, payload: dict, timeout: float = 5.0) -> None:
    """A generic JSON webhook, signed when the channel has a secret."""
    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
    timestamp = str(int(time.time()))  # the wall clock: receivers check it against theirs
    headers = {"X-Gridgov-Timestamp": timestamp, "X-Gridgov-Delivery": str(payload["id"])}
    if secret:
        headers["X-Gridgov-Signature"] = "sha256=" + sign_webhook(secret, timestamp, body)
    _post(session, url, body, headers, timeout)


def _robot_result(response: requests.Response) -> None:
    try:
        code = response.json().get("errcode", 0)
    except ValueError as exc:
        raise DeliveryError("not JSON") from exc
    if code != 0:
        raise DeliveryError(f"errcode {code}")


def send_wecom(session, url: str, text: str, timeout: float = 5.0) -> None:
    """WeCom (企业微信) group robot: the key is part of the URL."""
    body = json.dumps({"msgtype": "text", "text": {"content": text}}, ensure_ascii=False).encode()
    _robot_result(_post(session, url, body, {}, timeout))


def dingtalk_url(url: str, secret: str | None, now_ms: int | None = None) -> str:
    """DingTalk (钉钉) custom robot URL with its signed timestamp when a secret is set."""
    if not secret:
        return url
    timestamp = str(now_ms or int(time.time() * 1000))  # DingTalk refuses one an hour off its clock
    digest = hmac.new(secret.encode(), f"{timestamp}\n{secret}".encode(), hashlib.sha256).digest()
    sign = urllib.parse.quote_plus(base64.b64encode(digest))
    return f"{url}{'&' if '?' in url else '?'}timestamp={timestamp}&sign={sign}"


def send_dingtalk(session, url: str, secret: str | None, text: str, timeout: float = 5.0) -> None:
    body = json.dumps({"msgtype": "text", "text": {"content": text}}, ensure_ascii=False).encode()
    _robot_result(_post(session, dingtalk_url(url, secret), body, {}, timeout))
