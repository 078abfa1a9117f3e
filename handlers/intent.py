"""What a typed message is, before anything acts on it: text + caller's role + conversation state → Intent.

Pure and fast (no I/O): the router asks `understand` for every text message and hands the result to the
matching handler; only `knowledge` goes to the knowledge base. Order matters and mirrors how people write:

  noise / too long → a reply to the last card (bare 「1」, a button's own text) → small talk (greeting, thanks,
  ok, help) → explicit commands anywhere in the message (跟进 3 …, 改派 2 张伟 …, 3号线索预算改成50万) →
  reminders (「明天提醒我给张三打电话」) → manager/admin phrases (谁超时了, 接手, 离职 … 交给 …) → a lead typed
  as free text (a mobile number and a name) → a follow-up note told in the past tense → a draft edit
  (「行业 医疗」) → a bare customer name (ambiguous: ask) → knowledge question.

Intent names are internal codes (English); nothing here is shown to users.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from pypinyin import lazy_pinyin

from handlers.checks.rules import FLAG_ANSWER
from handlers.intent_model import MIN_MARGIN, MIN_MARGIN_NAMED, IntentModel, masked
from handlers.leads.rules import company_named
from knowledge.query import Simplifier
from ocr.people import SURNAMES
from storage.leads import company_core, parse_budget

MAX_CHARS = 4000  # longer than any note a rep types; a pasted book gets a short answer

ZERO_WIDTH = re.compile("[\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff\u00ad]")
CN_PUNCT = frozenset("，。：；！？（）、")  # kept as typed: stored text keeps Chinese punctuation
_CJK = re.compile(r"[\u4e00-\u9fff]")
# 「@销售助手 你好」: the bot named in a group chat, before the message itself
MENTION = re.compile(r"^(?:@\S+\s+)+")
_WORDY = re.compile(r"[\u4e00-\u9fffA-Za-z0-9]")
TYPOS = {"跟近": "跟进", "根进": "跟进", "更进": "跟进", "线锁": "线索", "线所": "线索", "现索": "线索",
         "改配": "改派", "该派": "改派", "分陪": "分配", "延其": "延期", "言期": "延期", "帮主": "帮助",
         "帮组": "帮助", "陪单": "赢单", "营单": "赢单", "提示我": "提醒我", "题醒": "提醒",
         "超是": "超时", "预箅": "预算"}
# 「谁超市了」 is 超时了 typed on a pinyin keyboard, but 「新开了两家超市了」 is a supermarket: corrected only where
# a supermarket cannot stand — right after who / which / a lead, or alone
_OVERDUE_TYPO = re.compile(r"(?:^|(?<=[谁些有没])|(?<=线索|客户|单子))超市了(?=$|[吗么嘛没的？?\s])")
ENGLISH = (("follow up", "跟进"), ("followup", "跟进"), ("follow-up", "跟进"), ("new lead", "新线索"),
           ("my leads", "我的线索"), ("team leads", "团队线索"), ("remind me", "提醒我"), ("lead", "线索"),
           ("follow", "跟进"), ("remind", "提醒"),
           ("check", "查看"), ("take over", "接手"), ("takeover", "接手"), ("reassign", "改派"), ("assign", "分配"),
           ("extend", "延期"), ("overdue", "超时"), ("budget", "预算"), ("industry", "行业"),
           ("region", "区域"), ("won", "赢单"), ("lost", "输单"), ("help", "帮助"), ("new customer", "新客户"),
           ("new client", "新客户"), ("my customers", "我的客户"), ("last day", "离职"),
           # field words and lists: 「e-mail: …」, 「预算 update 为 80万」, 「张伟的pipeline」, 「今天的to do」
           ("email", "邮箱"), ("e-mail", "邮箱"), ("phone", "电话"), ("mobile", "手机"), ("wechat", "微信"),
           ("update", "更新"), ("updated", "更新"), ("change to", "改成"), ("changed to", "改成"), ("set to", "设为"),
           ("pipeline", "线索"), ("team", "团队"), ("to do", "待办"), ("to-do", "待办"), ("todo", "待办"),
           ("add lead", "新线索"), ("add a lead", "新线索"), ("add new lead", "新线索"), ("add a new lead", "新线索"),
           ("create lead", "新线索"), ("create a lead", "新线索"), ("create new lead", "新线索"),
           ("add customer", "新客户"), ("add a customer", "新客户"), ("add client", "新客户"),
           ("show me", "查看"), ("show", "查看"), ("view", "查看"), ("offboard", "离职"), ("off-board", "离职"),
           ("who is", "谁"), ("who's", "谁"), ("who are", "谁"), ("daily report", "日报"), ("team report", "团队日报"),
           ("today's", "今天的"), ("today", "今天"), ("tonight", "今晚"), ("tomorrow", "明天"), ("tmr", "明天"),
           ("tmrw", "明天"), ("next week", "下周"), ("this afternoon", "今天下午"), ("this morning", "今天上午"),
           ("my tasks", "我的待办"), ("agenda", "日程"), ("log lead", "新线索"), ("log a lead", "新线索"),
           ("log a new lead", "新线索"), ("log new customer", "新客户"), ("log a new customer", "新客户"),
           ("new prospect", "新客户"), ("f/u", "跟进"), ("fu", "跟进"), ("set a reminder", "提醒我"),
           ("set reminder", "提醒我"), ("add a reminder", "提醒我"), ("my pipeline", "我的线索"), ("details", "详情"),
           ("closed won", "赢单"), ("closed-won", "赢单"), ("closed lost", "输单"), ("closed-lost", "输单"),
           ("import scripts", "导入话术"), ("upload scripts", "导入话术"),
           # inside-sales chat: 「ping me」 reminds, 「EOD」 is the end of one's working day, 「KB gaps」 the gaps list
           ("ping me", "提醒我"), ("nudge me", "提醒我"), ("eod", "下班前"), ("cob", "下班前"),
           ("end of day", "下班前"),
           ("leads", "线索"), ("accounts", "客户"), ("my accounts", "我的客户"), ("list", "列出"),
           ("list all", "列出"), ("product line", "产品线"), ("title", "职务"), ("job title", "职务"),
           ("sla breach", "超时"), ("sla breached", "超时"), ("breached", "超时"), ("past due", "超时"),
           ("kb gaps", "知识缺口"), ("knowledge gaps", "知识缺口"), ("kb gap", "知识缺口"), ("import", "导入"),
           ("upload", "上传"), ("log a follow up", "记录跟进"), ("log follow up", "记录跟进"),
           ("add a follow up", "记录跟进"), ("add follow up", "记录跟进"), ("log a call", "记录跟进"),
           ("i'll take it", "我来接手"), ("i'll take this", "我来接手"), ("i'll handle it", "我来接手"),
           ("i'll handle", "我来接手"), ("i'll take over", "我来接手"), ("leave it to me", "我来接手"),
           ("newlead", "新线索"), ("quick q", "请问"), ("quick question", "请问"),
           ("log fu", "记录跟进"), ("log f/u", "记录跟进"), ("log a fu", "记录跟进"), ("log followup", "记录跟进"),
           ("i'll take", "我来接手"), ("open", "打开"),
           ("eod前", "下班前"), ("breaching sla", "超时"), ("breaching", "超时"), ("breach", "超时"),
           ("what's", "查看"), ("follow ups", "跟进"), ("follow-ups", "跟进"), ("followups", "跟进"),
           ("tomorrow's", "明天的"), ("tasks", "任务"), ("who", "谁"), ("should i", "该"),
           ("any overdue", "有超时"), ("kb", "知识库"),
           ("knowledge base", "知识库"), ("on my plate", "待办"), ("what's due", "待办"), ("what's on", "待办"),
           ("console", "后台"),
           ("tomorrow morning", "明天上午"), ("tomorrow afternoon", "明天下午"), ("tomorrow evening", "明天晚上"),
           ("tomorrow night", "明天晚上"), ("tmr morning", "明天上午"), ("tmr afternoon", "明天下午"),
           *((f"{this}{day}", f"{cn}周{n}") for this, cn in (("", ""), ("this ", "本"), ("next ", "下"))
             for day, n in (("monday", "一"), ("tuesday", "二"), ("wednesday", "三"), ("thursday", "四"),
                            ("friday", "五"), ("saturday", "六"), ("sunday", "日"), ("mon", "一"), ("tue", "二"),
                            ("tues", "二"), ("wed", "三"), ("thu", "四"), ("thur", "四"), ("thurs", "四"),
                            ("fri", "五"))),
           *((f"{verb} {article}{new}{noun}", "新客户" if noun != "lead" else "新线索")
             for verb in ("add", "create", "log", "enter", "register") for article in ("", "a ", "an ")
             for new in ("", "new ") for noun in ("lead", "customer", "client", "prospect", "account", "contact")
             if not (article == "an " and new == "")),
           *((f"new {noun}", "新客户") for noun in ("account", "contact")),
           # 「import knowledge」, 「upload kb cards」: the knowledge import asked for in English
           *((f"{verb} {what}", "导入话术") for verb in ("import", "upload", "load")
             for what in ("knowledge", "knowledge cards", "knowledge base", "kb cards", "cards", "talk tracks",
                          "playbook", "playbooks")),
           # 「asap」: a reminder's time (handlers/when.py: now in working hours, else the next working hour)
           ("asap", "尽快"), ("a.s.a.p.", "尽快"), ("as soon as possible", "尽快"))

# Small talk: a message made only of these words (and fillers) is greeting / thanks / ok, whichever comes first.
SMALL_TALK = {
    "greeting": ("你好", "您好", "哈喽", "哈啰", "哈罗", "哈咯", "嗨喽", "嗨", "hi", "hello", "hey", "helo", "hallo",
                 "hiya", "yo", "good morning", "good afternoon", "good evening", "morning", "afternoon", "gm",
                 "早安", "午安",
                 "早啊", "早呀", "新年好", "开工大吉", "开工了", "开工啦", "上班了", "上班啦", "周一好",
                 "有人没", "有人不", "有人么", "有人嘛", "有没有人", "人呢", "在线不", "在线么",
                 "早上好", "上午好", "中午好", "下午好", "晚上好", "大家好", "在吗", "在不在", "在么",
                 "在嘛", "在没", "在伐",
                 "有人吗", "有人在吗", "在线吗", "在不", "喂", "早",
                 "打扰一下", "打扰了", "打扰"),
    "thanks": ("谢谢", "多谢", "感谢", "感激", "谢啦", "谢了", "thx", "thanks", "thank you", "thank u", "thank", "ty",
               "tysm", "tyvm", "thnx", "thanx", "many thanks",
               "3q", "🙏", "tks", "tnx", "cheers", "appreciate it", "appreciated", "唔该", "唔该晒", "多谢晒", "谢晒",
               "辛苦了", "辛苦", "麻烦你了", "麻烦了",
               "有劳", "感恩", "多亏你了", "多亏了", "帮大忙了",
               # praise is answered as thanks are
               "真棒", "好棒", "厉害", "牛", "点赞", "赞", "帮了大忙", "帮大忙", "给力", "太好用了", "好用"),
    "ack": ("好的", "好滴", "好嘞", "好吧", "好", "ok", "okay", "嗯嗯", "嗯", "收到", "明白", "知道了", "了解", "行",
            "noted", "got it", "gotcha", "roger", "copy that", "copy", "sure", "sounds good", "will do", "alright",
            "yep", "yes", "yeah", "k", "kk", "np", "no problem", "fine", "cool", "收到了", "明白了", "晓得了",
            "understood", "roger that", "sure thing", "on it", "okie", "okey", "oki",
            "可以", "懂了", "知道", "晓得", "没问题", "对的", "对",
            "666", "哈哈", "呵呵", "嘿嘿", "嘻嘻", "👌", "👍", "🤝",
            # the same said across the country: 中 (Henan), 要得 (Sichuan), 得嘞 (Beijing), 妥 / 成
            "就这么办", "就这么定了", "就这样", "没毛病", "要得", "得嘞", "妥了", "妥", "中", "成",
            # leaving the conversation: nothing to answer but a nod
            "拜拜", "再见", "回头见", "晚安", "下次聊", "先这样", "88",
            "bye", "byebye", "good night", "night", "gn", "see ya", "see you", "cya", "ttyl")
}
_SMALL = sorted(((w, k) for k, ws in SMALL_TALK.items() for w in ws), key=lambda p: -len(p[0]))
_FILLERS = re.compile(r"[呀啊哈哦呢嘛啦了的哟嘞滴咯哒嗷哇咧~～！!，,。.？?\s]|salesbot|bot|there|all|much|so|a lot"
                      r"|very|guys|everyone|folks|bro|mate|dude|buddy|a ton|again|with|quick q(?:uestion)?|team"
                      r"|团队|今天|今儿|又|新的一周|这周"
                      r"|小助手|助手|机器人|帮个忙|帮忙|帮助|请问|你|您|老铁|大哥|兄弟|亲|各位|大家|太|非常|十分|真是|真的|一下|哈哈|呗|噢|喔"
                      r"|嘿|哒|有事找你|有点事|有个事|找你|马上(?:弄|办|去|处理|安排)|这就(?:去|弄|办)|立刻(?:去|办)")
_SYMBOLS = re.compile(r"[^\w\s]|[\ufe0f\u200d]")
HELP = re.compile(r"^(?:帮助|菜单|help|\?|？|功能|使用说明|说明书|教程|指南|新手指南|帮助文档|使用手册|操作手册)"
                  r"(?:\s*(?:me|pls|please|plz|一下|下|(?:发|给|来|发给)(?:我|俺)?(?:一份|一下|下|个|份|看看)?))?$"
                  r"|^(?:请|麻烦)?(?:发|给|来)(?:我|俺)?(?:一份|一个|个|份|一下)?(?:使用说明|说明书|教程|使用手册|操作手册|帮助文档"
                  r"|新手指南)"
                  r"|怎么用|如何使用|怎么使用|怎样使用|能做什么|能干什么|能干嘛|会什么|有什么功能|不会用|咋用|怎么玩"
                  r"|都能做|可以做什么|可以干嘛|有哪些功能|支持哪些|有啥用|有什么用|是干什么的|是干啥的|能帮我什么"
                  r"|能帮我做什么|(?:会|能|可以)(?:干|做)?(?:啥|些啥)|(?:用|有|支持)(?:哪些|什么|啥)功能"
                  r"|(?:能|可以|会)用(?:它|你|这个|这个机器人|助手)?(?:来)?(?:干|做)(?:嘛|啥|什么)"
                  r"|(?:用|有|支持|能用|可以用|可用)(?:哪些|什么|啥|几个|些什么)(?:命令|指令|口令)|(?:命令|指令)(?:列表|清单|大全|有哪些)|不(?:太|怎么|大)会用"
                  r"|不(?:知道|晓得|清楚|会)(?:怎么|咋|如何)(?:弄|用|操作|搞|玩)|^(?:我|俺)?(?:还是|有点|完全)?不会(?:弄|用)$|怎么\S{1,6}[啊呀]?\s*不会弄$|使用教程|操作指南|使用手册|操作手册"
                  # 「能帮我干啥」, 「第一次用 有教程吗」, 「你是谁」: about the bot itself
                  r"|^(?:这个|那)?(?:你|您|它|助手|小助手|机器人)?(?:都|还)?(?:能|可以|会)帮(?:我|我们|上)?(?:干|做|搞)(?:点|些)?(?:啥|什么|嘛)"
                  r"|^(?:我是?)?(?:第一次|头一次|刚开始)(?:用|使用)(?:这个|你|助手|机器人)?(?:$|\s|[，,])"
                  r"|有(?:没有)?(?:教程|说明书|使用说明|新手指南)"
                  r"|^(?:你|您)(?:是|叫)(?:谁|什么|啥|哪位)")
# asked in English: 「how to use this bot?」, 「what can you do」, 「any user guide」
HELP_EN = re.compile(r"^(?:pls |please )?(?:how (?:to|do i|can i|should i|do we) (?:use|start)"
                     r"|what can (?:you|u|it|this)(?: bot)? do|how does (?:this|it) work"
                     r"|(?:any |a )?(?:user )?(?:guide|manual|tutorial|instructions)"
                     r"|help me|need help|i need help|menu|commands?"
                     r"|how (?:do i|to|can i|should i) (?:(?:log|add|create|enter|record|set up) (?:a |an )?\w+"
                     r"|新线索|新客户|记录跟进|跟进|提醒我|导入话术)$)"
                     r"(?: (?:this|the|you|u|it))?(?: bot| assistant| thing| tool| here)?(?: pls| please)?[\s?？!.]*$")
# questions about the bot itself: 「怎么录客户」, 「我该怎么开始」, 「使用帮助」
HOW_TO = re.compile(r"^(?:我|请问)?(?:该|要|应该)?(?:怎么|如何|咋|怎样)"
                    r"(?:开始|上手|操作|使用|录|录入|添加|新建|加|登记|设置)(?:一个|个)?(?:新的?)?(?:客户|线索|提醒|跟进)?(?:呢|啊|呀)?$|^.{0,4}帮助$")
# a mobile number, possibly written 138-0000-1111 / 138 0000 1111
PHONE = re.compile(r"(?<!\d)1[3-9]\d[\s-]?\d{4}[\s-]?\d{4}(?!\d)")
QUESTION = re.compile(r"怎么|如何|怎样|咋|吗[？?]?$|[？?]|什么|哪些|为什么|话术|应对|回复|回答|说法|技巧|方法|建议"
                      r"|能不能|可不可以|有没有")
CONTACT_DONE = re.compile(
    r"(?:打了|打过|通了|回了|拨了|接了)(?:个|一个|一通|通)?电话|(?:电话|微信|当面)(?:沟通|聊|联系|打)(?:了|过)"
    r"|已经?(?:电话|微信|沟通|联系|拜访|发|回访|见面|约|面谈|演示)|(?:电话|微信)联系\S{0,4}了"
    r"|(?:call|ping|email|zoom|meet)(?:过|了)|(?:called|pinged|emailed|met with)(?=\s)"
    r"|(?:聊了|聊过|见了|见过|拜访了|去了|发了|沟通了|联系了|约了|回访了|面谈了|演示了|报了价|报价了|签了|碰了|开了会)"
    r"|(?:通|打|聊|见|谈|开|拜访)完|(?<![不没])回(?:了|过)?(?:个)?(?:微信|电话|消息|邮件|短信)了|(?:坐了坐|去了|来了)"
    r"|吃了?个?饭|喝了?(?:个|杯|顿)?(?:茶|咖啡|酒)|刚(?:才|刚)?(?:去|到|从)(?!哪)\S{0,8}(?:那|这|公司|单位|办公室|家)|刚(?:才|刚)?从\S{1,8}(?:出来|回来)|见面了|见了面|碰了面|聊得|谈了|谈得|拜访过|上门了|去了一趟|开完会|回复了|答复了|发过去了|没人接|没接电话"
)
ID = r"#?(\d{1,7})"
LEAD_REF = re.compile(rf"(?:线索|客户|lead)\s*{ID}号?|{ID}\s*号(?:线索|客户)?|第\s*(\d{{1,7}})\s*[条个]|#(\d{{1,7}})"
                      r"|(?<=跟进|回访|联系)\s*(\d{1,7})(?!\d|[点:：号月日天])")

FIELD_WORDS = {"客户": "customer_name", "姓名": "customer_name", "名字": "customer_name", "联系人": "customer_name",
               "公司": "company", "单位": "company", "医院": "company", "职位": "title", "职务": "title",
               "电话": "phone", "手机": "phone", "手机号": "phone", "联系电话": "phone", "座机": "phone",
               "邮箱": "email", "电子邮箱": "email", "电邮": "email", "邮件地址": "email", "微信": "wechat_id",
               "微信号": "wechat_id",
               "预算": "budget_cny", "需求": "needs", "行业": "industry", "区域": "region", "地区": "region",
               "片区": "region", "产品线": "product_line", "产品": "product_line", "时间": "follow_up",
               "回访时间": "follow_up", "跟进时间": "follow_up", "下次跟进": "follow_up",
               "下次跟进时间": "follow_up", "下次回访": "follow_up", "下次回访时间": "follow_up",
               "下次联系": "follow_up", "下次联系时间": "follow_up",
               # the key facts a manager expects by 方案演示 (handlers/checks: 🟡 when still unknown)
               "决策链": "decision_chain", "决策人": "decision_chain", "拍板人": "decision_chain",
               "下一步计划": "next_step", "下一步": "next_step", "下步计划": "next_step",
               "客户异议": "objection", "异议": "objection", "顾虑": "objection"}
KEY_FACTS = ("decision_chain", "next_step", "objection")
_FIELD_ALT = "|".join(sorted(FIELD_WORDS, key=len, reverse=True))
EDIT = re.compile(r"^(?:把|将|更新|修改|set|change|edit)?\s*"
                  r"(?:(?:这个|该|这家|那家|这位|那位)?(?:客户|线索|他|她|对方)(?:的|家的?)?\s*)?"
                  rf"(?P<field>{_FIELD_ALT})"
                  # 「单位全称 …」, 「行业这一栏填 物流」
                  r"(?:名字|名称|号码|名|号|全称|简称|地址)?\s*(?:那一?栏|这一?栏|一栏|栏|那一?项|这一?项|字段|那里|那儿)?\s*"
                  r"(?:帮我|给我|请|麻烦)?\s*"
                  # 「调到90万」, 「换成了 …」, 「现在是 …」
                  r"(?:(?:改|更新|修改|换|调)一?下|(?:往上|往下|向上|向下|再)?(?:调|提|降|涨|加|减|提高|降低|调整|上调|下调)(?:到|为|成|至)"
                  r"|(?:改|换|变|更新|修改|更正|纠正)(?:成|为)?了|更新\s+(?:成|为)|现在是|现在|更正为|更正成|纠正为|改成了|换成了|变成了"
                  r"|改成|改为|改到|换成|变成|更新为|更新成|修改为|应该是|设为|设成|设置为|(?:更正|纠正)(?:成|为)?"
                  r"|(?:写|填|记)?错了?\s*[，,]?\s*(?:应该|应)?(?:是|为|改成|改为)"
                  r"|填写?成?|写成|写|是|为|改|[:：=]|to(?=\s))?"
                  r"\s*(?P<value>.+)$")
# 「7号电话多少」: a value asked for, not given
_ASKED = re.compile(r"多少|是什么|是啥|是哪|谁|几[个位号点]?[？?]?$|吗[？?]?$|呢[？?]?$|[？?]"
                    r"|^(?:发|告诉|给|报|查)(?:一下|下)?(?:给)?我")  # 「周立的电话发我一下」
# 「客户说太贵了」, 「产品不太行」: a field word that begins a sentence about someone, not an edit
_SAYS = re.compile(r"说|觉得|嫌|要|问|想|不|在|对|还|也|都|一直|又|刚|那边|那头|这边|方面|那里|这里")

# Commands with the words people use for them; the first word is the canonical one.
COMMANDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("lead_new", ("新线索", "新客户", "新建客户", "新建线索", "录一个新客户", "录个新客户", "录一个客户", "录入线索",
                  "录入客户", "录个客户", "录入", "添加客户", "新增客户", "新增线索", "加个客户",
                  "加客户", "建线索", "登记客户")),
    ("my_leads", ("我的线索", "我的客户", "查看线索", "看看线索", "线索列表", "我的单子", "看看我的线索", "查线索",
                  "客户列表")),
    ("team_leads", ("团队线索", "团队的线索", "全部线索", "所有线索", "组里的线索", "团队客户", "团队的客户",
                    "大家的线索", "组里线索")),
    ("team_report", ("团队日报", "日报", "看日报")),
    ("overdue", ("谁超时了", "超时线索", "超时了", "超时", "逾期线索", "逾期", "哪些超时", "谁逾期了", "有谁超时")),
    ("follow_up", ("跟进记录", "跟进", "记录跟进", "写跟进")),
    ("stage", ("阶段", "推进", "推到")),
    ("won", ("赢单", "成交", "签单", "签下来了", "签下了", "拿下来了", "拿下", "签约了", "签了", "中标了", "赢了",
             "搞定了", "签下来啦", "拿下来啦", "签约啦", "签啦", "中标啦", "赢啦", "搞定啦")),
    ("lost", ("输单", "丢单", "丢了", "黄了", "输了", "没戏了", "丢啦", "黄啦", "输啦", "没戏啦")),
    ("evidence", ("证据",)),
    ("takeover", ("接手", "我来接手", "我接手", "我来接", "我接")),
    ("reassign", ("改派", "分配", "转给", "分给", "派给", "交给")),
    ("extend", ("延期", "延长", "宽限")),
    ("offboard", ("离职",)),
    ("kb_import", ("导入话术", "导入知识库", "上传话术", "导入知识", "话术导入", "更新话术库", "上传知识库",
                   "批量导入")),
    ("kb_gaps", ("知识缺口", "缺口")),
    ("calendar", ("放假", "补班", "日历", "节假日日历", "假期日历", "节假日安排", "放假安排", "公司日历")),
    ("lead_show", ("线索", "查看", "看看", "打开")),
)
# a new lead however it is announced: 「帮我录个客户 …」, 「来了个新客户 …」, 「加一个线索：…」, 「录一下 <phone text>」
NEW_LEAD = re.compile(
    r"^(?:(?:那个|就是|嗯|呃|啊)\s*)*(?:(?:请|帮我|帮忙|麻烦你?|给我|我要|我想|我|你)\s*)*(?:(?:又|刚)?来了?|有)?\s*"
    r"(?:(?P<verb>新建|新增|新加|添加|增加|加|录入|录|建|登记|创建|记|报|开|整|弄|搞)\s*(?:一下|一个|个|一条|条|一位|位)?"
    r"\s*(?:新的?)?\s*(?P<noun>客户|线索|商机)?|(?:一个|个|一条|条|一位|位)?\s*新的?\s*(?P<noun2>客户|线索|商机))"
    r"(?:的话|信息|资料|档案|卡片)?(?:[哈啊呀吧哦嘛呢啦噢]+(?=\s|$|[:：,，]))?\s*[:：,，\-—–|]?\s*")
# what is left of the request itself: 「帮我把客户录进去」, 「整个新线索吧」
_LEAD_FILLER = re.compile(r"^(?:(?:就是|那个|这个|嗯|呃|是|叫)\s*|(?:pls|plz|please|尽快)[\s:：,，\-—–|]*"
                          r"|(?:进去|进来|进系统|到系统里?|一下|吧|哈|呗)(?=\s|$|[:：,，])[\s:：,，]*)+")
# what may stand before a command that names a lead: 「记一下跟进 18号 …」, 「帮我改派 …」
PREFIX = re.compile(r"(?:那个|嗯)?(?:请|帮我|帮忙|麻烦|给我|我要|我想)?(?:记|记录|写|补|登记)?(?:一下|一个|个|下|条)?")
# what may stand before a list command: 「看下团队线索」, 「帮我查一下我的客户」
VERBS = (r"(?:请|帮我|给我|我要|我想|麻烦)?(?:看看|看下|看一下|看|查看|查一下|查|瞧瞧|列出|列一下|打开|显示|发|来)?"
         r"(?:一下|下)?")
LISTS = frozenset({"my_leads", "team_leads", "overdue", "team_report", "kb_import", "kb_gaps"})
NO_ARGS = frozenset({"overdue", "my_leads", "team_report", "kb_import", "kb_gaps"})
DESTRUCTIVE = frozenset({"offboard", "reassign", "lost"})


@dataclass(frozen=True)
class State:
    """What the bot knows of this conversation (loaded by the caller; all optional)."""

    buttons: tuple[str, ...] = ()  # texts of the buttons on the last card sent to this person, in order
    keys: tuple[str, ...] = ()  # their keys, same order
    has_draft: bool = False  # an unconfirmed draft of theirs is open
    words_only: bool = False  # the last card is no longer the last thing sent: its buttons are pressed by word only
    current_lead: int | None = None  # the lead this conversation is about (last shown / created)
    current_at: datetime | None = None  # when `current_lead` was shown (its card) or written about
    card_leads: tuple[int, ...] = ()  # every lead the last card shows, when it shows several (a list)
    team: tuple[tuple[str, str], ...] = ()  # (id, name) of people the caller may hand leads to
    customers: tuple[tuple[int, str], ...] = ()  # (lead id, customer name) of the caller's open leads
    companies: tuple[tuple[int, str], ...] = ()  # (lead id, company) of the caller's open leads
    phones: tuple[tuple[int, str], ...] = ()  # (lead id, phone) of the caller's open leads


@dataclass(frozen=True)
class Intent:
    name: str
    slots: dict[str, Any] = field(default_factory=dict)
    text: str = ""  # the normalised text the decision was made on
    options: tuple[str, ...] = ()  # for "unclear": the intents it might be, best first

    @property
    def destructive(self) -> bool:
        return self.name in DESTRUCTIVE


# ---------------------------------------------------------------- normalisation

# a lead number said aloud (voice input writes 「跟进七号」, 「接手十二号」, 「线索二十三」): in digits before reading
_SPOKEN_ID = re.compile(r"(?<![零一二两三四五六七八九十百几第])([零一二两三四五六七八九十百]{1,5})"
                        r"(?=\s*号(?![码楼线])|\s*#)"
                        r"|(?<=线索|跟进|接手|改派|分配|延期|阶段|推进|赢单|输单|证据|查看|看看|打开)"
                        r"\s*([零一二两三四五六七八九十百]{1,5})(?=$|\s|[给到的])")


# 「接受 45」 typed for 接手 45: only before a lead, so 「价格可以接受」 in a note stays as written
_TAKE_TYPO = re.compile(r"接[受收](?=\s*(?:#?\d|[零一二两三四五六七八九十百]+\s*号|线索|这[个条]|那[个条]))")


def _digits(m: re.Match[str]) -> str:
    from storage.leads import cn_number

    raw = m.group(1) or m.group(2)
    n = cn_number(raw)
    return f" {int(n)}" if m.group(2) and n else str(int(n)) if n else m.group(0)


# 「2️⃣」: a keycap digit is the digit
_KEYCAP = re.compile("([0-9#*])\ufe0f?\u20e3")
_ENGLISH_CN = dict(ENGLISH)
# 「10am」, 「3:30 pm」: a clock said in English, in the words the time grammar reads
_AM_PM = r"(?<![\d:])(?P<h>1[0-2]|0?[1-9])(?::(?P<m>[0-5]\d))?\s*(?P<ap>am|pm|a\.m\.|p\.m\.)"
# 「30min后」, 「in 2h」: a span ahead in English units, as the time grammar reads it (30分钟后)
_AHEAD = (r"(?<![\d.A-Za-z])(?:in\s+(?P<in>\d{1,3})\s*(?P<inu>mins?|minutes?|h|hrs?|hours?)(?![A-Za-z])"
          r"|(?P<n>\d{1,3})\s*(?P<u>mins?|minutes?|h|hrs?|hours?)(?=\s*(?:后|以后|之后)))")
# verbs that are commands only beside a lead number: 「give 7 to 李娜」, 「move 7 to demo」, 「7 stage demo」
_BY_NUMBER = {"give": "转给", "hand": "转给", "move": "推进", "push": "推进", "stage": "阶段"}
_VERB_NUMBER = r"(?<![A-Za-z])(?P<v>give|hand|move|push)(?=\s+#?\d)|(?<=\d\s)(?P<st>stage)(?![A-Za-z])"
_ENGLISH_RX = re.compile(rf"{_AM_PM}(?![A-Za-z])|{_AHEAD}|{_VERB_NUMBER}|(?<![A-Za-z])(?:"
                         + "|".join(map(re.escape, sorted(_ENGLISH_CN, key=len, reverse=True)))
                         + r")(?![A-Za-z])", re.IGNORECASE)


def _in_chinese(m: re.Match[str]) -> str:
    """The Chinese for one English command word or clock (see ENGLISH, _AM_PM)."""
    if m.group("v") or m.group("st"):
        return _BY_NUMBER[m.group(0).lower()]
    if m.group("n") or m.group("in"):
        n, unit = (m.group("n"), m.group("u")) if m.group("n") else (m.group("in"), m.group("inu"))
        return f"{n}{'分钟' if unit.lower().startswith('m') else '小时'}" + ("后" if m.group("in") else "")
    if m.group("h") is None:
        return _ENGLISH_CN[m.group(0).lower()]
    half = "上午" if m.group("ap").lower().startswith("a") else "下午"
    return f"{half}{m.group('h')}点" + (f"{m.group('m')}分" if m.group("m") else "")
Piece = tuple[str, str]  # (as read, as written)


def _light(text: str) -> str:
    """NFKC (Chinese punctuation kept), zero-width and direction marks dropped, keycaps as digits, spaces
    collapsed: the form slots are written back in."""
    t = "".join(c if c in CN_PUNCT else unicodedata.normalize("NFKC", c) for c in ZERO_WIDTH.sub("", text))
    return " ".join(_KEYCAP.sub(r"\1", t).split())


def _pieces(t: str, t2s: Simplifier) -> list[Piece]:
    """English command words in Chinese (the rest in lower case when any was) and 繁體 in 简体 (OpenCC, as the
    knowledge base reads), each piece with the words it was read from."""
    pieces: list[Piece] = []
    at = 0
    for m in _ENGLISH_RX.finditer(t):
        pieces += [(t[at:m.start()], t[at:m.start()]), (_in_chinese(m), m.group(0))]
        at = m.end()
    pieces.append((t[at:], t[at:]))
    if at:
        pieces = [(out if out != said else out.lower(), said) for out, said in pieces]
    if t2s.has_traditional(t):
        pieces = [(t2s.convert(out), said) for out, said in pieces]
    return [p for p in pieces if p[0] or p[1]]


def _finish_clean(t: str) -> str:
    for wrong, right in TYPOS.items():
        t = t.replace(wrong, right)
    t = _OVERDUE_TYPO.sub("超时了", t)
    t = re.sub(r"(?<=团队|组里|我的)\s+(?=线索|客户)", "", t)  # 「team leads」 read word by word
    t = MENTION.sub("", t) or t
    t = _TAKE_TYPO.sub("接手", t)
    return " ".join(_SPOKEN_ID.sub(_digits, t).split()) if _SPOKEN_ID.search(t) else t


def clean(text: str, t2s: Simplifier) -> str:
    """NFKC, zero-width and direction marks dropped, 繁體 in 简体, typos and English command words mapped, spoken
    lead numbers in digits, spaces collapsed."""
    return _finish_clean("".join(out for out, _said in _pieces(_light(text), t2s)))


def reading_pair(text: str, t2s: Simplifier) -> tuple[str, str]:
    """(`text` with English command and field words in Chinese, the same with 繁體 in 简体): what the extractor
    and the value parsers read a typed lead or value in (「budget 200w」 is a 预算, 「八十萬」 八十万), and beside it
    the user's own script to give names back in."""
    said = _ENGLISH_RX.sub(_in_chinese, _light(text))
    return said, t2s.convert(said)


