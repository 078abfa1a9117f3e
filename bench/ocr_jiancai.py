"""Customer project groups and phone-screen photos of a construction-materials vendor (tests/synth_jiancai.py):
bench/ocr_energy.py on that domain (see its docstring for the flags)."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.ocr_energy import main

if __name__ == "__main__":
    raise SystemExit(main("jiancai"))
