"""Callback crypto and safe XML parsing against the official vectors and an independent encryptor."""

from __future__ import annotations

import base64

import pytest

from bot.channels.wecom.crypto import BadCiphertext, BadSignature, CallbackCrypto, WrongReceiver
from bot.channels.wecom.parse import BadXml, UnsafeXml, parse_envelope, parse_flat, parse_message
from tests.fakes.wecom_callback import CallbackBuilder, encrypt, event_xml, signature, text_xml

# Vector #1: official sample (sbzhu/weworkapi_php callback/Sample.php)
V1 = CallbackCrypto("QDG6eK", "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C", "wx5823bf96d3bd56c7")
V1_ECHO = "P9nAzCzyDtyTWESHep1vC5X9xho/qYX3Zpb4yKa9SKld1DsH3Iyt3tP3zNdtp+4RPcs8TgAE7OaBO+FZXvnaqQ=="
V1_POST = (
    "<xml><ToUserName><![CDATA[wx5823bf96d3bd56c7]]></ToUserName><Encrypt><![CDATA[RypEvHKD8QQKFhvQ6QleEB4J58tiPdvo"
    "+rtK1I9qca6aM/wvqnLSV5zEPeusUiX5L5X/0lWfrf0QADHHhGd3QczcdCUpj911L3vg3W/sYYvuJTs3TUUkSUXxaccAS0qhxchrRYt66wiSpG"
    "LYL42aM6A8dTT+6k4aSknmPj48kzJs8qLjvd4Xgpue06DOdnLxAUHzM6+kDZ+HMZfJYuR+LtwGc2hgf5gsijff0ekUNXZiqATP7PF5mZxZ3Izo"
    "un1s4zG4LUMnvw2r+KqCKIw+3IQH03v+BCA9nMELNqbSf6tiWSrXJB3LAVGUcallcrw8V2t9EL4EhzJWrQUax5wLVMNS0+rUPA3k22Ncx4XXZS9"
    "o0MBH27Bo6BpNelZpS+/uh9KsNlY6bHCmJU9p8g7m3fVKn28H3KDYA5Pl/T8Z1ptDAVe0lXdQ2YoyyH2uyPIGHBZZIs2pDBS8R07+qN+E7Q=="
    "]]></Encrypt><AgentID><![CDATA[218]]></AgentID></xml>"
)
V1_PLAIN = "\n".join([
    "<xml><ToUserName><![CDATA[wx5823bf96d3bd56c7]]></ToUserName>",
    "<FromUserName><![CDATA[mycreate]]></FromUserName>",
    "<CreateTime>1409659813</CreateTime>",
    "<MsgType><![CDATA[text]]></MsgType>",
    "<Content><![CDATA[hello]]></Content>",
    "<MsgId>4561255354251345929</MsgId>",
    "<AgentID>218</AgentID>",
    "</xml>",
])

# Vector #2: official Python sample (sbzhu/weworkapi_python callback/Sample.py)
V2 = CallbackCrypto(
    "hJqcu3uJ9Tn2gXPmxx2w9kkCkCE2EPYo", "6qkdMrq68nTKduznJYO1A37W2oEgpkMUvkttRToqhUt", "ww1436e0e65a779aee"
)
V2_ECHO = "fsi1xnbH4yQh0+PJxcOdhhK6TDXkjMyhEPA7xB2TGz6b+g7xyAbEkRxN/3cNXW9qdqjnoVzEtpbhnFyq6SVHyA=="


def test_vector1_url_check() -> None:
    echo = V1.open("5c45ff5e21c57e6ad56bac8758b79b1d9ac89fd3", "1409659589", "263014780", V1_ECHO)
    assert echo == "1616140317555161061"


def test_vector1_post_plaintext() -> None:
    env = parse_envelope(V1_POST.encode())
    assert env.to_user == "wx5823bf96d3bd56c7" and env.agent_id == "218"
    plain = V1.open("477715d11cdb4164915debcba66cb864d751f3e6", "1409659813", "1372623149", env.encrypt)
    assert plain == V1_PLAIN
    msg = parse_message(plain)
    assert (msg.msg_type, msg.from_user, msg.create_time) == ("text", "mycreate", 1409659813)
    assert msg.get("Content") == "hello"
    assert msg.dedup_key == "m4561255354251345929"


def test_vector2_url_check() -> None:
    echo = V2.open("012bc692d0a58dd4b10f8dfe5c4ac00ae211ebeb", "1476416373", "47744683", V2_ECHO)
    assert echo == "1288432023552776189"


def test_vector1_forged_signature_rejected() -> None:
    with pytest.raises(BadSignature):
        V1.open("5c45ff5e21c57e6ad56bac8758b79b1d9ac89fd4", "1409659589", "263014780", V1_ECHO)
    with pytest.raises(BadSignature):
        V1.open("", "1409659589", "263014780", V1_ECHO)
    with pytest.raises(BadSignature):  # the timestamp is part of what is signed
        V1.open("5c45ff5e21c57e6ad56bac8758b79b1d9ac89fd3", "1409659590", "263014780", V1_ECHO)


def test_independent_encryptor_round_trips_and_matches_vector_signature() -> None:
    # Our test encryptor's signature agrees with the official vector...
    assert signature("QDG6eK", "1409659589", "263014780", V1_ECHO) == "5c45ff5e21c57e6ad56bac8758b79b1d9ac89fd3"
    # ...and what it encrypts, the channel decrypts (Chinese text, multi-byte lengths).
    plain = text_xml("wx5823bf96d3bd56c7", "rep01", "医疗采购价格异议怎么回？", 42, 1409659813)
    enc = encrypt("jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C", plain, "wx5823bf96d3bd56c7")
    assert V1.open(signature("QDG6eK", "1", "2", enc), "1", "2", enc) == plain