def _written(pieces: list[Piece], start: int, end: int) -> str:
    """The words as written that the read text's [start, end) came from."""
    parts, at = [], 0
    for out, said in pieces:
        lo, hi = max(start, at), min(end, at + len(out))
        if lo < hi:
            parts.append(said[lo - at:hi - at] if len(out) == len(said) else said)
        at += len(out)
    return "".join(parts)


# the slots that carry the user's own words: given back as written (case, 繁體, English), not as read
_WRITTEN_SLOTS = ("text", "note", "query", "reason", "task", "value", "when", "filter", "stage")


def _as_written(got: Intent, read: str, pieces: list[Piece]) -> Intent:
    slots = dict(got.slots)
    for key in _WRITTEN_SLOTS:
        value = slots.get(key)
        if isinstance(value, str) and value and (i := read.find(value)) >= 0:
            slots[key] = _written(pieces, i, i + len(value))
        elif isinstance(value, str) and value:  # cut from the middle (「email 线索8 报价」): word by word
            for out, said in pieces:
                if out != said and out.strip() and out in value:
                    value = value.replace(out, said, 1)
            slots[key] = value
    if isinstance(slots.get("intent"), Intent):
        slots["intent"] = _as_written(slots["intent"], read, pieces)
    return replace(got, slots=slots)


