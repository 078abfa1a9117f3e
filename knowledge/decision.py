"""Whether the first card answers the query: a logistic regression over the features `search.decision_features`
measures, with weights fitted offline by bench/kb_decision.py (leave one labelled set out) and stored beside this
module in decision.json."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from functools import cache
from pathlib import Path

WEIGHTS_FILE = Path(__file__).with_name("decision.json")
FEATURES = (
    "pieces",
    "title",
    "score",
    "one_synonym",
    "beside",
    "lone_word",
    "coverage",
    "concern_elsewhere",
    "vague",
    "voiced_by_chance",
)


@dataclass(frozen=True)
class Decision:
    weights: dict[str, float]
    bias: float

    def confidence(self, features: dict[str, float]) -> float:
        """0..1: how sure the first card answers (0.5 is the line)."""
        z = self.bias + sum(w * features[name] for name, w in self.weights.items())
        return 1 / (1 + math.exp(-max(-30.0, min(30.0, z))))

    def answers(self, features: dict[str, float]) -> bool:
        return self.confidence(features) >= 0.5

    def save(self, path: Path) -> None:
        data = {"bias": round(self.bias, 4), "weights": {k: round(v, 4) for k, v in self.weights.items()}}
        path.write_text(json.dumps(data, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")


@cache
def shipped() -> Decision:
    data = json.loads(WEIGHTS_FILE.read_text(encoding="utf-8"))
    return Decision({k: float(v) for k, v in data["weights"].items()}, float(data["bias"]))
