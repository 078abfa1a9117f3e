"""A held-out set of hard negatives and the near-positives that look like them, written for issue 14 before the
negatives rules were changed: as transcripts (what a perfect reader would give the extractor) and drawn as
screenshots with tests/synth.py's renderer or plain PIL pages (read by tesseract).

The rep's company here sells EV chargers and energy storage (驰恩能源); every person, company and number is
invented. A negative is any image that must produce no lead — including a supplier selling to *us*, where the rep
is the buyer. A near-positive is a customer whose chat carries words of those kinds (a notice, a courier, a price
table, 招标) and still asks for our quote.

`CASES`: name → Case. `transcript(case)` gives the ChatText; `draw(case, seed)` the JPEG bytes.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from PIL import Image, ImageDraw

from ocr.engine import ChatText, TextRegion
from tests.synth import Chat, Item, _jpeg, font, render_chat

OWN = "驰恩能源"
CATALOG_TEXT = "充电桩\n交流充电桩\n直流快充桩\n储能柜\n光伏车棚\n配电柜\n"


@dataclass(frozen=True)
class Case:
    """A chat (title, messages as (side, text) or (side, text, sender) in a group) or a page of lines; `want`:
    "lead", or the kind of negative it is (any no-lead answer counts as right; the kind is scored apart)."""

    want: str
    title: str | None = None
    said: tuple[tuple[str, ...], ...] = ()
    page: tuple[str, ...] = ()  # a document, drawn as lines on white (no chat)
    app: str = "wechat"
    extra: dict[str, object] = field(default_factory=dict)

    @property
    def lead(self) -> bool:
        return self.want == "lead"


def _c(want: str, title: str | None, *said: tuple[str, ...], app: str = "wechat") -> Case:
    return Case(want, title, tuple(said), app=app)


def _page(want: str, *lines: str) -> Case:
    return Case(want, page=tuple(lines))


NEGATIVES: dict[str, Case] = {
    # a packaging supplier's rep pitching to our purchaser (we buy; he sells)
    "supplier-cartons": _c(
        "supplier", "鼎盛包装-周经理",
        ("left", "您好，我们是做瓦楞纸箱的源头厂家，主营五层彩箱和重型纸箱，出厂价直供"),
        ("left", "这是我们的报价：五层加强箱3.2元一个，一万个起订，量大从优，我电话13957310246"),
        ("right", "先放着吧，我们目前有合作的供应商"),
        ("left", "好的，有需要随时联系我，可以免费寄样品给您"),
    ),
    # a cable supplier; our purchaser asks him for a price sheet
    "supplier-cable": _c(
        "supplier", "鑫旺线缆 罗斌",
        ("left", "王总您好，我是鑫旺线缆的小罗，听说贵司在建充电站，我们的电缆价格很有优势"),
        ("right", "你们YJV电缆什么价？发个报价单看看"),
        ("left", "好的，报价单稍后发您邮箱，现货充足，当天发货，我手机13861204437"),
    ),
    # a software vendor offering us a trial
    "supplier-software": _c(
        "supplier", "数联科技-销售-何婷",
        ("left", "您好，我是数联科技的销售经理何婷，我们的ERP系统年底有优惠活动，可以免费试用一个月"),
        ("left", "方便的话给您约个时间做演示？我微信同号13671529903"),
        ("right", "暂时不需要，谢谢"),
    ),
    # a wholesaler advertising in a trade group
    "supplier-group-ad": _c(
        "supplier", "新能源配件交流群(212)",
        ("left", "今日到货：国标充电枪线缆、漏电保护器，厂家直销批发价，支持定制，需要的老板私聊",
         "宏利电气-批发"),
        ("left", "电话13517682290，全国包邮，量大价格另议", "宏利电气-批发"),
    ),
    # an industrial park's notice in a company group: a stop of power, a phone and a date
    "notice-power-cut": _c(
        "group_notice", "星河产业园企业服务群(156)",
        ("left", "@所有人 【停电通知】因线路检修，本周六8:00-18:00园区停电，请各企业提前做好准备",
         "园区物业-刘主管"),
        ("left", "如有疑问请联系物业服务中心：13758021163", "园区物业-刘主管"),
    ),
    # a 群公告 page: a property's notice of a water stop
    "notice-page-water": _page(
        "group_notice",
        "群公告",
        "各位业主：",
        "小区将于12月10日（周四）上午9点至11点对二次供水水箱进行清洗消毒，届时全区停水，请提前储水。",
        "给您带来不便，敬请谅解。",
        "物业服务中心 值班电话：13967028815",
        "2024年12月8日",
    ),
    # a sales meeting notice in our own work group
    "notice-meeting": _c(
        "meeting_notice", "销售部(23)",
        ("left", "@全体成员 明天上午9:30在三楼大会议室召开季度总结会，请各位准时参加，会议议程见附件",
         "林晓燕"),
        ("left", "请假的提前跟我说，联系人：林晓燕 13605817742", "林晓燕"),
        ("right", "收到"),
    ),
    # a recruiter
    "recruiter": _c(
        "recruitment", "锐才咨询-Cindy",
        ("left", "您好，我是锐才咨询的顾问，有个新能源企业的区域销售总监职位，年薪50-70万"),
        ("left", "您最近考虑看机会吗？方便加微信聊聊，我电话15821436607"),
        ("right", "暂时没有换工作的打算"),
    ),
    # a landlord
    "landlord": _c(
        "landlord", "房东陈姐",
        ("left", "小伙子，下个月房租记得15号前转我，水电费一共326元"),
        ("left", "热水器坏了的话找楼下维修的，我手机13706512284"),
        ("right", "好的陈姐，月中转您"),
    ),
    # a takeout rider
    "rider": _c(
        "courier", "美团骑手",
        ("left", "您好，您的外卖放在小区北门智能柜了，取餐码0418"),
        ("left", "有问题打我电话17130546692"),
        ("right", "好的谢谢"),
    ),
    # a freight driver bringing goods we bought
    "freight-driver": _c(
        "courier", "物流司机 李师傅",
        ("left", "老板，您那批货明天中午到，到之前提前半小时给您电话"),
        ("left", "卸货需要叉车吗？我电话13330918852"),
        ("right", "需要，到了打仓库电话"),
    ),
    # a bank's text
    "bank-sms": _c(
        "bank_sms", "95533",
        ("left", "【建设银行】您尾号5521的账户12月06日14:22收入人民币35,000.00元，活期余额128,411.20元。"),
    ),
    # an operator's text
    "operator-sms": _c(
        "bank_sms", "10086",
        ("left", "【中国移动】尊敬的客户，您本月套餐已使用流量18.6GB，月底前办理升级套餐可享8折优惠，"
                 "回复KT办理，详询10086。"),
    ),
    # an e-commerce order page
    "order-page": _page(
        "order_page",
        "订单详情",
        "卖家已发货",
        "收货人：张先生 13912675530",
        "收货地址：杭州市余杭区文一西路88号",
        "304不锈钢水槽 单槽 x1",
        "实付款 ¥1,299.00",
        "订单编号：317725601948276",
        "下单时间：2024-12-03 21:14",
    ),
    # a payment screen
    "payment": _page(
        "receipt",
        "支付成功",
        "¥ 386.00",
        "收款方 中石化加油站（城西店）",
        "支付时间 2024-12-05 18:42",
        "支付方式 招商银行储蓄卡(6638)",
        "交易单号 4200001934202412051187",
    ),
    # a spreadsheet of parts (our own purchase list)
    "spreadsheet": _page(
        "spreadsheet",
        "序号 名称 规格 数量 单价 金额",
        "1 空气开关 63A 20 45 900",
        "2 接线端子 16mm 200 1.2 240",
        "3 线槽 40x40 50 12 600",
        "4 膨胀螺栓 M8 500 0.6 300",
        "合计金额 2040",
    ),
    # a colleague on expenses
    "colleague-expense": _c(
        "colleague", "财务-何敏",
        ("left", "上个月的差旅发票都贴好了吗？周五前交到财务，不然这个月报不了"),
        ("left", "报销单要部门经理签字，有问题打我13811562290"),
        ("right", "好的，明天交"),
    ),
    # a friend
    "friend": _c(
        "personal", "大学室友阿杰",
        ("left", "周六同学聚会定在老地方，你带家属不？"),
        ("left", "我换了新号码15906713348，存一下哈"),
        ("right", "哈哈行，周六见"),
    ),
    # a tender notice from a trading centre
    "tender": _page(
        "tender_notice",
        "城南区公共资源交易中心",
        "竞争性磋商公告",
        "项目名称：区政府停车场充电设施采购项目",
        "项目编号：CNZC-2024-118",
        "预算金额：380万元",
        "递交响应文件截止时间：2024年12月20日9:30",
        "采购人联系人：蒋工 13757014426",
    ),
    # WeChat's 群公告 page: a nav bar titled 群公告, the poster's avatar, name and time, then the notice
    "notice-app-page": Case(
        "group_notice",
        page=("五一假期值班安排如下：",
              "5月1日-5月3日 仓库值班 邹海涛 13758462201",
              "5月4日-5月5日 仓库值班 傅春燕 13967503318",
              "假期内发货请提前一天联系值班人员，节后5月6日8:30正常上班。"),
        extra={"nav": "群公告", "poster": "仓储部 邹海涛", "when": "4月28日 17:06"},
    ),
    # the same kind of page for a training sign-up, with a place, times and a contact
    "notice-app-training": Case(
        "group_notice",
        page=("关于组织新员工消防安全培训的通知",
              "培训时间：12月12日（周四）14:00-16:30",
              "培训地点：综合楼二楼培训室",
              "请各部门新入职同事准时参加，不能参加的提前向行政部请假。",
              "联系人：行政部 阮思琪 13605716684"),
        extra={"nav": "群公告", "poster": "阮思琪", "when": "昨天 09:12"},
    ),
    # a group member's personal ad in a neighbours' group
    "notice-neighbours": _c(
        "group_notice", "锦绣花园业主群(486)",
        ("left", "温馨提示：明早7点到9点电梯年检，请各位邻居错峰出行", "物业客服小王"),
        ("left", "紧急维修请拨打13588031975", "物业客服小王"),
    ),
}

POSITIVES: dict[str, Case] = {
    # a customer project group: the customer asks for our quote
    "group-quote": _c(
        "lead", "滨江物业充电桩项目群(6)",
        ("right", "各位好，我是驰恩能源的小孙，充电桩项目由我跟进"),
        ("left", "大家好，我是滨江物业工程部经理邵建国，我们小区要装20个交流充电桩", "邵建国"),
        ("left", "能不能先给我们报个价？我电话13867120953", "邵建国"),
        ("right", "好的邵经理，今天出方案"),
    ),
    # a customer who posts a site-visit notice in the project group, then asks for the price
    "group-notice-like": _c(
        "lead", "青禾酒店储能项目群(8)",
        ("left", "@所有人 明天上午10点现场勘查配电房，请大家准时到", "钱立"),
        ("left", "我是青禾酒店工程部的钱立，储能柜的报价麻烦尽快发我，手机13916044720", "钱立"),
        ("right", "收到钱工，明天带方案过去"),
    ),
    # our colleague posts prices in the group; the customer answers with the need
    "group-colleague-prices": _c(
        "lead", "远航物流园光伏车棚沟通群(7)",
        ("left", "光伏车棚每平米报价680元，含安装，方案已发群文件", "驰恩能源-技术支持吴迪"),
        ("left", "我们园区大概要做三千平，预算两百万左右，我是行政部主任贺兰，电话13605719936", "贺兰"),
        ("right", "好的贺主任，周三过去量尺寸"),
    ),
    # a referral from a friend
    "referral": _c(
        "lead", "老同学王凯",
        ("left", "给你介绍个客户，我表哥在顺达物流园做行政经理，他们想装一批充电桩"),
        ("left", "他叫苗志远，电话13758206614，你直接联系他，说是我介绍的"),
        ("right", "太感谢了，回头请你吃饭"),
    ),
    # a customer about to tender who asks us to come first
    "customer-tender": _c(
        "lead", "城投-蒋工",
        ("left", "我们单位的停车场充电设施准备公开招标，预算三百万左右"),
        ("left", "招标前想先了解一下你们的直流快充桩方案，我是城投公司设备部的蒋立群，电话13957108821"),
        ("right", "好的蒋工，明天上午给您送资料"),
    ),
    # a customer who wants samples by courier
    "customer-courier": _c(
        "lead", "葛经理@恒泰冷链",
        ("left", "你们的充电枪能不能先寄个样品？顺丰到付就行"),
        ("left", "我们冷链车队要换电车，想采购30个交流充电桩，我手机13305718890"),
        ("right", "好的葛经理，今天寄出"),
    ),
    # a customer at a bank
    "customer-bank": _c(
        "lead", "农商银行后勤处-许峰",
        ("left", "我是农商银行后勤处的许峰，我们网点停车场要装充电桩，想了解一下价格"),
        ("left", "电话13605827715，方便的话下周来看看现场"),
        ("right", "好的许处，下周二上午过去"),
    ),
    # a customer who asks for our price list
    "customer-pricelist": _c(
        "lead", "云栖酒店 杜经理",
        ("left", "你们充电桩有价目表吗？发我一份，我们酒店地库要装8个"),
        ("left", "我是云栖酒店工程部的杜明辉，电话13758630921"),
        ("right", "好的杜经理，马上发您"),
    ),
    # a customer who says what their own company makes, then buys from us
    "customer-describes-own-business": _c(
        "lead", "蓝鲸冷链-采购-甘雨",
        ("left", "我们是做冷链物流的，主营生鲜配送，车队今年要全部换成电动车"),
        ("left", "想在仓库装一批直流快充桩，你们报个价，预算八十万左右，电话13858021174"),
        ("right", "好的，今天下午发报价"),
    ),
    # a manufacturer customer speaking of their own products
    "customer-own-products": _c(
        "lead", "华锐五金 龚总",
        ("left", "我们家的产品主要出口东南亚，工厂屋顶想做光伏车棚，顺便配几台储能柜"),
        ("left", "预算一百五十万，我是华锐五金的总经理龚振华，手机13967152208"),
        ("right", "好的龚总，周四带工程师过去"),
    ),
    # our rep pitches with prices; the customer asks for a discount and gives details
    "rep-pitches": _c(
        "lead", "景湖物业 采购部",
        ("right", "我们7kW交流桩出厂价2980元一台，量大从优，含安装"),
        ("left", "那我们要30台，能再便宜点吗？我是景湖物业采购部的严冬梅，电话13706819945"),
        ("right", "严经理，30台可以给到2800"),
    ),
    # a customer who read our group notice
    "customer-read-notice": _c(
        "lead", "方舟科技-行政-柯岚",
        ("left", "群公告里你们发的储能柜方案我们看了，想再了解下价格"),
        ("left", "我是方舟科技行政总监柯岚，公司园区要配两台，电话13511076638"),
        ("right", "好的柯总，明天发详细报价"),
    ),
    # a customer who invites us to their meeting
    "customer-meeting": _c(
        "lead", "市二医院总务科",
        ("left", "我们下周二开会定停车场改造方案，你们能来参会讲一下充电桩吗？"),
        ("left", "我是市二医院总务科科长薛立诚，电话13857609912，会议地点在行政楼三楼"),
        ("right", "好的薛科长，一定准时到"),
    ),
    # a customer about a previous order and a new purchase
    "customer-reorder": _c(
        "lead", "瑞丰仓储 范经理",
        ("left", "上次订单的20台充电桩已经签收了，用着不错"),
        ("left", "我们二期还要30台直流快充桩，报个价吧，我电话13905748831"),
        ("right", "好的范经理，下午发您"),
    ),
    # a customer who is an HR company buying chargers (recruitment words)
    "customer-hr-firm": _c(
        "lead", "才通人力 甄总",
        ("left", "我们是做人力资源外包的，招聘和面试都在新办公楼，停车场要装15个充电桩"),
        ("left", "我是才通人力的总经理甄海，预算四十万，电话13867014459"),
        ("right", "好的甄总，明天上午给您打电话"),
    ),
}

# A second batch, written after the rules were changed and never tuned on: the honest figure for new wording.
NEGATIVES_B: dict[str, Case] = {
    "b-supplier-brackets": _c(
        "supplier", "华钢支架 邓工",
        ("left", "张经理好，我司专业生产光伏支架十五年，给很多EPC都供过货"),
        ("left", "镀锌支架每吨报价5800，可以先发一批试试，电话13906581127"),
        ("right", "嗯，我跟领导汇报一下"),
    ),
    "b-supplier-stationery": _c(
        "supplier", "文具店老板娘",
        ("left", "您好，公司办公用品需要的话可以找我，打印纸、硒鼓、文件柜都有，送货上门，月结也可以"),
        ("left", "我电话13857704412，微信同号"),
        ("right", "好的，有需要找你"),
    ),
    "b-supplier-freight": _c(
        "supplier", "成都专线-小马",
        ("left", "老板您好，我们是杭州到成都的专线物流，每天发车，价格实惠，时效稳定"),
        ("left", "有货要发随时联系，电话13588120936"),
        ("right", "好的，存一下"),
    ),
    "b-supplier-iso": _c(
        "supplier", "卓信认证 顾问",
        ("left", "您好，我是卓信认证咨询的，贵司有没有做ISO体系认证的需求？我们一站式服务，费用优惠"),
        ("left", "下证快，不成功全额退款，电话13757761290"),
        ("right", "暂时不需要"),
    ),
    "b-notice-crm": _c(
        "group_notice", "华东区销售群(45)",
        ("left", "@所有人 通知：本月业绩统计截止到30号晚上8点，请各位在CRM里更新商机，有问题找运营小唐13605810772",
         "运营-唐菲"),
        ("right", "收到"),
    ),
    "b-notice-groupbuy": Case(
        "group_notice",
        page=("本周水果团购接龙开始啦！",
              "周五下午5点前截单，周六上午10点在小区南门取货。",
              "团长：芳芳 13967712045"),
        extra={"nav": "群公告", "poster": "芳芳", "when": "12月5日 20:31"},
    ),
    "b-courier-cod": _c(
        "courier", "中通快递 陈师傅",
        ("left", "您好，您有一个到付件，运费23元，现在在家吗"),
        ("left", "不在的话我放驿站，电话13185570641"),
        ("right", "放驿站吧"),
    ),
    "b-bank": _c(
        "bank_sms", "95555",
        ("left", "【招商银行】您账户8841于12月07日10:05收到转账人民币12,000.00元，付款方杭州某某商贸，余额58,310.45元"),
    ),
    "b-recruiter": _c(
        "recruitment", "BOSS直聘 王女士",
        ("left", "您好，看到您的简历很适合我们储能销售岗，底薪20k加提成"),
        ("left", "周三下午可以来公司聊聊吗？电话13611572208"),
        ("right", "可以，周三下午两点"),
    ),
    "b-family": _c(
        "personal", "表姐",
        ("left", "明天妈生日，晚上6点在老地方吃饭，记得带蛋糕"),
        ("left", "我手机换了，新号13758801236"),
        ("right", "好，我下班直接过去"),
    ),
    "b-colleague-trip": _c(
        "colleague", "技术部-钱森",
        ("left", "明天去现场调试的工具我都备好了，早上7点公司门口集合"),
        ("left", "出差申请记得走一下，我手机13516620943"),
        ("right", "好的，已经提交了"),
    ),
    "b-order-b2b": _page(
        "order_page",
        "订单详情",
        "等待卖家发货",
        "光伏连接器MC4 公母一对 x200",
        "货款 ¥1,560.00 运费 ¥0.00",
        "卖家：乐清市某某电器店 联系卖家 13736021185",
        "订单编号：2024120612345678",
    ),
}

POSITIVES_B: dict[str, Case] = {
    "b-dealer-wants-agency": _c(
        "lead", "光明电力设备 贾总",
        ("left", "我们是做电力设备批发的，想代理你们的充电桩，拿货价多少？"),
        ("left", "我是光明电力设备的总经理贾晓峰，电话13905716638"),
        ("right", "贾总好，明天把代理政策发您"),
    ),
    "b-group-order": _c(
        "lead", "远景物业充电桩项目群(5)",
        ("right", "各位好，我是驰恩能源的小蔡"),
        ("left", "我是远景物业采购部的梅丽，交流充电桩先订10台，电话13857723360", "梅丽"),
        ("right", "好的梅经理，合同今天发您"),
    ),
    "b-referral-card": _c(
        "lead", "老客户刘总",
        ("left", "推荐一下：宏图物流园的基建负责人卢伟，他们在找充电桩厂家"),
        ("left", "卢伟电话13758114402，就说是老朋友介绍来的"),
        ("right", "谢谢刘总"),
    ),
    "b-committee": _c(
        "lead", "阳光小区业委会(9)",
        ("left", "我们小区想装一批公共充电桩，你们能出个方案吗？", "业委会-韩主任"),
        ("left", "我是业委会主任韩志刚，电话13606712257", "业委会-韩主任"),
        ("right", "好的韩主任，周末去小区看看"),
    ),
    "b-power-cuts": _c(
        "lead", "鸿运纺织 沈厂长",
        ("left", "我们厂夏天经常停电，想配几台储能柜，预算五十万"),
        ("left", "我是鸿运纺织的厂长沈国平，电话13967120084"),
        ("right", "好的沈厂长，明天带方案过去"),
    ),
    "b-landlord-customer": _c(
        "lead", "公寓 欧阳老板",
        ("left", "我是做公寓出租的房东，楼下车库想装8个充电桩给租客用，怎么收费？"),
        ("left", "电话13805719963"),
        ("right", "好的，下午给您报价"),
    ),
}


# A third batch, written after batch B was tuned on and measured once as it stood: new wording again.
NEGATIVES_C: dict[str, Case] = {
    "c-supplier-print": _c(
        "supplier", "印务 温师傅",
        ("left", "贾总，宣传册、易拉宝、展架我们都能做，价格比市面低两成"),
        ("left", "明天可以送样过来给您看看，电话13758330917"),
        ("right", "先发点样品照片过来"),
    ),
    "c-supplier-laptops": _c(
        "supplier", "联想代理-小石",
        ("left", "您好，年底电脑清库存，i5办公本3899一台，十台以上再让利"),
        ("left", "需要的话随时找我，13819024465"),
    ),
    "c-supplier-consultant-group": _c(
        "supplier", "创业者交流群(300)",
        ("left", "本人专注高新企业认定、专利申报，成功率高，有意向的老板加我微信，电话13706582231", "知识产权-卜先生"),
    ),
    "c-notice-stocktake": Case(
        "group_notice",
        page=("关于年终盘点的安排：",
              "12月28日全天盘点，当天暂停收发货，请各位客户提前安排备货。",
              "咨询电话：13967041152"),
        extra={"nav": "群公告", "poster": "仓库主管 程亮", "when": "12月6日 16:20"},
    ),
    "c-notice-chamber": _c(
        "group_notice", "市新能源商会会员群(132)",
        ("left", "【重要通知】年会定于1月12日下午2点在国际酒店举办，请各位会员于1月5日前报名，"
                 "联系人：秘书处 方婷 13805772296", "商会秘书处"),
    ),
    "c-courier-bulky": _c(
        "courier", "京东快递 小刘",
        ("left", "你好，你的大件今天下午送，家里有人吗？"),
        ("left", "需要搬上楼的话另外加20块，我电话13185247730"),
        ("right", "有人，搬上来吧"),
    ),
    "c-operator": _c(
        "bank_sms", "10010",
        ("left", "【中国联通】尊敬的用户，您的宽带将于2024年12月31日到期，续费请登录手机营业厅或回复XF办理。"),
    ),
    "c-friend-gym": _c(
        "personal", "健身搭子",
        ("left", "今晚七点练腿，别鸽我啊"),
        ("left", "我换手机号了，13636170528"),
        ("right", "放心，准时到"),
    ),
    "c-colleague-checkup": _c(
        "colleague", "行政-包晓",
        ("left", "下周一全员体检，早上空腹，8点在公司楼下坐大巴"),
        ("left", "有事打我13706812243"),
        ("right", "收到"),
    ),
    "c-award-notice": _page(
        "tender_notice",
        "中标结果公示",
        "项目名称：开发区公交场站充电设施建设项目",
        "中标供应商：某某电力工程有限公司",
        "中标金额：296.8万元",
        "公示期：2024年12月9日至12月11日",
        "联系人：项目部 尤工 13857180042",
    ),
}

POSITIVES_C: dict[str, Case] = {
    "c-school-group": _c(
        "lead", "实验中学充电桩采购群(5)",
        ("left", "@所有人 明天下午3点开方案评审会", "林晨"),
        ("left", "驰恩这边麻烦把报价和施工方案先发群里，我是总务处的林晨，电话13905710836", "林晨"),
        ("right", "好的林老师，今晚发"),
    ),
    "c-expo": _c(
        "lead", "展会 窦经理",
        ("left", "在展会上拿了你们的资料，我们停车场想装20个直流快充桩，多少钱一台？"),
        ("left", "我是万豪物业的窦经理，电话13758092214"),
        ("right", "窦经理好，下午给您报价"),
    ),
    "c-wholesaler-buys": _c(
        "lead", "汽配批发 屈老板",
        ("left", "我们是做汽车配件批发的，现在仓库要装储能柜，你们有没有现货？"),
        ("left", "我电话13605736620，尽快给我回个电话"),
        ("right", "屈老板好，有现货，马上打给您"),
    ),
    "c-handover-boss": _c(
        "lead", "天和建设 小武",
        ("left", "充电桩这个事找我们领导，天和建设的副总经理程国栋"),
        ("left", "程总电话13957106643，你直接打给他"),
        ("right", "好的，谢谢"),
    ),
    "c-reorder": _c(
        "lead", "华晨物流 潘主管",
        ("left", "订单号我发你了，上次买的5台已经签收"),
        ("left", "再加10台交流充电桩，麻烦报个价，电话13758200913"),
        ("right", "好的潘主管"),
    ),
    "c-board-meeting": _c(
        "lead", "恒远化工储能项目群(9)",
        ("left", "@全体成员 周四上午10点驰恩来讲储能方案，请设备部、财务部参加", "卫东"),
        ("left", "我是设备部经理卫东，储能柜预算三百万，电话13906751128", "卫东"),
        ("right", "好的卫经理，周四准时到"),
    ),
}


CASES: dict[str, Case] = {**NEGATIVES, **POSITIVES}
CASES_B: dict[str, Case] = {**NEGATIVES_B, **POSITIVES_B}
CASES_C: dict[str, Case] = {**NEGATIVES_C, **POSITIVES_C}


def transcript(case: Case) -> ChatText:
    """What a perfect reader gives the extractor: a chat's title and bubbles (a group member's name as the
    bubble's first line), or a page's lines."""
    if case.page and "nav" in case.extra:  # the poster's avatar reads as a bubble's: a chat titled 群公告
        body = "\n".join((str(case.extra["poster"]), str(case.extra["when"]), *case.page))
        return ChatText((TextRegion("title", str(case.extra["nav"])), TextRegion("left", body)), True)
    if case.page:
        return ChatText(tuple(TextRegion("left", line) for line in case.page), False)
    regions = [TextRegion("title", case.title or "")]
    for side, text, *sender in case.said:
        regions.append(TextRegion(side, f"{sender[0]}\n{text}" if sender else text))
    return ChatText(tuple(regions), True)


def draw(case: Case, seed: int) -> bytes:
    """The case as a JPEG screenshot: a phone chat (light or dark, WeChat or WeCom) or a page of lines."""
    rng = random.Random(seed)
    size = rng.choice([(1080, 2340), (828, 1792), (1170, 2532)])
    if case.page and "nav" in case.extra:
        return _jpeg(_draw_notice_app(case, size), rng.randint(70, 90))
    if case.page:
        return _jpeg(_draw_page(case.page, size), rng.randint(70, 90))
    items = [Item(side, text, sender=sender[0] if sender else None) for side, text, *sender in case.said]
    chat = Chat(case.app, case.title or "", None, items)
    img, visible = render_chat(chat, rng, size, rng.random() < 0.25)
    assert len(visible) == len(items), case
    return _jpeg(img, rng.randint(70, 90))


def _draw_notice_app(case: Case, size: tuple[int, int]) -> Image.Image:
    """A messenger's 群公告 page: status bar, a nav bar with a back chevron and the title, the poster's square
    avatar with their name and the time beside it, a rule, then the notice's lines."""
    w, _h = size
    s = w / 375
    top = int(44 * s)
    img = _draw_page(case.page, size, top=int(200 * s))
    d = ImageDraw.Draw(img)
    d.rectangle((0, 0, w, top + int(44 * s)), fill=(237, 237, 237))
    d.text((int(20 * s), int(12 * s)), "10:41", font=font(int(14 * s)), fill=(20, 20, 20))
    ty = top + int(22 * s)
    d.line((int(26 * s), ty - 9 * s, int(18 * s), ty, int(26 * s), ty + 9 * s), fill=(20, 20, 20), width=int(2 * s))
    tf = font(int(17 * s))
    nav = str(case.extra["nav"])
    d.text(((w - tf.getlength(nav)) / 2, ty - tf.size * 0.6), nav, font=tf, fill=(20, 20, 20))
    ay = top + int(64 * s)
    d.rounded_rectangle((int(20 * s), ay, int(64 * s), ay + int(44 * s)), radius=int(4 * s), fill=(96, 148, 205))
    d.text((int(76 * s), ay + int(2 * s)), str(case.extra["poster"]), font=font(int(16 * s)), fill=(30, 30, 30))
    d.text((int(76 * s), ay + int(26 * s)), str(case.extra["when"]), font=font(int(12 * s)), fill=(150, 150, 150))
    d.line((int(20 * s), ay + int(62 * s), w - int(20 * s), ay + int(62 * s)), fill=(225, 225, 225), width=int(s))
    return img


def _draw_page(lines: tuple[str, ...], size: tuple[int, int], top: int | None = None) -> Image.Image:
    w, h = size
    s = w / 375
    img = Image.new("RGB", size, (255, 255, 255))
    d = ImageDraw.Draw(img)
    y = int(90 * s) if top is None else top
    for i, line in enumerate(lines):
        f = font(int((19 if i == 0 else 15) * s))
        words = list(line)
        row = ""
        for ch in words:  # wrap by width
            if f.getlength(row + ch) > w - 40 * s:
                d.text((int(20 * s), y), row, font=f, fill=(30, 30, 30))
                y += int(28 * s)
                row = ""
            row += ch
        d.text((int(20 * s), y), row, font=f, fill=(30, 30, 30))
        y += int(36 * s)
    assert y < h
    return img