def _tidy(t: str) -> str:
    return " ".join(t.split()).strip(" ，,。.!！~～;；、?？")


# ---------------------------------------------------------------- entry point

def understand(text: str, role: str = "rep", state: State | None = None, model: IntentModel | None = None, *,
               t2s: Simplifier) -> Intent:
    """The intent of one text message from someone with `role` ("rep" | "manager" | "admin"); `model` (the
    learned reader, handlers/intent_model.py) is asked when the rules found only a knowledge question or a
    「你是想…」; `t2s`: OpenCC's tables (the services' engine, knowledge/query.SIMPLIFIER)."""
    state = state or State()
    if len(text) > MAX_CHARS:
        return Intent("too_long", {"chars": len(text)})
    pieces = _pieces(_light(text), t2s)
    read = "".join(out for out, _said in pieces)
    t = _finish_clean(read)
    got = _understood(t, role, state, model)
    return got if all(out == said for out, said in pieces) else _as_written(got, read, pieces)


def _understood(t: str, role: str, state: State, model: IntentModel | None) -> Intent:
    if re.fullmatch(r"[?？]+", t):
        return Intent("help", text=t)
    if not _WORDY.search(t) or _only_emoji(t):
        return Intent(_emoji_kind(t), text=t)
    got = _by_rules(t, role, state)
    # 「邵阳的线索」, 「50万」: no lead of that name, or a bare value the rules asked about already
    found_none = got.name == "unclear" and got.slots.get("lead_ids") == []
    if model is not None and got.name in ("knowledge", "unclear") and not found_none and \
            len(_CJK.findall(t)) >= MODEL_MIN_CHARS:
        return _learned(model, t, role, state, asked=got.name == "unclear") or got
    return got


# Chinese characters the model needs to judge: 「清库」 is too little for n-grams, and pinyin or English is not what
# it learned (the rules' word lists read both)
MODEL_MIN_CHARS = 3


Step = Callable[[str, str, State], "Intent | None"]


def _by_rules(t: str, role: str, state: State) -> Intent:
    """What the whole message is (a pick, small talk), else what it is less a greeting before and thanks after."""
    whole: tuple[Step, ...] = (_bad_id, _flag_answer, _pick, _undo, _renewal_action, _small_talk)
    for step in whole:
        got = step(t, role, state)
        if got is not None:
            return got
    said, t = t, _unwrapped(t)
    unwrapped: tuple[Step, ...] = (_gibberish, _today, _command, _reminder, _plan, _free_lead, _follow_up_note, _edit,
                                   _bare_name, _bare_value, _near_miss, _no_such_lead)
    for step in unwrapped:
        got = step(t, role, state)
        if got is not None:
            return got
    return Intent("knowledge", {"query": said}, said)


# 「Hi 帮我记一下跟进 312 …」, 「你好，新客户 …」: a greeting before the message, and 「…，谢谢🙏」 after it
_GREETED = re.compile(r"^(?:(?:hi|hello|hey|morning|good morning)(?: team| all| guys)?"
                      r"|hiya|嗨|哈喽|哈啰|你好|您好|在吗|在不在|早上好|下午好|晚上好|早安|早|老师好)"
                      r"(?:呀|啊|哈)?[\s,，!！~～。.、]+(?=\S)", re.IGNORECASE)
_THANKED = re.compile(r"(?<=\S)[\s,，。!！~～]+(?:(?:谢谢|谢啦|谢了|多谢|感谢|辛苦了|辛苦|麻烦了|麻烦你了"
                      r"|thx|thanks|thank you)"
                      r"(?:你|您|啦|了|哈|呀)?[\s!！~～。🙏]*|🙏+)$", re.IGNORECASE)


# 「pls FU 7 …」: asked politely before the command itself
_POLITE = re.compile(r"^(?:pls|plz|please|kindly)[\s,，:：]+(?=\S)")


def _unwrapped(t: str) -> str:
    return _POLITE.sub("", _THANKED.sub("", _GREETED.sub("", t, count=1))) or t


# a lead number that is not a whole number of lead-number size (「线索 1e10」, 「跟进 3.5」, 「接手 123456789」): read
# whole and refused, never cut down to its first digits (「线索 1」)
BAD_ID = re.compile(r"(?:线索|跟进|接手|改派|分配|延期|阶段|推进|赢单|输单|证据|查看|打开)\s*(?:#|第)?\s*"
                    r"(?P<n>\d+(?:\.\d+|[eE][+-]?\d+)+|\d{8,})(?![\w.])")


def _bad_id(t: str, role: str, state: State) -> Intent | None:
    m = BAD_ID.search(t)
    if m is None or PHONE.fullmatch(m.group("n")):
        return None
    return Intent("bad_id", {"raw": m.group("n")}, t)


def _flag_answer(t: str, role: str, state: State) -> Intent | None:
    """「预算 确认 客户集团总预算」: a rep's answer to a cross-check flag, and a manager's 「清除标记 12 阶段」
    (handlers/chat/checks.py takes both by their command word), not an edit of the budget or a stage change."""
    if t.startswith("清除标记"):  # 「清除标记 16 跟进」: the topic is the argument, never a command of its own
        return Intent("flag_clear", text=t)
    return Intent("flag_answer", text=t) if FLAG_ANSWER.match(t) else None


# 「已联系 2」, 「申请主管介入 李明」, 「解除锁定」: a renewal warning's action typed, with the warning's number on
# 续约 or its customer (handlers/renewals/chat.py); 「已联系了王总，下周签」 stays a follow-up note
RENEWAL_ACTION = re.compile(r"(?:已联系|提交续签证明|续签证明|申请主管介入|解除锁定)"
                            r"(?:\s*#?\d{1,3}|\s+[\u4e00-\u9fffA-Za-z·]{1,12})?")


def _renewal_action(t: str, role: str, state: State) -> Intent | None:
    return Intent("renewal_action", text=t) if RENEWAL_ACTION.fullmatch(_tidy(t)) else None


def _only_emoji(t: str) -> bool:
    return all(unicodedata.category(c)[0] in "PSZC" for c in t)


THANKS_EMOJI = frozenset("🙏💐🌹")
ACK_EMOJI = frozenset("👌👍🤝✌🆗✅☑🙆")


def _emoji_kind(t: str) -> str:
    """「🙏🙏」 thanks, 「👍」 / 「👌👌」 ok; any other emoji or punctuation is noise."""
    marks = {c for c in t if unicodedata.category(c) == "So"}  # skin tones and variation selectors are not
    if not marks or not all(unicodedata.category(c)[0] in "SZ" or c == "\ufe0f" for c in t):
        return "noise"
    if marks <= THANKS_EMOJI | ACK_EMOJI:
        return "thanks" if marks & THANKS_EMOJI else "ack"
    return "noise"


# ---------------------------------------------------------------- replies to the last card

