"""HTTP callback signature: Base64(HmacSHA256(key=appSecret, msg=timestamp + "\\n" + appSecret)).

DingTalk sends the `timestamp` (ms) and `sign` headers; requests more than one hour away from our
clock, or with a sign that does not match, are refused.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from typing import Literal

WINDOW_MS = 3600 * 1000  # DingTalk: reject when the timestamp differs from now by more than 1 hour

SignCheck = Literal["ok", "missing", "malformed", "stale", "forged"]
SIGN_SHAPE = re.compile(r"[A-Za-z0-9+/]{43}=")  # Base64 of a 32-byte HMAC-SHA256, ASCII only


def compute_sign(timestamp: str, secret: str) -> str:
    digest = hmac.new(secret.encode(), f"{timestamp}\n{secret}".encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def check_sign(timestamp: str | None, sign: str | None, secret: str, now_ms: int, window_ms: int = WINDOW_MS
               ) -> SignCheck:
    """"ok", or why the request must be refused."""
    if not timestamp or not sign:
        return "missing"
    if not (timestamp.isascii() and timestamp.isdigit()) or len(timestamp) > 16:  # isdigit passes "²" and "１"
        return "malformed"
    if not SIGN_SHAPE.fullmatch(sign):  # also keeps non-ASCII out of the byte comparison below
        return "malformed"
    if abs(now_ms - int(timestamp)) > window_ms:
        return "stale"
    if not hmac.compare_digest(compute_sign(timestamp, secret).encode("ascii"), sign.encode("ascii")):
        return "forged"
    return "ok"
