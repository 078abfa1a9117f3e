"""Who sells to whom: a supplier's rep pitching to us (the rep who sends the screenshot is then the buyer) is no
customer lead, however complete his name, company and number are.

The other side (left) sells when it offers goods and terms — a maker's or wholesaler's words (源头厂家, 出厂价,
批发价, 量大从优, 现货, 包邮, 起订), samples and trials (免费寄样, 免费试用, 优惠活动), its own quote sent to us
(这是我们的报价, 报价单稍后发您), an opening to a firm it found (听说贵司…, 看到贵司…) and the salesman's
goodbye (有需要随时联系) — and asks for nothing: no budget, no 报个价 / 多少钱 / 想采购 of its own. A customer
describing its own business (「我们是做冷链的，主营生鲜配送」) asks for our price too and stays a lead; our rep
pitching on the right side is the ordinary sale. Our side asking the other for a price (「发个报价单看看」) or the
contact saved under a seller's role (「…-销售-…」, 「…业务员」) adds to the evidence.
"""

from __future__ import annotations

import re

from ocr.engine import LEFT, RIGHT, TextRegion

# What a seller says. His goods and terms: a maker's or wholesaler's words, prices he calls good, stock, delivery,
# samples and trials, guarantees
_TERMS = (
    r"(?:源头|生产|专业)?厂家(?:直销|直供|直发)?(?!吗|[？?])|工厂直[销供]|直供|出厂价|批发价?|零售价|主营|量大(?:从优|价优|优惠)|"
    r"(?:价格|费用|收费)(?:另议|美丽|实惠|优惠|透明|合理|很?有优势|最低|便宜)|性价比(?:很|超|非常)?高|现货(?:充足)?|当天发货|"
    r"(?:全国)?包邮|一件代发|起订|起批|送货上门(?!吗|[？?])|上门(?:安装|服务)(?!吗|[？?])|月结|一站式|全额退款|包过|下证快|"
    r"时效(?:稳定|快)|每天发车|售后无忧|都有(?:货|现货)?(?=[，,。；]|$)|清库存|清仓|让利|成功率高|"
    r"(?:价格|费用|收费)比[^，。]{0,6}(?:低|便宜|优惠)|送样|打样|"
    r"免费(?:寄|送|提供)?样品?|寄样品?|样品(?:免费|给您|寄您)|免费试用|试用一个月|优惠活动|限时优惠|活动价|年底有?优惠|"
    r"支持定制|可定制|私聊|"
    # his price offered to us and his stock: 「给贵公司最优价」, 「价格可以谈」, 「都有库存」, 「给您锁价」
    r"给(?:贵司|贵公司|您|你们?)[^，。？！]{0,4}(?:最优|最低|最好|优惠|出厂|底|成本)价|(?:价格|价钱|费用)(?:可以|好)(?:谈|商量)|"
    r"(?:都有|有|大量|充足的?)库存|库存充足|锁价|(?:出厂|厂家|工厂)?直发|样品[^，。？！]{0,4}寄(?:您|你|给)|"
    r"(?:工程|行业|同行|大厂)[^，。？！]{0,4}用得(?:多|很多|最多)|很多[^，。？！]{0,6}在用|"
    # labour and services offered: 「都能干」, 「有活可以找我」, 「最近有空档」
    r"都能(?:干|做|接|装|供)(?![吗?？])|有(?:活|单子|工程|项目)(?:的话)?(?:可以|就|随时)?(?:找|叫|联系|介绍给)我|有空档|档期(?:充足|有空)"
)
# His own prices: 「这是我们的报价」, 「报价单稍后发您」, 「每吨报价5800」, 「3.2元一个」
_OWN_PRICE = (
    r"这是我们的?报价|报价单?(?:稍后|马上|已经?|待会|晚点)?发(?:您|你)|给(?:您|你)(?:报|发)(?:个|一下)?(?:价|报价)|"
    r"(?:每|一)(?:吨|台|个|套|米|平方?|件|箱|张)(?:报价|价格|单价|只要|才)\s*\d|"
    r"\d+(?:\.\d+)?\s*(?:元|块)?(?:钱)?\s*(?:一|每|/)\s*(?:吨|台|个|套|米|平方?|件|箱|张)"
)
# His approach: a firm he found, what it might need, his goodbye
_PROSPECTS = (
    r"(?:听说|看到|了解到|得知)贵司|(?:贵司|你们|您|公司)(?:这边|公司|单位)?(?:有没有|是否有|有无|需不需要|要不要)"
    r"[^，。？！]{0,14}(?:需求|需要)|需要的话(?:可以)?(?:随时)?(?:找|联系)我|有意向的(?:老板|朋友|客户)?(?:可以)?(?:加我|联系|私聊|找我)|有(?:货|需要|需求)?(?:要发)?(?:的话)?(?:可以)?随时(?:联系|找)|"
    r"需要的(?:老板|朋友|客户)|欢迎(?:来电|随时)?(?:咨询|订购|采购|选购|来厂)|给(?:您|你)(?:约个时间)?(?:做(?:个|一下)?)?(?:线上)?演示|"
    # 「有需要打我电话」, 「需要请回电」, 「发货可以找我们」, 「期待与贵司合作」
    r"有需要(?:的话)?(?:可以|请|就)?(?:随时)?(?:打我|打给我|联系我|找我|call我|回电|来电)|需要(?:请|可|就)(?:回电|来电)|"
    r"(?:可以|随时|都可以)找我们|(?:产品|价目|目录|画册|彩页|样本)(?:表|册|资料|介绍|目录)?(?:稍后|马上|先|已经)?(?:发|寄)(?:给)?(?:您|你)|"
    r"欢迎[^，。？！]{0,4}(?:考察|参观|验厂)|(?:贵司|贵公司|你们|您)[^，。？！]{0,10}有(?:需要|需求)吗|(?:期待|希望|寻求)(?:能)?(?:与|和|跟)?(?:贵司|贵公司|您|你们)?(?:的)?(?:长期)?合作|合作共赢|诚邀|"
    # a firm he looked up, or his service for firms like ours: 「看到贵司在招聘」, 「帮暖通企业做获客」, 「很多…候选人」
    r"贵(?:公)?司(?:在|有)?(?:招聘|招人)|(?:帮|为|给)(?:贵司|贵公司|您|你们|[\u4e00-\u9fff]{0,4}(?:企业|公司|同行|商家|老板))"
    r"[^，。？！]{0,6}(?:获客|引流|推广|带来|拓客|曝光)|候选人|人才库|猎头"
)
# What his firm does: 「我司专业生产…」, 「给很多…供过货」, 「我们的ERP系统…」
_SUPPLIES = (
    r"(?:我司|我们(?:公司|厂|家)?)(?:是)?(?:专业|专门|一直)(?:生产|供应|供货|提供|承接|代理|经销|批发|做)|我司(?:生产|供应|提供)|"
    r"(?:我司|我们(?:公司|厂|家)?)(?:是|这边)?(?:专做|主做|专营|一级代理|总代理|区域代理|专业代[\u4e00-\u9fff])|给[^，。？！]{0,10}(?:配套|供货|供过|代工)|"
    r"(?:我们|我司)[^，。]{0,3}都(?:能|可以)(?:做|供|提供|生产)|本人专注|专注于|供过货|我们(?:家|公司)?的[^，。？！]{0,6}(?:产品|系统|设备|价格)(?!.{0,4}(?:出口|卖到|销往|坏|旧|老化))"
)
OFFERS = re.compile("|".join((_TERMS, _OWN_PRICE, _PROSPECTS, _SUPPLIES)))
# What a buyer says: a budget, a request for a price, an intention or an order, haggling
ASKS = re.compile(
    r"预算|报个价|报一下价|报下价|(?:发|给)(?:我|我们)?(?:个|一份)?(?:报价|价目表|价格表|资料)|发我一份|多少钱|什么价|怎么卖|怎么收费|"
    r"便宜点|优惠点|能优惠|有优惠吗|打个折|太贵|贵了|拿货价|进货价|价目表|"
    r"(?:想|要|打算|准备|计划|需要)(?:采购|购买|买|了解|咨询|装|做|上|换|订|配|代理)|在找|在选|在看|想找|要找|"
    r"(?:招标|采购|选型|项目)[^，。]{0,4}(?:我|由我)来?负责|我来?负责[^，。]{0,4}(?:招标|采购|选型)|"
    r"(?:先|要|订|买|采购)(?:订|买|要)?\s*(?:\d+|[一二两三四五六七八九十几]+)\s*(?:台|个|套|件|张|吨|批)|下单|签合同|"
    r"(?:你们|贵司)(?:公司|家)?的?[^，。？！]{0,10}(?:价格|报价|多少钱|方案|产品)|能不能(?:先)?给(?:我们|我)|麻烦[^，。]{0,8}(?:报价|发我)"
)
SELLER_ROLE = re.compile(r"销售|业务员|业务经理|客户经理|招商|代理商|批发|厂家")
ACK = re.compile(r"^(?:好的?|收到|嗯+|谢谢|OK|ok|行|可以|知道了)[，,。!！~]*$")


