"""Who the customer is: person names, job titles, companies — from a chat's title bar and from what people say.

Pure functions shared by screenshots and typed leads (「新线索 …」), so both recognise a name or a company alike.
"""

from __future__ import annotations

import dataclasses
import os
import re
from array import array
from bisect import bisect_left
from dataclasses import dataclass

import jieba

from bot.engines import Engine
from ocr.catalog import Catalog

# The 百家姓 (single and compound surnames) plus common modern ones it lacks.
SURNAMES = set(
    "赵钱孙李周吴郑王冯陈褚卫蒋沈韩杨朱秦尤许何吕施张孔曹严华金魏陶姜戚谢邹喻柏水窦章云苏潘葛奚范彭郎鲁韦昌马苗凤"
    "花方俞任袁柳酆鲍史唐费廉岑薛雷贺倪汤滕殷罗毕郝邬安常乐于时傅皮卞齐康伍余元卜顾孟平黄和穆萧尹姚邵湛汪祁毛禹狄"
    "米贝明臧计伏成戴谈宋茅庞熊纪舒屈项祝董梁杜阮蓝闵席季麻强贾路娄危江童颜郭梅盛林刁钟徐邱骆高夏蔡田樊胡凌霍虞万"
    "支柯昝管卢莫经房裘缪干解应宗丁宣贲邓郁单杭洪包诸左石崔吉钮龚程嵇邢滑裴陆荣翁荀羊於惠甄曲家封芮羿储靳汲邴糜松"
    "井段富巫乌焦巴弓牧隗山谷车侯宓蓬全郗班仰秋仲伊宫宁仇栾暴甘钭厉戎祖武符刘景詹束龙叶幸司韶郜黎蓟薄印宿白怀蒲邰"
    "从鄂索咸籍赖卓蔺屠蒙池乔阴胥能苍双闻莘党翟谭贡劳逄姬申扶堵冉宰郦雍郤璩桑桂濮牛寿通边扈燕冀郏浦尚农温别庄晏柴"
    "瞿阎充慕连茹习宦艾鱼容向古易慎戈廖庾终暨居衡步都耿满弘匡国文寇广禄阙东欧殳沃利蔚越夔隆师巩厍聂晁勾敖融冷訾辛"
    "阚那简饶空曾毋沙乜养鞠须丰巢关蒯相查后荆红游竺权逯盖益桓公晋楚闫法汝鄢涂钦岳帅缑亢况佘佴墨哈谯笪年爱阳佟"
    "付肖覃兰冼揭粟练银代区庹母麦邝谌禤"
)
COMPOUND_SURNAMES = (
    "万俟 司马 上官 欧阳 夏侯 诸葛 闻人 东方 赫连 皇甫 尉迟 公羊 澹台 公冶 宗政 濮阳 淳于 单于 太叔 申屠 "
    "公孙 仲孙 轩辕 令狐 钟离 宇文 长孙 慕容 鲜于 闾丘 司徒 司空 亓官 司寇 子车 颛孙 端木 巫马 公西 漆雕 "
    "乐正 壤驷 公良 拓跋 夹谷 宰父 谷梁 段干 百里 东郭 南门 呼延 归海 羊舌 微生 梁丘 左丘 东门 西门 南宫 第五"
).split()
# Characters that end a sentence fragment rather than a given name ("王强说", "李娜的").
NOT_GIVEN = set("的了是在说和与跟给把被从到对这那们吗呢吧啊呀哦嗯也都就还又很太")
COMPANY_SUFFIX = (
    r"(?:(?:集团)?(?:股份有限公司|有限责任公司|有限公司|公司)|集团|医院|卫生院|大学|学院|学校|中学|小学|幼儿园|银行|"
    r"研究院|研究所|设计院|事务所|工作室|中心|酒店|工厂|厂(?![房区里内]))"
)
# Job titles as people write them: a function or department, then a rank. Kept explicit so that "有限公司CTO"
# never becomes a title.
TITLE_CORE = (
    r"(?:副总经理|总经理助理|总经理|副总裁|总裁|副董事长|董事长|执行董事|董事|总工程师|总工|总助|副总|"
    r"副?(?:总监|经理|主任|科长|处长|院长|校长|园长|主管|部长|厂长|店长|站长|所长|行长|局长|组长|队长|班长|馆长|社长|会长|"
    r"书记|秘书长|主席)|车队长|班组长|护士长|负责人|合伙人|联合创始人|创始人|老板|领班|厨师长|行政总厨|工程师|架构师|专员|顾问|助理|秘书|"
    r"会计|出纳|采购员|库管员?|仓管员?|管理员|技术员|调度员|(?:施工|资料|安全|材料|质检|预算|造价|测量)员|干事|"
    r"CEO|CTO|CIO|CFO|COO|CMO|CHO|VP|HRD|HRBP|HR)"
)
DEPT = (
    r"(?:[\u4e00-\u9fff]{1,4}(?:部|科|处|室|组|中心|事业部|队|车间)|采购|财务|技术|行政|人事|人力资源|人力|运营|市场|销售|生产|设备|"
    r"信息|信息化|IT|品质|质量|质控|研发|项目|工程|后勤|物流|仓储|供应链|商务|法务|客服|产品|数据|安全|总务|基建|网络|"
    r"营销|渠道|大客户|区域|华东区|华南区|华北区|门店|店面|工厂|车间|医务|护理|药剂|门诊|教务|招生|培训|企划|战略|投资|"
    r"财务部|综合|办公室|物业|物管|厂务|工务|安环|环安|安保|保卫|保安|运维|资产|校办|院办|营运|机电|动力|能源|环保|质检|"
    r"德育|学工|政教|教学|客房|前厅|餐饮|厨房|后厨|仓库|车队|保洁|环境|物资|配送|运输|调度|计划|审计|风控|合规|宣传|"
    r"党群|纪检|设施|保障|经营|招采|采供|前台|成本|造价|预算|材料|[A-Z]{2,4}部)"
)
TITLE = re.compile(rf"(?:{DEPT}|[A-Z]{{2,4}})?{TITLE_CORE}(?:助理|秘书)?")
TITLE_FULL = re.compile(rf"(?:{DEPT}|[A-Z]{{2,4}})?{TITLE_CORE}(?:助理|秘书)?|{DEPT}")
# a named department (「质量部」, 「采购」), never the generic 「<any>部」 that would eat a company's last characters
DEPT_NAMED = re.sub(r"^\(\?:\[\\u4e00-\\u9fff\]\{1,4\}\(\?:部\|科\|处\|室\|组\|中心\|事业部\|队\|车间\)\|", "(?:", DEPT)
ROLE_SPAN = rf"(?:{DEPT_NAMED}(?:部|科|处|室|组|中心|事业部|队|车间)?|[A-Z]{{2,4}})?{TITLE_CORE}(?:助理|秘书)?"
# How a speaker states their own role: 「我是设备科主任」, 「目前是行政总监」, 「我在采购部做经理」, 「…，兼工程总监」,
# 「…，是区域经理」; a department and its head with 的 between (「物资科的科长」) are one title.
SAYS_ROLE = re.compile(
    r"(?:我是|我现在是|目前是|现在是|现任|担任|职位是|职务是|我是公司的?|我是我们公司的?|我在[\u4e00-\u9fff]{1,6}?做|"
    r"我负责|作为|兼任|兼着|还兼|兼)(?P<t>" + rf"(?:{DEPT}的?|[A-Z]{{2,4}})?{TITLE_CORE})"
)
CLAUSE_END = r"(?=[，,。！!？?；;\s]|$)"
# a job said on its own, without a rank: 「我是X的采购」, 「我是HR」
JOB = r"(?:采购|财务|会计|出纳|人事|行政|文员|HR)"
SAYS_JOB = re.compile(rf"(?:我是|我在|我就是)(?:[^，,。！!？?]{{2,16}}?的)?(?P<t>{JOB}){CLAUSE_END}")
# 「我在门店运营这边，是区域经理」: a clause that is only 是 and a title
IS_ROLE = re.compile(
    rf"(?:^|[，,])\s*(?:我)?(?:也|还)?是(?!老板)(?P<t>(?:{DEPT}的?|[A-Z]{{2,4}})?{TITLE_CORE}){CLAUSE_END}"
)
# 「我在恒运物流负责车队这块」: the lead of a department or function the speaker names
LEADS = re.compile(rf"(?:我|(?:^|(?<=[，,]))在)[^，,。！!？?]{{0,12}}?负责(?:(?:我们|咱们)?[\u4e00-\u9fff]{{0,4}}的)?"
                   rf"(?P<d>{DEPT_NAMED}(?:部|科|处|室|组|中心|队|车间)?|"
                   rf"[\u4e00-\u9fff]{{1,3}}(?:部|科|处|室|组|队|车间))(?:这块|这一块|这边|方面|工作|的工作|业务|的)?{CLAUSE_END}")
