"""Voice notes to text: the audio checked (length, silence, damage), decoded by ffmpeg and sent to an
OpenAI-compatible transcription endpoint (`[asr]`, off by default).

Why ffmpeg: WeCom voice arrives as AMR-NB, which OpenAI-compatible `/audio/transcriptions` endpoints do not
take (they read wav, mp3, m4a, ogg, webm, flac). The distribution's ffmpeg decodes AMR natively, with no extra
Python dependency, and the PCM it returns also tells how long the note is and whether anything was said, so
a silent note never reaches the endpoint. An AMR file is first walked frame by frame (cheap, no decoding): a
damaged or overlong one is refused before ffmpeg starts.

Every failure is a `VoiceError` with a `kind` the voice handler turns into one short Chinese reply.
"""

from __future__ import annotations

import asyncio
import importlib
import io
import logging
import wave
from dataclasses import dataclass
from types import ModuleType
from typing import Literal

import numpy as np

from bot.config import AsrSettings
from bot.engines import Engine, Engines

log = logging.getLogger(__name__)

AMR_MAGIC = b"#!AMR\n"
# payload bytes after the one-byte frame header, by frame type (RFC 4867 §5.3); None: not a valid type
FRAME_BYTES: tuple[int | None, ...] = (12, 13, 15, 17, 19, 20, 26, 31, 5, 5, 5, 5, None, None, None, 0)
SPEECH_TYPES = 8  # frame types 0-7 carry speech; 8-11 comfort noise; 15 no data
FRAME_S = 0.02
RATE = 16_000  # what we decode to: mono 16 kHz, 16-bit (what speech models are trained on)
WINDOW = RATE // 10  # 100 ms
SILENCE_RMS = 300.0  # of 32767 (about -40 dBFS): no 100 ms window louder than this → nothing was said
DECODE_TIMEOUT_S = 20.0

Kind = Literal["too_long", "silent", "corrupt", "timeout", "failed", "no_ffmpeg", "empty"]


class VoiceError(Exception):
    def __init__(self, kind: Kind, detail: str, seconds: float | None = None) -> None:
        super().__init__(f"{kind}: {detail}")
        self.kind, self.detail, self.seconds = kind, detail, seconds


@dataclass(frozen=True)
class AmrInfo:
    seconds: float
    speech_frames: int


def read_amr(data: bytes) -> AmrInfo:
    """Length and speech frames of an AMR-NB file, walking its frame headers; VoiceError("corrupt") when
    the header is missing, a frame type is invalid or the last frame is cut short."""
    if not data.startswith(AMR_MAGIC):
        raise VoiceError("corrupt", "no #!AMR header")
    i, frames, speech = len(AMR_MAGIC), 0, 0
    while i < len(data):
        frame_type = (data[i] >> 3) & 0x0F
        size = FRAME_BYTES[frame_type]
        if data[i] & 0x80 or size is None:
            raise VoiceError("corrupt", f"invalid frame header {data[i]:#04x} at byte {i}")
        if i + 1 + size > len(data):
            raise VoiceError("corrupt", f"frame at byte {i} cut short")
        frames += 1
        speech += frame_type < SPEECH_TYPES
        i += 1 + size
    if frames == 0:
        raise VoiceError("corrupt", "no frames")
    return AmrInfo(frames * FRAME_S, speech)


