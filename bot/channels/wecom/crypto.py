"""Callback crypto (加解密方案) on top of wechatpy's AES cipher.

We check the signature ourselves (constant-time compare) and unpack the plaintext ourselves (wechatpy's
cipher does the AES): padding, message length and receiveid are each checked, so a truncated ciphertext is
told apart from one meant for another corp, and every failure is one of three clear exceptions.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re

from wechatpy.crypto import BaseWeChatCrypto
from wechatpy.crypto.base import WeChatCipher


class WecomCryptoError(Exception):
    """Base class: the callback cannot be trusted or read."""


class BadSignature(WecomCryptoError):
    """msg_signature missing or not matching → HTTP 403."""


class WrongReceiver(WecomCryptoError):
    """The receiveid inside the ciphertext is not our corp id → HTTP 403."""


SIGNATURE_SHAPE = re.compile(r"[0-9A-Fa-f]{40}")  # SHA-1 in hex


class BadCiphertext(WecomCryptoError):
    """Not decryptable (truncated base64, bad padding, garbage) → HTTP 400."""


def sign(token: str, timestamp: str, nonce: str, encrypt: str) -> str:
    """msg_signature = sha1(concat(sort([token, timestamp, nonce, msg_encrypt]))) in lowercase hex."""
    parts = sorted([token, timestamp, nonce, encrypt])
    return hashlib.sha1("".join(parts).encode()).hexdigest()


class CallbackCrypto:
    def __init__(self, token: str, encoding_aes_key: str, corp_id: str) -> None:
        # BaseWeChatCrypto turns the 43-char EncodingAESKey into the 32-byte AES-256 key.
        try:
            base = BaseWeChatCrypto(token, encoding_aes_key, corp_id)
        except (AssertionError, ValueError, binascii.Error):
            raise ValueError("wecom.encoding_aes_key must be the 43-character EncodingAESKey from the WeCom "
                             "admin console (接收消息 → API 接收)") from None
        self.token = token
        self.corp_id = corp_id
        self._cipher = WeChatCipher(base.key)

    def verify(self, signature: str, timestamp: str, nonce: str, encrypt: str) -> None:
        if not signature or not timestamp or not nonce or not encrypt:
            raise BadSignature("missing signature parameter")
        if not SIGNATURE_SHAPE.fullmatch(signature):  # also keeps non-ASCII out of the comparison below
            raise BadSignature("malformed signature")
        try:
            expected = sign(self.token, timestamp, nonce, encrypt)
        except UnicodeEncodeError:  # a lone surrogate in a query value
            raise BadSignature("malformed signature parameter") from None
        if not hmac.compare_digest(expected.encode("ascii"), signature.lower().encode("ascii")):
            raise BadSignature("signature mismatch")

    def decrypt(self, encrypt: str) -> str:
        """Ciphertext (base64) → plaintext message; checks the receiveid is our corp id."""
        try:
            raw = base64.b64decode(encrypt, validate=True)
        except (binascii.Error, ValueError):
            raise BadCiphertext("ciphertext is not valid base64") from None
        if len(raw) < 32 or len(raw) % 16:
            raise BadCiphertext(f"ciphertext length {len(raw)} is not a whole number of AES blocks")
        try:
            plain = self._cipher.decrypt(raw)
        except Exception as exc:  # the cipher's own errors (length, key)
            raise BadCiphertext(f"cannot decrypt: {type(exc).__name__}") from None
        # random(16) + msg_len(4, network order) + msg + receiveid, PKCS#7-padded to 32 bytes
        pad = plain[-1]
        if not 1 <= pad <= 32 or plain[-pad:] != bytes([pad]) * pad:
            raise BadCiphertext("bad padding (truncated or not ours)")
        body = plain[16:-pad]
        size = int.from_bytes(body[:4], "big") if len(body) >= 4 else -1
        if size < 0 or 4 + size > len(body):
            raise BadCiphertext("message length beyond the ciphertext (truncated)")
        if body[4 + size:] != self.corp_id.encode():
            raise WrongReceiver("receiveid is not our corp id")
        try:
            return body[4:4 + size].decode("utf-8")
        except UnicodeDecodeError:
            raise BadCiphertext("message is not UTF-8") from None

    def open(self, signature: str, timestamp: str, nonce: str, encrypt: str) -> str:
        """Verify then decrypt (URL-check echostr or a message's Encrypt field)."""
        self.verify(signature, timestamp, nonce, encrypt)
        return self.decrypt(encrypt)