# 「我是管设备的」, 「…，管设备这块」: what the speaker looks after
MANAGES = re.compile(rf"(?:^|(?<=[，,。！!])|我)(?:是|就是|主要)?管"
                     rf"(?P<d>{DEPT_NAMED}{{1,2}}(?:部|科|处|室|组|中心|队|车间)?)(?:的|这块|这一块|这边|方面){CLAUSE_END}")
# 「这个项目我牵头」
HEADS_PROJECT = re.compile(
    r"项目[^。！!？?]{0,12}?我(?:来)?牵头|我(?:来)?牵头[^。！!？?]{0,8}?项目|我是[^，,。]{0,6}牵头人"
)
HONORIFIC = re.compile(
    r"^(?P<s>[\u4e00-\u9fff]{1,2}?)(?:总|经理|老师|老板|工|主任|院长|科长|处长|部长|厂长|姐|哥|先生|女士|小姐)$"
)
LATIN_GIVEN = re.compile(r"[A-Z][a-z]{2,11}")  # Tom, Kevin, Lucy (not CRM, not budget)
PERSONAL_WECHAT = {"微信", "wechat", "weixin"}
GROUP_TITLE = re.compile(r"[（(]\s*\d{1,4}\s*[)）]\s*$")
COLLEAGUE_TITLE = re.compile(r"[（(]\s*(?:同事|内部|本公司|[\u4e00-\u9fff]{0,4}(?:部|组|中心))\s*[)）]$")
TAGS = re.compile(r"[「【\[(（<]?\s*(?:外部|内部|企业|@?微信|已读|未读)\s*[」】\])）>]?")
TITLE_SPLIT = re.compile(r"\s*[@＠\-—－–_|｜·•/／、,，\s]+\s*")
NOT_COMPANY = re.compile(
    r"^(?:[A-Za-z]?类?客户|[A-Da-d]类?|VIP|重要|潜在|意向|老客户|新客户|客户|待跟进|跟进中|已成交|备注|群聊|外部|微信)$"
)
COMPANY_EDGE = "|丨｜·•-—－–_ \u3000\t"
# 「@微信」 as OCR reads it (「@作信」, 「@徽信」): a short word after @ in a WeCom title is a tag, not a company
WECOM_TAG = re.compile(r"[\u4e00-\u9fff]{1,3}")
VERBISH = re.compile(
    r"想|要|看|了解|咨询|采购|需要|问|推荐|介绍|联系|打|发|聊|做|负责|在|说|给|是|吧|吗|呢|了|来|去|到|你|我|他|她"
)


# forms of address and trades, never a name (「我是顺达的师傅」)
NOT_A_NAME = re.compile(r"经理|总|老师|先生|女士|公司|科技|医院|师傅|小哥|骑手|快递|外卖|阿姨|老板"
                        r"|主任|主管|科长|处长|部长|厂长|院长|校长|所长|站长|店长|队长|组长")


def is_person_name(text: str) -> bool:
    """Surname + one or two given characters ("温婷", "欧阳明月"); four characters only with a compound surname,
    so a nickname such as 阳光明媚 is not a name. Most compound surnames are also ordinary words (东方, 南门, 百里):
    one followed by an industry word (东方医疗, 南门物流) is an organisation."""
    if not re.fullmatch(r"[\u4e00-\u9fff]{2,4}", text) or NOT_A_NAME.search(text):
        return False
    if any(ch in NOT_GIVEN for ch in text[1:]) or len(set(text)) == 1:  # 谢谢, 哈哈: a word, not a name
        return False
    if text[:2] in COMPOUND_SURNAMES and len(text) >= 3:
        return not INDUSTRY_TAIL.fullmatch(text[2:])
    return text[0] in SURNAMES and len(text) <= 3


class NameLists:
    """What jieba's dictionary file says about names (read once, ~0.3 s): everyday words that look like a surname +
    given name (向日葵, 江南, 高山) — in the dictionary, frequent, and not tagged as a person's name: a title bar
    showing one is a nickname — and how often each character is part of a given name among its person-name
    entries (tag nr). An engine (`NAMES`, bot/engines.py): the services keep one."""

    def __init__(self) -> None:
        common: set[str] = set()
        given: dict[str, int] = {}
        pairs: list[int] = []
        with open(os.path.join(os.path.dirname(jieba.__file__), "dict.txt"), encoding="utf-8") as f:
            for line in f:
                word, freq, tag = line.split()
                if not 2 <= len(word) <= 3:
                    continue
                if len(word) == 2 and int(freq) >= EVERYDAY:
                    pairs.append(_pair_code(word))
                if tag == "nr":
                    for ch in word[1:]:
                        given[ch] = given.get(ch, 0) + 1
                elif word[0] in SURNAMES and int(freq) >= 50:
                    common.add(word)
        self.common_words = frozenset(common)
        self._given_chars = given
        self._pairs = array("Q", sorted(pairs))  # ~50k words in 0.4 MB, not a set of strings

    def is_word(self, pair: str) -> bool:
        """An everyday two-character word (简单, 当面): read as it is written, not a misread cue word."""
        if len(pair) != 2:
            return False
        code = _pair_code(pair)
        i = bisect_left(self._pairs, code)
        return i < len(self._pairs) and self._pairs[i] == code

    def is_remark_name(self, text: str) -> bool:
        """A name in a title bar or remark: a person name that is not an everyday word used as a nickname."""
        return is_person_name(text) and text not in self.common_words

    def likelier_name(self, a: str, b: str) -> str | None:
        """Two readings of one person's name that differ in a single given-name character (the title bar says
        「杨斌」, the introduction was read 「杨试」): the reading whose character is the likelier in names; None when
        they are not such a pair."""
        if len(a) != len(b) or a[0] != b[0] or a == b:
            return None
        diff = [i for i in range(len(a)) if a[i] != b[i]]
        if len(diff) != 1:
            return None
        weight = self._given_chars
        i = diff[0]
        return a if weight.get(a[i], 0) >= weight.get(b[i], 0) else b


NAMES = Engine("ocr.name_lists", NameLists)
EVERYDAY = 50  # a dictionary frequency a word read as written has (师传 is listed at 5, 简单 at 6935)


def _pair_code(pair: str) -> int:
    return ord(pair[0]) << 21 | ord(pair[1])


def surer_reading(title: str, said: str, body: list[str], ids: list[str], names: NameLists) -> str | None:
    """Of two readings of one name that differ in a single given-name character — the title bar's and the one the
    chat introduces — the one the chat bears out: written again in the chat (a signature, the rep greeting the
    customer by name) or spelled in the customer's email or WeChat id; only when that evidence ties, the reading
    whose character is the likelier in names. The title bar counts once for its own reading. None when the two
    are not such a pair."""
    if names.likelier_name(title, said) is None:
        return None
    score = {name: sum(name in text for text in body) + 2 * any(spells(name, i) for i in ids)
             for name in (title, said)}
    score[title] += 1
    if score[title] != score[said]:
        return max(score, key=score.__getitem__)
    return names.likelier_name(title, said)


