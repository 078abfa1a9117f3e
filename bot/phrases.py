"""The bot's own words, in one place, so reviewers can read them together and each situation has one wording.

Rules for everything here: natural, concise Simplified Chinese; names, never ids or internal codes; Chinese
punctuation; no English outside product names. `{…}` fields are filled with `str.format`.
"""

from __future__ import annotations

ROLE_CN = {"rep": "销售", "manager": "主管", "admin": "管理员"}

# -- whatever the message (bot/dispatch.py) --------------------------------------------------------
UNKNOWN_USER = "你还没有开通销售助手，请联系管理员开通账号。"
UNKNOWN_COMMAND = "没看懂这条指令 🤔 发送「帮助」查看可以做什么。"
UNSUPPORTED = "暂不支持这种消息，可以发文字、语音、截图或 CSV/XLSX 文件。"
FORBIDDEN = "这个操作需要{roles}权限。"
FAILED = "出错了，已记录。请稍后再试。"
BAD_KEY = "这个按钮已失效。"

# One wording for a missing value, whatever the card.
UNNAMED_CUSTOMER = "未留名客户"
UNKNOWN_COMPANY = "公司未填"
TO_FILL = "待补充：{fields}"

# Timeline labels for every activity kind (storage/activity.py rows); an unknown kind reads 「记录」.
ACTIVITY_LABELS = {
    "contact": "跟进", "stage": "阶段变更", "assign": "分配", "reassign": "改派", "takeover": "接手",
    "offboard": "离职交接", "won": "赢单", "lost": "输单", "evidence": "证据", "created": "创建", "plan": "约定回访",
    "freeze": "冻结", "dropped": "放弃草稿", "snooze": "推迟提醒", "pause": "暂停提醒", "extend": "延期",
    "sla_breach": "超时", "sla_warning": "即将超时", "reminder": "提醒", "dormant": "转为沉睡", "merge": "合并",
    "duplicate_override": "确认不是重复客户", "edit": "修改", "note": "备注", "ask_reminder": "设置提醒",
    "renewal_warning": "续约预警", "renewal_contacted": "续约已联系", "renewal_proof": "续签证明",
    "renewal_lifted": "解除续约锁定", "renewal_overdue": "续约预警未处理", "renewal_help": "申请主管介入",
    "undo": "撤销",
}


def activity_label(kind: str) -> str:
    return ACTIVITY_LABELS.get(kind, "记录")


# -- the front door ---------------------------------------------------------------------------------
GREETING = "你好，{name}！我是你的销售助手，常用的有："
GREETING_NO_NAME = "你好！我是你的销售助手，常用的有："  # no display name: never the id
ROLE_TOP = {
    "rep": ("📷 发客户聊天截图，自动生成线索草稿", "✍️ 「新客户 姓名 公司 电话」直接录入",
            "📞 「跟进 编号 内容」记录沟通，写上时间就帮你设提醒"),
    "manager": ("⏰ 「谁超时了」看超时的线索", "👥 「团队线索」看团队进展，可加区域或姓名",
                "🔁 「改派 编号 姓名 原因」调整负责人"),
    "admin": ("📚 把话术文件（CSV/XLSX）发给我即可导入", "🕳️ 「知识缺口」看没答上来的问题",
              "👋 「离职 工号 交给 工号」交接离职同事的线索"),
}
MORE_HELP = "发「帮助」查看全部功能。"
THANKS = "不客气，有需要随时找我 😊"
ACK = "好的 👌"
NOISE = "没看明白这条消息 🤔 可以直接打字告诉我要做什么，或发「帮助」。"
TOO_LONG = "消息太长了（约 {n} 字），请只发要点，或分几条发。"
MULTI = "一条消息里有两个操作，请分开发，我一条一条处理。"
UNCLEAR = "你是想{options}？"
UNCLEAR_OPTIONS = {"lead_show": "查看{customer}的线索", "follow_up": "记录{customer}的跟进", "reminder": "设置提醒"}
NO_LEAD_NAMED = "没找到{customer}的线索。发「我的线索」看全部，或发「新客户 {customer} 手机号」录入。"
# a value said alone that no lead of the caller's has: asked about, never a knowledge gap
UNKNOWN_NAME = ("你是想找{customer}的线索？你名下没有这位客户。要录入，发「新客户 {customer} 手机号」；"
                "要找话术，写上客户的原话或顾虑。")
UNKNOWN_COMPANY = ("你是想找{customer}的线索？你名下没有这家客户。要录入，发「新客户 姓名 {customer} 手机号」；"
                   "要找话术，写上客户的原话或顾虑。")
