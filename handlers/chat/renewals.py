"""Chat routes of the renewal warning: the card's buttons (已联系 / 提交续签证明 / 申请主管介入 / 解除锁定) and a
contracts or payments file an admin sends (recognised by its headers, before the knowledge import looks at it)."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select

from bot.actions import RenewalContacted, RenewalHelp, RenewalLift, RenewalProof
from bot.clock import fmt_cn
from bot.context import Context
from bot.jobs import ImportJob, ImportKind, Progress, Work, start_import, uploaded_file
from bot.messages import Button, Card, Inbound, Markdown, Text
from bot.router import Router
from bot.services import Services
from bot.usertext import user_text
from handlers.chat.leads import await_evidence
from handlers.leads.chat_gate import command_arg, lead_for
from handlers.leads.permissions import renewals_visible
from handlers.renewals import locks
from handlers.renewals.importer import import_files
from handlers.renewals.scan import outcome_lines, today_of
from handlers.renewals.sheet import peek_kind
from reminders import messages
from reminders.directory import load_directory
from reminders.messages import lead_label
from reminders.policies import RENEWAL
from reminders.store import cancel_timers
from storage.activity import add_activity
from storage.models import Contract, Lead, RenewalWarning

router: Router[Context] = Router("renewals")

SUFFIXES = (".csv", ".xlsx")
GONE = locks.GONE
DONE = {"proof": "已提交续签证明", "lifted": "主管已解除锁定", "withdrawn": "已回款，预警撤回"}


# -- a contracts or payments file ------------------------------------------------------------------------
async def _is_contract_file(ctx: Context, msg: Inbound) -> bool:
    name = msg.file_name or ""
    if Path(name).suffix.lower() not in SUFFIXES or not msg.data:
        return False
    async with uploaded_file(msg.data, name) as path:
        return await asyncio.get_running_loop().run_in_executor(None, peek_kind, path) is not None


NOT_ADMIN = "抱歉，只有管理员可以导入合同和回款。请把文件发给管理员 🙏"


@router.file(when=_is_contract_file, roles={"admin"}, refusal=NOT_ADMIN)
async def import_contracts(ctx: Context, msg: Inbound) -> None:
    await start_import(ctx, "contracts", Path(msg.file_name or "contracts.csv").name, msg.data or b"")


def contracts_import(services: Services, job: ImportJob) -> Work:
    """Contracts or payments, a transaction per chunk; run again after a crash, the rows written come out unchanged."""

    async def work(progress: Progress) -> list[str]:
        async with uploaded_file(job.data, job.name) as path:
            reports, outcome = await import_files(services.db, services.settings, [path], job.started, [job.name],
                                                  landed=progress.landed, total=progress.set_total)
        lines = reports[0].lines() + outcome_lines(outcome)
        if outcome.new or outcome.withdrawn:
            services.wake_outbox()
        return lines

    return work


CONTRACTS_IMPORT = ImportKind(contracts_import)  # registered at the services' build: handlers.build_imports


# -- 续约: the warnings of the caller's scope -----------------------------------------------------------------
RESOLVED_SHOWN = timedelta(days=7)  # a warning answered or lifted stays on 续约 this long, marked done
MAX_ACTION_CARDS = 3  # the list is followed by a card with buttons for each of its first open warnings
STATE = {"open": "待处理", "contacted": "已联系，待续签证明"}
Row = tuple[RenewalWarning, Contract, Lead]


_ROWS = (select(RenewalWarning, Contract, Lead).join(Contract, Contract.id == RenewalWarning.contract_id)
         .join(Lead, Lead.id == RenewalWarning.lead_id))


async def _open_rows(ctx: Context) -> list[Row]:
    """The caller's open warnings in the order 续约 numbers them (soonest end first)."""
    stmt = (_ROWS.where(RenewalWarning.status.in_(locks.ACTIVE), renewals_visible(ctx.user))
            .order_by(Contract.end_on, RenewalWarning.id))
    return [(w, c, ld) for w, c, ld in (await (await ctx.db()).execute(stmt.limit(30))).all()]


async def _resolved_rows(ctx: Context) -> list[Row]:
    since = ctx.now() - RESOLVED_SHOWN
    stmt = (_ROWS.where(RenewalWarning.status.in_(tuple(DONE)), RenewalWarning.resolved_at >= since,
                        renewals_visible(ctx.user)).order_by(RenewalWarning.resolved_at.desc()))
    return [(w, c, ld) for w, c, ld in (await (await ctx.db()).execute(stmt.limit(10))).all()]


