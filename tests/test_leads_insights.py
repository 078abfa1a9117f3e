"""Visit-summary mining matches whole words (jieba tokens) and skips what the rep negated."""

from __future__ import annotations

import pytest

from bot.engines import Engines
from handlers.leads.insights import InsightMiner, build_miner


@pytest.fixture(scope="module")
def miner() -> InsightMiner:
    return build_miner("", Engines())


@pytest.mark.parametrize("text", ["客户对价格没有异议，已经不用钉钉了", "客户在研究人工智能", "没有竞品", "价格没问题",
                                  "演示完了，客户反馈不错"])
async def test_negated_or_partial_words_are_not_insights(miner: InsightMiner, text: str) -> None:
    found = await miner.mine_async(text)
    assert found.empty, found.describe()


async def test_real_mentions_are_found_in_text_order(miner: InsightMiner) -> None:
    found = await miner.mine_async("设备科说太贵了，在和销售易比较，院长拍板")
    assert (found.pain_points, found.competitors, found.roles) == (("价格",), ("销售易",), ("采购", "决策层"))
    found = await miner.mine_async("没有用过钉钉，在考虑飞书；价格不是问题，担心售后跟不上")
    assert (found.pain_points, found.competitors) == (("服务",), ("飞书",))
    found = await miner.mine_async("不接受这个价格，友商便宜")
    assert (found.pain_points, found.competitors) == (("价格",), ("竞品(未具名)",))


@pytest.mark.parametrize(("text", "rival"), [("客户在对比岳麓软件的方案", "岳麓软件"), ("芙蓉云也在报价", "芙蓉云"),
                                             ("客户拿我们和Qixin比", "Qixin"), ("客户说长亭报价更低", "长亭")])
async def test_a_rival_the_list_does_not_know_is_named_by_how_reps_speak_of_rivals(
        miner: InsightMiner, text: str, rival: str) -> None:
    assert rival in (await miner.mine_async(text)).competitors


@pytest.mark.parametrize("text", ["和他们SAP对接不上", "在钉钉上和客户聊了", "我们和客户聊了很久", "跟他约了下周三",
                                  "跟老板汇报了"])
async def test_the_customers_own_systems_and_people_are_no_rivals(miner: InsightMiner, text: str) -> None:
    found = (await miner.mine_async(text)).competitors
    assert not [c for c in found if c != "竞品(未具名)"], found


@pytest.mark.parametrize("text", ["签了合同", "客户今天签了合同，下周安排上线", "合同已签，等回款", "已经付款了",
                                  "刚签完合同", "发了合同给客户", "回款到账了", "合同盖章了", "客户回款了",
                                  "报价发过了", "尾款昨天打过来了"])
async def test_deal_progress_is_no_pain_point(miner: InsightMiner, text: str) -> None:
    """A step of the deal told as done or under way is progress, not the customer's concern."""
    assert (await miner.mine_async(text)).pain_points == ()


@pytest.mark.parametrize(("text", "pain"), [
    ("客户说合同要法务审", "合同"), ("客户问能不能分期付款", "付款方式"), ("报价太高了", "价格"),
    ("价格贵了点", "价格"), ("付款方式还在谈", "付款方式"), ("客户要求改合同", "合同"),
    ("上个月流失了三个大客户", "客户流失"),  # a bad event stays a pain, however it is told
])
async def test_a_concern_about_a_deal_step_is_still_a_pain_point(miner: InsightMiner, text: str, pain: str) -> None:
    assert pain in (await miner.mine_async(text)).pain_points


@pytest.mark.parametrize(("text", "rival"), [
    ("客户关心交付周期，竞品是青岚科技", "青岚科技"), ("竞品有雁栖、北斗星", "雁栖"), ("竞品有雁栖、北斗星", "北斗星"),
    ("对手是Brightex", "Brightex"), ("老板提到青岚也在报价", "青岚"), ("王总听说雁栖报价更低", "雁栖"),
    ("财务说北斗星更便宜", "北斗星"), ("孙总在看青岚的产品", "青岚"), ("采购在比雁栖的方案", "雁栖"),
    ("信息科在报价阶段就拿青岚压我们，青岚在报价", "青岚"),
])
async def test_a_named_rival_is_mined_by_its_name_without_the_verbs_around_it(
        miner: InsightMiner, text: str, rival: str) -> None:
    """「竞品是X」 names X (not an unnamed rival); 「提到X也在报价」 names X, not 「提到X」."""
    found = (await miner.mine_async(text)).competitors
    assert rival in found and "竞品(未具名)" not in found, found
    assert not [c for c in found if c.startswith(("提到", "听说", "说"))], found


@pytest.mark.parametrize(("text", "decider"), [("价格谈妥了，最后老板拍板", True), ("他不能拍板，要请示", False)])
async def test_a_decision_phrase_names_its_decider_unless_it_denies_one(
        miner: InsightMiner, text: str, decider: bool) -> None:
    """「老板拍板」 is a pending-decision phrase too; the 老板 in it still says who decides."""
    assert bool((await miner.mine_async(text)).roles) is decider, await miner.mine_async(text)