_ORDINAL = {"一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5}


_PICK_NUMBER = re.compile(r"(?:就|要|我要|我选|点|按|go with|going with|pick|choose|select)?\s*"
                          r"(?:选择|选第|选|第|点|按)?\s*"
                          r"(?:option|opt|no\.?|按钮|选项|第)?\s*"
                          r"([1-9]|[一二三四五])\s*(?:个|项|号|条|个按钮|个选项)?\s*(?:吧|呗|哈|pls|please)?")
# a button by where it stands: 「中间的那项」, 「最后一个」, 「the first one」
_PICK_PLACE = re.compile(r"(?:就|我)?(?:选|要|点|按)?(?:择)?\s*(?:the\s*)?"
                         r"(?P<at>中间|最后面?|最下面|最底下|最右边|最上面|最前面|最左边|头|first|second|third|last|middle|1st|2nd|3rd)"
                         r"\s*(?:那|这)?(?:一)?\s*(?:个|项|条|个按钮|个选项|one|option|button)?\s*(?:吧|呗|pls|please)?")
_PLACES = {"first": 1, "1st": 1, "头": 1, "最上面": 1, "最前面": 1, "最左边": 1, "second": 2, "2nd": 2, "third": 3,
           "3rd": 3}
_LAST = frozenset({"last", "最后", "最后面", "最下面", "最底下", "最右边"})
# what may stand before a button said in words: 「好的 那就按这个修改」, 「算了 放弃吧」, 「行 确认提交」
_PICK_LEAD = re.compile(r"^(?:(?:对的|对|好的|好|嗯嗯|嗯|行|可以|没问题|ok|okay|yes|yep|yeah|sure|nope|nah|no"
                        r"|let's|pls|plz|please"
                        r"|不要了|不用了|算了|不了|那就|就"
                        r"|我要|我想|我选|那|要|还是|直接|就按|按照|按|点|选)(?:这个|那个)?[\s，,。!！]*)+")


def _pick(t: str, role: str, state: State) -> Intent | None:
    said_as = _SYMBOLS.sub("", t).strip(" 。.!！").lower()  # 「确认✅」, 「2️⃣」
    m = _PICK_NUMBER.fullmatch(said_as) or re.fullmatch(r"(?:option|opt|选项|按钮)\s*([a-e])", said_as)
    if m:
        said = m.group(1)
        n = int(said) if said.isdigit() else _ORDINAL.get(said) or "abcde".index(said) + 1
        return Intent("pick", {"index": n, "by_place": True}, t)
    m = _PICK_PLACE.fullmatch(said_as)
    n = len(state.buttons)
    at = m and (_PLACES.get(m.group("at")) or (n if m.group("at") in _LAST else (n + 1) // 2 if n % 2 and n > 1
                                               else None))
    if at and at <= max(n, 3):
        return Intent("pick", {"index": at, "by_place": True}, t)
    bare = re.sub(r"(?<=\S)(?:吧|呗|啦|哈|吧吧)$", "", _tidy(said_as))  # 「放弃吧」
    # 「确认没问题」, 「我要修改」, 「那就放弃吧」: a button said with a few words around it
    bare = re.sub(r"^(?:那就|就|我要|我想|我选|那|要)(?=\S)"
                  r"|(?<=\S)\s*(?:没问题|就行|就好|就可以|好了|一下|提交|掉|pls|please|plz|it)$", "", bare)
    for said in dict.fromkeys((bare, _PICK_LEAD.sub("", bare))):
        for i, label in enumerate(state.buttons, 1):
            if said and label.strip() in {said, *SAME_BUTTON.get(said, ())}:
                return Intent("pick", {"index": i}, t)
    said = {_button_at(word, state) for word in bare.split()}  # 「放弃 cancel」: one button, said twice
    if len(bare.split()) > 1 and len(said) == 1 and None not in said:
        return Intent("pick", {"index": said.pop()}, t)
    if bare in CARD_WORDS:  # 「确认」 with no card offering it: say so, not a knowledge question
        return Intent("pick", {"index": 0}, t)
    return None


# 「撤销」, 「撤回刚才的改派」, 「把刚才的接手撤销掉」, 「取消刚才的接手」, 「undo」: take back the last 接手 / 改派
_JUST = r"(?:刚才|刚刚|上一步|上一个|最近)?(?:的|那个|那次|这个)?"
_HANDOVER = r"(?:接手|改派|分配|转交)"
_ACT = r"(?:接手|改派|分配|转交|操作)"  # 「撤销刚才的操作」 names an undo; 「取消操作」 may cancel a card's question
_ASK = r"(?:请|帮我|麻烦)?"
UNDO = re.compile(rf"{_ASK}(?:把|将)?{_JUST}{_ACT}?(?:撤销|撤回)(?:掉|一下|下)?{_JUST}{_ACT}?(?:吧|了)?"
                  rf"|{_ASK}取消{_JUST}{_HANDOVER}|{_JUST}{_HANDOVER}(?:不要了|算了)|undo", re.IGNORECASE)


def _undo(t: str, role: str, state: State) -> Intent | None:
    return Intent("undo", text=t) if UNDO.fullmatch(_tidy(t)) else None


def _button_at(word: str, state: State) -> int | None:
    """The place of the last card's button that `word` names (its label or a word for it), else None."""
    return next((i for i, label in enumerate(state.buttons, 1)
                 if label.strip() in {word, *SAME_BUTTON.get(word, ())}), None)


CARD_WORDS = frozenset({"确认", "确定", "放弃", "取消", "是的", "不是", "有用", "没用", "换一个"})
# words people use for one another's button: 「确定」 clicks 「确认」, 「取消」 clicks 「放弃」
SAME_BUTTON = {"确定": ("确认",), "确认": ("确定",), "取消": ("放弃",), "放弃": ("取消",), "是": ("是的",),
               "对": ("是的",), "对的": ("是的",), "不": ("不是",), "不对": ("不是",),
               # the buttons' English words: 「confirm」, 「cancel」, 「edit」
               "confirm": ("确认", "确定"), "submit": ("确认", "确定"), "cancel": ("放弃", "取消"),
               "discard": ("放弃", "取消"), "drop": ("放弃", "取消"), "edit": ("修改",), "modify": ("修改",),
               "change": ("修改",), "yes": ("是的",), "no": ("不是",)}


def small_talk(t: str) -> str | None:
    """"greeting" / "thanks" / "ack" when the message is nothing but such words, else None."""
    kind = _small_words(re.sub(r"6{3,}", "666", t.lower()))  # 「6666」: praise, however many
    if kind is None and re.search(r"([a-z])\1", t.lower()):  # 「okk」, 「thxx」: a doubled key on a phone
        kind = _small_words(re.sub(r"([a-z])\1+", r"\1", t.lower()))
    return kind


# an opener before the real message: coming to bother someone (「又来打扰你了」) greets, 「麻烦你了」 thanks
_OPENER = re.compile(r"[又再]?来(?:麻烦|打扰|叨扰)(?:你|您)?(?:一下|了)*")


# saying who one is after a greeting: 「哈喽 我是刚入职的小孙」, 「大家好 我叫李明 请多关照」
_INTRO = re.compile(r"我(?:是|叫)(?:新来的|新入职的|刚来的|刚入职的|新同事|新人)?(?:销售|同事)?[\u4e00-\u9fff]{0,3}"
                    r"(?=$|[\s，,。!！~])|请多(?:关照|指教)|多多(?:关照|指教)|初来乍到|新人报到"
                    r"|i'?m [a-z]+(?= |$)|this is [a-z]+(?= |$)")


def _small_words(low: str) -> str | None:
    kinds = {"greeting"} if _OPENER.search(low) else set()
    low = _OPENER.sub(" ", low)
    for word, kind in _SMALL:
        if word in low:
            kinds.add(kind)
            low = low.replace(word, " ")
    if "greeting" in kinds:
        low = _INTRO.sub(" ", low)
    if not kinds or _SYMBOLS.sub("", _FILLERS.sub("", low)):  # 「早安☕」: an emoji adds nothing
        return None
    return next(k for k in ("thanks", "greeting", "ack") if k in kinds)


# 「今天麻烦你好几回了 谢了」: whatever comes first, a short message that ends in thanks is thanks
_THANKS_LAST = re.compile(r"(?:谢谢|谢了|谢啦|多谢|感谢)(?:你|您|啦|了|哈|呀|啊|师傅|老师|兄弟|亲)*$")


def _small_talk(t: str, role: str, state: State) -> Intent | None:
    low = _tidy(t.lower())
    kind = small_talk(low) if len(low) <= 30 else None
    if kind is None and len(low) <= 16 and _THANKS_LAST.search(low) and not QUESTION.search(low) and not re.search(
            r"\d", low) and not REMIND.search(low) and _find_command(low) is None:  # 「后天提醒我…，谢谢」 acts
        kind = "thanks"
    if kind:
        return Intent(kind, text=t)
    low = _POLITE.sub("", low)  # 「please help」
    if HOW_TO.search(low) or HELP_EN.match(low) or (
            HELP.search(low) and not re.search(r"客户|报价|价格|异议|竞品", low)):
        return Intent("help", text=t)
    return None


_KEY_ROWS = ("qwertyuiop", "asdfghjkl", "zxcvbnm")


def _gibberish(t: str, role: str, state: State) -> Intent | None:
    """「啊啊啊啊」, 「asdfghjkl」, 「sdfsdf」: one key held or a hand across the keyboard — no question in it."""
    low = _tidy(t)
    mash = re.fullmatch(r"[a-z]{4,}", low) is not None and (  # lower case: 「HTTP」 is a word asked about
        not re.search(r"[aeiouy]", low)
        or any(low[i:i + 4] in row or low[i:i + 4] in row[::-1] for row in _KEY_ROWS for i in range(len(low) - 3)))
    babble = re.fullmatch(r"(.)\1{2,}|([啊吧哦呃嗯哈呀啦嘿咦唉噢喔呜咿哇]{2})\2+", low)  # 「啊啊啊啊」, 「啊吧啊吧」
    return Intent("noise", text=t) if mash or babble else None


# ---------------------------------------------------------------- what to do today

# 「今天有啥要跟进的」, 「我今天该联系谁」, 「今日待办」, 「明天要见哪些客户」: the day's follow-ups, asked any way
_DAY = re.compile(r"今天|今日|今儿个?|当天|明天|明日|明儿")
_TODO_ACT = r"(?:call|ping|跟进|联系|回访|拜访|打电话|回电|见|找|约|跟|跑|去)"
_TODO_ITEM = re.compile(rf"^的?\s*(?:跟进|回访)$|待办|待{_TODO_ACT}|任务|日程|安排|计划|要做|该做|要干|该干")
_TODO_WHO = re.compile(rf"{_TODO_ACT}.{{0,6}}(?:谁|哪[些个位几]|几个|几[位条家]|多少)"
                       rf"|(?:谁|哪[些个位几]|几个|几[位条家]|多少).{{0,6}}{_TODO_ACT}"
                       rf"|有(?:啥|什么|没有|哪些)(?:客户|线索|人|单子)?(?:要|需要|该|得|可以|待)?{_TODO_ACT}")
_NOT_TODO = re.compile(r"没|超时|逾期|冻结|话术|怎么|如何|怎样|咋|为什么|提醒|叫我|喊我|日报|团队|大家|组里")


def _today(text: str, role: str, state: State) -> Intent | None:
    alone = re.fullmatch(r"(?:今天|今日|今儿个?|明天|明日|明儿个?)(?:呢|的|吧)?", _tidy(text))
    if alone:  # 「today」, 「今天？」: the day's follow-ups
        return Intent("today", {"day": "明天"} if alone.group(0).startswith("明") else {}, text)
    t = re.sub(r"(?<=\S)(?:没有?|不)[？?]?$", "", text)  # 「今儿有啥待办没」: a question's tail, not a negation
    day = _DAY.search(t)
    if day is None or len(t) > 24 or re.search(r"\d", t) or _NOT_TODO.search(t) or CONTACT_DONE.search(t):
        return None
    rest = _tidy(t[: day.start()] + " " + t[day.end():])
    if not (_TODO_ITEM.search(rest) or _TODO_WHO.search(rest)):
        return None
    if any(name and name in t for _lid, name in state.customers):  # 「今天要见周立吗」: about one customer
        return None
    said = day.group(0)
    return Intent("today", {} if said in ("今天", "今日", "今儿", "今儿个", "当天") else {"day": "明天"}, text)


# ---------------------------------------------------------------- commands

def _lead_ref(t: str) -> tuple[int | None, str]:
    """The lead a message names (线索3, 3号, #3, 第3条, or a leading number) and the text without it."""
    m = LEAD_REF.search(t)
    lead = re.match(rf"^\s*(?:把|将|给|这个|那个|这条|那条)?\s*{ID}\s*号?(?:[\s,，:：、]+|(?=给|到)|$)", t)
    if m and (m.start() == 0 or lead is None):
        num = next(g for g in m.groups() if g)
        keep = "客户" if m.group(0).endswith("客户") and m.start() > 0 else (
            "" if _CJK.match(t[m.start() - 1:m.start()]) and _CJK.match(t[m.end():m.end() + 1]) else " ")
        return int(num), _tidy(t[: m.start()] + keep + t[m.end():])
    if lead:  # 「312，客户确认3月8号开班」: the number first, not the date's 8号
        return int(lead.group(1)), _tidy(t[lead.end():])
    return None, t


def _find_command(t: str) -> tuple[str, str, int, int] | None:
    """(intent, word, start, end) of the earliest command word (longest at that position)."""
    best: tuple[str, str, int, int] | None = None
    for name, words in COMMANDS[:-1]:
        for word in words:
            i = t.find(word)
            if i < 0 or (best and (i > best[2] or (i == best[2] and len(word) <= len(best[1])))):
                continue
            if not _command_here(t, name, word, i):
                continue
            best = (name, word, i, i + len(word))
    if best is None:
        name, words = COMMANDS[-1]
        best = next(((name, w, t.find(w), t.find(w) + len(w)) for w in words
                     if t.find(w) >= 0 and _command_here(t, name, w, t.find(w))), None)
    return best


# 「放假安排发我」: a look asked for after the command word adds nothing to it
_LOOK = re.compile(r"^(?:看看|看一下|看下|查一下|查下|发我|发给我|发我看看|给我看看|发一下|发下)[吧呗]?$")


def _command_here(t: str, name: str, word: str, i: int) -> bool:
    """A command word counts at the start of the message, or later when a lead is named next to it."""
    after = _LOOK.sub("", re.sub(r"^(?:一下|下)(?!午)\s*", "", t[i + len(word):]))
    if name == "offboard" and re.fullmatch(r"(?:请|帮我|帮|给)?(?:办理?|处理|走)(?:一下|下)?", t[:i].strip()):
        return True  # 「给李娜办离职」
    if name == "lead_show":
        return (i == 0 and (not after or re.match(r"\s*#?\d", after) is not None)) or bool(
            re.match(r"^(?:查看|看看|打开)?\s*(?:线索|lead)\s*#?\d+\s*$", t))
    if name == "reassign" and i == 0 and re.search(rf"^\S{{1,12}}?\s*(?:(?:线索|#|第)\s*{ID}|{ID}\s*号|{ID}(?=\s|$))",
                                                   after):
        return True  # 「转给李娜 线索9」: the person first, then the lead
    if name in ("my_leads", "team_report", "kb_gaps") and re.match(r"\s*#?\d", after):
        return False
    if i == 0 and name in LISTS and len(after) <= 8 and not re.search(r"\d", after):
        return True
    if name == "lead_new" and re.fullmatch(r"(?:请|帮我|给我|我要|我想|麻烦)?(?:记|录|加|建|新建|添加|登记|创建)?"
                                           r"(?:一个|个|一条|条|一下)?", t[:i].strip()):
        return True
    if word.endswith(("了", "啦")) and after and _CJK.match(after[:1]):  # 「7号 今天签了合同」 tells, 「7号签了」 acts
        return False
    if i > 0 and re.fullmatch(PREFIX, t[:i].strip()) and name not in ("won", "lost"):
        return True
    if i == 0:
        return not after or not _CJK.match(after[:1]) or name in ("overdue", "kb_import", "lead_new", "my_leads",
                                                                  "team_leads", "offboard", "takeover")
    if re.fullmatch(VERBS, t[:i].strip()) and name in LISTS:
        return True
    return bool(re.search(rf"{ID}\s*号?(?:线索|客户)?\s*(?:再|先|帮我|就|也)?\s*$", t[:i])
                or re.search(r"(?:线索|客户)\s*#?\d", t[:i]))


def _command(t: str, role: str, state: State) -> Intent | None:
    edit = _lead_edit(t) or _named_edit(t, state)
    if edit is not None:
        return edit
    listed = _list_phrase(t) or _team_filtered(t)
    if listed is not None:
        return listed
    new = _new_lead(t)
    if new is not None:
        return new
    found = _find_command(t)
    if found is None:
        return _manager_phrase(t, role, state)
    name, _word, start, end = found
    if _REMIND_ME.search(t[:start]) and name != "lead_show":  # 「提醒我催7号签单」: the command is the reminder's task
        return None
    if _two_commands(t, end):
        return Intent("multi", text=t)
    before = "" if re.fullmatch(PREFIX, t[:start].strip()) else _tidy(t[:start])
    before = re.sub(r"^(?:请你?|帮我|帮忙|麻烦你?|劳驾)?\s*(?:把|将|给|这个|那个|这条|那条)\s*(?=#?\d|线索|客户)", "",
                    before)
    after = _LOOK.sub("", re.sub(r"^[:：\-—–|]\s*|^(?:一下|下)(?!午)\s*|^(?:on|for)\s+(?=#?\d)", "", _tidy(t[end:])))
    if name in _BY_ID and (glued := _GLUED_ID.match(t[end:])):  # 「跟进2约了周四…」: the number is the lead
        after = f"{glued.group(1)} {_tidy(t[end + glued.end():])}".strip()
    return _SLOTS.get(name, _plain)(name, before, after, t, state)


# a lead number written straight after the command word, not a quantity or a time (「跟进3天后」, 「跟进2点」)
_GLUED_ID = re.compile(r"#?(\d{1,7})(?!\d|\s*(?:[点:：.．号月日天周年万千百个次岁时分秒%wWkK]|小时|星期|礼拜))")


# asked to be reminded (「帮我记」 before 跟进 records a note, it does not remind)
_REMIND_ME = re.compile(r"提醒|ping\s*我|叫我|喊我|别让我忘")


def _two_commands(t: str, end: int) -> bool:
    """「跟进 3 已打电话 改派 4 张伟」: a second command with its own lead number; 「… 新线索 李四 138…」: a new lead
    with its phone."""
    rest = t[end:]
    for _name, words in COMMANDS[5:17]:
        for word in words:
            if re.search(rf"(?:^|\s){re.escape(word)}\s*#?\d", rest):
                return True
    lead_new = re.search(r"(?:^|\s)(?:新线索|新客户|新商机)[\s:：]", rest)
    return lead_new is not None and PHONE.search(rest[lead_new.end():]) is not None


def _plain(name: str, before: str, after: str, t: str, state: State) -> Intent:
    return Intent(name, {"arg": after} if after and name not in NO_ARGS else {}, t)


def _with_lead(name: str, before: str, after: str, t: str, state: State) -> Intent:
    lead_id, rest = _lead_ref(f"{before} {after}".strip())
    if lead_id is None:  # 「跟进 张三 发了报价单」: the customer named, not the lead last shown
        lead_id = _named_lead(rest[:NAME_WINDOW], state)
    slots: dict[str, Any] = {"lead_id": lead_id}
    key = {"follow_up": "note", "won": "reason", "lost": "reason", "evidence": "note", "stage": "stage"}.get(name)
    if key == "stage":
        arrive = r"^(?:(?:改|更新|调整|推进|推|变|换)?(?:到|为|至|成)|(?:to|into)(?=\s))\s*"
        rest = _tidy(re.sub(r"\s*阶段了?$", "", re.sub(arrive, "", rest)))
    if key:
        slots[key] = _reason(rest) if key == "reason" else re.sub(r"^[\-—–|:：]\s*", "", rest)
    return Intent(name, slots, t)


NAME_WINDOW = 12  # a customer named this close to the command word is who the command is about


def _named_lead(text: str, state: State) -> int | None:
    """The one open lead of the caller whose customer is named in `text` (None: none, or several)."""
    ids = {lid for lid, name in state.customers if name and name in text}
    return ids.pop() if len(ids) == 1 else None


def _lead_show(name: str, before: str, after: str, t: str, state: State) -> Intent:
    lead_id, _ = _lead_ref(t)
    if lead_id is None:
        lead_id, _ = _lead_ref(after)
    return Intent("lead_show", {"lead_id": lead_id}, t)


def _lead_new(name: str, before: str, after: str, t: str, state: State) -> Intent:
    text = re.sub(r"^(?:一个|一下|个)?(?:新的?)?(?:客户|线索)?[:：\s\-—–|]*", "", after)
    text = re.sub(r"^(?:pls|plz|please|尽快)(?![a-z])[:：\s\-—–|]*", "", text, flags=re.IGNORECASE)
    return Intent("lead_new", {"text": _tidy(text)}, t)


# 「市场部转来的新线索 张总 138…」: where the lead came from, said before it
_SOURCED_LEAD = re.compile(r"^\S{1,12}?(?:的|了个|了一个)\s*新的?(?:线索|客户|商机)(?:[\s:：,，\-—–|]+|$)")


def _new_lead(t: str) -> Intent | None:
    labelled = re.match(r"^(?:线索|客户)\s*[:：]\s*", t)  # 「Lead: 韩总 135…」: the lead's fields under a label
    if labelled and PHONE.search(t) and not QUESTION.search(t):
        return Intent("lead_new", {"text": _tidy(t[labelled.end():])}, t)
    m = NEW_LEAD.match(t)
    sourced = None if m else _SOURCED_LEAD.match(t)
    if sourced and PHONE.search(t[sourced.end():]) and not QUESTION.search(t[:sourced.end()]):
        return Intent("lead_new", {"text": _tidy(_LEAD_FILLER.sub("", t[sourced.end():]))}, t)
    if not m:
        return None
    rest = _tidy(_LEAD_FILLER.sub("", t[m.end():]))
    named = m.group("noun") or m.group("noun2")
    if m.group("verb") in ("开", "整", "弄", "搞") and not named:  # 「开会…」, 「弄好了」: no lead without its noun
        return None
    if (named and not (QUESTION.search(rest) and not PHONE.search(rest))) or (m.group("verb") and PHONE.search(rest)):
        return Intent("lead_new", {"text": rest}, t)
    return None


def _reassign(name: str, before: str, after: str, t: str, state: State) -> Intent:
    lead_id, rest = _lead_ref(f"{before} {after}".strip())
    rest = re.sub(r"^(?:给到|给|到|to|→|->|=>)\s*", "", _tidy(rest.replace("把", "", 1))).lstrip("@")
    who, reason = handover_to(rest, state.team)
    return Intent("reassign", {"lead_id": lead_id, "assignee": who, "reason": reason}, t)


def split_person(rest: str, team: tuple[tuple[str, str], ...]) -> tuple[str | None, str]:
    """(the person named first, the rest as a reason): the longest team id/name the text starts with, else its
    first word."""
    rest = _tidy(rest)
    if not rest:
        return None, ""
    names = sorted({n for pair in team for n in pair if n}, key=len, reverse=True)
    low = rest.lower()
    for name in names:
        if low.startswith(name.lower()):
            return name, _reason(rest[len(name):])
    head = re.split(r"[\s,，、:：]", rest, maxsplit=1)[0]
    return head, _reason(rest[len(head):])


def handover_to(rest: str, team: tuple[tuple[str, str], ...]) -> tuple[str | None, str]:
    """The person a lead goes to and why: 「李娜跟吧 她有医院资源」 → ("李娜", "她有医院资源")."""
    who, reason = split_person(rest, team)
    return who, _reason(re.sub(r"^(?:来|去)?(?:跟进|跟|负责|接手|处理)(?:一下)?(?:吧|啦|了)?(?=\s|$)", "", reason))


_EMOJI_HEAD = re.compile("^[\\s\U0001F000-\U0001FAFF\u2600-\u27BF\ufe0f\u200d]+")


def _reason(text: str) -> str:
    text = _EMOJI_HEAD.sub("", text)  # 「没戏了😭 对方…」
    text = re.sub(r"^(?:[\s,，、:：]|[再先就也](?=\s)|了|吧|啦|呀|啊|by(?=\s)|because(?=\s))*"
                  r"(?:因为|原因[:：]?|理由[:：]?)?", "", text)
    return _tidy(re.sub(r"(?:吧|啦|呀|啊|哈)+$", "", _tidy(text)))


_SPAN = re.compile(r"(?<![0-9A-Za-z.+\-−])\+?(?P<n>\d+(?:\.\d+)?|[一二两三四五六七八九十半]+)\s*"
                   r"(?P<u>个工作日|工作日|天|日|个小时|小时|days?|hours?|hrs?|weeks?|h|d|周)(?![A-Za-z])")
_CN_NUM = {"一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9, "十": 10,
           "半": 0.5}


def parse_span(text: str) -> tuple[str | None, str]:
    """「2天 客户出差」 → ("2天", "客户出差"); hours as 「4小时」; weeks become working days (5 a week)."""
    m = _SPAN.search(text)
    if not m:
        head = _tidy(text).split(" ")[0]
        if re.search(r"[天周月日]|小时|钟头", head) and len(head) <= 6:  # 「几周」: said, but not readable
            return head, _reason(_tidy(text)[len(head):])
        return None, _tidy(text)
    raw = m.group("n")
    n = float(raw) if raw[0].isdigit() else sum(_CN_NUM.get(c, 0) for c in raw) if len(raw) == 1 else _cn_small(raw)
    unit = m.group("u")
    if unit in ("周", "week", "weeks"):
        n, unit = n * 5, "天"
    label = "小时" if unit in ("个小时", "小时", "h", "hour", "hours", "hr", "hrs") else "天"
    return f"{n:g}{label}", _reason(text[: m.start()] + " " + text[m.end():])


def _cn_small(raw: str) -> float:
    if "十" in raw:
        head, _, tail = raw.partition("十")
        return _CN_NUM.get(head, 1) * 10 + _CN_NUM.get(tail, 0)
    return _CN_NUM.get(raw[0], 0)


def _extend(name: str, before: str, after: str, t: str, state: State) -> Intent:
    lead_id, rest = _lead_ref(f"{before} {after}".strip())
    span, reason = parse_span(rest)
    return Intent("extend", {"lead_id": lead_id, "span": span, "reason": reason}, t)


def _offboard(name: str, before: str, after: str, t: str, state: State) -> Intent:
    text = re.sub(r"^(?:请|帮我|帮|给)?(?:办理?|处理|走)(?:一下|下)?\s*", "", f"{before} {after}".strip())
    m = re.search(r"(?:线索|客户)?\s*(?:都|全部)?\s*(?:交给|转给|给|交接给|移交给|转交给|分给|转|→|->|=>|➡️?|to(?=\s))"
                  r"\s*(?P<to>\S+)", text)
    who_text = text[: m.start()] if m else text
    who, _ = split_person(re.sub(r"(?:了|的)$", "", _tidy(who_text)), state.team)
    to = split_person(m.group("to"), state.team)[0] if m else None
    return Intent("offboard", {"user": who, "to": to}, t)


def _team_leads(name: str, before: str, after: str, t: str, state: State) -> Intent:
    after = _tidy(re.sub(r"^(?:filter|filtered|by|for|in|only|按|筛选|只看|过滤)(?![a-z])\s*[:：=]?", "", after))
    return Intent("team_leads", {"filter": _area(after)} if after else {}, t)


# 「查下西北区的团队线索」, 「暂停了的团队线索」: the filter said before the list
TEAM_BEFORE = re.compile(rf"^{VERBS}\s*(?P<filter>[\u4e00-\u9fffA-Za-z0-9]{{1,8}}?)(?:了)?的\s*"
                         r"(?:团队|组里|组内|全组|大家)的?(?:线索|客户|单子)(?:都?有哪些|都?有几个|有多少|列表|清单|呢)?[？?]?$")
_NOT_FILTER = re.compile(r"^(?:我们|咱们|我|整个|所有|全部|今天|本周|这周|最近|现在|目前|当前)$")


def _team_filtered(t: str) -> Intent | None:
    m = TEAM_BEFORE.match(t)
    if m is None or _NOT_FILTER.match(m.group("filter")):
        return None
    return Intent("team_leads", {"filter": _area(m.group("filter"))}, t)


def _area(word: str) -> str:
    """「华南区」 → 「华南」: a region said with its 区 (leads keep the region's name); 「冻结的」, 「张伟名下」 → the
    state, the person."""
    word = re.sub(r"(?<=\S)(?:名下|手上|手里|那边|负责)?(?:的|了的)?$", "", word)
    return re.sub(r"(?<=[东南西北中])(?:片区|大区|地区|区域|区)$", "", word)


_BY_ID = ("follow_up", "stage", "won", "lost", "evidence", "takeover", "reassign", "extend")
_SLOTS = {"follow_up": _with_lead, "stage": _with_lead, "won": _with_lead, "lost": _with_lead,
          "evidence": _with_lead, "takeover": _with_lead, "lead_show": _lead_show, "lead_new": _lead_new,
          "reassign": _reassign, "extend": _extend, "offboard": _offboard, "team_leads": _team_leads}


def _lead_edit(t: str) -> Intent | None:
    """「线索 3 预算 50万」, 「3号线索预算改成50万」, 「把3号的行业改成医疗」; 「budget for 7 is 40万」 read as
    「7 预算 40万」."""
    said = re.match(rf"^(?P<f>{_FIELD_ALT})\s*(?:for|of|on)\s+(?:线索\s*)?{ID}\s*(?:is|to|=|:|：)?\s*(?=\S)", t)
    if said:
        t = f"{said.group(2)} {said.group('f')} {t[said.end():]}"
    m = re.match(rf"^(?:把|更新|修改|改一下|set|change|edit)?\s*"
                 rf"(?:(?:线索|客户)\s*{ID}\s*号?|{ID}\s*号(?:线索|客户)?|{ID}(?=\s*的)|{ID}(?=\s))"
                 r"\s*(?:的)?\s*(.+)$", t)  # 「301 预算 20万」: a bare number first, then a field
    if not m:
        return None
    lead_id = int(m.group(1) or m.group(2) or m.group(3) or m.group(4))
    edit = EDIT.match(m.group(5))
    if not edit or _about_someone(edit) or _ASKED.search(edit.group("value")):
        return None
    return _edit_intent(edit, t, lead_id)


# 「把王总的预算改成60万」, 「马骁的电话是1xx…」: an edit of the lead of a customer named first
# (a name that is no customer of the caller's: only as 「把X的<字段>改成…」, so the edit is certain)
_NAMED = re.compile(r"^(?:把|将|帮我把|帮我将)\s*(?P<who>[\u4e00-\u9fff]{2,4}?)\s*的\s*"
                    rf"(?=(?:{_FIELD_ALT})\S{{0,2}}?\s*(?:改成|改为|改到|换成|变成|更新为|更新成|修改为|设为|设成|设置为))")
_NOT_A_NAME = re.compile(r"^(?:这个|那个|该|我|我们|他们|她们|你|客户|线索|对方|公司|他|她|它)")


def _named_edit(t: str, state: State) -> Intent | None:
    said, ids = customer_hits(t, state)
    rest = None
    if said is not None:
        m = re.match(rf"^(?:把|将|给|帮我把|帮我将)?\s*{re.escape(said)}\s*"
                     r"(?:的|(?:那|这)(?:个|条|单|位|家|边)?的?)?\s*", t)
        rest = t[m.end():] if m else None
    elif (m := _NAMED.match(t)) and not _NOT_A_NAME.match(m.group("who")) and m.group("who") not in FIELD_WORDS:
        said, rest = m.group("who"), t[m.end():]
    if not said or not rest:
        return None
    edit = EDIT.match(rest)
    if not edit or _about_someone(edit) or _ASKED.search(edit.group("value")) or QUESTION.search(edit.group("value")):
        return None
    got = _edit_intent(edit, t, ids[0] if len(ids) == 1 else None)
    if got is None and ids:  # 「周立 电话打通了，下周见面」: news of that customer, not a new phone number
        return (Intent("follow_up", {"lead_id": ids[0], "note": _tidy(t)}, t) if len(ids) == 1
                else Intent("unclear", {"customer": said, "lead_ids": ids}, t, options=("lead_show",)))
    if got is not None and len(ids) != 1:
        got.slots["customer"] = said
    return got


# 「预算其实只有3万 改一下」: a hedge before the value and the request after it are not the value
_VALUE_HEDGE = re.compile(r"^(?:其实|实际上?|现在)(?:只有|才|是)?\s*")
_VALUE_ASK = re.compile(r"\s*(?:帮我|麻烦)?(?:改一下|改下|更新一下|更新下|改掉|改过来|pls|please)$")


def _edit_intent(edit: re.Match[str], t: str, lead_id: int | None) -> Intent | None:
    value = _tidy(_VALUE_ASK.sub("", _VALUE_HEDGE.sub("", _tidy(edit.group("value")))))
    if not value or re.match(r"(?:of|for|about|from|in|on|with|the|a|an|is|are)\s", value, re.IGNORECASE):
        return None  # 「title of a decision maker …」: a field word in an English question, not a new value
    field = FIELD_WORDS[edit.group("field")]
    if not _looks_like(field, value):
        return None  # 「电话打通了」: news about the phone call, not a new number
    if (first := _id_first(field, value)) and lead_id in (None, first[0]):  # 「下一步 #1 …」: #1 read already
        lead_id, value = first
    return Intent("edit", {"lead_id": lead_id, "field": field, "value": value}, t)


# what a new value of a field must look like: a phone has digits, a budget an amount, an email an address
_SHAPES = {"phone": re.compile(r"(?:\d\D{0,2}){5}"), "budget_cny": re.compile(r"[\d一二两三四五六七八九十百千万亿]"),
           "email": re.compile(r"[@＠]"), "wechat_id": re.compile(r"[A-Za-z0-9]")}


def _looks_like(field: str, value: str) -> bool:
    shape = _SHAPES.get(field)
    return shape is None or bool(shape.search(value))


# 「预算 12 80万」, 「电话 12 138…」: a lead number, then the value (it was read as digits of the amount: 1280万)
_ID_THEN_VALUE = re.compile(r"^#?(\d{1,7})\s*号?\s+([0-9一二三四五六七八九十两].*)$")
_THOUSANDS = re.compile(r"\d{1,3}(?:[ ,，]\d{3})+(?:\.\d+)?\s*元?")


# 「需求 20 辆电动叉车」, 「异议 2 个竞品在比价」: a number then a measure word or unit is a quantity in the value,
# never a lead number (张 only when no title follows: 「决策链 1 张总拍板」 names a person)
_QUANTITY = re.compile(
    r"^(?:多|余|来|几|左右|上下|平米|平方|公斤|公里|公顷|毫升|毫米|厘米|小时|分钟|秒钟?|英寸|美元"
    r"|张(?![总工经主老院科处部局董])|周(?![一二三四五六日末])"
    r"|[个位名人家户台套件辆架艘根片把份盒箱袋瓶桶罐双栋幢座间层楼次天月年岁条项种万千百亿元块倍成折吨斤克米亩瓦"
    r"%％‰号点]"
    r"|(?:kg|km|cm|mm|m2|m²|㎡|t|g|gb|tb|mb|kw|kwh|w|h|l|ml|pcs|k|m)(?![a-z]))", re.IGNORECASE)
# 「需求 #2 …」, 「需求 2号 …」, 「需求 线索2 …」: a number marked as a lead's
_MARKED_ID = re.compile(r"^(?:#\s*(?P<hash>\d{1,9})\s*|(?P<num>\d{1,9})\s*号(?:[\s,，:：、]+|$)"
                        r"|线索\s*#?\s*(?P<lead>\d{1,9})\s*号?)[\s,，:：、]*")
_BARE_ID = re.compile(r"^(\d{1,9})[\s,，:：、]+")
TEXT_FIELDS = frozenset({*KEY_FACTS, "customer_name", "company", "title", "email", "wechat_id", "needs", "industry",
                         "region", "product_line"})


def _id_first(field: str, value: str) -> tuple[int, str] | None:
    """(lead id, value) when a value starts with a lead number. For a text field (「决策链 1 院长拍板」) the number is
    the lead's when marked (#1, 1号, 线索1) or when a separator and more text follow that is no quantity (「需求 20
    辆叉车」); in doubt the whole is the value. For a budget or phone, when the rest is a value on its own and the
    whole is not one (thousands written with spaces, a phone number in groups)."""
    if field in TEXT_FIELDS:
        return _lead_then_text(value, dated=field == "next_step")
    m = _ID_THEN_VALUE.match(value)
    if m is None:
        return None
    rest = m.group(2)
    if field == "budget_cny" and not _THOUSANDS.fullmatch(value) and parse_budget(rest) is not None:
        return int(m.group(1)), rest
    if field == "phone" and PHONE.fullmatch(rest) and not PHONE.fullmatch(value.replace(" ", "")):
        return int(m.group(1)), rest
    return None


def _lead_then_text(value: str, dated: bool) -> tuple[int, str] | None:
    """`dated`: a next step, where 「8号 上门」 is a day of the month, not lead 8."""
    if (m := _MARKED_ID.match(value)) and not (dated and m.group("num")):
        rest = value[m.end():].strip()
        return (int(m.group("hash") or m.group("num") or m.group("lead")), rest) if rest else None
    if (m := _BARE_ID.match(value)) and (rest := value[m.end():].strip()) and not _QUANTITY.match(rest):
        return int(m.group(1)), rest
    return None


# ---------------------------------------------------------------- manager and admin phrasing

# 「把我的线索列出来」, 「超时的单子发我」, 「今天的团队日报」, 「有哪些知识缺口」: a list asked for with any verbs
_LIST_FILLER = re.compile(
    r"请|帮我|给我|麻烦|我要|我想|把|看一下|看看|看下|看|查看|查一下|查下|查|瞧瞧|列出来|列出|列一下|列|调出来|调出|打开"
    r"|显示|发给我|发我|发一下|发下|发|来|一下|现在|目前|今天的?|当前|都|有|哪些|几个|多少|几条|什么|呢|吗|啊|呀|吧|的"
    r"|了|们|[？?。.!！~ ]")
_LISTS = (("my_leads", re.compile(r"我(?:名下|手上|手里|手头上?|跟着|在跟|跟|负责|在做|做)?"
                                  r"(?:线索|客户|单子)(?:列表|清单)?"
                                  r"|我?(?:明天)?(?:(?:要|该|需要|得)跟进(?:客户|线索|单子)?|跟进(?:客户|线索|单子))"
                                  r"|我?(?:明天)?(?:任务|待办|日程)")),
          ("team_leads", re.compile(r"(?:我|咱)?(?:团队|组里|组内|部门|大家|全部|所有|全组)(?:线索|客户|单子)"
                                    r"(?:列表|清单)?")),
          ("overdue", re.compile(r"(?:超时|逾期|超期)(?:线索|客户|单子|名单|列表|清单|情况)?")),
          ("team_report", re.compile(r"(?:团队|组里|组内|全组|我们组|部门)?日报(?:出|发|生成|好)?(?:没有?)?")),
          ("kb_gaps", re.compile(r"(?:知识)?缺口(?:列表|清单)?")))


def _list_phrase(t: str) -> Intent | None:
    core = _LIST_FILLER.sub("", t)
    return next((Intent(name, text=t) for name, rx in _LISTS if rx.fullmatch(core)), None) if len(t) <= 20 else None


MY_LEADS = re.compile(rf"^{VERBS}\s*我(?:的|手上的?|手里的?|现在的?)\s*(?:线索|客户|单子)$"
                      r"|^我(?:手上|手里|现在|目前)?(?:有|还有)?(?:哪些|多少|几个|几条)(?:线索|客户|单子)")
SHOW = re.compile(r"^(?:帮我|给我|请|麻烦)?\s*(?:查看|看看|看下|看一下|打开|查一下|查下|查|调出来|调出|调一下"
                  rf"|找一下|找下|找|搜一下|搜)?\s*(?:一下|下)?\s*(?:{LEAD_REF.pattern})\s*(?:的)?(?:现在|目前)?"
                  r"(?:详情|情况|什么情况|啥情况|怎么样了?|咋样了?|(?:什么|啥)?进展了?|(?:什么|啥)?进度了?|资料|信息)?\s*(?:(?:麻烦|请)?\s*(?:发我|发给我|给我看看|给我|看看|发一下|发下)(?:一下|下)?)?"
                  r"\s*(?:呢|啊|吗)?[？?]?$")
_BARE_SHOW = re.compile(r"#?(\d{1,7})\s*的?\s*(?:详情|资料|详细信息|信息)|(?:详情|资料|打开|查看)\s*#?(\d{1,7})")
OVERDUE = re.compile(r"(?:谁|哪些|哪个|哪几个|有没有|有|any).{0,6}"
                     r"(?:超时|逾期|超期|没跟进|没人跟进|无人跟进|没人管|冻结|没及时|没按时|过了?(?:时限|期限|时效)"
                     r"|超过(?:时限|期限|时效)|没人?(?:联系|处理|理)|没(?:有)?人(?:联系|处理|理|碰))"
                     r"|^.{0,6}(?:超时|逾期|超期)的(?:线索|客户)?$|^(?:超时|逾期|超期)(?:名单|列表|清单|情况)")
KB_IMPORT = re.compile(r"(?:导入|上传|更新|批量导入|录入)(?:一下|一批|一份|一些|几份|个)?\s*(?:新的?)?"
                       r"(?:话术|知识库|知识卡片|产品资料|培训资料)"
                       r"|(?:导入|上传|传|放|加|录入)\S{0,12}(?:到|进)(?:知识库|话术库)"
                       r"|(?:话术库?|知识库)\S{0,4}(?:怎么|如何|咋)?(?:导入|上传|更新)"
                       r"|(?:话术(?:库|表|表格|文件|模板)|知识库)\S{0,2}(?:怎么|如何|咋|在哪)(?:传|发|交|放)")
# 「大家问了哪些答不上来的」: the questions the bot could not answer, listed (「答不上来怎么办」 is a question)
_UNANSWERED = r"(?:答不上|答不出|没答上|回答不了|回答不上|答不了|没(?:有)?答案|找不到答案|没找到答案|没查到|查不到)"
KB_GAPS = re.compile(rf"(?:哪些|什么|多少|有没有|几个|几条).{{0,8}}{_UNANSWERED}"
                     r"|(?:知识库|话术库?)(?:里|还|都|现在|目前)*缺(?:了|少)?(?:哪些|什么|啥|些什么|点啥)"
                     rf"|{_UNANSWERED}.{{0,6}}(?:有哪些|有多少|有几个|列表|清单|列一下|列出来|发我|看看)")
HOW_ASKED = re.compile(r"怎么|如何|怎样|咋|该不该|要不要|应该")
HAND = re.compile(rf"^(?:把)?\s*(?:{LEAD_REF.pattern}|{ID})\s*(?:号)?\s*(?:线索|客户)?\s*"
                  r"(?:(?:转|交|派|分)给?|给)\s*(?P<who>.+)$")


def _manager_phrase(t: str, role: str, state: State) -> Intent | None:
    if MY_LEADS.search(t):
        return Intent("my_leads", text=t)
    if SHOW.match(t):
        return Intent("lead_show", {"lead_id": _lead_ref(t)[0]}, t)
    m = _BARE_SHOW.fullmatch(t)
    if m:  # 「12 详情」, 「详情 12」: a bare number beside the look asked for
        return Intent("lead_show", {"lead_id": int(m.group(1) or m.group(2))}, t)
    if OVERDUE.search(t):
        return Intent("overdue", text=t)
    if KB_IMPORT.search(t):
        return Intent("kb_import", text=t)
    if KB_GAPS.search(t) and not HOW_ASKED.search(t):
        return Intent("kb_gaps", text=t)
    m = HAND.match(t)
    if m and split_person(m.group("who"), state.team)[0] in {n for pair in state.team for n in pair}:
        lead_id = _lead_ref(t)[0]
        who, reason = handover_to(m.group("who"), state.team)
        return Intent("reassign", {"lead_id": lead_id, "assignee": who, "reason": reason}, t)
    m = re.search(r"(?:我来|我|让我)\s*(?:接手|接|跟)\s*(?:一下)?\s*(?:线索|客户)?\s*#?(\d{1,7})\s*号?", t)
    if m:
        return Intent("takeover", {"lead_id": int(m.group(1))}, t)
    m = re.fullmatch(r"(?:这个|那个|这条|那条)?\s*(?:线索|客户)?\s*#?(\d{1,7})\s*号?(?:线索|客户)?\s*"
                     r"(?:(?:这|那)(?:单|条|个|笔)|这个单子|那个单子)?\s*"
                     r"(?:我来|我接了?|给我|归我|我(?:来|亲自|自己)+(?:跟进?|接手|接|负责|管)?)"
                     r"(?:吧|跟|接手)?(?:过来|过去|手)?(?:吧|了)?", t)
    if m:
        return Intent("takeover", {"lead_id": int(m.group(1))}, t)
    offboard = _offboard_phrase(t, state)
    if offboard is not None:
        return offboard
    for pid, pname in state.team:
        # the substring test first: the pattern names them, and a team of thousands meant thousands of compiles
        if (pname in t or pid in t) and re.fullmatch(
                rf"{VERBS}\s*把?\s*(?:{re.escape(pname)}|{re.escape(pid)})\s*(?:手上|手里|那边|名下|现在)?"
                        r"(?:都|现在|目前|最近|正在|这周|本周)?(?:在)?(?:跟进?|负责|管|做)?(?:着)?的?"
                        r"(?:有|还有)?(?:哪些|几个|多少|几条)?(?:线索|客户|单子)"
                        r"(?:都?有哪些|都?有几个|有多少|怎么样|情况)?[？?]?"
                        r"(?:发我|发给我|发一下|列一下|拉出来|调出来|列出来)?(?:看一下|看下|看看)?", t):
            return Intent("team_leads", {"filter": pname}, t)
    m = re.fullmatch(r"^(?:把)?\s*(?:线索)?\s*#?(\d{1,7})\s*号?\s*(?:已经|已)?\s*"
                     r"(?:到|进入|进到|推进到|推到|走到|进)了?"
                     rf"\s*(?:(?P<stage>[\u4e00-\u9fffA-Za-z]{{1,6}}?|[A-Za-z][A-Za-z\- ]{{5,24}}?)\s*阶段"
                     rf"|(?P<named>{STAGE_WORDS}))了?", t)
    if m:
        return Intent("stage", {"lead_id": int(m.group(1)), "stage": m.group("stage") or m.group("named")}, t)
    if TEAM_REPORT.fullmatch(t):
        return Intent("team_report", text=t)
    m = EXTEND_SAID.match(t)
    if m:  # 「88号延三天 等招标挂网」
        lead_id = _lead_ref(t[:m.end()])[0]
        got = _extend("extend", "", t[m.end():], t, state)
        return Intent("extend", {**got.slots, "lead_id": lead_id}, t) if lead_id else None
    return _feature(t)


# a lead's deadline pushed by a span, without 延期: 「88号延三天」, 「线索5 再宽限两天」
EXTEND_SAID = re.compile(rf"^(?:把)?\s*(?:线索\s*{ID}|{ID}\s*号(?:线索)?)\s*(?:再|先)?(?:往后|向后)?"
                         r"(?:延|延后|顺延|推迟|推|宽限)"
                         r"(?=\s*(?:\d+|[一二两三四五六七八九十半]+)\s*(?:个工作日|工作日|天|日|个小时|小时|周))")


# the steps of a sales pipeline as teams name them (「21号进入商务谈判」 moves the lead without the word 阶段)
STAGE_WORDS = (r"(?:初步|初次)?(?:接洽|接触)|(?:资质)?初筛|需求\S{0,2}|方案\S{0,2}|演示|报价|商务\S{0,2}|谈判|议价"
               r"|签约\S{0,2}|合同\S{0,2}|招投标|招标|投标|试用|POC|poc|测试|验证|立项|采购|回款")
# 「团队今天跟进得怎么样」: the team's day, which the daily report answers
TEAM_REPORT = re.compile(r"(?:今天|今日|本周|这周|这礼拜)?(?:团队|组里|全组|我们组|大家|部门)"
                         r"(?:今天|今日|本周|这周)?的?"
                         r"(?:跟进|工作|进展|业绩|动态)(?:情况|进展|进度)?(?:得|的)?"
                         r"(?:怎么样|如何|咋样|汇总|总结|概况)?(?:了|呢|啊)?[？?]?")
# the commands of the other modules, asked in other words; each maps to its command word (front.canonical)
FEATURES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("renewals", re.compile(r"^(?:续约|续约预警|续费预警|续签预警)$"
                            r"|(?:哪些|哪个|哪几个|哪几家|哪家|几个|几家|多少|有没有|谁的)(?:客户|合同|单子)?.{0,12}(?:快|要|将)?"
                            r"(?:到期|续约|续费|续签)|(?:快|即将|马上)要?到期的?(?:客户|合同)"
                            r"|(?:续约|续费|到期)(?:预警|提醒|名单|列表|清单)")),
    ("ramp", re.compile(r"^(?:新人)?通关(?:进度)?$|通关(?:进度|情况|到哪|第几关|下一关|任务|考试|测验)|下一关"
                        r"|(?:还差|差|过了|剩|还剩)(?:几|多少)关|第几关"
                        r"|(?:学习|培训)(?:进度|路径|任务)|新人(?:考试|测验|任务)")),
    ("console", re.compile(r"^(?:管理|网页)?后台$|(?:管理|网页)?后台(?:的)?(?:链接|地址|网址|入口|登录|登陆)"
                           r"|(?:登录|登陆|打开|进)(?:管理|网页)?后台")),
    ("flags", re.compile(r"^(?:我的|团队)?标记$|(?:被|待处理的?|我的|团队的?|哪些|有没有|有啥|名下有|手上有)标记")),
)
_CONSOLE_HOW = re.compile(r"(?:怎么|如何|咋|在哪)(?:登录|登陆|打开|进|进入|用)?(?:管理|网页)?后台")
_NOT_CONSOLE = re.compile(r"客户|产品|系统|数据|导出|配置")
_NOT_FEATURE = re.compile(r"怎么|如何|咋|为什么|话术|技巧|方法|建议|应对|案例|经验|客户(?:说|问|要)|产品|系统"
                          r"|开始通关|通关确认|确认通关|清除标记")


