"""Slow clients that never finish their request head (slowloris) cannot hold sockets (issue 20 re-run, item 1).

The adversarial re-run held connections open by trickling header bytes: aiohttp only closed them at its 75 s
keep-alive check, and any number could wait at once. A real `salesbot serve` now closes a connection without a
complete head after `[server] header_timeout_s`, and keeps at most `[server] max_waiting_connections` waiting
(a new one closes the oldest waiting one), while a normal request is still answered.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import ClientSession

from tests.servers import Server

PARTIAL_HEAD = b"POST /wecom/callback HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: 1\r\n"


async def serve(tmp_path: Path, **server: str) -> Server:
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(Path(__file__).resolve().parent.parent),
           "SALESBOT_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}",
           "SALESBOT_SERVER_SPOOL_DIR": str(tmp_path / "spool"), "SALESBOT_SERVER_WARM_UP": "false",
           "SALESBOT_KNOWLEDGE_SEED_DEMO": "false"}
    env.update({f"SALESBOT_SERVER_{key.upper()}": value for key, value in server.items()})
    proc = Server(tmp_path, env)
    await proc.start()
    return proc


@pytest.fixture
async def cleanup() -> AsyncIterator[list[Server]]:
    servers: list[Server] = []
    yield servers
    for server in servers:
        await server.stop()


async def slow_client(port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(PARTIAL_HEAD)
    await writer.drain()
    return reader, writer


async def closed_by_server(reader: asyncio.StreamReader, within_s: float) -> bool:
    try:
        async with asyncio.timeout(within_s):
            return await reader.read(1) == b""
    except TimeoutError:
        return False
    except ConnectionResetError:
        return True


async def test_a_head_trickled_byte_by_byte_is_cut_off(tmp_path: Path, cleanup: list[Server]) -> None:
    server = await serve(tmp_path, header_timeout_s="1")
    cleanup.append(server)
    reader, writer = await slow_client(server.port)

    async def trickle() -> None:
        while not writer.is_closing():
            writer.write(b"X")  # a header byte now and then: never a complete head
            await writer.drain()
            await asyncio.sleep(0.2)

    trickling = asyncio.create_task(trickle())
    try:
        assert await closed_by_server(reader, within_s=8), "a trickling client kept its connection"
    finally:
        trickling.cancel()
        writer.close()


async def test_waiting_connections_are_capped_and_a_real_request_still_answered(
        tmp_path: Path, cleanup: list[Server]) -> None:
    server = await serve(tmp_path, header_timeout_s="600", max_waiting_connections="5")
    cleanup.append(server)
    clients = [await slow_client(server.port) for _ in range(25)]
    try:
        closed = await asyncio.gather(*(closed_by_server(reader, within_s=5) for reader, _ in clients[:20]))
        assert all(closed), f"{closed.count(False)} of the 20 oldest slow connections still open"
        async with ClientSession() as http, http.get(f"{server.url}/metrics") as resp:
            assert resp.status == 200
            assert "salesbot_edge_waiting_evicted" in await resp.text()
        # 5 slow clients (the newest) wait, the rest were closed: one log line says so, not one each
        assert server.log_text().count("slow clients failed") == 1
    finally:
        for _, writer in clients:
            writer.close()
