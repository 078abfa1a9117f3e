"""A shadowing task (跟岗) confirmed by the rep's manager or an admin, as a plain session function (no Context):
chat's 确认完成 / 还没有 buttons and 「通关确认 姓名」 (handlers/chat/ramp.py) and the console's 确认跟岗
(app/console/ramp.py) call it and apply its `Result` (bot/result.py); the news of a finished ramp-up too."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import RampSettings
from bot.context import UserInfo
from bot.messages import Text
from bot.org import manages
from bot.result import Result, said
from bot.usertext import user_text
from handlers.ramp import service
from handlers.ramp.service import Progress, RampError
from storage.models import User

NO_SUCH_PERSON = "找不到这位同事。"


def completion(actor_id: str, found: Progress, cfg: RampSettings, now: datetime, into: Result | None = None
               ) -> Result:
    """The ramp-up of `found` is complete: the rep and their manager hear of it (as a reply when the one who
    finished it is them), added to `into` (what finished it)."""
    into = into if into is not None else Result(changed=True)
    text = f"🎉 恭喜通关！新人通关 {found.total} 关全部完成，{service.unlocked_text(cfg)}。"
    if found.user_id == actor_id:
        into.more.append(Text(text))
    else:
        into.sends.append((found.user_id, Text(text), f"ramp:done:{found.user_id}:{now.isoformat()}"))
    done = f"🎉 {user_text(found.name)} 完成了新人通关（{found.total} 关），{service.unlocked_text(cfg)}。"
    if found.manager_id == actor_id:
        into.more.append(Text(done))
    elif found.manager_id:
        into.sends.append((found.manager_id, Text(done), f"ramp:done-mgr:{found.user_id}:{now.isoformat()}"))
    return into


async def confirm(session: AsyncSession, actor: UserInfo, rep_id: str, task_id: int, ok: bool, now: datetime,
                  cfg: RampSettings) -> Result:
    """The verdict of the rep's manager (or an admin) on the rep's shadowing task `task_id`: done (the task
    passes, perhaps the whole ramp-up) or not yet (back to open); the rep hears of it."""
    rep = await session.get(User, rep_id)
    if rep is None:
        return said(NO_SUCH_PERSON)
    if not manages(actor, rep):
        return said(f"只有 {user_text(rep.name)} 的主管或管理员可以确认。")
    try:
        row = await service.mark(session, rep.id, task_id, now)
    except RampError:
        return said("这一关已不在他的通关路径里了。")
    found = await service.progress(session, rep.id, cfg)
    task = next((t for t in found.tasks if t.id == task_id), None) if found else None
    if found is None or task is None or task.kind != "shadow":
        return said("这不是跟岗任务。")
    name, by = user_text(rep.name), user_text(actor.name)
    if row.status == "done":
        return Result(reply=Text(f"{name} 的「{task.spec.what}」已经确认过了。"), card_status="已确认")
    if not ok:
        row.status, row.updated_at = "open", now
        back = f"{by} 认为跟岗任务「{task.spec.what}」还没完成，完成后再点「请主管确认」。"
        return Result(reply=Text(f"已告诉 {name}「{task.spec.what}」还没完成。"), card_status="已退回", changed=True,
                      sends=[(rep.id, Text(back), f"ramp:no:{rep.id}:{task_id}:{now.isoformat()}")])
    completed = await service.finish_task(session, row, now, cfg, by=actor.id)
    result = Result(reply=Text(f"已确认 {name} 完成「{task.spec.what}」（新人通关 {found.done + 1}/{found.total}）。"),
                    card_status="已确认完成", changed=True,
                    sends=[(rep.id, Text(f"✅ {by} 确认了你的跟岗任务「{task.spec.what}」。"),
                            f"ramp:ok:{rep.id}:{task_id}:{now.isoformat()}")])
    return completion(actor.id, completed, cfg, now, result) if completed is not None else result