def _feature(t: str) -> Intent | None:
    """「哪些客户快到期要续约了」, 「我的通关进度」, 「后台链接发我」, 「我有被标记的吗」: a module's list asked for."""
    if len(t) > 24 or (len(t) > 16 and not FEATURES[0][1].search(t)):  # a renewal asked at length: 「哪些企业…」
        return None
    if _NOT_FEATURE.search(t):  # 「怎么登录后台」 still asks for the console link: how to reach it is the link
        return Intent("console", text=t) if _CONSOLE_HOW.search(t) and not _NOT_CONSOLE.search(t) else None
    return next((Intent(name, text=t) for name, rx in FEATURES if rx.search(t)), None)


_LEAVES = re.compile(r"(?:已经|要|下周|明天|今天)?(?:离职|辞职|走了|不干了)了?"
                     r"|(?:月底|月初|年底|下周[一二三四五]?|下个?月|明天|后天|周[一二三四五])(?:就)?要?走(?=\s|$|[，,了])")


def _offboard_phrase(t: str, state: State) -> Intent | None:
    """「王强离职了 他的客户给李娜」, 「王强已经走了 他的客户转张伟」: someone leaves and their leads go to someone."""
    m = _LEAVES.search(t)
    if m is not None and "离职" in m.group(0) and not t[m.end():].strip(" 了吧手续"):  # 「王强 办离职」
        who = re.fullmatch(r"(?:给|帮)?(?P<who>\S+?)\s*(?:办理?|走|做)?(?:一下)?", t[:m.start()].strip())
        if who and who.group("who") in {n for pair in state.team for n in pair}:
            return Intent("offboard", {"user": who.group("who"), "to": None}, t)
    if m is None or not re.search(r"交给|转给|交接|给|转", t[m.end():]):
        return None
    got = _offboard("offboard", "", f"{t[:m.start()]} {t[m.end():]}", t, state)
    known = {n for pair in state.team for n in pair}
    return got if "离职" in m.group(0) or got.slots.get("user") in known else None