_customer = locks.customer_of


@router.command("续约", "续约预警")
async def open_warnings(ctx: Context, msg: Inbound) -> None:
    """The open warnings by their lead numbers (what a typed action names), each with its actions (typed or by
    the cards that follow); the ones answered or lifted lately, marked done. A manager sees whose each is."""
    rows, resolved = await _open_rows(ctx), await _resolved_rows(ctx)
    if not rows and not resolved:
        ctx.reply(Text("没有待处理的续约预警 👍"))
        return
    today = today_of(ctx.now())
    owners = await _owner_names(ctx, rows)
    lines = [f"- {'🔒 ' if w.locked else ''}{lead_label(lead)}{owners.get(w.owner_id or '', '')} · 合同 "
             f"{c.end_on.isoformat()} 到期（还剩 {max((c.end_on - today).days, 0)} 天）· 健康分 {w.health} · "
             f"{STATE.get(w.status, '待处理')}" for w, c, lead in rows]
    if not rows:
        lines.append("没有待处理的续约预警 👍")
    else:
        n = rows[0][2].id
        last = f"「解除锁定 {n}」" if ctx.user.is_manager else f"「申请主管介入 {n}」"
        lines.append(f"处理：点下方卡片的按钮，或回复「已联系 {n}」、「提交续签证明 {n}」、{last}"
                     f"（数字是线索编号，也可以写客户名）。")
    if resolved:
        lines.append(f"**近 {RESOLVED_SHOWN.days} 天已处理**")
        lines += [f"- ✅ {lead_label(lead)} · {DONE[w.status]}（{fmt_cn(w.resolved_at)}）"
                  for w, _, lead in resolved if w.resolved_at is not None]
    ctx.reply(Markdown(title="⚠️ 续约预警", text="\n".join(lines)))
    for w, _, lead in rows[:MAX_ACTION_CARDS]:
        ctx.reply(_action_card(ctx, w, lead, owners.get(w.owner_id or "", "")))


async def _owner_names(ctx: Context, rows: list[Row]) -> dict[str, str]:
    """For a manager or admin: each owner id → 「 · 负责人 张伟」; a rep's own list names nobody."""
    if not ctx.user.is_manager or not rows:
        return {}
    people = await load_directory(await ctx.db())
    return {w.owner_id: f" · 负责人 {user_text(people.name(w.owner_id))}" for w, _, _ in rows if w.owner_id}


def _action_card(ctx: Context, warning: RenewalWarning, lead: Lead, owner: str = "") -> Card:
    last: tuple[Button, ...] = (  # a manager lifts the lock; he does not ask himself to step in
        ((Button(RenewalLift(warning.id).pack(), "解除锁定", "danger"),) if warning.locked else ())
        if ctx.user.is_manager else (Button(RenewalHelp(warning.id).pack(), "申请主管介入"),))
    first = () if warning.status == "contacted" else (Button(RenewalContacted(warning.id).pack(), "已联系", "primary"),)
    return Card(title=f"续约预警 · #{lead.id} {_customer(lead)}", description=f"{lead_label(lead)}{owner}",
                buttons=(*first, Button(RenewalProof(warning.id).pack(), "提交续签证明"), *last))


# -- which warning a typed 「已联系 1」 / 「已联系 李明」 means -----------------------------------------------------
async def _typed(ctx: Context, msg: Inbound, *words: str) -> tuple[RenewalWarning, Lead] | None:
    """The warning a typed action names by its lead number (as 续约 shows it) or by its customer (the only one
    when it names none); otherwise replies what to write and returns None."""
    arg = (command_arg(msg.text, *words) or "").strip().lstrip("#").strip()
    rows = await _open_rows(ctx)
    word = words[0]
    if not rows:
        ctx.reply(Text("没有待处理的续约预警。记录一次跟进请发「跟进 <线索编号> <内容>」。"))
        return None
    if not arg and len(rows) == 1:
        return rows[0][0], rows[0][2]
    listed = "；".join(f"#{r[2].id} {_customer(r[2])}" for r in rows)
    example = f"「{word} {rows[0][2].id}」"
    if arg.isdigit():
        found = next((r for r in rows if r[2].id == int(arg)), None)
        if found is not None:
            return found[0], found[2]
        ctx.reply(Text(f"续约预警里没有线索 #{int(arg)}。现有：{listed}"))
        return None
    hits = [r for r in rows if arg and _names(r, arg)]
    if len(hits) == 1:
        return hits[0][0], hits[0][2]
    if hits:
        listed = "；".join(f"#{r[2].id} {_customer(r[2])}" for r in hits)
    if not arg:
        ctx.reply(Text(f"有 {len(rows)} 条续约预警，请写上线索编号或客户名，例如{example}：{listed}"))
    elif hits:
        ctx.reply(Text(f"「{user_text(arg)}」对应多条续约预警，请写线索编号，例如{example}：{listed}"))
    else:
        ctx.reply(Text(f"续约预警里没有客户「{user_text(arg)}」。现有：{listed}"))
    return None


