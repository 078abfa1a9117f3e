"""A fake OpenAI-compatible API on 127.0.0.1 that records requests: POST /v1/chat/completions and
POST /v1/audio/transcriptions (multipart `file` + `model`, as whisper-compatible servers take it; only WAV is
accepted here, like the real endpoint refuses AMR)."""

from __future__ import annotations

import asyncio
import io
import time
import wave
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
    transcript: str = "好的"  # what /audio/transcriptions answers
    audio: list[dict[str, Any]] = field(default_factory=list)  # transcription requests: model, language, seconds
    replied_at: list[float] = field(default_factory=list)  # time.perf_counter() as each transcript went out

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

    async def transcriptions(self, request: web.Request) -> web.Response:
        form = await request.post()
        upload = form.get("file")
        data = upload.file.read() if isinstance(upload, web.FileField) else b""
        try:
            with wave.open(io.BytesIO(data)) as w:
                seconds = w.getnframes() / w.getframerate()
        except (wave.Error, EOFError):
            return web.json_response({"error": {"message": "Invalid file format.", "type": "invalid_request_error"}},
                                     status=400)
        self.audio.append({"auth": request.headers.get("Authorization"), "model": form.get("model"),
                           "language": form.get("language"), "seconds": seconds})
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.status != 200:
            return web.json_response({"error": {"message": "overloaded", "type": "server_error"}}, status=self.status)
        self.replied_at.append(time.perf_counter())
        return web.json_response({"text": self.transcript})


@asynccontextmanager
async def running_fake_openai(reply: str = "ok") -> AsyncIterator[FakeOpenAI]:
    server = FakeOpenAI(reply=reply)
    app = web.Application(client_max_size=25 * 1024 * 1024)  # OpenAI's own upload limit for audio
    app.router.add_post("/v1/chat/completions", server.completions)
    app.router.add_post("/v1/audio/transcriptions", server.transcriptions)
    runner, base = await serve_local(app)
    server.base_url = f"{base}/v1"
    try:
        yield server
    finally:
        await runner.cleanup()