def test_wrong_corp_id_inside_envelope() -> None:
    enc = encrypt("jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C", "<xml/>", "wwSOMEOTHERCORP")
    with pytest.raises(WrongReceiver):
        V1.decrypt(enc)


def _blocks_cut(ciphertext: str, blocks: int) -> str:
    """Valid base64 of the ciphertext minus its last AES blocks (CBC still decrypts the rest)."""
    raw = base64.b64decode(ciphertext)
    return base64.b64encode(raw[: len(raw) - 16 * blocks]).decode()


@pytest.mark.parametrize("bad", [V1_ECHO[:-7], V1_ECHO[:40], "!!!notbase64!!!", "", "QUJD"])
def test_truncated_or_garbage_ciphertext(bad: str) -> None:
    with pytest.raises(BadCiphertext):
        V1.decrypt(bad)


def test_ciphertext_cut_by_whole_blocks_is_truncated_not_another_corps() -> None:
    long_plain = text_xml("wx5823bf96d3bd56c7", "rep01", "医疗采购价格异议怎么回？" * 20, 42, 1409659813)
    enc = encrypt("jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C", long_plain, "wx5823bf96d3bd56c7")
    for blocks in (1, 2, 5):
        with pytest.raises(BadCiphertext):
            V1.decrypt(_blocks_cut(enc, blocks))
    assert V1.decrypt(enc) == long_plain


def test_parse_refuses_doctype_and_entities() -> None:
    bomb = b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;">]><xml>&lol2;</xml>'
    with pytest.raises(UnsafeXml):
        parse_flat(bomb)
    xxe = b'<!DOCTYPE xml [<!ENTITY x SYSTEM "file:///etc/passwd">]><xml><Content>&x;</Content></xml>'
    with pytest.raises(UnsafeXml):
        parse_flat(xxe)
    with pytest.raises(BadXml):  # lower case is not a DOCTYPE at all, just malformed XML
        parse_flat(xxe.replace(b"DOCTYPE", b"doctype").replace(b"ENTITY", b"entity"))
    with pytest.raises(UnsafeXml):
        parse_message('<!DOCTYPE x><xml><MsgType>text</MsgType><FromUserName>a</FromUserName></xml>')


@pytest.mark.parametrize(("doc", "fields"), [
    # WeCom's own shape: read without expat (CR LF normalised as XML does; `]]` and `>` are plain CDATA text)
    ('<?xml version="1.0" encoding="UTF-8"?>\n<xml>\r\n <A><![CDATA[x]]y>\r\nz]]]></A><B>12</B>\n</xml>\n',
     {"A": "x]]y>\nz]", "B": "12"}),
    ("<xml><A><![CDATA[]]></A><B></B><A>later wins</A></xml>", {"A": "later wins", "B": ""}),
    # other shapes go to expat: a reference decoded, two CDATA sections joined, a nested element skipped
    ("<xml><A>a &amp; b &#65;</A><B><![CDATA[c]]><![CDATA[d]]></B><C><D>e</D></C></xml>", {"A": "a & b A", "B": "cd"}),
])
def test_flat_documents_read_as_xml_reads_them(doc: str, fields: dict[str, str]) -> None:
    assert parse_flat(doc) == fields
    assert parse_flat(doc.encode()) == fields


@pytest.mark.parametrize("doc", [
    "<xml><A>a\x01b</A></xml>",  # a character XML forbids, in plain text and in CDATA
    "<xml><A><![CDATA[a\x0bb]]></A></xml>",
    "<xml><A>a]]>b</A></xml>",  # `]]>` outside CDATA
    "<xml><A><![CDATA[a]]>b]]></A></xml>",  # the first `]]>` ends the section
    "<xml><A>a</B></xml>",
    "<xml><A>a</A>",
    "<xml><A>a</A></xml><xml></xml>",
])
def test_malformed_flat_documents_refused(doc: str) -> None:
    with pytest.raises(BadXml):
        parse_flat(doc)


@pytest.mark.parametrize("body", [
    b"hello", b'{"json": 1}', b"<xml><Encrypt>abc", b"<root><Encrypt>x</Encrypt></root>",
    b"<xml><ToUserName>x</ToUserName></xml>", b"",
])
def test_bad_envelopes(body: bytes) -> None:
    with pytest.raises(BadXml):
        parse_envelope(body)


def test_event_dedup_keys() -> None:
    a = parse_message(event_xml("c", "rep01", "template_card_event", 100, EventKey="esc:take:1", TaskId="t1"))
    b = parse_message(event_xml("c", "rep01", "template_card_event", 100, EventKey="esc:defer:1", TaskId="t1"))
    c = parse_message(event_xml("c", "rep01", "template_card_event", 101, EventKey="esc:take:1", TaskId="t1"))
    again = parse_message(event_xml("c", "rep01", "template_card_event", 100, EventKey="esc:take:1", TaskId="t1"))
    assert len({a.dedup_key, b.dedup_key, c.dedup_key}) == 3
    assert a.dedup_key == again.dedup_key and len(a.dedup_key) < 64


def test_builder_query_is_signed() -> None:
    b = CallbackBuilder("QDG6eK", "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C", "wx5823bf96d3bd56c7")
    _query, body = b.post(text_xml("wx5823bf96d3bd56c7", "u", "hi", 1, 5), 5)
    env = parse_envelope(body)
    plain = V1.open(signature("QDG6eK", "5", "12345", env.encrypt), "5", "12345", env.encrypt)
    assert parse_message(plain).get("Content") == "hi"


def test_bad_encoding_aes_key_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="43-character"):
        CallbackCrypto("t", "tooshort", "corp")
