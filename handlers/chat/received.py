"""What a person is told when an image or file they sent did not reach the bot: the channel's reason
(bot/messages.py `Inbound.data_error`: download_failed / too_large / not_image) said in Chinese, never the code."""

from __future__ import annotations

from bot.messages import Inbound

_IMAGE = {
    "download_failed": "图片没有下载成功，请重新发送一次截图。",
    "not_image": "这个文件不是图片，请发送与客户的聊天截图。",
    "too_large": "图片太大了，请截取聊天部分后再发。",
}
_FILE = {
    "download_failed": "文件没有收到，请重新发送。",
    "too_large": "文件太大，没有收到。请拆成几个小文件再发。",
}


def not_received(msg: Inbound) -> str:
    """The reply when `msg` arrived without its bytes (`msg.data is None`), worded for an image or a file."""
    said = _IMAGE if msg.kind == "image" else _FILE
    return said.get(msg.data_error or "", said["download_failed"])
