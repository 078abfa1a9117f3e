"""A fake OpenAI-compatible API (POST /v1/chat/completions) on 127.0.0.1 that records requests."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tests.fakes.local import serve_local


@dataclass
class FakeOpenAI:
    reply: str = "ok"
    delay: float = 0.0
    status: int = 200
    requests: list[dict[str, Any]] = field(default_factory=list)
    base_url: str = ""

    async def completions(self, request: web.Request) -> web.Response:
        self.requests.append({"auth": request.headers.get("Authorization"), "body": await request.json()})
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.status != 200:
            return web.json_response({"error": {"message": "overloaded", "type": "server_error"}}, status=self.status)
        return web.json_response({
            "id": "chatcmpl-1", "object": "chat.completion", "created": 0, "model": "fake",
            "choices": [{"index": 0, "finish_reason": "stop",
                         "message": {"role": "assistant", "content": self.reply}}],
            "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
        })


@asynccontextmanager
async def running_fake_openai(reply: str = "ok") -> AsyncIterator[FakeOpenAI]:
    server = FakeOpenAI(reply=reply)
    app = web.Application()
    app.router.add_post("/v1/chat/completions", server.completions)
    runner, base = await serve_local(app)
    server.base_url = f"{base}/v1"
    try:
        yield server
    finally:
        await runner.cleanup()
