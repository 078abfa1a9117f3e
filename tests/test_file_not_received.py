"""A file that did not reach the bot (too large, download failed) gets a Chinese reason, never the channel's code,
and starts no import (audit 20 L2: 「文件没有收到（too_large）」)."""

from __future__ import annotations

import itertools
import re

import pytest
from sqlalchemy import func, select

from bot.dispatch import dispatch
from bot.messages import Inbound
from bot.services import Services
from storage.models import KnowledgeCard
from tests.conftest import Transcript

_ids = itertools.count()


@pytest.mark.parametrize(("error", "expected"), [("too_large", "文件太大，没有收到。请拆成几个小文件再发。"),
                                                 ("download_failed", "文件没有收到，请重新发送。"),
                                                 (None, "文件没有收到，请重新发送。")])
async def test_admin_told_why_a_card_file_did_not_arrive(services: Services, transcript: Transcript,
                                                         error: str | None, expected: str) -> None:
    async with services.db.session() as session:
        before = await session.scalar(select(func.count()).select_from(KnowledgeCard))
    sent = Inbound(channel="console", user_id="admin01", msg_id=f"nr-{next(_ids)}", kind="file",
                   received_at=services.clock.now(), file_name="季度话术.xlsx", data=None, data_error=error)
    await dispatch(services, sent)
    await services.outbox.drain()
    said = [m["text"] for m in transcript.to("admin01")]
    assert said == [expected]
    assert not re.search(r"[A-Za-z_]", said[0])
    async with services.db.session() as session:
        assert await session.scalar(select(func.count()).select_from(KnowledgeCard)) == before
