"""Console login links: signed, single-use, bound to one user, valid 10 minutes.

A link is `<public_url>/admin/login?t=<payload>.<signature>`; the payload names the user, a random nonce
and the expiry, and the signature is HMAC-SHA256 with a secret kept in the database (created on first use),
so any process on the same database (`salesbot serve`, `salesbot chat`, `salesbot admin link`) issues links
the others accept, and no secret has to be configured. Redeeming writes the nonce (a UNIQUE key): a link
works once, whichever process sees it first.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import KeyValue, User
from storage.sql import insert_ignore, rowcount

LINK_TTL = timedelta(minutes=10)
SECRET_KEY = "console:secret"
USED_PREFIX = "console:link:"
CONSOLE_ROLES = ("manager", "admin")


@dataclass(frozen=True)
class Redeemed:
    user_id: str | None  # None: refused, `reason` says why (for the log and the page)
    reason: str = ""
    named: str | None = None  # a refused genuine link's user (expired, reused): for the log line


async def console_secret(session: AsyncSession, now: datetime) -> bytes:
    """The database's signing secret (random, made by whichever process needs it first)."""
    await session.execute(insert_ignore(session, KeyValue).values(
        key=SECRET_KEY, value={"hex": secrets.token_hex(32)}, updated_at=now))
    value = await session.scalar(select(KeyValue.value).where(KeyValue.key == SECRET_KEY))
    return bytes.fromhex(str((value or {})["hex"]))


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _sign(secret: bytes, payload: str) -> str:
    return _b64(hmac.new(secret, payload.encode(), hashlib.sha256).digest())


async def issue_token(session: AsyncSession, user_id: str, now: datetime) -> str:
    payload = _b64(json.dumps({"u": user_id, "n": secrets.token_urlsafe(12),
                               "e": int((now + LINK_TTL).timestamp())}).encode())
    return f"{payload}.{_sign(await console_secret(session, now), payload)}"


def login_url(base_url: str, token: str) -> str:
    return f"{base_url.rstrip('/')}/admin/login?t={token}"


async def issue_link(session: AsyncSession, user_id: str, now: datetime, base_url: str) -> str | None:
    """A login link for an active manager or admin; None for anyone else."""
    user = await session.get(User, user_id)
    if user is None or not user.active or user.role not in CONSOLE_ROLES:
        return None
    return login_url(base_url, await issue_token(session, user_id, now))


async def _verified(session: AsyncSession, token: str, now: datetime) -> tuple[str, str] | Redeemed:
    """(user id, nonce) of a genuine, unexpired link, else the refusal."""
    payload, _, signature = (token or "")[:600].partition(".")
    if not payload or not signature:
        return Redeemed(None, "malformed")
    if not hmac.compare_digest(_sign(await console_secret(session, now), payload), signature):
        return Redeemed(None, "bad signature")
    try:
        data = json.loads(_unb64(payload))
        user_id, nonce, expires = str(data["u"]), str(data["n"]), int(data["e"])
    except (ValueError, KeyError, TypeError):
        return Redeemed(None, "malformed")
    if now.timestamp() > expires:
        return Redeemed(None, "expired", user_id)
    return user_id, nonce


async def check(session: AsyncSession, token: str, now: datetime) -> Redeemed:
    """Whether `token` would log in, without using it up (the page opening the link refuses a bad one)."""
    got = await _verified(session, token, now)
    if isinstance(got, Redeemed):
        return got
    user_id, nonce = got
    if await session.get(KeyValue, f"{USED_PREFIX}{nonce}"[:128]) is not None:
        return Redeemed(None, "already used", user_id)
    return Redeemed(user_id)


async def redeem(session: AsyncSession, token: str, now: datetime) -> Redeemed:
    """The user a valid, unused, unexpired link names (and the link used up), else why not."""
    got = await _verified(session, token, now)
    if isinstance(got, Redeemed):
        return got
    user_id, nonce = got
    used = await session.execute(insert_ignore(session, KeyValue).values(
        key=f"{USED_PREFIX}{nonce}"[:128], value={"user": user_id, "at": now.isoformat()}, updated_at=now))
    if not rowcount(used):
        return Redeemed(None, "already used", user_id)
    return Redeemed(user_id)
