"""Import and validation messages from `knowledge/` in the Chinese the console shows its users."""

from __future__ import annotations

import re

FIELD_CN = {"id": "编号", "title": "标题", "role": "角色", "industry": "行业", "objection": "异议",
            "talk_track": "话术", "quote_template": "报价模板", "success_case": "成功案例", "keywords": "关键词",
            "updated_at": "更新日期", "version": "版本", "active": "启用"}
_RULES: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"^talk_track \(话术\) is empty$"), "话术为空"),
    (re.compile(r"^(\w+) is missing$"), "缺少{f1}"),
    (re.compile(r"^(\w+) is too long \((\d+) > (\d+) characters\)$"), "{f1}太长（{2} 字，最多 {3} 字）"),
    (re.compile(r"^(\w+) \(.*?\) '(.*)' is unknown \(known: (.*)\)$"), "{f1}「{2}」不在分类里（可选：{3}）"),
    (re.compile(r"^id '(.*)': only letters.*$"), "编号「{1}」只能包含字母、数字、_ - .（最多 32 个字符）"),
    (re.compile(r"^updated_at '(.*)' is not a date.*$"), "更新日期「{1}」不是日期（例如 2024-05-31）"),
    (re.compile(r"^duplicate id (\S+) \(first at line (\d+)\)$"), "编号 {1} 重复（第 {2} 行已有）"),
    (re.compile(r"^keyword '(.*)'… is longer than 32 characters$"), "关键词「{1}…」超过 32 个字"),
    (re.compile(r"^active '(.*)': expected.*$"), "启用「{1}」应为 是/否"),
    (re.compile(r"^unsupported file type (.*) \(use .*\)$"),
     "不支持的文件类型 {1}（可用 CSV、XLSX、Markdown、JSON、JSONL）"),
    (re.compile(r"^not UTF-8 or GBK text$"), "文件编码无法识别（请存为 UTF-8 或 GBK）"),
    (re.compile(r"^header row has no title/标题 column$"), "表头缺少「标题」列"),
    (re.compile(r"^empty file \(no header row\)$"), "文件是空的（没有表头）"),
    (re.compile(r"^not a readable XLSX workbook.*$"), "不是有效的 XLSX 表格文件"),
    (re.compile(r"^line (\d+): broken CSV.*$"), "第 {1} 行 CSV 格式损坏"),
    (re.compile(r"^line (\d+): not valid JSON.*$"), "第 {1} 行不是有效的 JSON"),
    (re.compile(r"^expected a JSON array.*$"), "JSON 应为卡片数组"),
    (re.compile(r"^no front matter.*$"), "Markdown 卡片缺少开头的 --- 信息块"),
    (re.compile(r"^(\w+) '(.*)' is not a whole number$"), "{f1}「{2}」不是整数"),
    (re.compile(r"^(\w+): expected text.*$"), "{f1}应为文字"),
]


def cn_issue(message: str) -> str:
    """A known English validation message in Chinese; anything else as it is."""
    for pattern, template in _RULES:
        m = pattern.match(message)
        if m:
            groups = m.groups()
            values = {f"f{i}": FIELD_CN.get(g, g) for i, g in enumerate(groups, 1)}
            return template.format("", *groups, **values)
    return message
