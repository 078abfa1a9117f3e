"""Whose matter a question is: a customer's (someone speaks, asks, worries, demands) or the rep's own — an
employee's HR, legal, IT-helpdesk, admin or personal-life question, which a sales knowledge base does not answer
unless its cards are about exactly that.

Words, not phrases: each list is the everyday vocabulary of one kind of internal matter. A word also found in
the card that would answer is the knowledge base's own subject (an HR vendor's 工资 card), not a sign of an
internal question; `search._decide` applies that exception.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable, Iterator, Sequence

# Someone on the customer side is the subject: who they are, or what they do with our offer. A verb of speech or
# concern counts only when the speaker or the speaker's family is not its subject (「我妈担心我…」, 「我再考虑」).
CUSTOMER_NOUNS = frozenset("客户 客戶 对方 甲方 人家 他们 她们 他 她 业主 买家".split())
CUSTOMER_VERBS = frozenset("说 问 嫌 怕 想 担心 觉得 要求 希望".split())
# A colleague named first: the 他 / 她 after it is that colleague, not someone on the customer side
COLLEAGUES = frozenset("同事 新同事 老同事 前同事 实习生 新人 同组 隔壁组".split())
PRONOUNS = frozenset("他 她 他们 她们".split())
CUSTOMER_PHRASES = re.compile("用户方|反映|抱怨|质疑|顾虑|坚持|非要|不信|不放心|不同意|不愿意|不想|不肯|不让"
                              "|不许|不准|拒绝|犹豫|纠结|想要|咨询|反馈|追问|提出|表示")
SPEAKER = re.compile(r"(?:我(?!们)|[妈爸]|老婆|老公|孩子|儿子|女儿|家人|家里)[^，。,.!?！？\s]{0,2}$")

# Everyday words of price, speed, effort, worry and hesitation: an objection in a sale (客户嫌贵), plain life
# elsewhere (这家餐厅菜太贵了, 今天地铁好慢, 搬家真麻烦). A short cue made of one of them is ambiguous.
EVERYDAY = re.compile("贵|便宜|慢|久|晚|麻烦|烦|担心|怕|考虑|犹豫|难|累|忙|乱|复杂|多少钱|没到|再说|算了|没空")
DEGREE = frozenset("太了好很再真还也就都挺蛮更较得的是要有点些比特别非常一下吧呢啊")  # 太贵, 再考虑, 考虑一下


def ambiguous(cue: str) -> bool:
    """A cue that is one character, or an everyday word with at most a degree word around it (太贵, 再考虑; not
    乱报警): everyday language outside a sale, so it needs a second, specific piece of evidence."""
    return len(cue) == 1 or (bool(EVERYDAY.search(cue)) and set(EVERYDAY.sub("", cue)) <= DEGREE)


# The rep's own matters, by kind (a word counts only when no customer is the subject).
HR = ("工资 薪资 薪水 发薪 年终奖 奖金 提成 社保 公积金 个税 年假 "
      "病假 事假 婚假 产假 陪产假 丧假 调休 请假 销假 加班费 "
      "加班 打卡 补卡 入职 离职 转正 试用期 劳动合同 劳动法 仲裁 辞退 开除 补偿金 竞业 体检 绩效 述职 晋升 升职 调岗 "
      "调薪 涨薪 团建 年会 工牌 福利 五险一金 离职证明 收入证明")
IT_HELPDESK = ("电脑 笔记本 蓝屏 死机 开不了机 重装系统 密码 登录不上 登不上 "
               "vpn wifi 网线 邮箱 打印机 复印机 投影仪 显示器 "
               "鼠标 键盘 装软件 office 网盘 企业微信 钉钉 u盘")
ADMIN = ("报销 差旅 出差 机票 高铁票 火车票 打车 发票抬头 会议室 快递 寄件 周报 日报 月报 考核表 门禁卡 停车 停车费 "
         "食堂 吃什么 吃饭 外卖 聚餐 下午茶 奶茶 咖啡 订餐 值班 "
         "排班表 工位 办公室空调 寄出去 寄出 寄了 到账 文件夹 库存 合同章 公章 印章 用印 法人章 财务章 "
         "几点 几号 在哪上 在哪领 在办公室 在公司吗")
PERSONAL = ("家里 孩子 小孩 老婆 老公 女朋友 男朋友 爸妈 父母 宝宝 生日 结婚 房贷 房租 车贷 车险 宽带 手机 感冒 发烧 "
            "失眠 减肥 健身 旅游 电影 股票 基金 彩票 天气 会不会下雨 下雨吗 下雪吗 下不下雨 天气预报 降温 火锅 "
            "附近 蛋糕 礼物 周末 阳台 房东 租房 农家乐 换个手机 我妈 我爸 老妈 老爸")
SCHOOL = "放假 寒假 暑假 家长会 幼儿园 学费 期末 考试 成绩单 作业 补课 兴趣班"
# Grammar that makes the speaker the one concerned («我的…», «公司给报吗»): never a card's subject.
FIRST_PERSON = ("我的", "对我", "打给我", "给我报", "我自己", "公司的", "公司给", "公司不给", "咱公司")
OTHER_COMPANY = re.compile(r"(?<!我们)(?<!咱们)(?<![我咱])[\u4e00-\u9fffA-Za-z]$")  # 维保公司的, not 我们公司的
OWN_WORDS = tuple(sorted({w for group in (HR, IT_HELPDESK, ADMIN, PERSONAL, SCHOOL) for w in group.split()},
                         key=len, reverse=True))
OWN_RE = re.compile("|".join(re.escape(w) for w in (*FIRST_PERSON, *OWN_WORDS)))


# Errands a rep runs around a customer's visit (bookings, pick-ups, meals, travel costs): about a customer, yet no
# objection — 「客户来参观帮忙订个酒店」 is not the 参观 (references) card's matter.
ERRAND = re.compile("订酒店|订个酒店|订房|订个房|订宾馆|订机票|订高铁|订火车票|订车票|订餐|订饭|订桌|订包间|订个包间|"
                    "订会议室|安排住宿|住宿|接机|接站|送机|送站|派车|用车|里程|油费|过路费|停车费|餐补|交通补贴|差旅补贴|"
                    # Internal admin, HR, finance and logistics errands a customer or role word may sit beside
                    # (帮客户招人, 给客户开票的税号): the action is ours, not the customer's objection.
                    "招聘|招人|招工|招(?:几|一|两|三|个)个?|税号|开票抬头|开票信息|借车|借公司的?车|借公车|公车|"
                    "(?:出差|住宿|通讯|话费|餐饮)补贴|搬家|搬办公室|帮忙搬|展台|展位|布展|"
                    "(?:周报|日报|月报|汇报|述职|报销|请假)(?:的)?模板|模板(?:在哪|去哪|怎么)?下载|在哪下载|"
                    "工作交接|交接流程|怎么交接|交接工作|挖人|挖角|被挖走|同事被挖|(?:公司|我们)(?:会不会|要|能不能|啥时候|什么时候)上市")


def errands(text: str) -> list[str]:
    """Errand words in normalized `text` (see ERRAND)."""
    return ERRAND.findall(text)


def customer_framed(text: str, tokens: Iterable[str]) -> bool:
    """A customer (or a customer's person) is the subject: a customer word, or a verb of their speech or concern
    that the speaker is not the subject of (single characters as whole words only: 说 is not 说明书)."""
    return any(True for _ in customer_spans(text, tokens))


def customer_spans(text: str, tokens: Iterable[str]) -> Iterator[tuple[int, int]]:
    """Where `text` names a customer or a customer's speech or concern (see `customer_framed`)."""
    pos = 0
    colleague = False
    for token in tokens:
        start, pos = pos, pos + len(token)
        colleague = colleague or token in COLLEAGUES
        if colleague and token in PRONOUNS:
            continue  # 「同事请假了他那份…」: he is the colleague, not a customer
        if token in CUSTOMER_NOUNS or (token in CUSTOMER_VERBS and not speaks_for_self(text, start)):
            yield start, pos
    for m in CUSTOMER_PHRASES.finditer(text):
        if not speaks_for_self(text, m.start()):
            yield m.start(), m.end()


# A customer voicing a concern (说, 嫌, 担心, 不放心 …), not asking (问, 咨询, 追问): an objection is said in the
# customer's own words (「客户说等领导回来再定」), a question relayed may be about anything (「客户问你们几点下班」).
ASKING = frozenset({"问", "咨询", "追问"})


def customer_voices(text: str, tokens: Iterable[str]) -> bool:
    """A verb of a customer's speech or concern, its speaker not the rep (see `customer_spans`), other than a
    question: a customer word alone (给客户送月饼) or a question (客户问…) is no concern voiced."""
    return any(text[a:b] not in CUSTOMER_NOUNS and text[a:b] not in ASKING for a, b in customer_spans(text, tokens))


def speaks_for_self(text: str, at: int) -> bool:
    """The words just before `at` make the speaker (or the speaker's family) the subject: 「我再考虑」, 「我妈担心」."""
    return bool(SPEAKER.search(text[:at]))


def own_matters(text: str, tokens: Sequence[str]) -> list[re.Match[str]]:
    """Words of an employee's own matter in normalized `text` (HR, IT helpdesk, admin, personal life, school),
    each starting where one of the text's `tokens` starts: 「第二年会不会涨」 holds no 年会. 「公司的…」 is the
    speaker's company only where no other word names it (not 维保公司的老板)."""
    starts = set(itertools.accumulate((len(t) for t in tokens), initial=0))
    return [m for m in OWN_RE.finditer(text) if not (m.group(0).startswith("公司") and OTHER_COMPANY.search(
        text[:m.start()])) and m.start() in starts]


def is_grammar(word: str) -> bool:
    return word in FIRST_PERSON


# 「你们卖不卖无人机」, 「有没有卖农药的渠道」, 「你们也卖幕布吗」: a question whether we sell a thing names a
# product, whatever word follows. A statement (「客户嫌我们卖得太贵」) does not, nor a grammar word after 卖 (的 得 了).
PRODUCT_ASK = re.compile(r"(?:卖不卖|有没有卖"
                         r"|(?:你们|咱们|公司)(?:也|还)?(?:有)?卖(?=[^吗么嘛不没]{2,6}?(?:吗|么|嘛|不|没)))"
                         r"(?![的得地了太很挺比过着给完])([\u4e00-\u9fff]{2,6}?)(?=吗|么|嘛|的|不|没|$|[，。？?!！\s])")


def products_asked(text: str) -> list[str]:
    """Things normalized `text` asks whether we sell (see PRODUCT_ASK)."""
    return PRODUCT_ASK.findall(text)