# ---------------------------------------------------------------- reminders

REMIND = re.compile(r"提醒(?:一下|下)?我|ping\s*我(?:一下|下)?"
                    r"|叫我|喊我|记得(?:让|叫)?我|到时候?提醒|帮我记(?:一下|着)?|别让我忘了|提醒")


def _reminder(t: str, role: str, state: State) -> Intent | None:
    m = REMIND.search(t)
    if not m or (QUESTION.search(t.replace("提醒", "")) and "？" in t):
        return None
    from ocr.timeparse import ASAP, EXPR, SOON  # the one Chinese time grammar

    task = _tidy(t[m.end():])
    head = _tidy(t[: m.start()])
    when = _time_text(head, EXPR) or _time_text(task, EXPR)
    soon = None if when else next((hit for rx in (SOON, ASAP) for part in (head, task)
                                   if (hit := rx.search(part))),
                                  None)
    when = soon.group(0) if soon else when
    if HOW_ASKED.search(head) and (m.group(0) == "提醒" or not when):  # 「怎么提醒客户续费」: asked how to remind
        return None
    if when:
        head, task = _tidy(head.replace(when, "", 1)), _tidy(task.replace(when, "", 1))
    task = _TASK_LEAD_IN.sub("", re.sub(r"\s+(?:by|before|at|on|until)$", "", task, flags=re.IGNORECASE))
    if head and (not when or not task):  # 「今晚8点要给孙蕾回个电话 提醒我一下」: the task said before 提醒我
        task = _tidy(f"{_TASK_LEAD_IN.sub('', head)} {task}")
    return _reminder_intent(when, task, t, state)


