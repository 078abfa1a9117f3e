"""What a piece of evidence is: contract page, payment record, receipt, chat screenshot, demo material or other.

Images are read by the OCR pipeline (`ocr.pipeline.read_screenshot`: it also tells chats from other images);
a contract page needs 合同 / 甲方 / 乙方 / 签字 (or 盖章 …) or a seal-like red region on a page with text (a bare
red circle is none); demo material or a demo record names a demo that is not still to come; a payment record
names a transfer (转账 / 汇款 / 回单 / 到账 …); a shop receipt (小票 / 收银 / 找零 …) proves nothing about a deal. Files
are judged by their name; notes by their words (a note counts only once a manager confirmed it).
"""

from __future__ import annotations

import asyncio
import logging
import re
from dataclasses import dataclass
from datetime import datetime
from io import BytesIO

import numpy as np
from PIL import Image

from bot.config import OcrSettings
from bot.engines import Engines
from storage.facts import PROOF_CN

log = logging.getLogger(__name__)

CONTRACT = re.compile(r"合同|协议书|甲方|乙方|签字|签章|盖章|(?:法定)?代表人|签订日期|contract", re.IGNORECASE)
PAYMENT = re.compile(r"转账|汇款|回单|回款|到账|入账|付款成功|支付成功|交易成功|收款|打款|电子回单|交易流水|"
                     r"付款凭证|银行|对公|payment", re.IGNORECASE)
RECEIPT = re.compile(r"小票|收银|找零|实收|超市|便利店|商品名称|单价|数量|会员卡|门店|欢迎光临|谢谢惠顾|发票")
DEMO = re.compile(r"演示|方案|产品介绍|解决方案|试用|讲解|ppt|demo|路演|汇报", re.IGNORECASE)
# a demo still to come is no proof of one: 「下周安排演示」, 「约了周五试用」, 「演示还没做」
PLANNED = re.compile(r"安排|计划|打算|准备|预约|约了|约好|约在|约定|将要|将于|即将|下周|下个?月|明天|明早|后天|"
                     r"改天|再约|待定|还没|没有|尚未|还未|未做|推迟|延期|取消")
_CLAUSE = re.compile(r"[，。；：！？,.;:!?\n]")
MIN_SEAL_TEXT = 4  # Chinese characters read on a page before a red seal alone makes it a contract page
_CJK = re.compile(r"[\u4e00-\u9fff]")
KINDS_CN = PROOF_CN


@dataclass(frozen=True)
class Reading:
    kind: str  # contract | payment | receipt | chat | demo | other
    text: str = ""  # what OCR read (contract party checks use it)


def classify(text: str, *, is_chat: bool = False, seal: bool = False) -> str:
    """The evidence type from its text (OCR of an image, a file name, a note) and what the image looked like."""
    contract = len(set(CONTRACT.findall(text)))
    payment = len(set(PAYMENT.findall(text)))
    receipt = len(set(RECEIPT.findall(text)))
    if receipt >= 2 and receipt > contract + payment:
        return "receipt"
    sealed_page = seal and not payment and not is_chat and len(_CJK.findall(text)) >= MIN_SEAL_TEXT
    if (contract and contract >= payment) or sealed_page:  # a bare red circle is no contract page
        return "contract"
    if payment:
        return "payment"
    if receipt:
        return "receipt"
    if is_chat:
        return "chat"
    return "demo" if demo_said(text) else "other"


def demo_said(text: str, pattern: re.Pattern[str] = DEMO) -> bool:
    """A clause names a demo (or its material) and plans nothing: 「演示了，下周报价」 does, 「下周安排演示」 not."""
    return any(pattern.search(c) and not PLANNED.search(c) for c in _CLAUSE.split(text))


def seal_like(img: Image.Image) -> bool:
    """A red stamp: a compact, roughly round or square patch of strong red, neither a solid block nor scattered."""
    small = img.convert("RGB")
    small.thumbnail((400, 400))
    rgb = np.asarray(small, dtype=np.int16)
    r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    red = (r > 140) & (r - np.maximum(g, b) > 70)
    count = int(red.sum())
    if count < 0.002 * red.size:
        return False
    ys, xs = np.nonzero(red)
    h, w = int(ys.max() - ys.min() + 1), int(xs.max() - xs.min() + 1)
    side = min(red.shape)
    fill = count / (h * w)
    return 0.6 <= h / w <= 1.6 and 0.08 * side <= max(h, w) <= 0.7 * side and 0.05 <= fill <= 0.7


def _seal(data: bytes) -> bool:
    try:
        with Image.open(BytesIO(data)) as img:
            return seal_like(img)
    except Exception:  # unreadable images are judged by the OCR side's answer
        return False


async def read_image(data: bytes, now: datetime, settings: OcrSettings, engines: Engines) -> Reading:
    """OCR (bounded executor, timeout) plus the seal check (executor); bad images become 'other'."""
    from ocr.pipeline import OcrRejected, read_screenshot

    try:
        fields = await read_screenshot(data, now=now, settings=settings, engines=engines)
    except OcrRejected as exc:
        log.info("evidence image not readable: %s", exc)
        return Reading("other")
    seal = await asyncio.get_running_loop().run_in_executor(None, _seal, data)
    is_chat = fields.reject_reason != "not_chat"
    return Reading(classify(fields.text, is_chat=is_chat, seal=seal), fields.text)


def read_name(file_name: str) -> Reading:
    """A file (PDF, Word …) by its name: 合同.pdf is a contract, 回单.pdf a payment record."""
    return Reading(classify(file_name), file_name)