UNKNOWN_PHONE = "你是想录入这个号码的客户？你名下没有电话是 {phone} 的线索。发「新线索 姓名 公司 {phone}」录入。"
AMOUNT_WHICH = "你是想改预算？先打开那条线索（「线索 <编号>」），或发「线索 <编号> 预算 {amount}」。"
LOST_CONFIRM = "确认把线索 #{id} {who} 记为输单？"
LOST_CONFIRM_NOTE = "原因：{reason}。输单后线索关闭，不再提醒跟进。"
NO_CARD = "最近没有发给你的卡片可选，请直接告诉我要做什么。"
BAD_ID = "「{raw}」不是线索编号，编号是整数，例如「线索 12」。"
NO_SUCH_BUTTON = "上一张卡片只有 {n} 个选项，请回复 1 到 {n}。"

# -- reminders and follow-ups ---------------------------------------------------------------------
REMINDER_SET = "⏰ 好的，{when} 提醒你{task}。"
REMINDER_SET_LEAD = "⏰ 好的，{when} 提醒你{task}（线索 #{id} {customer}）。"
REMINDER_NEED_TIME = "什么时候提醒你？例如「明天上午10点提醒我给客户回电话」。"
REMINDER_WHICH = "叫{customer}的客户有 {n} 条线索（{ids}），请带上编号再说一次，例如「{example}」。"
WHICH_LEAD_TITLE = "是哪一条线索？"
WHICH_LEAD_NOTE = "点下面的线索，或回复序号 1–{n}。"
REMINDER_PAST = "「{when}」已经过去了，请换一个以后的时间。"
TODAY_TITLE = "📋 {day}要跟进（{n}）"
TODAY_NONE = "{day}没有到期的跟进 👍 发「我的线索」看全部线索。"
TODAY_NOTE = "回复「跟进 编号 内容」记录，写上时间就帮你设下次提醒。"
FOLLOW_UP_DONE = "✅ 已记录线索 #{id} 的跟进。"
FOLLOW_UP_TIMED = "✅ 已记录；{when} 提醒你回访线索 #{id}。"
CALLBACK_STAYS = "原定 {when} 的回访照旧，两个提醒都会按时发给你。"
CALLBACK_KEPT = "\n原定 {when} 的回访提醒没有改；要改时间请发「跟进 {id} 内容和新时间」。"
FOLLOW_UP_WHICH = "这条跟进是哪条线索的？请带上编号，例如「跟进 12 {note}」。"

# -- edits ---------------------------------------------------------------------------------------
EDIT_DONE = "✅ 已更新线索 #{id} 的{field}：{value}"
EDIT_WHICH_SHOWN = "刚才的列表里有 {n} 条线索（{ids}），要改哪一条？"
EDIT_WHICH = "要改哪条线索？请带上编号，例如「线索 12 {field} {value}」。"
EDIT_WHICH_CUSTOMER = "叫{customer}的客户有 {n} 条线索（{ids}），请带上编号再说一次，例如「{example}」。"
NO_SUCH_CUSTOMER = "你的线索里没有叫{customer}的客户，请带上编号，例如「{example}」。"
EDIT_BAD = "「{value}」不像有效的{field}，请再检查一下。"
EDIT_ASK_BUDGET = "{reason}。没写错请点「确认」；写错了直接发正确金额，例如「预算 50万」。"
EDIT_ASK_PHONE = "手机号「{value}」是 {n} 位，手机号应为 11 位，请再核对一下。"
FIELD_CN = {"customer_name": "客户姓名", "company": "公司", "title": "职位", "phone": "电话", "email": "邮箱",
            "wechat_id": "微信", "budget_cny": "预算", "needs": "需求", "industry": "行业", "region": "区域",
            "product_line": "产品线", "follow_up": "回访时间", "decision_chain": "决策链", "next_step": "下一步计划",
            "objection": "客户异议"}