def _names(row: Row, arg: str) -> bool:
    _, contract, lead = row
    names = {lead.customer_name, lead.company, contract.customer, contract.company} - {None, ""}
    return any(arg == n or (len(arg) >= 2 and arg in str(n)) for n in names)


# -- the actions: by the card's buttons, by the list's cards, or typed ---------------------------------------
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


async def _open_one(ctx: Context, warning_id: int) -> tuple[RenewalWarning, Lead] | None:
    found = await _warning(ctx, warning_id)
    return None if found is None or _closed(ctx, found[0]) else found


async def _contacted(ctx: Context, warning: RenewalWarning, lead: Lead) -> None:
    await locks.mark_contacted(await ctx.db(), warning, ctx.user.id, ctx.now())
    ctx.update_card(f"已联系（{user_text(ctx.user.name)}）")
    ctx.reply(Text(f"已记录：已联系客户 {_customer(lead)}（线索 #{lead.id}），续约预警的催办已停止。"
                   f"提交续签证明后锁定解除：点「提交续签证明」或发送「证据 {lead.id}」。"))


async def _ask_manager(ctx: Context, warning: RenewalWarning, lead: Lead) -> None:
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
    await cancel_timers(session, warning.lead_id, ctx.now(), (RENEWAL,))  # the manager is in: the ladder's work is done
    ctx.update_card("已申请主管介入")
    ctx.reply(Text(f"已通知 {'、'.join(user_text(people.name(b)) for b in bosses)} 介入客户 {_customer(lead)} "
                   f"的续约预警。"))


async def _lift(ctx: Context, warning: RenewalWarning, lead: Lead) -> None:
    ctx.apply(await locks.lift_lock(await ctx.db(), ctx.user, warning, lead, ctx.now()))


@router.card_action(RenewalContacted)
async def contacted(ctx: Context, action: RenewalContacted) -> None:
    found = await _open_one(ctx, action.warning_id)
    if found is not None:
        await _contacted(ctx, *found)


@router.command("已联系")
async def contacted_typed(ctx: Context, msg: Inbound) -> None:
    found = await _typed(ctx, msg, "已联系")
    if found is not None:
        await _contacted(ctx, *found)


@router.card_action(RenewalProof)
async def proof(ctx: Context, action: RenewalProof) -> None:
    found = await _open_one(ctx, action.warning_id)
    if found is not None:
        await await_evidence(ctx, found[1])


@router.command("提交续签证明", "续签证明")
async def proof_typed(ctx: Context, msg: Inbound) -> None:
    found = await _typed(ctx, msg, "提交续签证明", "续签证明")
    if found is not None:
        await await_evidence(ctx, found[1])


@router.card_action(RenewalHelp)
async def ask_manager(ctx: Context, action: RenewalHelp) -> None:
    found = await _open_one(ctx, action.warning_id)
    if found is not None:
        await _ask_manager(ctx, *found)


@router.command("申请主管介入")
async def ask_manager_typed(ctx: Context, msg: Inbound) -> None:
    found = await _typed(ctx, msg, "申请主管介入")
    if found is not None:
        await _ask_manager(ctx, *found)


@router.command("解除锁定", roles={"manager", "admin"}, refusal="只有主管或管理员可以解除续约预警的锁定。")
async def lift_typed(ctx: Context, msg: Inbound) -> None:
    found = await _typed(ctx, msg, "解除锁定")
    if found is not None:
        await _lift(ctx, *found)


@router.card_action(RenewalLift, roles={"manager", "admin"})
async def lift(ctx: Context, action: RenewalLift) -> None:
    found = await _warning(ctx, action.warning_id)
    if found is not None:
        await _lift(ctx, *found)