def _flat(r: TextRegion) -> str:
    return r.text.replace("\n", "")


def offers(text: str) -> set[str]:
    """The distinct offering phrases in `text`."""
    return {m.group(0) for m in OFFERS.finditer(text)}


def asks(text: str) -> bool:
    """A buyer's words in `text`, once the offering phrases are taken out (「有需要随时联系」 asks for nothing)."""
    return bool(ASKS.search(OFFERS.sub("|", text)))


def selling_to_us(title: str | None, regions: tuple[TextRegion, ...]) -> bool:
    """The other side offers goods or services to us and asks to buy nothing (see the module docstring): two
    distinct offers, or one beside our side asking for their price or a seller's role in the title bar."""
    theirs = "|".join(_flat(r) for r in regions if r.kind == LEFT)
    if not theirs or asks(theirs):
        return False
    ours = [_flat(r) for r in regions if r.kind == RIGHT]
    if any(offers(t) for t in ours):
        return False  # our rep pitches: the ordinary sale
    evidence = len(offers(theirs))
    evidence += any(asks(t) for t in ours) + bool(title and SELLER_ROLE.search(title))
    return evidence >= 2


def someone_buys(regions: tuple[TextRegion, ...]) -> bool:
    """The chat is a sale to the other side: they ask to buy (a budget, a price, an order) or our rep offers."""
    theirs = "|".join(_flat(r) for r in regions if r.kind == LEFT)
    return asks(theirs) or any(offers(_flat(r)) for r in regions if r.kind == RIGHT)