# -- managers and admins -------------------------------------------------------------------------
MANAGER_ONLY = "这个操作只有主管或管理员可以做。"
ADMIN_ONLY = "这个操作只有管理员可以做。"
WHICH_REP = "团队里没有叫「{who}」的同事，你是想把线索 #{id} 改派给谁？"
NOT_IN_TEAM = "你的团队里没有「{who}」，请用同事的姓名或工号。"
REP_NOT_IN_TEAM = "这位销售不在你的团队里。"
ALREADY_OWNS = "线索 #{id} 已经由 {rep} 负责，无需改派。"
EXTEND_USAGE = "用法：延期 线索号 [工作小时或天] [原因]，例如「延期 12 48 客户出差」「延期 12 3天 客户出差」"
EXTEND_UNREAD = "没看懂时长「{span}」。" + EXTEND_USAGE
EXTEND_NOT_POSITIVE = "延期时长要大于零。" + EXTEND_USAGE
OVERDUE_NONE = "目前没有超时的线索 👍"
OVERDUE_TITLE = "⏰ 超时线索（{n} 条）"
TAKEN_OVER_TITLE = "✅ 已接手"
TAKEN_OVER = "线索 #{id} {who} 已由你接手。"
REASSIGNED_TITLE = "✅ 已改派"
REASSIGNED = "线索 #{id} {who} 已改派给 {rep}{reason}。"  # reason: 「（客户在她片区）」 or nothing
WAS_OWNED = "原负责人 {who} 已收到通知。"
# one wording per handover, whether the lead was frozen or not: the new owner, the owner before, an undo
HANDED_TO_YOU_TITLE = "📌 改派给你的线索"
HANDED_TO_YOU = "{by} 把线索 {label} 改派给你{why}，请尽快联系客户。"  # why: 「：客户在她片区」 or nothing
REASSIGNED_AWAY = "线索 {label} 已由 {by} 改派给 {to}。"
TAKEN_AWAY = "线索 {label} 已由 {by} 接手。"
HANDOVER_UNDONE = "线索 {label} 的改派已被 {by} 撤销，不再由你负责。"
UNDONE = "↩️ 已撤销，线索 #{id} 回到 {who} 名下。"
UNDO_TOO_LATE = "线索 #{id} 已经有了新的变动或超过了撤销时限，不能撤销了。"
NOTHING_TO_UNDO = "最近 {minutes} 分钟内没有可以撤销的接手或改派。"
BACK_TO_YOU = "线索 #{id} {customer} 又回到你名下了，请继续跟进。"
ALREADY_YOURS = "线索 #{id} 本来就由你负责。"
EXTEND_DONE = "✅ 线索 #{id} 的「{step}」延期 {span}，新的期限 {due}。"
EXTEND_NOTHING = "线索 #{id} 现在没有进行中的期限，不需要延期。"
EXTEND_TOO_LONG = "延期最多 {max_days} 个工作日，请缩短一些。"
EXTEND_BAD = "没看懂时长「{span}」，例如「延期 12 2天 客户出差」。"
OFFBOARD_ASK = "确认让 {who} 离职，并把 {n} 条线索{of}交给 {to} 吗？"
OFFBOARD_FROZEN = "{n} 条冻结，交接后解冻"
OFFBOARD_DRAFTS = "{n} 条草稿"
OFFBOARD_NEED_TO = "把 {who} 的线索交给谁？例如「离职 {who} 交给 同事工号」。"
OFFBOARD_LAST_ADMIN = "{who} 是团队唯一的管理员，离职后就没人能管理团队了。请先在后台把另一位同事设为管理员。"
OFFBOARD_USAGE = "请写上离职同事和接手的人，例如「离职 张伟 交给 李娜」。"
OFFBOARD_DONE = "✅ {who} 已离职，{n} 条线索已交给 {to}。"
CONFIRM = "确认"
CANCEL = "取消"
CANCELLED = "已取消，什么都没有改。"
KB_IMPORT_HOW = ("把话术文件直接发给我就能导入：CSV 或 XLSX，每行一条话术，表头写 标题、话术，"
                 "可选 角色、行业、异议、标签。导入后我会回一份报告。")
KB_IMPORT_NOT_ADMIN = "导入话术需要管理员权限，可以把文件转给管理员。"


_ASCII_PUNCT = {",": "，", ";": "；", ":": "：", "?": "？", "!": "！", "(": "（", ")": "）"}


def cn_punct(text: str) -> str:
    """Stored text keeps Chinese punctuation: an ASCII , ; : ? ! ( ) next to a Chinese character becomes
    full-width (「太贵了,在比较」 → 「太贵了，在比较」); times (15:30), decimals and URLs stay as they are."""
    out = list(text)
    for i, ch in enumerate(text):
        if ch not in _ASCII_PUNCT:
            continue
        before, after = text[i - 1:i], text[i + 1:i + 2]
        if _cjk(before) or (_cjk(after) and not before.isdigit()):
            out[i] = _ASCII_PUNCT[ch]
    return "".join(out)


def _cjk(ch: str) -> bool:
    return bool(ch) and "\u4e00" <= ch <= "\u9fff"
