"""What a person is told when a file they sent did not reach the bot: the channel's reason (bot/messages.py
`Inbound.data_error`: download_failed / too_large / not_image) said in Chinese, never the code itself."""

from __future__ import annotations

from bot.messages import Inbound

_FILE_NOT_RECEIVED = {
    "too_large": "文件太大，没有收到。请拆成几个小文件再发。",
}
_DEFAULT = "文件没有收到，请重新发送。"


def file_not_received(msg: Inbound) -> str:
    """The reply when `msg` arrived without its file's bytes (`msg.data is None`)."""
    return _FILE_NOT_RECEIVED.get(msg.data_error or "", _DEFAULT)
