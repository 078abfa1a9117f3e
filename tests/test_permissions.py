"""Permission matrix: every lead command and every lead button, tried as each user, on each kind of lead.

Allowed: a rep → own leads and own drafts; a manager → the team's leads and the pool (a lead released by
freezing only for the previous owner's manager); an admin → everything. For every other pair, nothing of the
lead may appear in any reply and the lead and its activities must be unchanged.
"""

from __future__ import annotations

import itertools

import pytest
from sqlalchemy import func, select

from bot.dispatch import dispatch
from bot.messages import Inbound
from bot.services import Services
from storage.models import Activity, Evidence, Lead
from tests.conftest import Transcript
from tests.leads_helpers import cn, seed_lead

USERS = ("rep01", "rep02", "rep04", "manager01", "manager02", "admin01")
# lead key → (secret customer name, phone, who may see it)
LEADS = {
    "own_rep01": ("甲秘密", "13900000001", {"rep01", "manager01", "admin01"}),
    "own_rep04": ("乙秘密", "13900000002", {"rep04", "manager02", "admin01"}),
    "draft_rep01": ("丙秘密", "13900000003", {"rep01", "admin01"}),
    "frozen_rep01": ("丁秘密", "13900000004", {"manager01", "admin01"}),
    "pool": ("戊秘密", "13900000005", {"manager01", "manager02", "admin01"}),
}
COMMANDS = ("线索 {id}", "跟进 {id} 已电话沟通", "阶段 {id} 2", "赢单 {id} 签了", "输单 {id} 没预算", "证据 {id}",
            "证据 {id} 已盖章", "改派 {id} rep02", "改派 {id}")
BUTTONS = ("lead:view:{id}", "lead:fu:{id}", "lead:next:{id}", "lead:won:{id}", "lead:lost:{id}", "lead:ev:{id}",
           "lead:reassign:{id}", "lead:to:{id}:rep02", "lead:confirm:{id}", "lead:drop:{id}")


async def _seed(services: Services) -> dict[str, int]:
    ids = {}
    for key, (name, phone, _) in LEADS.items():
        kw: dict[str, object] = {"customer_name": name, "phone": phone, "assigned_at": cn(23, 9)}
        if key == "own_rep01":
            ids[key] = await seed_lead(services, "rep01", **kw)
        elif key == "own_rep04":
            ids[key] = await seed_lead(services, "rep04", **kw)
        elif key == "draft_rep01":
            ids[key] = await seed_lead(services, None, status="draft", source="manual", **kw)
            async with services.db.session() as s:
                lead = await s.get(Lead, ids[key])
                assert lead is not None
                lead.created_by = "rep01"
        elif key == "frozen_rep01":
            ids[key] = await seed_lead(services, None, status="frozen",
                                       extra={"frozen": {"prev_owner": "rep01", "reason": "超时"}}, **kw)
        else:
            ids[key] = await seed_lead(services, None, **kw)
    return ids


async def _snapshot(services: Services, lead_id: int) -> tuple[object, ...]:
    async with services.db.session() as s:
        lead = await s.get(Lead, lead_id)
        assert lead is not None
        acts = (await s.execute(select(func.count()).select_from(Activity).where(Activity.lead_id == lead_id)))
        evs = (await s.execute(select(func.count()).select_from(Evidence).where(Evidence.lead_id == lead_id)))
        return (lead.owner_id, lead.status, lead.stage, lead.first_contact_at, lead.close_reason,
                acts.scalar_one(), evs.scalar_one())


_ids = itertools.count()


async def _send(services: Services, user: str, *, text: str = "", click: str | None = None) -> None:
    msg = Inbound(channel="console", user_id=user, msg_id=f"perm-{next(_ids)}", kind="click" if click else "text",
                  received_at=services.clock.now(), text=text, click_key=click, card_ref="ref" if click else None)
    await dispatch(services, msg)
    await services.outbox.drain()


@pytest.mark.parametrize("lead_key", list(LEADS))
async def test_nothing_leaks_to_the_wrong_user(services: Services, transcript: Transcript, lead_key: str) -> None:
    ids = await _seed(services)
    lead_id = ids[lead_key]
    name, phone, allowed = LEADS[lead_key]
    before = await _snapshot(services, lead_id)
    for user in USERS:
        if user in allowed:
            continue
        for template in COMMANDS:
            start = len(transcript)
            await _send(services, user, text=template.format(id=lead_id))
            replies = transcript[start:]
            assert replies, (user, template)
            for m in replies:
                blob = m["title"] + m["text"] + str(m["buttons"])
                if lead_key == "frozen_rep01" and user == "rep01" and m["to"] == "rep01":
                    assert phone not in blob  # the previous owner is told why (with the name), nothing more
                    continue
                assert name not in blob and phone not in blob, (user, template, m)
        for template in BUTTONS:
            start = len(transcript)
            await _send(services, user, click=template.format(id=lead_id))
            for m in transcript[start:]:
                blob = m["title"] + m["text"] + str(m["buttons"])
                if lead_key == "frozen_rep01" and user == "rep01" and m["to"] == "rep01":
                    assert phone not in blob
                    continue
                assert name not in blob and phone not in blob, (user, template, m)
        assert await _snapshot(services, lead_id) == before, (user, lead_key)


