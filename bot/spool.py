"""A local durable spool for inbound claims while the database cannot take them.

A callback is ACKed only after its claim is durable. When the claims database is unreachable (an outage longer
than WeCom's ~15 s of retries lost callbacks), the verified claim is appended to a JSON-lines file on local disk
instead (fsync'd before the ACK) and the callback is answered as accepted. Once the database answers again, the
intake drains the spool: each entry is claimed in the database as a fresh callback would be (a repeat of a message
some other instance or an earlier delivery already claimed is dropped there), then handed to its channel's
replayer. Entries stay on disk until that is done, so a crash meanwhile loses nothing either.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path

log = logging.getLogger(__name__)

Claim = Callable[[str, str, datetime, str | None], Awaitable[bool]]  # → True the first time
Replay = Callable[[str, str], Awaitable[bool]]  # (channel, payload) → False: no room yet


class ClaimSpool:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.entries: dict[tuple[str, str], dict[str, str | None]] = {}  # (channel, msg_id) → entry
        self._lock = asyncio.Lock()
        self._load()

    def __len__(self) -> int:
        return len(self.entries)

    def _load(self) -> None:
        if not self.path.exists():
            return
        for line in self.path.read_text(encoding="utf-8").splitlines():
            try:
                entry = json.loads(line)
                self.entries[(entry["channel"], entry["msg_id"])] = entry
            except (ValueError, KeyError, TypeError):  # a line cut short by a crash mid-write
                log.warning("claim spool %s: unreadable line skipped", self.path)
        if self.entries:
            log.warning("claim spool %s: %d callback(s) from before a restart wait for the database",
                        self.path, len(self.entries))

    async def add(self, channel: str, msg_id: str, received_at: datetime, payload: str | None) -> bool:
        """Keep a claim on disk (durable when this returns); False when this message is spooled already."""
        key = (channel, msg_id)
        async with self._lock:
            if key in self.entries:
                return False
            entry = {"channel": channel, "msg_id": msg_id, "received_at": received_at.isoformat(), "payload": payload}
            line = json.dumps(entry, ensure_ascii=False) + "\n"
            await asyncio.get_running_loop().run_in_executor(None, self._append, line)
            self.entries[key] = entry
        return True

    def _append(self, line: str) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8") as f:
            f.write(line)
            f.flush()
            os.fsync(f.fileno())

    async def drain(self, claim: Claim, replay: Replay) -> int:
        """Claim and replay spooled callbacks, oldest first, until done or the database fails again; returns how
        many were handed on. Raises what the database raised (the caller tries again later)."""
        handed = 0
        async with self._lock:
            try:
                for key, entry in list(self.entries.items()):
                    channel, msg_id, payload = entry["channel"], entry["msg_id"], entry["payload"]
                    received = datetime.fromisoformat(str(entry["received_at"]))
                    if await claim(str(channel), str(msg_id), received, payload) and payload is not None:
                        if not await replay(str(channel), payload):
                            break  # no room now: the claim stands, the replay sweep hands it on later
                        handed += 1
                    del self.entries[key]
            finally:
                await asyncio.get_running_loop().run_in_executor(None, self._rewrite)
        if handed:
            log.info("claim spool: %d callback(s) kept during a database outage handed on", handed)
        return handed

    def _rewrite(self) -> None:
        if not self.entries:
            self.path.unlink(missing_ok=True)
            return
        tmp = self.path.with_suffix(".tmp")
        with tmp.open("w", encoding="utf-8") as f:
            f.writelines(json.dumps(e, ensure_ascii=False) + "\n" for e in self.entries.values())
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.path)