def spells(name: str, ident: str) -> bool:
    """Does a Latin id spell the name in pinyin (「gongye@…」, 「ye_gong88」)? The whole name, or its given name
    when that is at least four letters (a surname's two letters say little)."""
    from pypinyin import lazy_pinyin

    letters = re.sub(r"[^a-z]", "", ident.lower().split("@")[0])
    syllables = lazy_pinyin(name)
    given = "".join(syllables[1:])
    return bool(letters) and ("".join(syllables) in letters or (len(given) >= 4 and given in letters))


INDUSTRY_TAIL = re.compile(
    r"(?:科技|医疗|物流|冷链|电子|环保|教育|建设|工程|实业|集团|食品|生物|网络|信息|智能|精密|制造|材料|化工|能源|汽车|餐饮|地产|"
    r"置业|贸易|商贸|药业|制药|器械|机械|设备|服饰|家居|传媒|文化|咨询|软件|数据|通信|电气|电力|光电|半导体|股份|控股|投资|"
    r"资本|金融|保险|证券|银行|医院|学校|酒店|超市|连锁|包装|印刷|纸业|钢铁|矿业|农业|水务|燃气|交通|航空|物业|装饰|设计|"
    r"建筑|国际|电器|仪器|仪表|塑料|橡胶|纺织|家具|办公|安防|物联|云|技术|工业|五金|模具|化学|医药|健康|科教|商业|管理|"
    r"服务|发展|实验室|冷库|仓储|码头|港务|港口|产业园|工业园|物流园|园区|加油站|汽配|纺织|建材|建工|电梯|"
    r"粮油|养老院|宾馆|饭店|商场|百货|印务|彩印|租车|租赁|汽修|家政|保洁|安保|消防|园林|绿化|"
    r"不锈钢|钢构|钢结构|钢材|铸造|锻造|压铸|铸件|模具|焊接|焊材|热处理|机电|铝业|铜业|冶金|有色|金属|塑胶|塑业|玻璃|"
    r"陶瓷|造纸|印染|纺织品|制衣|服装|鞋业|皮革|家纺|乳业|乳品|饮品|饮料|酒业|茶业|烘焙|海产|水产|肉业|果业|牧业|畜牧|"
    r"机床|光伏|光学|激光|新材料|船舶|造船|重工|动力|电池|新能源|涂料|油墨|胶业|石化|化纤|照明|卫浴|门窗|石材|水泥|"
    r"酒楼|酒家|餐厅|饭庄|茶楼|食府|面馆|火锅|快餐|小吃|团餐|菜馆|烧烤|茶餐厅|咖啡|茶饮|便利店|药店|"
    r"牙科|口腔|诊所|门诊|药房|眼科|体检|生物科技|检测|环境|水厂|电厂|木业|竹业|厨具|餐具|灯饰|线缆|电缆|"
    r"公司|厂|院|所|局|中心)$"
)


def looks_like_company(text: str) -> bool:
    """A short company name on its own: a registered suffix or an industry word at the end (「华东医疗」)."""
    return bool(COMPANY_RE.fullmatch(text) or (len(text) >= 3 and INDUSTRY_TAIL.search(text)))


def is_title(text: str) -> bool:
    return bool(TITLE_FULL.fullmatch(text))


def clean_company(co: str | None, *, slot: bool = False) -> str | None:
    """A company name without a leading greeting or verb; None when what is left is not a company. `slot`: the
    text stands where a remark puts the company (「姓名@公司」, 「公司-姓名」), so a brand's 来 or 在 (悦来, 在田) is
    no verb; only a request or a pronoun makes it a phrase."""
    if not co:
        return None
    co = co.strip(COMPANY_EDGE)  # 「外部 | 博瑞制药」 read as 「| 博瑞制药」: a separator is never part of a name
    co = re.sub(r"^.*?(?:我是|我们是|我叫|来自|就职于|在|是|，|,)(?=[\u4e00-\u9fffA-Za-z]{2})", "", co)
    co = re.sub(r"^(?:你好|您好|哈喽|Hi|hi|嗨)[，,\s]*", "", co).strip(" ，,。:：")
    lead_title = TITLE.match(co)  # 「行政主管恒信置业有限公司」: a card's title line run into the company line
    if lead_title and REGISTERED.search(co[lead_title.end() :]) and len(co) - lead_title.end() >= 4:
        co = co[lead_title.end() :]
    if len(co) < 2 or is_person_name(co) or NOT_COMPANY.match(co) or NOT_OWN_NAME.search(co):
        return None
    verbish = PHRASE_WORDS if slot else VERBISH
    if not REGISTERED.search(co) and (verbish.search(co) or CLAUSE_BITS.search(co)):
        return None  # "想了解一下", "在看方案", 「预算的话学校」: a verb phrase or a clause is never a company
    return co


PHRASE_WORDS = re.compile(r"想|要|了解|咨询|需要|推荐|联系|负责|吧|吗|呢|了|你|我|他|她")
# what a company's own name never holds: a number, a pronoun, or 「公司…」 at its front (「公司搬新厂」)
NOT_OWN_NAME = re.compile(r"\d|我们|你们|咱们|贵|本公司|^(?:公司|单位|厂里|厂区|我司)"
                          r"|^[\u4e00-\u9fff]?(?:有限|限公司)")  # 「团有限公司」: the end of a name a line wrapped
# the pieces of a clause that run into a noun before it (「预算的话学校」, 「我们自己的厂」), never inside a name
CLAUSE_BITS = re.compile(r"的|的话|那边|这边|预算|其实|然后|就是|主要|现在|目前|这个|那个|如果|因为|所以")


def split_department(company: str) -> tuple[str, str | None]:
    """A company with the speaker's department run on (「青松实验中学保卫处」, 「东盛机械厂安环部」): the company
    and the department apart; a company with none as it is."""
    for cut in range(4, len(company) - 1):
        head, dept = company[:cut], company[cut:]
        if is_title(dept) and (COMPANY_RE.fullmatch(head) or INDUSTRY_TAIL.search(head)) and not is_title(head):
            return head, dept
    return company, None


def org_and_role(text: str) -> tuple[str | None, str | None]:
    """A DingTalk subtitle or a remark's tail: 「公司｜职务」, 「公司-部门」, 「公司部门职务」 as (company, title)."""
    company = title = None
    for part in (p for p in TITLE_SPLIT.split(text) if p):
        if title is None and (is_title(part) or _ranked(part)):
            title = part
        elif _rank_of(title, part):  # 「公司·采购部·经理」: the department's rank in a part of its own
            title = f"{title}{part}"
        elif company is None:
            company, dept = split_department(part)
            title = title or dept
    return company, title


def _rank_of(title: str | None, part: str) -> bool:
    """`part` is only a rank and `title` so far only a department: the two are one title."""
    return bool(title) and re.fullmatch(TITLE_CORE, part) is not None and not re.search(f"{TITLE_CORE}$", title or "")


def _ranked(part: str) -> bool:
    """A department of any name and a rank (「宿管部主任」): a title, not a company."""
    m = TITLE.search(part)
    return m is not None and m.end() == len(part) and len(part) <= 9 and not looks_like_company(part[: m.start()])


ORG = r"[\u4e00-\u9fffA-Za-z（）()]"
TITLE_CORE_END = re.compile(rf"{TITLE_CORE}$")
COMPANY_RE = re.compile(rf"[\u4e00-\u9fffA-Za-z（）()]{{2,24}}?{COMPANY_SUFFIX}")
REGISTERED = re.compile(r"(?:有限公司|有限责任公司|集团|医院|卫生院|大学|学院|银行|研究院|研究所|设计院|事务所)$")


@dataclass(frozen=True)
class TitleBar:
    name: str | None = None
    company: str | None = None
    title: str | None = None
    surname: str | None = None  # from a remark such as 「华东医疗-王总」
    name_guess: str | None = None  # what stands where the name goes, even if misread (「到明远」 for 谭明远)
    is_group: bool = False
    is_colleague: bool = False


