"""An independent WeCom callback encryptor (from the 加解密方案 spec, not wechatpy's encrypt path):
AES-256-CBC, IV = key[:16], PKCS#7 padding to a multiple of 32, payload random16 | len(4, big-endian) | msg | corpid,
msg_signature = sha1 of the sorted concatenation of token, timestamp, nonce, ciphertext."""

from __future__ import annotations

import base64
import hashlib
import os
import struct
from dataclasses import dataclass
from urllib.parse import urlencode

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes


def pkcs7_pad32(data: bytes) -> bytes:
    n = 32 - len(data) % 32
    return data + bytes([n]) * n


def encrypt(aes_key43: str, plaintext: str, receive_id: str, random16: bytes | None = None) -> str:
    key = base64.b64decode(aes_key43 + "=")
    raw = (random16 or os.urandom(16)) + struct.pack(">I", len(plaintext.encode())) + plaintext.encode()
    raw += receive_id.encode()
    enc = Cipher(algorithms.AES(key), modes.CBC(key[:16])).encryptor()
    return base64.b64encode(enc.update(pkcs7_pad32(raw)) + enc.finalize()).decode()


def signature(token: str, timestamp: str, nonce: str, encrypt_b64: str) -> str:
    return hashlib.sha1("".join(sorted([token, timestamp, nonce, encrypt_b64])).encode()).hexdigest()


@dataclass(frozen=True)
class CallbackBuilder:
    token: str
    aes_key: str
    corp_id: str
    agent_id: int = 1000002

    def post(self, plaintext: str, timestamp: int, nonce: str = "12345", *, receive_id: str | None = None,
             encrypt_override: str | None = None) -> tuple[str, bytes]:
        """(query string, body) of a signed, encrypted message POST."""
        enc = encrypt_override or encrypt(self.aes_key, plaintext, receive_id or self.corp_id)
        ts = str(timestamp)
        body = (f"<xml><ToUserName><![CDATA[{self.corp_id}]]></ToUserName><Encrypt><![CDATA[{enc}]]></Encrypt>"
                f"<AgentID><![CDATA[{self.agent_id}]]></AgentID></xml>").encode()
        query = urlencode({"msg_signature": signature(self.token, ts, nonce, enc), "timestamp": ts, "nonce": nonce})
        return query, body

    def url_check(self, echo: str, timestamp: int, nonce: str = "777") -> str:
        enc = encrypt(self.aes_key, echo, self.corp_id)
        ts = str(timestamp)
        return urlencode({"msg_signature": signature(self.token, ts, nonce, enc), "timestamp": ts, "nonce": nonce,
                          "echostr": enc})


def text_xml(corp_id: str, user: str, content: str, msg_id: int, create_time: int, agent_id: int = 1000002) -> str:
    return (f"<xml><ToUserName><![CDATA[{corp_id}]]></ToUserName><FromUserName><![CDATA[{user}]]></FromUserName>"
            f"<CreateTime>{create_time}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
            f"<Content><![CDATA[{content}]]></Content><MsgId>{msg_id}</MsgId><AgentID>{agent_id}</AgentID></xml>")


def image_xml(corp_id: str, user: str, media_id: str, msg_id: int, create_time: int) -> str:
    return (f"<xml><ToUserName><![CDATA[{corp_id}]]></ToUserName><FromUserName><![CDATA[{user}]]></FromUserName>"
            f"<CreateTime>{create_time}</CreateTime><MsgType><![CDATA[image]]></MsgType>"
            f"<PicUrl><![CDATA[http://127.0.0.1/x.jpg]]></PicUrl><MediaId><![CDATA[{media_id}]]></MediaId>"
            f"<MsgId>{msg_id}</MsgId><AgentID>1000002</AgentID></xml>")


def file_xml(corp_id: str, user: str, media_id: str, file_name: str, msg_id: int, create_time: int) -> str:
    return (f"<xml><ToUserName><![CDATA[{corp_id}]]></ToUserName><FromUserName><![CDATA[{user}]]></FromUserName>"
            f"<CreateTime>{create_time}</CreateTime><MsgType><![CDATA[file]]></MsgType>"
            f"<MediaId><![CDATA[{media_id}]]></MediaId><FileName><![CDATA[{file_name}]]></FileName>"
            f"<MsgId>{msg_id}</MsgId><AgentID>1000002</AgentID></xml>")


def voice_xml(corp_id: str, user: str, media_id: str, msg_id: int, create_time: int) -> str:
    return (f"<xml><ToUserName><![CDATA[{corp_id}]]></ToUserName><FromUserName><![CDATA[{user}]]></FromUserName>"
            f"<CreateTime>{create_time}</CreateTime><MsgType><![CDATA[voice]]></MsgType>"
            f"<MediaId><![CDATA[{media_id}]]></MediaId><Format><![CDATA[amr]]></Format>"
            f"<MsgId>{msg_id}</MsgId><AgentID>1000002</AgentID></xml>")


def event_xml(corp_id: str, user: str, event: str, create_time: int, **extra: str) -> str:
    inner = "".join(f"<{k}><![CDATA[{v}]]></{k}>" for k, v in extra.items())
    return (f"<xml><ToUserName><![CDATA[{corp_id}]]></ToUserName><FromUserName><![CDATA[{user}]]></FromUserName>"
            f"<CreateTime>{create_time}</CreateTime><MsgType><![CDATA[event]]></MsgType>"
            f"<Event><![CDATA[{event}]]></Event>{inner}<AgentID>1000002</AgentID></xml>")
