"""Chat routes of the renewal warning: the card's buttons (已联系 / 提交续签证明 / 申请主管介入 / 解除锁定) and a
contracts or payments file an admin sends (recognised by its headers, before the knowledge import looks at it)."""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path

from sqlalchemy import or_, select

from bot.actions import RenewalContacted, RenewalHelp, RenewalLift, RenewalProof
from bot.context import Context
from bot.jobs import Progress, start_import
from bot.messages import Inbound, Markdown, Text
from bot.router import Router
from bot.usertext import user_text
from handlers.chat.leads import await_evidence
from handlers.leads.permissions import lead_for
from handlers.renewals import locks
from handlers.renewals.importer import import_files
from handlers.renewals.scan import today_of
from handlers.renewals.sheet import peek_kind
from reminders import messages
from reminders.directory import load_directory
from reminders.messages import lead_label
from storage.activity import add_activity
from storage.models import Contract, Lead, RenewalWarning, User

router: Router[Context] = Router("renewals")

SUFFIXES = (".csv", ".xlsx")
GONE = "这条续约预警不存在，或你没有查看权限。"
DONE = {"proof": "已提交续签证明", "lifted": "主管已解除锁定"}


# -- a contracts or payments file ------------------------------------------------------------------------
def _peek(data: bytes, name: str) -> str | None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / Path(name).name
        path.write_bytes(data)
        return peek_kind(path)


async def _is_contract_file(ctx: Context, msg: Inbound) -> bool:
    name = msg.file_name or ""
    if Path(name).suffix.lower() not in SUFFIXES or not msg.data:
        return False
    return await asyncio.get_running_loop().run_in_executor(None, _peek, msg.data, name) is not None


NOT_ADMIN = "抱歉，只有管理员可以导入合同和回款。请把文件发给管理员 🙏"


@router.file(when=_is_contract_file, roles={"admin"}, refusal=NOT_ADMIN)
async def import_contracts(ctx: Context, msg: Inbound) -> None:
    name, data, now, services = Path(msg.file_name or "contracts.csv").name, msg.data or b"", ctx.now(), ctx.services

    async def work(progress: Progress) -> list[str]:
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / name
            await asyncio.get_running_loop().run_in_executor(None, path.write_bytes, data)
            reports, warnings = await import_files(services.db, services.settings, [path], now, [name],
                                                   landed=progress.landed, total=progress.set_total)
        lines = reports[0].lines()
        if warnings:
            lines.append(f"⚠️ 续约预警：新发出 {warnings} 条，已通知负责人和主管。")
            services.wake_outbox()
        return lines

    start_import(ctx, name, work)


# -- 续约: the open warnings ------------------------------------------------------------------------------
@router.command("续约", "续约预警")
async def open_warnings(ctx: Context, msg: Inbound) -> None:
    """A rep's own open warnings; a manager's team's; an admin's all."""
    session, user = await ctx.db(), ctx.user
    stmt = (select(RenewalWarning, Contract, Lead).join(Contract, Contract.id == RenewalWarning.contract_id)
            .join(Lead, Lead.id == RenewalWarning.lead_id).where(RenewalWarning.status.in_(locks.ACTIVE))
            .order_by(Contract.end_on, RenewalWarning.id))
    if user.role == "rep":
        stmt = stmt.where(RenewalWarning.owner_id == user.id)
    elif user.role == "manager":
        team = select(User.id).where(User.manager_id == user.id).scalar_subquery()
        stmt = stmt.where(or_(RenewalWarning.owner_id.in_(team), RenewalWarning.owner_id == user.id))
    rows = (await session.execute(stmt.limit(30))).all()
    if not rows:
        ctx.reply(Text("没有待处理的续约预警 👍"))
        return
    today = today_of(ctx.now())
    lines = []
    for warning, contract, lead in rows:
        state = "已联系，待续签证明" if warning.status == "contacted" else "待处理"
        lines.append(f"- {'🔒 ' if warning.locked else ''}{lead_label(lead)} · 合同 {contract.end_on.isoformat()} 到期"
                     f"（还剩 {max((contract.end_on - today).days, 0)} 天）· 健康分 {warning.health} · {state}")
    lines.append("提交续签证明：发送「证据 <编号>」后发来续签合同或回款凭证。")
    ctx.reply(Markdown(title="⚠️ 续约预警", text="\n".join(lines)))