def strip_title_noise(title: str) -> str:
    """Unread counts before the name (「36张伟」, 「<2」), the 「外部」 tag, 「@微信」 and trailing marks."""
    t = title.strip()
    t = re.sub(r"^[\s\d<《〈‹«(（)）.,，。·:：'\"|]+(?=[\u4e00-\u9fffA-Za-z])", "", t)
    t = TAGS.sub(" ", t)
    return re.sub(r"[\s.,，。>›]+$", "", t).strip()


# what else a line under a chat's title says: presence, typing, the app's own labels
SUBTITLE_STATUS = re.compile(r"正在输入|输入中|在线|离线|忙碌|勿扰|休假|外部联系人|企业微信|钉钉|对方|已读|未读"
                             r"|消息|通话")


def parse_title_bar(raw: str | None, names: NameLists) -> TitleBar:
    """Name / company / title in the common remark forms: 「张伟@华东医疗」, 「张伟-华东医疗-采购经理」,
    「华东医疗-张伟」, 「A-华东医疗-张伟」, 「华东医疗-王总」, 「张伟华东医疗采购经理」.

    A group title ends in a member count; 「马芳(销售部)」 is a colleague."""
    if not raw or not raw.strip():
        return TitleBar()
    if GROUP_TITLE.search(raw.strip()):
        return TitleBar(is_group=True)
    if COLLEAGUE_TITLE.search(raw.strip()):
        return TitleBar(is_colleague=True)
    first, _, subtitle = raw.strip().partition("\n")
    if subtitle.strip():  # DingTalk: the contact's company on a second line under the name
        bar = parse_title_bar(first, names)
        line = strip_title_noise(subtitle.strip())
        company, role = org_and_role(line) if not SUBTITLE_STATUS.search(line) else (None, None)
        # the line is the contact's organisation whatever its industry (「光明乳业」), unless it is a status; a
        # title after a bar goes with it (「青松中学｜保卫科科长」)
        if company and bar.company is None and clean_company(company) and re.search(r"[\u4e00-\u9fff]{2}", company):
            bar = dataclasses.replace(bar, company=company.strip(COMPANY_EDGE), title=bar.title or role)
        elif role and bar.title is None:
            bar = dataclasses.replace(bar, title=role)
        return bar
    clean = strip_title_noise(raw)
    at = re.match(r"^(.+?)\s*[@＠]+\s*(.+)$", clean)  # 「@」 is sometimes read twice
    if at:  # WeCom: 「张伟@华东医疗」, 「张伟@微信」: the name before @, the company after it
        left, right = at.group(1).strip(), at.group(2).strip()
        is_tag = right.lower() in PERSONAL_WECHAT or bool(WECOM_TAG.fullmatch(right))
        company = clean_company(right, slot=True) if not is_tag else None
        if not names.is_remark_name(left) and TITLE_SPLIT.search(left):  # 「张伟-华东医疗-采购经理@微信」: a remark
            bar = _remark(left, names)
            if bar.name or bar.company:
                return dataclasses.replace(bar, company=bar.company or company)
        named = names.is_remark_name(left) or LATIN_GIVEN.fullmatch(left)  # 「Kevin@某公司」
        return TitleBar(name=left if named else None, company=company, name_guess=left)
    return _remark(clean, names)


def _remark(text: str, names: NameLists) -> TitleBar:
    """A remark's parts (「张伟-华东医疗-采购经理」), its dashes perhaps misread as 「一」."""
    bar = _classify_parts(_parts(text), names)
    if "一" in text:
        dashed = [p for p in TITLE_SPLIT.split(text.replace("一", "-")) if p]
        if len(dashed) >= 2 and all(len(p) >= 2 for p in dashed):
            other = _classify_parts(dashed, names)
            # a company or title never ends in 一, nor starts with it mid-remark (「一汽」 can only start one)
            edged = any(f and (f[-1] == "一" or (f[0] == "一" and not text.startswith(f)))
                        for f in (bar.company, bar.title))
            if _known(other) > _known(bar) or (edged and _known(other) == _known(bar)):
                return other
    return bar


def _parts(text: str) -> list[str]:
    text = re.sub(r"(?<=\S)\s*[（(【\[]\s*([^（()）【】\[\]]{2,})\s*[)）】\]]\s*$", r"-\1", text)  # 「姓名（公司）」
    parts = [p for p in TITLE_SPLIT.split(text) if p]
    if parts and len(parts) > 1:  # 「采购经理Q」: a misread 「@」 before a tag that was stripped
        parts[-1] = re.sub(r"(?<=[\u4e00-\u9fff])[A-Za-z©®]$", "", parts[-1])
    return _split_run_together(parts[0]) if len(parts) == 1 else parts


def _known(bar: TitleBar) -> int:
    return sum(x is not None for x in (bar.name, bar.company, bar.title, bar.surname))


def _classify_parts(parts: list[str], names: NameLists) -> TitleBar:
    name = company = title = surname = None
    for part in parts:
        if part.lower() in PERSONAL_WECHAT:
            continue
        hon = HONORIFIC.match(part)
        if name is None and names.is_remark_name(part):
            name = part
        elif _rank_of(title, part):  # 「姓名-公司-采购部-经理」
            title = f"{title}{part}"
        elif hon and len(hon.group("s")) == 1 and hon.group("s") in SURNAMES and surname is None:
            surname = hon.group("s")  # 「麦主任」: someone addressed by surname and rank, not a title
        elif title is None and (is_title(part) or (len(parts) > 1 and _ranked(part))) and not (
                len(parts) > 1 and company is None and branded(part) and not TITLE_CORE_END.search(part)):
            title = part
        elif company is None and re.search(r"[\u4e00-\u9fff]{2}", part) and clean_company(part, slot=True) and \
                (len(parts) > 1 or looks_like_company(part)):
            company, dept = split_department(part)  # 「郝建军-青松中学保卫处」
            title = title or dept
    return TitleBar(name=name, company=company, title=title, surname=surname)


def _split_run_together(text: str) -> list[str]:
    """「张伟华东医疗采购经理」 / 「王总华东医疗」 → name, company, title."""
    out: list[str] = []
    addressed = re.fullmatch(r"(?P<co>[\u4e00-\u9fff]{3,})(?P<s>[\u4e00-\u9fff])(?:总|经理|老师|主任)", text)
    if addressed and addressed["s"] in SURNAMES and not is_person_name(addressed["co"] + addressed["s"]):
        return [addressed["co"], text[addressed.end("co") :]]  # 「东港商务覃经理」: a company, someone by rank
    m = TITLE.search(text)
    tail = None
    if m and m.end() == len(text) and m.start() > 0:
        text, tail = text[: m.start()], m.group(0)
    hon = re.match(r"^([\u4e00-\u9fff])(总|经理|老师)(?=[\u4e00-\u9fff]{2})", text)
    if hon:
        out += [hon.group(0), text[hon.end() :]]
    elif len(text) >= 5 and text[0] in SURNAMES:
        size = 3 if len(text) - 3 >= 4 else 2
        out += [text[:size], text[size:]]
    else:
        out.append(text)
    return out + ([tail] if tail else [])


# ---------------------------------------------------------------- what people say

