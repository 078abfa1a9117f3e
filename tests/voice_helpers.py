"""Real AMR-NB voice notes for tests, and the skip when ffmpeg (which decodes them) is missing.

`amr_note` encodes a tone with ffmpeg's AMR encoder when this ffmpeg has one (libopencore_amrnb); Debian's
ffmpeg decodes AMR but ships no encoder, so otherwise the file is built frame by frame as the format says
(RFC 4867 storage format: "#!AMR\\n", then one header byte and 31 payload bytes per 12.2 kbit/s frame of 20 ms)
with random payload bits: a valid AMR file that decodes to loud noise. `silent=True` gives 4.75 kbit/s frames
of all-zero bits, which decode to digital silence.
"""

from __future__ import annotations

import functools
import random
import shutil
import subprocess

import pytest

HAS_FFMPEG = shutil.which("ffmpeg") is not None
needs_ffmpeg = pytest.mark.skipif(not HAS_FFMPEG, reason="ffmpeg is not installed (scripts/setup installs it)")


@functools.cache
def _has_encoder() -> bool:
    run = subprocess.run(["ffmpeg", "-hide_banner", "-encoders"], capture_output=True, text=True, check=False)
    return "libopencore_amrnb" in run.stdout


def _encoded(seconds: float) -> bytes | None:
    if not _has_encoder():
        return None
    run = subprocess.run(
        ["ffmpeg", "-v", "error", "-nostdin", "-f", "lavfi", "-i", f"sine=frequency=440:duration={seconds}",
         "-ar", "8000", "-ac", "1", "-c:a", "libopencore_amrnb", "-f", "amr", "pipe:1"],
        capture_output=True, check=False)
    return run.stdout if run.returncode == 0 and run.stdout.startswith(b"#!AMR\n") else None


def amr_note(seconds: float = 2.0, *, silent: bool = False, seed: int = 7) -> bytes:
    frames = max(1, round(seconds / 0.02))
    if silent:
        return b"#!AMR\n" + (bytes([0x04]) + bytes(12)) * frames
    if HAS_FFMPEG and (encoded := _encoded(seconds)) is not None:
        return encoded
    rnd = random.Random(seed)
    return b"#!AMR\n" + b"".join(bytes([0x3C]) + rnd.randbytes(31) for _ in range(frames))