_TASK_LEAD_IN = re.compile(r"^(?:(?:一下(?!午)|下(?!午|周|个|礼拜|星期)|我|要|得|需要|记得|再"
                           r"|(?:at|to|on|about)(?=\s))\s*)+")


def _reminder_intent(when: str | None, task: str, t: str, state: State) -> Intent:
    lead_id, rest = _lead_ref(task)
    slots: dict[str, Any] = {"when": when, "task": _tidy(rest) or None, "lead_id": lead_id}
    if lead_id is None:
        said, _hits = customer_hits(t, state)
        slots["customer"] = said
    return Intent("reminder", slots, t)


# 「过两天再跟进李经理」, 「下周一去周立那签合同」: a time ahead and something to do, with no 「提醒我」 — a plan,
# kept as a reminder (not a past contact, not a question)
_PLAN_ACT = re.compile(r"ping|call|mail|ring|text|msg|message|visit|meet|demo|chase"
                       r"|^(?:邮箱|微信)\s*(?![\s改换是为:：=]|\S*@)"  # 「明天 email 周立」: a verb here, not the field
                       r"|跟进|联系|回访|拜访|打(?:个|一个)?电话|回(?:个|一个)?电话|回电|约|见|发|去|签|催|问问|聊聊|送"
                       r"|^(?:跟|和|找)\S{1,6}?(?:确认|沟通|聊|谈|对一下|商量)|^(?:确认|沟通)")


# 「明天团建去哪」, 「…帮我订酒店」: asked of us, not a plan
_PLAN_NOT = re.compile(r"谁|哪|几点|几号|多少|吗|么|呢|帮我(?!记|提醒)|订")
_PAST = r"(?:我|我们)?(?:昨|前天|上周|上个|上礼拜|上星期|刚才|刚刚|之前|以前)"


def _plan(t: str, role: str, state: State) -> Intent | None:
    if CONTACT_DONE.search(t) or QUESTION.search(t) or _PLAN_NOT.search(t) or len(t) > 40:
        return None
    from ocr.timeparse import ASAP, EXPR

    m = ASAP.match(t) or next((m for m in EXPR.finditer(t) if m.end() > m.start() and _CJK.search(m.group(0))), None)
    if m is None or len(m.group(0).strip()) < 2 or re.search(_PAST, m.group(0)) or re.match(_PAST, t) or (
            m.start() > 0 and not re.fullmatch(r"[\s，,]*(?:我|我们)?", t[: m.start()])):
        return None
    task = _tidy(t[m.end():])
    if re.fullmatch(r"今天|今儿个?|今日", m.group(0).strip()) and re.search(r"[\u4e00-\u9fff]了", task):
        return None  # 「今天去周立厂里转了一圈」: done today, told
    if not _PLAN_ACT.search(_TASK_LEAD_IN.sub("", task)[:12]):
        return None
    return _reminder_intent(m.group(0).strip(), _TASK_LEAD_IN.sub("", task), t, state)


# how reps name a customer besides the name kept on the lead: 「马总」, 「李经理」 for 马骁, 李建国
HONORIFIC = re.compile(r"([\u4e00-\u9fff])(总|经理|主任|老师|院长|科长|处长|部长|局长|老板|姐|哥|工|局|书记|校长|主管)")


def customer_hits(text: str, state: State) -> tuple[str | None, list[int]]:
    """(the words that named a customer of the caller's, the leads they fit): the name kept on a lead, else a
    surname with a title (「马总」) when it fits leads of that surname; (None, []) when no customer is named."""
    full = [(lid, name) for lid, name in state.customers if name and name in text]
    if full:
        said = max((name for _lid, name in full), key=len)
        return said, sorted(lid for lid, name in full if name == said)
    for m in HONORIFIC.finditer(text):
        ids = sorted(lid for lid, name in state.customers if name and name[0] == m.group(1) and 2 <= len(name) <= 4)
        if ids:
            return m.group(0), ids
    return None, []


def _time_text(text: str, expr: re.Pattern[str]) -> str | None:
    """The first time expression's own words in `text` ("明天下午3点"), or None."""
    for m in expr.finditer(text):
        if (m.end() > m.start() and _CJK.search(m.group(0))) or (m.group(0).strip() and ":" in m.group(0)):
            return m.group(0).strip()
    return None


# ---------------------------------------------------------------- free text

NAME_HINT = re.compile(r"[\u4e00-\u9fff]{1,2}(?:总|经理|主任|老师|院长|科长|处长|部长|老板|姐|哥|工|局)"
                       r"|(?:客户|联系人|姓名)[:：]?\s*[\u4e00-\u9fff]{2,3}")


def _free_lead(t: str, role: str, state: State) -> Intent | None:
    """A lead typed without 新线索: a mobile number plus a name or a company, not a question."""
    if not PHONE.search(t) or QUESTION.search(t) or CONTACT_DONE.search(t):
        return None
    edit = EDIT.match(t)  # 「电话改成138…」: a correction of the phone, not a new customer
    if edit and FIELD_WORDS[edit.group("field")] == "phone" and PHONE.fullmatch(_tidy(edit.group("value"))):
        return None
    rest = re.sub(_FIELD_ALT, " ", PHONE.sub(" ", t))
    if len(_CJK.findall(rest)) >= 2:
        return Intent("lead_new", {"text": _tidy(_misspelt_lead_word(t) or t)}, t)
    return None


_LEAD_WORDS = ("新客户", "新线索", "新商机")
_ENTER = "录入"  # two characters only: the same sound, never one letter off (路过, 陆续 stay words)
_FIRST_WORD = re.compile(r"^([\u4e00-\u9fff]{2,3})(?:[\s:：,，\-—–|]+|$)")


def _misspelt_lead_word(t: str) -> str | None:
    """What follows a first word that is 新客户 / 新线索 mistyped on a pinyin keyboard (新客护, 新线素: the same
    sound or one letter off) or 录入 typed as a homophone (陆入), so the word is not read as the customer; None when
    the message opens otherwise."""
    m = _FIRST_WORD.match(t)
    if m is None or m.group(1) in (*_LEAD_WORDS, _ENTER):
        return None

    said = "".join(lazy_pinyin(m.group(1)))
    if len(m.group(1)) == 2:
        return t[m.end():] if said == "".join(lazy_pinyin(_ENTER)) else None
    return t[m.end():] if any(_one_off(said, "".join(lazy_pinyin(w))) for w in _LEAD_WORDS) else None


# 「18号 客户说预算批下来了」: a lead named first, then what happened
_TOLD_OF = re.compile(rf"^(?:(?:线索|客户)\s*{ID}|{ID}\s*号(?:线索|客户)?|#(\d{{1,7}}))\s*[\s,，:：]?\s*"
                      r"(?:[\u4e00-\u9fff].{3,})$")


def _follow_up_note(t: str, role: str, state: State) -> Intent | None:
    """「刚给5号客户打了电话，下周看方案」: a contact told in the past tense, not a question."""
    if not (CONTACT_DONE.search(t) or (_TOLD_OF.match(t) and not _ASKED.search(t)) or _customer_said(t, state)) or (
            QUESTION.search(t) and re.search(r"[？?]|怎么|如何|怎样|咋", t)):
        return None
    lead_id, _rest = _lead_ref(t)
    if lead_id is None:
        lead_id = next((lid for lid, name in state.customers if name and name in t), None)
    return Intent("follow_up", {"lead_id": lead_id, "note": _tidy(t)}, t)


# 「孙蕾她们公司说想先看案例」: what a named customer of the caller's said or asked for, reported (not asked of us)
_SAID = re.compile(r"(?:说|讲|表示|反馈|回复|答复|告诉我|提出|要求|决定|同意|答应|松口)")
_THEIR_SIDE = re.compile(r"(?:那边|那里|那头|这边|他们|她们|公司|单位|老板|家)")


def _customer_said(t: str, state: State) -> bool:
    said, ids = customer_hits(t, state)
    if said is None or len(ids) != 1 or re.search(r"怎么|如何|怎样|咋|[？?]", t) or _ASKED.search(t[-3:]):
        return False
    after = t[t.find(said) + len(said):]
    # 「孙蕾那边新开了两家店」: news from the customer's side, told (not a question, not the deal lost)
    news = _THEIR_SIDE.match(after) and "了" in after and not (LOST_SAID.search(after) or QUESTION.search(after))
    return t.find(said) <= 8 and bool(_SAID.search(after[:12]) or news)


SPOKEN_LEAD = re.compile(r"(?:线索|客户)\s*#?(\d{1,7})(?!\d|\s*[点月日时:：])|#(\d{1,7})"
                         r"|(\d{1,7})\s*号\s*(?:线索|客户)")


def named_leads(text: str, state: State, t2s: Simplifier) -> tuple[list[int], str]:
    """The leads a free text (a spoken visit note) names — by number (线索3, 3号客户, #3), by the customer's name
    among the caller's open leads, else by their company (「青禾物流」 = 青禾物流科技有限公司); several when a name
    fits several leads — and the text without the number (so 「1号客户」 is not read as a date)."""
    t = clean(text, t2s)
    m = SPOKEN_LEAD.search(t)  # not a bare 「3号」: in speech that is a date (下个月3号签)
    if m:
        return [int(next(g for g in m.groups() if g))], f"{t[:m.start()]} {t[m.end():]}"
    by_name = list(dict.fromkeys(lid for lid, name in state.customers if name and name in t))
    if by_name:
        return by_name, t
    return list(dict.fromkeys(lid for lid, company in state.companies if company_named(t, company))), t


def _edit(t: str, role: str, state: State) -> Intent | None:
    """「预算 50万」, 「行业改成医疗」: a field of the draft (or the lead) this conversation is about."""
    m = EDIT.match(t)
    if not m or QUESTION.search(m.group("value")):
        return None
    word = m.group("field")
    if (word in ("产品", "客户", "医院", "单位", "需求") or FIELD_WORDS[word] in KEY_FACTS) and not (
            state.has_draft or state.current_lead):
        return None  # 「客户说太贵了」 is a question, not an edit; 「异议 …」 with no lead in view is one too
    if FIELD_WORDS[word] in _CONTACT_FIELDS and _bare_name(m.group("value"), role, state):
        return _bare_name(m.group("value"), role, state)  # 「email 周立」: to reach 周立, not 周立 as the address
    return None if _about_someone(m) or _ASKED.search(m.group("value")) else _edit_intent(m, t, None)


_CONTACT_FIELDS = frozenset({"email", "phone", "wechat_id"})


def _about_someone(edit: re.Match[str]) -> bool:
    """「客户说预算批了」: a field word opening a sentence about someone, not a new value."""
    return edit.group("field") in ("客户", "医院", "单位", "产品") and (
        not edit.group("value").strip() or bool(_SAYS.match(edit.group("value").strip())))