NAME = r"(?P<name>[\u4e00-\u9fff]{2,4}?)"
CALL_ME = re.compile(r"叫我\s*(?P<n>[A-Z][a-z]{2,11})\s*(?:就行|就好|就可以|吧|[，,。！!]|$)")
REFERS = r"(?:推荐|介绍)(?:个|一个|一位|位)?(?:客户|朋友)"
STOP = r"(?=[，,。！!？?\s;；:：]|$|在|负责|这边|想|有(?!限)|，)"  # 「有限公司」 goes on a company name
# 「我是A公司的采购经理张伟」, 「我是A公司采购经理，张伟」, 「我叫张伟，A公司的」, 「推荐个客户：A公司的CTO张伟」
PERSON_PATTERNS = (
    re.compile(rf"(?:我是|我叫|本人|我姓|推荐个客户|介绍个客户|推荐一个客户|介绍一个客户|推荐位|介绍位)[:：,，\s]*"
               rf"(?P<co>[\u4e00-\u9fffA-Za-z（）()]{{2,30}}?{COMPANY_SUFFIX})的?[，,]?\s*"
               rf"(?P<t>(?:{DEPT}|[A-Z]{{2,4}})?{TITLE_CORE})?[，,\s]*{NAME}{STOP}"),
    re.compile(rf"(?:我是|我叫|本人|{REFERS}[:：,，\s]*)(?P<co>[\u4e00-\u9fffA-Za-z]{{2,12}}?)的"
               rf"(?P<t>(?:{DEPT}|[A-Z]{{2,4}})?{TITLE_CORE})?[，,\s]*{NAME}{STOP}"),
    # someone else described for a referral: 「我同学在X当厂长，叫Y」
    re.compile(rf"在(?P<co>{ORG}{{2,12}}?)(?:当|做|任)(?P<t>(?:{DEPT}|[A-Z]{{2,4}})?{TITLE_CORE})[，,\s]*"
               rf"(?:叫|名叫|名字叫){NAME}{STOP}"),
    re.compile(rf"(?:我是|我叫|本人|我姓)(?:(?P<t>(?:{DEPT}|[A-Z]{{2,4}}|[\u4e00-\u9fff]{{2}})?{TITLE_CORE})[，,\s]*)?"
               rf"{NAME}{STOP}"),
    # the name right after a rank whose department was misread (「…有限公司的上总监韩军，电话…」): the name only
    re.compile(rf"(?:我是|我叫|本人)[^，,。！!？?]{{2,30}}?{TITLE_CORE}{NAME}{STOP}"),

)
COMPANY_AFTER_NAME = re.compile(
    rf"[，,\s]*(?:是|来自|在)?(?P<co>[\u4e00-\u9fffA-Za-z（）()]{{2,30}}?{COMPANY_SUFFIX}|[\u4e00-\u9fff]{{2,10}})的"
    rf"(?P<t>(?:{DEPT}|[A-Z]{{2,4}})?{TITLE_CORE})?(?=[，,。！!\s]|$|在|负责)"
)
IN_COMPANY = re.compile(
    rf"(?:[，,]\s*在|来自|就职于|我们是|我们公司是|我这边是|这边是)(?P<co>[\u4e00-\u9fffA-Za-z（）()]{{2,30}}?"
    rf"(?:{COMPANY_SUFFIX}|(?=[，,。\s]|$|工作|上班|的|做[^，,。]{{0,6}}?{TITLE_CORE})))"
)
# the title said as the clause right after a self-introduced name: 「我是A公司的张伟，材料部经理，这批货我来对接」
ROLE_CLAUSE = re.compile(rf"[，,]\s*(?P<t>{TITLE.pattern})(?=[，,。！!]|$)")
COMPANY_ROLE_NAME = re.compile(rf"(?:我是|本人)(?P<co>[\u4e00-\u9fffA-Za-z]{{2,16}}?)(?P<t>{ROLE_SPAN}){NAME}{STOP}")
REFERRAL = re.compile(r"(?:推荐|介绍)(?:个|一个|一位|位|下)?(?:客户|朋友|老板|同行)|(?:给你|帮你)(?:推荐|介绍)"
                      r"|^[^。！!？?]{0,4}(?:你|您)(?:可以|直接)?(?:联系|找|加)(?:一下)?(?:他|她)")


@dataclass(frozen=True)
class Person:
    name: str | None = None
    company: str | None = None
    title: str | None = None


def person_in(text: str) -> Person:
    """The person a sentence introduces, with their company and title when said with them."""
    m0 = COMPANY_ROLE_NAME.search(text)  # 「我是晨溪生化质量部部长柯以宁」
    if m0 and _name_at(text, m0) and looks_like_company(m0.group("co")) and clean_company(m0.group("co")):
        return Person(_name_at(text, m0), clean_company(m0.group("co")), m0.group("t"))
    greeted = _greeting_intro(text)
    if greeted.name:
        return greeted
    unread = Person()  # an introduction whose name was misread: its company and title still stand
    for rx in PERSON_PATTERNS:
        for m in rx.finditer(text):
            name = _name_at(text, m)
            if not name and not unread.company:
                unread = _without_name(text, m)
            if name:
                after = COMPANY_AFTER_NAME.match(text, m.end("name"))
                co = m.groupdict().get("co") or (after.group("co") if after else None)
                title = m.groupdict().get("t") or (after.group("t") if after else None)
                if co and title and is_title(co) and not looks_like_company(co):  # 「我是采购部的主管」
                    co, title = None, f"{co}{title}"
                if not title and (then := ROLE_CLAUSE.match(text, m.end("name"))):  # 「我是A公司的张伟，材料部经理」
                    title = then.group("t")
                return Person(name, clean_company(co), title)
    found = re.search(rf"(?P<co>[\u4e00-\u9fffA-Za-z（）()]{{2,30}}?{COMPANY_SUFFIX})的?(?P<t>{TITLE.pattern})"
                      r"[，,\s]*(?P<name>[\u4e00-\u9fff]{2,4}?)" + STOP, text)
    if found and _name_at(text, found):
        return Person(_name_at(text, found), clean_company(found.group("co")), found.group("t"))
    latin = CALL_ME.search(text)  # 「叫我Amy就行」
    if latin:
        return Person(latin.group("n"))
    plain = _plain_intro(text)
    return plain if plain != Person() else unread


def _without_name(text: str, m: re.Match[str]) -> Person:
    """The company (and title) of an introduction whose name is no name: OCR misread a rare surname (「我是A公司
    设备部的X浩」 with X unreadable). The company stands on its own when it looks like one, with a department said
    after it taken off; no company, no person."""
    co = m.groupdict().get("co")
    at = m.start("name")
    if not co or text[at - 1] != "的" or TITLE.match(text, at) or re.match(DEPT, text[at:]):
        return Person()  # 「…的X浩」: the name slot right after 的, and no title or department in it (「的品控主管」)
    company = _company_before_department(co)
    if not company:
        return Person()
    then = ROLE_CLAUSE.match(text, m.end("name"))
    return Person(None, company, m.groupdict().get("t") or (then.group("t") if then else None))


def _company_before_department(co: str) -> str | None:
    """「A塑胶设备部」 → 「A塑胶」: the longest start that looks like a company and carries a name of its own (no
    「食品厂」), the rest a department (or nothing)."""
    for cut in range(len(co), 1, -1):
        rest = co[cut:]
        if looks_like_company(co[:cut]) and branded(co[:cut]) and (not rest or re.fullmatch(DEPT, rest)):
            return clean_company(co[:cut])
    return None


# 「晨光物业的工程部经理殷涛」 opening a typed lead or a message: trade-named company, 的, title, name
ORG_ROLE_NAME = re.compile(rf"^(?P<co>{ORG}{{2,12}}?)的(?P<t>{TITLE.pattern}){NAME}{STOP}")
# 「我姓邱，邱慧敏」, 「姓毛，毛振宇」
OWN_SURNAME = r"(?:(?<![\u4e00-\u9fff])|(?<=免贵)|(?<=鄙人))"  # 「姓X」 said of oneself
SURNAME_THEN_NAME = re.compile(rf"{OWN_SURNAME}(?:我|本人)?姓(?P<s>[\u4e00-\u9fff])[，,\s]*(?:叫)?"
                               rf"(?P<name>(?P=s)[\u4e00-\u9fff]{{1,2}}?){STOP}")
# a message that is only a name and a title, answering 「您贵姓」: 「岑国华，车队队长」
NAME_AND_ROLE = re.compile(rf"^{NAME}[，,\s]+(?P<t>{TITLE.pattern})[。！!]?$")
# a message opening with the speaker's name, then their firm and role or department, with no 「我是」:
# 「<姓名>，<公司><职务>。…」, 「<姓名>，<公司><部门>，…」
NAME_ORG_ROLE = re.compile(rf"^{NAME}[，,\s]+(?P<co>{ORG}{{2,16}}?)的?"
                           rf"(?P<t>{ROLE_SPAN}|{DEPT_NAMED}(?:部|科|处|室|中心|车间)){CLAUSE_END}")