async def decode(data: bytes, ffmpeg: str = "ffmpeg", max_seconds: float = 600.0) -> bytes:
    """Any audio ffmpeg reads → mono 16 kHz signed 16-bit PCM, at most `max_seconds` of it. The input may only be
    read from the pipe (no playlist inside it can make ffmpeg open a local file or a URL)."""
    try:
        proc = await asyncio.create_subprocess_exec(
            ffmpeg, "-v", "error", "-nostdin", "-protocol_whitelist", "pipe", "-i", "pipe:0",
            "-t", f"{max_seconds:g}", "-ac", "1", "-ar", str(RATE), "-f", "s16le", "pipe:1",
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    except (FileNotFoundError, PermissionError) as exc:
        raise VoiceError("no_ffmpeg", f"{ffmpeg}: {exc}") from None
    try:
        pcm, err = await asyncio.wait_for(proc.communicate(data), DECODE_TIMEOUT_S)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise VoiceError("corrupt", "ffmpeg did not finish") from None
    if proc.returncode != 0 or len(pcm) < 2:
        raise VoiceError("corrupt", f"ffmpeg exit {proc.returncode}: {err.decode(errors='replace')[:200].strip()}")
    return pcm[: len(pcm) // 2 * 2]


def pcm_seconds(pcm: bytes) -> float:
    return len(pcm) / 2 / RATE


def is_silent(pcm: bytes) -> bool:
    samples = np.frombuffer(pcm, dtype="<i2").astype(np.float32)
    usable = len(samples) // WINDOW * WINDOW
    windows = samples[:usable].reshape(-1, WINDOW) if usable else samples.reshape(1, -1)
    loudest = float(np.sqrt((windows ** 2).mean(axis=1)).max()) if windows.size else 0.0
    return loudest < SILENCE_RMS


def to_wav(pcm: bytes) -> bytes:
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes(pcm)
    return out.getvalue()


OPENAI: Engine[ModuleType] = Engine("openai client module", lambda: importlib.import_module("openai"))


async def load_client_module(engines: Engines) -> ModuleType:
    """The openai package, imported once per holder and off the event loop: its import builds ~700 pydantic models
    (1.6 s on a quiet machine), which the first voice note after a start would otherwise wait for, with every other
    message stalled behind it. `app.runtime.warm_up` calls this at start when `[asr]` is on."""
    return await asyncio.get_running_loop().run_in_executor(None, engines.get, OPENAI)


async def transcribe(settings: AsrSettings, wav: bytes, engines: Engines) -> str:
    """The endpoint's transcript of a WAV file; VoiceError("timeout" | "failed") otherwise."""
    openai = await load_client_module(engines)
    client = openai.AsyncOpenAI(base_url=settings.base_url, api_key=settings.api_key or "none",
                                timeout=settings.timeout_s, max_retries=0)
    try:
        result = await asyncio.wait_for(client.audio.transcriptions.create(
            model=settings.model, file=("voice.wav", wav, "audio/wav"), language=settings.language or openai.omit,
            response_format="json"), timeout=settings.timeout_s)
    except TimeoutError:
        raise VoiceError("timeout", f"no answer within {settings.timeout_s:g} s") from None
    except Exception as exc:
        if isinstance(exc, openai.APITimeoutError):
            raise VoiceError("timeout", f"no answer within {settings.timeout_s:g} s") from None
        raise VoiceError("failed", f"{type(exc).__name__}: {str(exc)[:200]}") from None
    finally:
        await client.close()
    return " ".join(str(getattr(result, "text", "") or "").split())


async def voice_to_text(settings: AsrSettings, data: bytes, engines: Engines) -> str:
    """A voice note's words: checked, decoded, transcribed. Raises VoiceError (see `Kind`)."""
    if data.startswith(AMR_MAGIC):
        info = read_amr(data)
        if info.seconds > settings.max_seconds:
            raise VoiceError("too_long", f"{info.seconds:.0f} s", info.seconds)
        if info.speech_frames == 0:
            raise VoiceError("silent", "no speech frames", info.seconds)
    pcm = await decode(data, settings.ffmpeg, settings.max_seconds + 1)  # one second more tells "too long"
    seconds = pcm_seconds(pcm)
    if seconds > settings.max_seconds:
        raise VoiceError("too_long", f"{seconds:.0f} s", seconds)
    if is_silent(pcm):
        raise VoiceError("silent", "no 100 ms window above the silence level", seconds)
    text = await transcribe(settings, to_wav(pcm), engines)
    if not text:
        raise VoiceError("empty", "the endpoint heard no words", seconds)
    return text