@pytest.mark.parametrize("lead_key", list(LEADS))
async def test_allowed_users_see_the_lead(services: Services, transcript: Transcript, lead_key: str) -> None:
    ids = await _seed(services)
    name, _, allowed = LEADS[lead_key]
    for user in allowed:
        start = len(transcript)
        await _send(services, user, text=f"线索 {ids[lead_key]}")
        assert any(name in m["title"] + m["text"] for m in transcript[start:]), (user, lead_key)


async def test_evidence_confirmation_only_by_the_owners_manager(services: Services, transcript: Transcript) -> None:
    ids = await _seed(services)
    lead_id = ids["own_rep01"]
    await _send(services, "rep01", text=f"证据 {lead_id} 合同已盖章")
    async with services.db.session() as s:
        ev = (await s.execute(select(Evidence).where(Evidence.lead_id == lead_id))).scalar_one()
    for user in ("manager02", "rep02", "rep01"):
        start = len(transcript)
        await _send(services, user, click=f"ev:ok:{ev.id}")
        assert all("甲秘密" not in m["text"] for m in transcript[start:])
    async with services.db.session() as s:
        assert (await s.get(Evidence, ev.id)).confirmed_by is None  # type: ignore[union-attr]
    await _send(services, "manager01", click=f"ev:ok:{ev.id}")
    async with services.db.session() as s:
        assert (await s.get(Evidence, ev.id)).confirmed_by == "manager01"  # type: ignore[union-attr]


async def test_my_leads_shows_only_own(services: Services, transcript: Transcript) -> None:
    await _seed(services)
    await _send(services, "rep02", text="我的线索")
    text = transcript.last("rep02")["text"]
    assert all(name not in text for name, _, _ in LEADS.values())
    await _send(services, "manager02", text="团队线索")
    text = transcript.last("manager02")["text"]
    assert "乙秘密" in text and "戊秘密" in text
    assert all(n not in text for n in ("甲秘密", "丙秘密", "丁秘密"))


async def test_a_role_refusal_is_said_once_in_the_same_words_on_every_path(services: Services,
                                                                          transcript: Transcript) -> None:
    """The route's roles are checked in one place (bot.dispatch.run_route): chat text and chat button refuse a
    rep's 改派 with the same single sentence; the web console's door turns a rep away, and the lead gate its actions
    run (permissions.gate) says the same sentence as chat; a card file from a rep gets the import's own words;
    nothing changes."""
    from bot import phrases as P
    from bot.actions import ReassignTo
    from bot.context import UserInfo
    from handlers.leads.permissions import gate
    from tests.console_support import start_client, token_for

    ids = await _seed(services)
    lead_id = ids["own_rep01"]
    before = await _snapshot(services, lead_id)
    for text, click in ((f"改派 {lead_id} rep02", None), ("", ReassignTo(lead_id, "rep02").pack())):
        transcript.clear()
        await _send(services, "rep01", text=text, click=click)
        assert [m["text"] for m in transcript.to("rep01")] == [P.MANAGER_ONLY]
    rep = UserInfo(id="rep01", name="张伟", role="rep", manager_id="manager01")
    async with services.db.session() as session:
        assert await gate(session, rep, lead_id, "manage") == P.MANAGER_ONLY
    client = await start_client(services)
    try:  # the console signs in managers and admins only: a rep's own link opens nothing, so nothing is posted
        link = await client.post("/admin/login", data={"t": await token_for(services, "rep01")}, allow_redirects=False)
        assert link.status == 403 and "主管和管理员" in await link.text()
        posted = await client.post(f"/admin/leads/{lead_id}", data={"action": "reassign", "rep": "rep02"})
        assert posted.status == 401
    finally:
        await client.close()
    transcript.clear()
    cards = "标题,话术\n嫌贵,先问预算\n".encode()
    card_file = Inbound(channel="console", user_id="rep01", msg_id=f"perm-{next(_ids)}", kind="file",
                        received_at=services.clock.now(), file_name="话术.csv", data=cards)
    await dispatch(services, card_file)
    await services.outbox.drain()
    said = [m["text"] for m in transcript.to("rep01")]
    assert said == ["抱歉，只有管理员可以导入话术知识库。需要更新话术请联系管理员 🙏"]
    assert await _snapshot(services, lead_id) == before