def _plain_intro(text: str) -> Person:
    m = ORG_ROLE_NAME.search(text)
    if m and _name_at(text, m) and branded(m.group("co")):
        return Person(_name_at(text, m), m.group("co"), m.group("t"))
    m = NAME_ORG_ROLE.match(text.strip())
    if m and _name_at(text.strip(), m) and branded(m.group("co")):
        return Person(_name_at(text.strip(), m), m.group("co"), m.group("t"))
    for rx in (SURNAME_THEN_NAME, NAME_AND_ROLE):
        m = rx.search(text.strip())
        if m and _name_at(text.strip(), m):
            return Person(_name_at(text.strip(), m), None, m.groupdict().get("t"))
    return Person()


def signature_in(line: str) -> Person:
    """A signature line, its parts apart: 「某某食品有限公司 采购部 王某某 经理」 → the person, the company, and the
    department and rank as one title. Every part must be one of these, or it is no signature."""
    parts = line.split()
    if not 3 <= len(parts) <= 5:
        return _signed_run_together(line)
    names = [p for p in parts if is_person_name(p)]
    companies = [p for p in parts if COMPANY_RE.fullmatch(p) or branded(p)]
    roles = [p for p in parts if p not in names and p not in companies and is_title(p)]
    if len(names) != 1 or len(companies) != 1 or len(roles) != len(parts) - 2:
        return Person()
    return Person(names[0], companies[0], "".join(roles) or None)


SIGNATURE_LABEL = re.compile(r"^(?:姓名|联系人|职务|职位|单位|公司|部门)(?:名称)?\s*[:：]\s*")
SIGNATURE_SPLIT = re.compile(r"\s*[|｜/／·•]\s*|\s+")
CONTACT_LINE = re.compile(r"\d{5,}|@|电话|手机|邮箱|微信|地址|tel|mail|mobile", re.IGNORECASE)


def signature_block(lines: list[str]) -> Person:
    """A signature closing a message, on one line or several: 「X | 公司 | 职务」, 「—— X」 over 「公司 职务」, labelled
    lines (「联系人：X」, 「职务：…」). Read from the message's end upwards; contact lines are passed over, and the
    block stops at the first line with a part that is no name, company or title. It must name exactly one
    person, and a company or a title with them."""
    found: dict[str, list[str]] = {"name": [], "company": [], "title": []}
    for line in reversed(lines):
        line = SIGNATURE_LABEL.sub("", line.strip().lstrip("—-–~～ "))
        if not line or CONTACT_LINE.search(line):
            continue
        parts = [p for p in SIGNATURE_SPLIT.split(line) if p]
        kinds = [_signature_part(p) for p in parts]
        if kinds.count(None) == 1 and len(parts) >= 3 and "company" not in kinds:  # 「X | 某某机床 | 职务」
            odd = kinds.index(None)
            kinds[odd] = "company" if clean_company(parts[odd], slot=True) == parts[odd] else None
        if None in kinds:
            break
        for part, kind in zip(reversed(parts), reversed(kinds), strict=True):
            found[str(kind)].insert(0, part)
    names, companies = found["name"], found["company"]
    if len(names) != 1 or len(companies) > 1 or not (companies or found["title"]):
        return Person()
    return Person(names[0], companies[0] if companies else None, "".join(found["title"]) or None)


def _signature_part(part: str) -> str | None:
    trade = INDUSTRY_TAIL.search(part)
    if is_person_name(part) and not (trade and len(trade.group(0)) >= 2):  # 王思云 is a name, 王氏物流 a firm
        return "name"
    if COMPANY_RE.fullmatch(part) or branded(part):
        return "company"
    return "title" if is_title(part) or _ranked(part) else None


# the same line as OCR gives it back, spaces lost: 「某某食品有限公司采购部王某某经理」
SIGNED = re.compile(rf"(?:^|(?<=[。！!？?；;：:]))(?P<co>{ORG}{{2,24}}?(?:股份有限公司|有限责任公司|有限公司|集团|"
                    rf"{COMPANY_SUFFIX}))(?P<d>{DEPT})?(?P<name>[\u4e00-\u9fff]{{2,3}}?)(?P<r>{TITLE_CORE})(?=[，,。！!\s]|$|电话|手机|邮箱|微信)")


def _signed_run_together(line: str) -> Person:
    for m in SIGNED.finditer(line.replace(" ", "")):
        co = clean_company(m.group("co"))
        if co and is_person_name(m.group("name")):
            return Person(m.group("name"), co, (m.group("d") or "") + m.group("r"))
    return Person()


def surname_said(text: str) -> str | None:
    """The surname a speaker gives without the full name (「我是中科冷链的，姓贝」)."""
    m = re.search(rf"{OWN_SURNAME}(?:我|本人)?姓(?P<s>[\u4e00-\u9fff])(?![\u4e00-\u9fff])", text)
    return m.group("s") if m and m.group("s") in SURNAMES else None


def named_with(surname: str, text: str) -> str | None:
    """A message that opens with a full name of the surname the customer gave (「贝思远，电话…」)."""
    m = re.match(rf"\s*({surname}[\u4e00-\u9fff]{{1,2}}?)(?=[，,。\s]|$)", text) or \
        re.match(rf"\s*({surname}[\u4e00-\u9fff]{{1,2}})(?=[，,。\s]|$)", text)
    return m.group(1) if m and is_person_name(m.group(1)) else None


# 「各位好，张三，某某科技有限公司采购经理」: a greeting, the name, then company and title as a clause of their own
GREETING_INTRO = re.compile(rf"(?:各位|大家|你们|您|你)好[!！，,\s]*(?:我是|我叫)?{NAME}(?=[，,\s])[，,\s]+"
                            r"(?P<rest>[^，,。！!？?\s]{2,40})")


def _greeting_intro(text: str) -> Person:
    m = GREETING_INTRO.search(text)
    name = _name_at(text, m) if m else None
    if not m or not name:
        return Person()
    rest = m.group("rest")
    for cut in range(len(rest) + 1):  # the company as long as it can be, the title after it
        co, role = rest[:cut].removesuffix("的"), rest[cut:]
        company = clean_company(co) if looks_like_company(co) else None
        if (company or not co) and (not role or re.fullmatch(ROLE_SPAN, role)) and (company or role):
            return Person(name, company, role or None)
    return Person()


def _name_at(text: str, m: re.Match[str]) -> str | None:
    """The name group, trying three characters before two (the lazy group stops at two)."""
    start = m.start("name")
    for size in (3, 2, 4):
        cand = text[start : start + size]
        if len(cand) == size and is_person_name(cand) and re.match(STOP, text[start + size :]):
            return cand
    return m.group("name") if is_person_name(m.group("name")) else None


# an introduction's second bubble, only company and role: 「某某科技有限公司的设备部经理」
COMPANY_ROLE = re.compile(rf"[\u4e00-\u9fffA-Za-z（）()]{{2,30}}?{COMPANY_SUFFIX}的?(?P<t>{ROLE_SPAN})")
ROLE_AT = re.compile(
    rf"(?:我是|我叫|目前是|现在是|现任|(?:^|(?<=[，,]))是)[^，,。！!？?]{{2,30}}?的(?P<t>(?:{DEPT}|[A-Z]{{2,4}}|[\u4e00-\u9fff]{{2}})?"
    rf"{TITLE_CORE}){CLAUSE_END}"
)


SELF_INTRO = re.compile(r"我是|我叫|本人|我姓")
# 「我是A公司的张三，厂长」, 「负责信息化，总经理助理」: a clause that is only a title (做/任/担任 before it allowed)
CLAUSE_ROLE = re.compile(rf"(?:^|[，,、\s])(?:做|任|担任|当)?(?P<t>{ROLE_SPAN})(?=[，,。！!？?；;\s]|$)")
# 「在A公司做采购主管」
WORKS_AS = re.compile(rf"在[\u4e00-\u9fffA-Za-z（）()]{{2,30}}?(?:做|任|当|担任)(?P<t>{ROLE_SPAN})")
# 「我是A公司质量部部长李四」: department + rank right before the name, no 「的」
ROLE_BEFORE_NAME = re.compile(rf"(?:我是|本人)[^，,。！!？?]{{2,30}}?(?P<t>{ROLE_SPAN}){NAME}{STOP}")