# -- the card's buttons -------------------------------------------------------------------------------------
async def _warning(ctx: Context, warning_id: int) -> tuple[RenewalWarning, Lead] | None:
    """The warning and its account's lead when the caller may see that lead; otherwise replies."""
    session = await ctx.db()
    warning = await session.get(RenewalWarning, warning_id)
    if warning is None:
        ctx.reply(Text(GONE))
        return None
    lead = await lead_for(ctx, warning.lead_id)
    return (warning, lead) if lead is not None else None


def _closed(ctx: Context, warning: RenewalWarning) -> bool:
    if warning.status in DONE:
        ctx.update_card(DONE[warning.status])
        ctx.reply(Text(f"这条续约预警已处理（{DONE[warning.status]}）。"))
        return True
    return False


@router.card_action(RenewalContacted)
async def contacted(ctx: Context, action: RenewalContacted) -> None:
    found = await _warning(ctx, action.warning_id)
    if found is None or _closed(ctx, found[0]):
        return
    warning, lead = found
    await locks.mark_contacted(await ctx.db(), warning, ctx.user.id, ctx.now())
    ctx.update_card(f"已联系（{user_text(ctx.user.name)}）")
    ctx.reply(Text(f"已记录：已联系客户（线索 #{lead.id}），续约预警的催办已停止。"
                   f"提交续签证明后锁定解除：点「提交续签证明」或发送「证据 {lead.id}」。"))


@router.card_action(RenewalProof)
async def proof(ctx: Context, action: RenewalProof) -> None:
    found = await _warning(ctx, action.warning_id)
    if found is None or _closed(ctx, found[0]):
        return
    await await_evidence(ctx, found[1])


@router.card_action(RenewalHelp)
async def ask_manager(ctx: Context, action: RenewalHelp) -> None:
    found = await _warning(ctx, action.warning_id)
    if found is None or _closed(ctx, found[0]):
        return
    warning, lead = found
    session = await ctx.db()
    people = await load_directory(session)
    bosses = [b for b in people.supervisors_of(warning.owner_id) if b != ctx.user.id]
    if not bosses:
        ctx.reply(Text("没有找到可以介入的主管，请联系管理员。"))
        return
    note = messages.renewal_escalated(lead, warning.id, people.name(warning.owner_id), asked=True)
    for boss in bosses:
        ctx.send(boss, note.body, key=f"renewal:{warning.id}:help:{boss}")
    add_activity(session, lead.id, ctx.user.id, "renewal_help", ctx.now(), "续约预警：申请主管介入",
                 warning_id=warning.id)
    ctx.update_card("已申请主管介入")
    ctx.reply(Text(f"已通知 {'、'.join(user_text(people.name(b)) for b in bosses)} 介入这条续约预警。"))


@router.card_action(RenewalLift, roles={"manager", "admin"})
async def lift(ctx: Context, action: RenewalLift) -> None:
    found = await _warning(ctx, action.warning_id)
    if found is None:
        return
    warning, lead = found
    if not await locks.lift(await ctx.db(), warning, ctx.user.id, ctx.now()):
        ctx.update_card("锁定已解除")
        ctx.reply(Text("这条续约预警已经没有锁定了。"))
        return
    ctx.update_card(f"已解除锁定（{user_text(ctx.user.name)}）")
    ctx.reply(Text(f"已解除线索 #{lead.id} 客户的续约预警锁定，负责人可以继续操作。"))
    if warning.owner_id and warning.owner_id != ctx.user.id:
        ctx.send(warning.owner_id, Text(f"🔓 {user_text(ctx.user.name)} 已解除客户 #{lead.id} 的续约预警锁定，"
                                        f"可以继续操作这个客户的线索了。"), key=f"renewal:{warning.id}:lifted")
