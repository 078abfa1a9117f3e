"""One small call to an OpenAI-compatible chat model. Optional everywhere: any failure → None."""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

from bot.config import LlmSettings

if TYPE_CHECKING:  # openai is imported only when a call is made
    from openai.types.chat import ChatCompletionMessageParam as Message

log = logging.getLogger(__name__)


async def complete(settings: LlmSettings, messages: list[Message], *, max_tokens: int = 300,
                   json_mode: bool = False) -> str | None:
    """The model's reply text, or None when disabled, slow (`timeout_s`) or failing."""
    if not settings.enabled:
        return None
    from openai import AsyncOpenAI

    client = AsyncOpenAI(base_url=settings.base_url, api_key=settings.api_key or "none",
                         timeout=settings.timeout_s, max_retries=0)
    extra: dict[str, Any] = {"response_format": {"type": "json_object"}} if json_mode else {}
    try:
        response = await asyncio.wait_for(
            client.chat.completions.create(model=settings.model, messages=messages,
                                           temperature=0.1, max_tokens=max_tokens, **extra),
            timeout=settings.timeout_s,
        )
        return (response.choices[0].message.content or "").strip() if response.choices else None
    except Exception as exc:  # an optional remote service: never let it break the answer
        log.warning("llm call skipped: %s", type(exc).__name__)
        return None
    finally:
        await client.close()