def _bare_name(t: str, role: str, state: State) -> Intent | None:
    """A customer's name alone: show their lead, or ask."""
    hits = [(lid, name) for lid, name in state.customers if name and _tidy(t) == name]
    if len(hits) == 1:
        return Intent("unclear", {"lead_id": hits[0][0], "customer": hits[0][1]}, t,
                      options=("lead_show", "follow_up", "reminder"))
    if hits:
        return Intent("unclear", {"customer": hits[0][1], "lead_ids": [h[0] for h in hits]}, t,
                      options=("lead_show",))
    return None


# 「50万」, 「1 50万」: an amount alone, or after a lead number (a unit or Chinese numerals: a bare 「50」 is a pick)
_BARE_AMOUNT = re.compile(r"^(?:#?(?P<id>\d{1,7})\s*号?\s+)?(?P<amount>[\d.]+\s*(?:万|w|W|千|k|K|亿)元?|[\d.]+\s*元"
                          r"|[零一二两三四五六七八九十百千万亿]+(?:万|千|亿)元?)$")
_AMOUNT_WORD = re.compile(r"(?:#?(?P<id>\d{1,7})\s*号?\s*)?金额")  # the word, no figure
_HONORIFIC_ALONE = re.compile(r"[\u4e00-\u9fff](?:总|经理|主任|老师|院长|科长|处长|部长|局长|老板|校长|主管)")


def _bare_value(t: str, role: str, state: State) -> Intent | None:
    """A value said alone — a phone number, a company, an amount, someone addressed by surname and title — is
    no question for the knowledge base: asked about (「你是想查看青峦物流的线索…？」) or, an amount with a lead or a
    draft in view, offered as its budget (「你是想「线索 3 预算 50万」？」)."""
    said = _tidy(t)
    if PHONE.fullmatch(said):
        digits = re.sub(r"\D", "", said)
        return _about_leads(said, [lid for lid, phone in state.phones if phone == digits], state, phone=digits)
    ids = [lid for lid, co in state.companies if said in (co, company_core(co))]
    if ids:
        return _about_leads(said, ids, state)
    if (m := _BARE_AMOUNT.match(said)) and parse_budget(m.group("amount")) is not None:
        lead_id = int(m.group("id")) if m.group("id") else None if state.has_draft else state.current_lead
        if lead_id is None and not state.has_draft:
            return Intent("unclear", {"amount": m.group("amount"), "lead_ids": []}, t)
        edit = Intent("edit", {"lead_id": lead_id, "field": "budget_cny", "value": m.group("amount")}, t)
        return Intent("guess", {"intent": edit}, t)
    if m := _AMOUNT_WORD.fullmatch(said):
        return Intent("unclear", {"budget_of": m.group("id") or state.current_lead, "lead_ids": []}, t)
    if (when := _bare_time(said)) is not None:  # 「下周三」: a reminder, most likely, but asked first
        lead_id = state.current_lead
        return Intent("guess", {"intent": Intent("reminder", {"when": when, "task": "跟进" if lead_id else None,
                                                              "lead_id": lead_id}, t)}, t)
    if _HONORIFIC_ALONE.fullmatch(said) and said[0] in SURNAMES and not any(said in pair for pair in state.team):
        return Intent("unclear", {"customer": said, "lead_ids": [], "bare": True}, t)  # no lead of theirs: 柯总 is
    return None


def _bare_time(said: str) -> str | None:
    from ocr.timeparse import EXPR

    return said if _time_text(said, EXPR) == said else None


def _about_leads(said: str, ids: list[int], state: State, phone: str | None = None) -> Intent:
    """The lead a bare value names (查看 or 记录跟进), which of several, or none (with what to do)."""
    if len(ids) == 1:
        who = dict(state.customers).get(ids[0]) or dict(state.companies).get(ids[0]) or said
        return Intent("unclear", {"lead_id": ids[0], "customer": who}, said, options=("lead_show", "follow_up"))
    return Intent("unclear", {"customer": said, "lead_ids": ids, **({"phone": phone} if phone else {})}, said,
                  options=("lead_show",))


# ---------------------------------------------------------------- near misses: ask, do not decline

# command words a phone's pinyin keyboard turns into homophones (跟尽 7, 该派 3, 延其 2): asked about, never run
_SOUNDED = ("跟进", "改派", "分配", "延期", "接手", "阶段", "推进", "赢单", "输单", "证据", "线索")
_ABOUT_LEAD = re.compile(r"电话|手机|邮箱|微信|地址|联系方式|职位|资料|详情|"
                         r"预算|公司|进展|进度|状态|阶段|情况|负责人|谁跟|多少|是什么|啥|呢|吗|[？?]")
_TECHNIQUE = re.compile(r"怎么(?!样)|如何|怎样|咋(?!样)|说|觉得|嫌|担心|要求|问")


def _sounds_like(word: str) -> str | None:
    """The command word `word` was probably meant to be: same pinyin, or one letter off (更进 → 跟进)."""

    said = "".join(lazy_pinyin(word))
    for cmd in _SOUNDED:
        if cmd != word and _one_off(said, "".join(lazy_pinyin(cmd))):
            return cmd
    return None


def _one_off(a: str, b: str) -> bool:
    if a == b or abs(len(a) - len(b)) > 1:
        return a == b
    i = next((k for k, (x, y) in enumerate(zip(a, b, strict=False)) if x != y), min(len(a), len(b)))
    return a[i + 1:] == b[i + 1:] or a[i + 1:] == b[i:] or a[i:] == b[i + 1:]


LOST_SAID = re.compile(r"黄了|没戏了?|丢了|不做了|不买了|不要了|放弃了"
                       r"|[签选]了(?:别家|别人|友商|竞品)|(?:被|让)(?:别家|友商|竞品|对手)\S{0,4}(?:抢|拿|截)(?:走|了)")


def _near_miss(t: str, role: str, state: State) -> Intent | None:
    """What nearly was a command: a homophone of a command word before a lead number (「跟尽 7 已回电」 → 「你是想
    「跟进 7 已回电」？」), a short question about a named lead (「7号电话多少」 → the lead), a customer of the caller's
    named with a few words (「周立那个单子」 → 「你是想查看周立的线索，还是记录跟进？」)."""
    lead_text = _misspelt_lead_word(t)
    if lead_text and len(_CJK.findall(lead_text)) >= 2 and not QUESTION.search(lead_text):  # 「新客护 孙丽 …」
        return Intent("guess", {"intent": Intent("lead_new", {"text": _tidy(lead_text)}, t)}, t)
    m = re.match(r"^([\u4e00-\u9fff]{2})\s*#?(\d{1,7})(?![\d点:：号月日天周])(.*)$", t)
    cmd = _sounds_like(m.group(1)) if m else None
    if m and cmd:
        # `t` is read already (English and 繁體 in Chinese): only the command word changes
        meant = _understood(_finish_clean(_light(f"{cmd} {m.group(2)}{m.group(3)}")), role, state, None)
        if meant.name not in ("knowledge", "unclear", "guess"):
            return Intent("guess", {"intent": meant}, t)
    lead_id, rest = _lead_ref(t)
    explicit = lead_id is not None and re.search(r"号|线索|客户|#|第", t)
    if explicit and len(t) <= 16 and _ABOUT_LEAD.search(rest) and not _TECHNIQUE.search(rest):
        return Intent("lead_show", {"lead_id": lead_id}, t)
    hits = [(lid, name) for lid, name in state.customers if name and name in t]
    if len(hits) == 1 and LOST_SAID.search(t.replace(hits[0][1], "")):  # 「周先生那边黄了」: ask before closing
        return Intent("guess", {"intent": Intent("lost", {"lead_id": hits[0][0], "reason": _tidy(t)}, t)}, t)
    rest = t.replace(hits[0][1], "") if len(hits) == 1 else ""
    status = re.search(r"进展|进度|情况|状态", rest) and re.search(r"如何|怎么样|咋样|怎样|呢|[？?]|吗", rest)
    if len(hits) == 1 and len(t) <= 16 and _ABOUT_LEAD.search(rest) and (status or not _TECHNIQUE.search(rest)):
        return Intent("lead_show", {"lead_id": hits[0][0]}, t)  # 「周立的预算是多少」: a look at that lead
    if len(hits) > 1 and len({n for _, n in hits}) == 1 and _NAMED_LOOK.match(t):  # two leads of one 张三
        return Intent("unclear", {"customer": hits[0][1], "lead_ids": [h[0] for h in hits]}, t, options=("lead_show",))
    if len(hits) == 1 and _NAMED_LOOK.match(t) and re.search(r"怎么样|咋样|如何|怎样|到哪|进展", t):
        return Intent("lead_show", {"lead_id": hits[0][0]}, t)  # 「张三那个客户怎么样了」: a look at the lead
    if len(hits) == 1 and len(t) <= 12 and not _TECHNIQUE.search(rest):
        return Intent("unclear", {"lead_id": hits[0][0], "customer": hits[0][1]}, t,
                      options=("lead_show", "follow_up", "reminder"))
    return None


# 「邵阳的线索」 with no lead of that name: a look that finds nothing (answered so), never a knowledge question
_NAMED_LOOK = re.compile(r"^(?:帮我|请|麻烦)?(?:查看|看看|看下|看一下|查一下|查下|查|找一下|找|打开)?\s*"
                         r"(?P<who>[\u4e00-\u9fff]{2,4}|[A-Za-z]{2,12})\s*(?:的|那个|那条|那家)\s*"
                         r"(?:(?:线索|客户|单子)(?:呢|在哪|在哪里|在哪儿)?|(?:线索|客户|单子)?\s*(?:现在|目前|最近)?"
                         r"(?:(?:的?(?:进展|情况|进度|状态))?(?:怎么样|咋样|如何|怎样)了?|到哪一?步了|进展呢))[？?]?$")
_NOT_WHO = re.compile(r"^(?:我们?|你们?|他们?|她们?|咱们|团队|大家|组里|所有|全部|新|老|重点|重要|今天|昨天|"
                      r"本周|这周|上周|最近|超时|冻结|逾期|待跟进|已输单|已赢单|输单|赢单|别人|其他|这个|那个|客户|线索|单子)$")


def _no_such_lead(t: str, role: str, state: State) -> Intent | None:
    m = _NAMED_LOOK.match(t)
    if m is None or _NOT_WHO.match(m.group("who")):
        return None
    return Intent("unclear", {"customer": m.group("who"), "lead_ids": []}, t)


# ---------------------------------------------------------------- the learned reader's answer, with the rules' slots

# what the model may say with no slot at all
_NO_SLOTS = frozenset({"greeting", "thanks", "ack", "help", "noise", "overdue", "team_report",
                       "kb_import", "kb_gaps", "renewals", "ramp", "console", "flags"})
_ORDINAL_SAID = re.compile(r"第?\s*([1-9]|[一二两三四五])\s*[个项号条]|^([1-9])(?!\d)")


def _learned(model: IntentModel, t: str, role: str, state: State, asked: bool = False) -> Intent | None:
    """The model's intent when it is sure of it and the rules' slot readers find what that intent needs; the
    lower margin for a reading that names the caller's lead does not apply when the rules would ask (`asked`:
    「周立那个单子」 names the lead and nothing else)."""
    text = masked(t, (n for _lid, n in state.customers), (n for pair in state.team for n in pair))
    name, margin = model.classify(text, role)
    if name == "knowledge" or margin < MIN_MARGIN_NAMED:
        return None
    got = _NO_SLOTS_INTENT(name, t) if name in _NO_SLOTS else _FILL.get(name, _nothing)(name, t, state)
    named = got is not None and not asked and (got.slots.get("lead_id") or got.slots.get("customer"))
    if got is None or (margin < MIN_MARGIN and not named):
        return None
    if got is not None and got.destructive:  # closing, handing over, offboarding: asked first
        return Intent("guess", {"intent": got}, t)
    return got


def _NO_SLOTS_INTENT(name: str, t: str) -> Intent:
    return Intent(name, text=t)


def _nothing(name: str, t: str, state: State) -> Intent | None:
    return None


def _about_lead(t: str, state: State) -> int | None:
    lead_id, _rest = _lead_ref(t)
    if lead_id is not None:
        return lead_id
    _said, ids = customer_hits(t, state)
    return ids[0] if len(ids) == 1 else None


def _fill_pick(name: str, t: str, state: State) -> Intent | None:
    m = _ORDINAL_SAID.search(t)
    if m:
        said = m.group(1) or m.group(2)
        return Intent("pick", {"index": int(said) if said.isdigit() else _ORDINAL[said], "by_place": True}, t)
    said = [i for i, label in enumerate(state.buttons, 1) if label and label in t]
    return Intent("pick", {"index": said[0]}, t) if len(said) == 1 else None


def _fill_lead(name: str, t: str, state: State) -> Intent | None:
    lead_id = _about_lead(t, state)
    if lead_id is None:
        return None
    if name == "follow_up":
        return Intent(name, {"lead_id": lead_id, "note": _tidy(t)}, t)
    if name in ("lead_show", "takeover"):
        return Intent(name, {"lead_id": lead_id}, t)
    got = _with_lead(name, "", t, t, state)
    return got if got.slots.get("lead_id") is not None else None


def _fill_extend(name: str, t: str, state: State) -> Intent | None:
    got = _extend(name, "", re.sub(r"^(?:把)?\s*", "", t), t, state)
    return got if got.slots["lead_id"] is not None and got.slots["span"] else None


def _fill_reassign(name: str, t: str, state: State) -> Intent | None:
    got = _reassign(name, "", t, t, state)
    known = {n for pair in state.team for n in pair}
    return got if got.slots["lead_id"] is not None and got.slots["assignee"] in known else None


def _fill_offboard(name: str, t: str, state: State) -> Intent | None:
    got = _offboard(name, "", t, t, state)
    known = {n for pair in state.team for n in pair}
    return got if got.slots["user"] in known and got.slots["to"] in known else None


def _fill_team_leads(name: str, t: str, state: State) -> Intent:
    """The team's leads, or one colleague's when named (「把张伟名下的单子拉出来」 is theirs, not the caller's)."""
    who = next((pname for _pid, pname in state.team if pname and pname in t), None)
    if name == "my_leads":
        return Intent("team_leads", {"filter": who}, t) if who else Intent(name, text=t)
    return Intent(name, {"filter": who} if who else {}, t)


def _fill_reminder(name: str, t: str, state: State) -> Intent | None:
    from ocr.timeparse import EXPR

    when = _time_text(t, EXPR)
    if when is None:
        return None
    task = _TASK_LEAD_IN.sub("", _tidy(t.replace(when, "", 1)))
    return _reminder_intent(when, task, t, state)


def _fill_today(name: str, t: str, state: State) -> Intent | None:
    if not (_DAY.search(t) or _TODO_ITEM.search(t)):  # the day's list names a day or a to-do
        return None
    return Intent(name, {"day": "明天"} if re.search(r"明天|明日|明儿", t) else {}, t)


def _fill_lead_new(name: str, t: str, state: State) -> Intent | None:
    return Intent(name, {"text": _tidy(t)}, t) if PHONE.search(t) else None


_FILL = {"pick": _fill_pick, "follow_up": _fill_lead, "lead_show": _fill_lead, "takeover": _fill_lead,
         "won": _fill_lead, "lost": _fill_lead, "stage": _fill_lead, "extend": _fill_extend,
         "reassign": _fill_reassign, "offboard": _fill_offboard, "team_leads": _fill_team_leads,
         "my_leads": _fill_team_leads,
         "reminder": _fill_reminder, "today": _fill_today, "lead_new": _fill_lead_new}