ORG_OF_ROLE = re.compile(rf"(?P<co>{ORG}{{2,16}}?)的(?P<t>{ROLE_SPAN})")
# 「我是东盛机械厂EHS部经理」: the company, then the role, no 的 between
ORG_ROLE = re.compile(rf"(?:我是|本人)(?P<co>[\u4e00-\u9fffA-Za-z（）()]{{2,24}}?)(?P<t>{ROLE_SPAN})"
                      r"(?=[，,。！!？?；;\s]|$|负责)")
# 「我在采购部」, 「我是东盛机械厂安环部的」, 「我们保卫科这边」: the speaker's department, said without a rank
DEPT_SAID = re.compile(r"(?:我是|我在|我们|我这边是?|本人)[^，,。！!？?]{0,16}?"
                       r"(?P<d>(?:[\u4e00-\u9fff]{2}|[A-Z]{2,4})(?:部|科|处|办|室))(?:的|这边|那边|工作|上班)?"
                       r"(?=[，,。！!？?；;\s]|$|负责)")
# how the other side addresses someone by surname and rank: 「冉科长」, 「牛经理」
RANK_ADDRESS = re.compile(r"(?:(?<![\u4e00-\u9fff])|(?<=[的好谢嗯哦啊呀哈和跟]))(?P<s>[\u4e00-\u9fff])"
                          r"(?P<r>科长|处长|部长|主任|经理|主管|总监|厂长|院长|校长|所长|站长|队长)")


def department_in(text: str) -> str | None:
    """The department a speaker says they are in, when they give no rank with it."""
    m = DEPT_SAID.search(text)
    d = m.group("d") if m else None
    return d if d and is_title(d) and not re.search(r"我|你|他|她|们|这|那", d) else None


def rank_for(surname: str | None, said: list[str]) -> str | None:
    """The rank the other side gives the customer (「冉科长您好」): by the customer's surname when it is known,
    else the one surname so addressed."""
    found = {(m.group("s"), m.group("r")) for text in said for m in RANK_ADDRESS.finditer(text)
             if m.group("s") in SURNAMES}
    if surname:
        ranks = {r for s, r in found if s == surname}
    else:
        ranks = {r for _s, r in found} if len({s for s, _r in found}) == 1 else set()
    return ranks.pop() if len(ranks) == 1 else None


def role_in(text: str) -> str | None:
    """A job title the speaker gives for themself: 「我是设备科主任」, 「目前是行政总监」, 「我是A公司的CTO…」,
    「我是A公司的张三，厂长」, 「在A公司做采购主管」, 「我是A公司质量部部长李四」."""
    m = SAYS_ROLE.search(text) or ROLE_AT.search(text) or COMPANY_ROLE.fullmatch(text.strip(" 。！!")) \
        or IS_ROLE.search(text)
    if m:
        return m.group("t").replace("的", "")
    org = ORG_ROLE.search(text)
    if org and looks_like_company(org.group("co")):
        return org.group("t")
    for sentence in re.split(r"[。！!？?\n]", text):
        if not SELF_INTRO.search(sentence):
            continue
        before = ROLE_BEFORE_NAME.search(sentence)
        before = before if before and _name_at(sentence, before) else None  # 「我是替我们总监问的」: no name
        found = before or WORKS_AS.search(sentence) or CLAUSE_ROLE.search(sentence)
        if found:
            return found.group("t")
    for clause in re.split(r"[，,。！!？?；;\s]", text):  # 「锦绣酒店客房部经理」: a clause that is company and title
        owned = ORG_OF_ROLE.fullmatch(clause)  # 「永盛食品厂的设备主管」
        if owned and looks_like_company(owned.group("co")):
            return owned.group("t")
        head, dept = split_department(clause)
        if dept and re.search(rf"{TITLE_CORE}$", dept) and branded(head):
            return dept
    job = SAYS_JOB.search(text)
    return lead_of(text) or (job.group("t") if job else None)


def lead_of(text: str) -> str | None:
    """A title said as what the speaker leads: 「我负责车队这块」 → 车队负责人, 「这个项目我牵头」 → 项目负责人."""
    m = LEADS.search(text) or MANAGES.search(text)
    if m:
        return m.group("d") + "负责人"
    return "项目负责人" if HEADS_PROJECT.search(text) else None


def company_in(text: str) -> str | None:
    """A company named in a sentence: one the speaker says they are from, else a full registered name — as
    complete as the sentence gives it (「鸿雁酒店管理有限公司」, not 「鸿雁酒店」)."""
    m = IN_COMPANY.search(text)
    if m:
        co = clean_company(m.group("co"))
        where = m.group(0).lstrip("，, ").startswith("在") and not re.match(r"工作|上班|做", text[m.end("co") :])
        if co and (looks_like_company(co) or not where):  # 「，在老城区」: where, not who
            return _registered(text, co, m.end("co"))
    said = org_said(text) or org_named(text)
    if said:
        return said
    for full in COMPANY_RE.finditer(text):
        co = clean_company(full.group(0))
        if co and len(co) >= 4 and not is_department_name(co):
            return _registered(text, co, full.end())
    return None

# how a speaker names their organisation without 「我们公司是」: 「我是X的，…」, 「我是X的设备经理」, 「我在X负责…」,
# 「我们X这边…」, 「X这边，…」 / 「X的，…」 answering 「您是哪家的」, 「我是X站长」
ORG_SAID = (
    re.compile(rf"(?:我是|目前是|现在是|我现在是|(?:^|(?<=[，,]))是)(?P<co>{ORG}{{2,16}}?)的"
               rf"(?=[，,。！!？?\s]|$|{ROLE_SPAN}|[\u4e00-\u9fff]{{1,4}}(?:部|科|处|室|队)|{JOB}{CLAUSE_END}"
               rf"|小[\u4e00-\u9fff]{CLAUSE_END})"),
    re.compile(rf"(?:我|[，,])(?:现在|目前)?在(?P<co>{ORG}{{2,16}}?)(?:负责|做|当|管|工作|上班|任职|干)"),
    re.compile(rf"我们(?:这边是)?(?P<co>{ORG}{{2,12}}?)(?:这边|那边|想|要|需要|打算|准备|计划|最近|今年|也|正在)"),
    re.compile(rf"(?:^|[，,。！!])(?P<co>{ORG}{{2,12}}?)(?:(?:这边|的)(?:[，,。]|$)|这边(?:是|要|想|需要|打算|准备|在))"),
    re.compile(rf"(?:公司|单位|工厂|厂子?|店)[^，,。！!？?]{{0,8}}?[，,]?(?:名字|名称)?(?:叫|是|名叫)(?P<co>{ORG}{{2,16}}?)"
               rf"(?=[，,。！!？?\s]|$)"),
    re.compile(rf"(?:我是|本人)(?P<co>{ORG}{{2,16}}?)(?={ROLE_SPAN}{CLAUSE_END})"),
)


# 「我们饭店叫百味轩」, 「公司是做团餐的，叫禾润团餐」: the organisation's own name, said as such
ORG_NAMED = re.compile(rf"(?:公司|单位|工厂|厂子?|店|酒楼|餐厅|饭店|门店)(?:名字|名称|的名字)?"
                       rf"(?:[^。！!？?]{{0,12}}?[，,])?(?:叫|名叫|叫做)(?P<co>{ORG}{{2,12}}?)(?=[，,。！!？?\s]|$)")


def org_named(text: str) -> str | None:
    m = ORG_NAMED.search(text)
    co = m.group("co") if m else None
    if not co or clean_company(co, slot=True) != co or GENERIC_HEAD.search(co) or is_department_name(co):
        return None
    return co


