"""The daily anchor: the head of the tamper-evident record goes to every admin in chat once a day (from
`[audit] anchor_time`), and is kept as `kv` row audit_anchor:<date>. A history rewritten later no longer contains
that hash; `salesbot audit verify --anchor SEQ:HASH` with the value from the chat finds it (docs/audit.md)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.clock import fmt_cn, parse_hhmm, to_cn
from bot.messages import Outbound, Text
from bot.org import active_admins
from storage import chain
from storage.models import KeyValue
from storage.sql import insert_ignore

if TYPE_CHECKING:
    from bot.services import Services

SHOWN_HEX = 16


def anchor_text(seq: int, digest: str, when: str) -> str:
    groups = " ".join(digest[i:i + 4] for i in range(0, SHOWN_HEX, 4))
    return (f"🔏 存证锚点（{when}）：记录共 {seq} 条，最新指纹 {seq}:{groups}\n"
            f"请保留这条消息：日后核对时，记录若被改写，指纹将对不上。")


def anchor_due(services: Services) -> str | None:
    """Today's date (local) when the anchor time has passed, else None."""
    at = services.settings.audit.anchor_time
    if not at:
        return None
    local = to_cn(services.clock.now())
    return local.date().isoformat() if local.time() >= parse_hhmm(at) else None


async def send_due_anchor(services: Services) -> int:
    """Once per day: claim the day's kv row, message every active admin. Returns how many were queued."""
    day = anchor_due(services)
    if day is None:
        return 0
    now = services.clock.now()
    async with services.outbox.sending() as out:
        session = out.session
        if await session.get(KeyValue, chain.ANCHOR_PREFIX + day) is not None:
            return 0
        last = await chain.head(session)
        if last is None:
            return 0
        claimed = await session.execute(insert_ignore(session, KeyValue).values(
            key=chain.ANCHOR_PREFIX + day, value={"seq": last[0], "hash": last[1]}, updated_at=now))
        if getattr(claimed, "rowcount", 1) == 0:  # another process claimed the day first
            return 0
        text = anchor_text(last[0], last[1], fmt_cn(now))
        return await out.add(Outbound(a, Text(text), dedup_key=f"audit:anchor:{day}:{a}")
                             for a in await active_admins(session))
