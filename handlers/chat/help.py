"""帮助 and the welcome shown when someone opens the app."""

from __future__ import annotations

from bot.context import Context
from bot.messages import Inbound, Markdown, Text
from bot.router import Router

router: Router[Context] = Router("help")

REP_HELP = [
    "📷 发客户聊天截图 → 自动识别生成线索草稿，一键确认",
    "💬 直接提问，如「医疗采购价格异议」→ 推荐话术卡片",
    "我的线索 · 今天要跟进谁 · 线索 <编号> · 跟进 <编号> <摘要>",
    "🎙 发语音讲拜访情况（可说「线索 <编号>」）→ 记为跟进，说到的时间自动设回访提醒",
    "阶段 <编号> <阶段> · 赢单/输单 <编号> <原因> · 新线索 <客户信息>",
    "证据 <编号> → 再发合同/回款截图（或「证据 <编号> <说明>」交主管确认）",
    "⚠️ 续约 → 待处理的续约预警（合同快到期、久未回款的客户）",
    "🚩 我的标记 → 有疑点的数据；属实就回「预算 确认 <原因>」",
    "草稿可直接回复修改：电话 138… · 公司 … · 时间 明天下午3点",
    "⏰ 「明天上午10点提醒我交周报」→ 到点提醒你；说了客户名或编号，就记在那条线索上",
    "🎓 通关 → 新人通关的下一关（话术测验、阅读、跟岗）",
]
MANAGER_HELP = ["👥 团队线索 · 改派 <编号> <销售> · 延期 <编号> [小时/2天] [原因]",
                "🔁 接手 <编号> 立即生效；接手、改派（冻结线索也一样）后 10 分钟内可点或回复「撤销」",
                "🎓 通关 → 团队新人通关进度 · 开始通关 <姓名> · 通关确认 <姓名> → 确认跟岗任务",
                "超时冻结卡片可 接手 / 改派 / 延期（延期按工作时间计）",
                "🚩 团队标记 → 待核实的标记，核实后「清除标记 <编号>」",
                "📊 团队日报（每个工作日自动推送团队跟进摘要）",
                "🖥 后台 → 网页管理后台的登录链接（手机、电脑都能打开）"]
ADMIN_HELP = ["📚 发送 CSV/XLSX 文件 → 导入话术知识库",
              "📑 发送合同表或回款表（CSV/XLSX）→ 导入合同、回款并检查续约风险",
              "知识缺口 → 查看没答上来的问题",
              "📅 放假 / 补班 <日期> [说明] · 日历 → 公司自定义的休息日和补班日",
              "🚪 离职 <姓名> 交给 <同事> → 线索、续约预警和交接清单一并转给接手的人"]
ROLE_CN = {"rep": "销售", "manager": "主管", "admin": "管理员"}


def help_lines(role: str) -> list[str]:
    lines = list(REP_HELP)
    if role in ("manager", "admin"):  # their own 通关 and 标记 lines (the team's) replace the rep's
        lines = [line for line in lines if not line.startswith(("🎓", "🚩"))] + MANAGER_HELP
    if role == "admin":
        lines += ADMIN_HELP
    return lines


@router.command("帮助", "help", "?", "菜单", group_ok=True)
async def show_help(ctx: Context, msg: Inbound) -> None:
    body = "\n".join(f"- {line}" for line in help_lines(ctx.user.role))
    greeting = f"**{_hello(ctx, '你好')}（{ROLE_CN[ctx.user.role]}）**"
    ctx.reply(Markdown(title="销售助手能帮你做什么", text=f"{greeting}\n{body}"))


def _hello(ctx: Context, word: str) -> str:
    """「你好，张伟」, or only 「你好」 for a newcomer without a display name: never their id."""
    name = ctx.user.spoken_name
    return f"{word}，{name}" if name else word


def welcome_lines(role: str) -> list[str]:
    """What matters most to this role: a rep's first steps, else the role's own commands."""
    return {"manager": MANAGER_HELP, "admin": ADMIN_HELP}.get(role, REP_HELP[:2])


@router.event("enter_agent")
async def welcome(ctx: Context, msg: Inbound) -> None:
    lines = "\n".join(f"· {line}" for line in welcome_lines(ctx.user.role))
    ctx.reply(Text(f"{_hello(ctx, '欢迎回来')}（{ROLE_CN[ctx.user.role]}）！\n{lines}\n发送「帮助」查看全部功能。"))