def org_said(text: str) -> str | None:
    """The organisation a speaker says they are from, when it reads as a name and a trade (恒运物流, 天衡集团):
    a clause before 的 or 这边 that is no organisation (「做餐饮的」, 「后勤服务这边」) is not taken."""
    for rx in ORG_SAID:
        for m in rx.finditer(text):
            co, _dept = split_department(m.group("co"))  # 「我是北港码头设备部的」
            if branded(co):
                return co
    return None


def branded(co: str) -> bool:
    """A company's own name plus its trade: what is left before the trade words is a name, not a department, a
    pronoun or a piece of a clause."""
    if not re.fullmatch(rf"{ORG}{{2,30}}", co) or not looks_like_company(co) or clean_company(co) != co \
            or is_department_name(co):
        return False
    core = co
    while (m := re.search(rf"(?:{INDUSTRY_TAIL.pattern.removesuffix('$')}|{COMPANY_SUFFIX})$", core)) \
            and m.start() > 0:
        core = core[: m.start()]
    return len(core) >= 2 and not is_department_name(core) and not INDUSTRY_TAIL.fullmatch(core) \
        and not GENERIC_HEAD.search(core)


# what stands before a trade word without naming anyone (「本地物流」, 「一家科技公司」, 「小区物业」, 「做物流」)
GENERIC_HEAD = re.compile(r"我|你|他|她|这|那|哪|什么|做|搞|^(?:管|本地|当地|外地|本市|国内|国外|海外|大型|中型|小型|"
                          r"一家|某|小区|单位|总部|分|子|新(?:厂|店|公司)|老(?:厂|店|公司)|多家|其他|别的|附近|隔壁|专业|正规)")


def is_department_name(text: str) -> bool:
    """「信息中心」, 「设备科」: a department by a function's name, never a company of its own."""
    return re.fullmatch(rf"{DEPT_NAMED}(?:部|科|处|室|组|中心|队|车间|办)?|{LAB_UNIT}", text) is not None


# a unit named by its work alone (「实验中心」, 「检测室」, 「化验科」): whose it is stays unsaid
LAB_UNIT = (r"(?:实验|检测|检验|测试|分析|计算|化验|测量|培训|会议|维修|监控|调度|指挥|控制|档案|研究|设计|检查)"
            r"(?:中心|室|部|科|组|站)")


def _registered(text: str, co: str, end: int) -> str:
    """The company with the registered tail the sentence goes on with (「鸿雁酒店」 + 「管理有限公司」)."""
    more = re.match(r"[\u4e00-\u9fff（）()]{0,10}?(?:股份有限公司|有限责任公司|有限公司|集团)", text[end:])
    return co + more.group(0) if more else co


def repair_surname(guess: str | None, said: list[str], names: NameLists) -> str | None:
    """A title-bar name whose surname OCR misread (「到佳琪」), mended from how the rep addresses the customer
    (「谭老师」): only when the guess is not a name and exactly one surname is used."""
    if not guess or not re.fullmatch(r"[\u4e00-\u9fff]{3}", guess) or is_person_name(guess):
        return None
    address = re.compile(r"(?<![\u4e00-\u9fff])([\u4e00-\u9fff])(?:总|经理|老师|工|主任|姐|哥|先生|女士)")
    surnames = {m.group(1) for text in said for m in address.finditer(text) if m.group(1) in SURNAMES}
    if len(surnames) != 1:
        return None
    name = surnames.pop() + guess[1:]
    return name if names.is_remark_name(name) else None


GROUP_WORDS = r"(?:项目|采购|对接|交流|沟通|服务|售后|合作|工作|需求|技术|方案|选型|实施|推进|专项|客户|洽谈)"


def group_company(title: str | None, catalog: Catalog | None = None) -> str | None:
    """「禾丰包装-项目对接群(7)」 → 禾丰包装: a customer project group named after the customer. A title is the
    company, then what the project is about (a product, 「采购」, 「项目」), then 群 and the member count: the company
    stops where a product of `catalog` starts, else at its longest prefix that reads as a company."""
    if not title:
        return None
    name = re.sub(r"\s*[（(]\s*\d{1,4}\s*[)）]\s*$", "", strip_title_noise(title))
    name = re.sub(rf"[\-—_·\s]*{GROUP_WORDS}*群$", "", name)
    name = re.split(r"[\-—_·\s&＆×x]", name)[0]
    if catalog is not None:
        cut = min((i for i, _ in catalog.find_at(name) if i >= 2), default=None)
        name = name[:cut] if cut is not None else name
    name = re.sub(rf"{GROUP_WORDS}+$", "", name)
    for size in range(len(name), 1, -1):
        head = name[:size]
        if looks_like_company(head) and clean_company(head):
            return head
    return None


def is_referral(text: str) -> bool:
    return bool(REFERRAL.search(text))


# Who the contact says is responsible for the purchase: 「我们采购部<姓名>负责这块」, 「设备科在管，<姓>工负责」,
# 「具体对接人是我们仓储部经理<姓名>」 — that person is the one to follow up with.
RESPONSIBLE = re.compile(r"(?:全权|主要|具体)?(?:负责|在管|管着|对接)(?:这块|这一块|这个|这事|此事|项目|采购|这次)?")
NAMED_AS = re.compile(r"(?:对接人|负责人|联系人|负责的人)(?:是|为|[:：])\s*(?:我们|我司|咱们)?的?")
# a part of the purchase someone else looks after (「安装的事找我同事…」): the contact stays the lead
ASPECT = re.compile(r"技术|安装|售后|参数|发票|财务|付款|合同|送货|收货|物流|维修|调试|验收")
PERSON_BY_RANK = re.compile(r"[\u4e00-\u9fff](?:工|经理|总|主任|科长|处长|部长|主管|老师)")
ROLE_BEFORE = re.compile(rf"(?:{ROLE_SPAN}|{DEPT_NAMED}(?:部|科|处|室|组|中心)"
                         r"|[\u4e00-\u9fff]{2}(?:部|科|处|室))的?$")
DEPT_IN_CHARGE = re.compile(r"(?P<d>[\u4e00-\u9fff]{2}(?:部|科|处|室))(?:在管|负责|管)")


def handed_to(text: str) -> Person:
    """The colleague the contact hands the purchase to (name as said, and their department or title), or an empty
    Person. A colleague named for one part of it (安装, 技术, 发票) is not the purchase's contact."""
    for m in NAMED_AS.finditer(text):
        after = text[m.end() :]
        role = re.match(rf"{ROLE_SPAN}|{DEPT_NAMED}(?:部|科|处|室)", after)
        rest = after[role.end() :] if role else after
        who = _leading_person(rest)
        if who and not ASPECT.search(_clause_before(text, m.start())):
            return Person(who, None, role.group(0) if role else None)
    for m in RESPONSIBLE.finditer(text):
        before = re.sub(r"(?:在|来|也)$", "", text[: m.start()])
        who = _trailing_person(before)
        if not who or ASPECT.search(_clause_before(text, m.start())):
            continue
        role = ROLE_BEFORE.search(re.sub(r"^(?:我们|我司|咱们)", "", _clause_before(before, len(before) - len(who))))
        dept = DEPT_IN_CHARGE.search(text)
        return Person(who, None, role.group(0).removesuffix("的") if role else dept.group("d") if dept else None)
    return Person()


def _clause_before(text: str, end: int) -> str:
    return re.split(r"[，,。！!？?；;]", text[:end])[-1]


def _trailing_person(text: str) -> str | None:
    for size in (3, 2):
        if len(text) >= size and is_person_name(text[-size:]):
            return text[-size:]
    rank = PERSON_BY_RANK.search(text[-3:]) if text else None
    if rank and rank.end() == len(text[-3:]) and rank.group(0)[0] in SURNAMES:
        return rank.group(0)
    return None


def _leading_person(text: str) -> str | None:
    for size in (3, 2):
        cand = text[:size]
        if len(cand) == size and is_person_name(cand) and re.match(STOP, text[size:]):
            return cand
    rank = PERSON_BY_RANK.match(text)
    return rank.group(0) if rank and rank.group(0)[0] in SURNAMES else None
