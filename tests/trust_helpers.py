"""Evidence pictures for the trust tests, drawn with invented parties: a contract page, a payment record, a shop
receipt."""

from __future__ import annotations

from io import BytesIO
from pathlib import Path

from PIL import Image, ImageDraw

from tests.synth import font


def page(lines: list[str], seal: bool = False, left: dict[int, int] | None = None) -> bytes:
    """A white page of text lines; `left`: line number → x where that line starts (negative: cut off)."""
    img = Image.new("RGB", (900, 1100), "white")
    d = ImageDraw.Draw(img)
    f = font(40)
    for i, line in enumerate(lines):
        d.text(((left or {}).get(i, 70), 80 + i * 80), line, fill=(20, 20, 20), font=f)
    if seal:
        d.ellipse((560, 760, 800, 1000), outline=(215, 25, 30), width=10)
    buf = BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def contract_png(buyer: str = "青禾农业发展有限公司") -> bytes:
    return page(["软件采购合同", f"甲方：{buyer}", "乙方：北辰云软件有限公司", "合同金额：人民币叁拾万元整",
                 "甲方签字：", "乙方签字："], seal=True)


def cropped_contract_png(buyer: str) -> bytes:
    """A contract photographed off-centre: the 「甲」 of 「甲方：」 is cut off at the left edge, and the first clause
    starts with 「甲方向乙方采购」."""
    return page(["设备采购合同", f"甲方：{buyer}", "乙方：北辰云软件有限公司", "一、甲方向乙方采购监护仪二十台",
                 "甲方签字：", "乙方签字："], seal=True, left={1: -25})


def clause_contract_png() -> bytes:
    """A contract page without the buyer's line (it was on the page before): only 「甲方向乙方采购」 names 甲方."""
    return page(["设备采购合同", "一、甲方向乙方采购监护仪二十台", "乙方：北辰云软件有限公司", "甲方签字：",
                 "乙方签字："], seal=True)


def payment_png() -> bytes:
    return page(["转账成功", "收款方：北辰云软件有限公司", "金额：300,000.00", "交易流水号 20261123"])


def receipt_png() -> bytes:
    """A narrow till receipt: centred lines on grey-white paper, dashed rules."""
    img = Image.new("RGB", (620, 1000), (250, 250, 246))
    d = ImageDraw.Draw(img)
    f = font(34)
    lines = ["欢迎光临 邻里超市", "-" * 24, "商品名称 单价 数量", "矿泉水 2.00 3", "面包 5.50 1", "-" * 24,
             "合计 11.50", "实收 20.00 找零 8.50", "谢谢惠顾"]
    for i, line in enumerate(lines):
        w = d.textlength(line, font=f)
        d.text(((620 - w) / 2, 60 + i * 90), line, fill=(30, 30, 30), font=f)
    buf = BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def save(tmp_path: Path, name: str, data: bytes) -> Path:
    path = Path(tmp_path) / name
    path.write_bytes(data)
    return path
