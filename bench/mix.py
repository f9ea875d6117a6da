"""The desk's request mix, shared by bench/load.py and bench/locustfile.py.

Symbols are drawn from a Zipf law over the day's ranked candidates (rank 1 most often): a few names
are asked all day, and the long tail of a >= 10,000-stock market still shows up. ``zipf_sampler``
draws ranks in O(log N) from the cumulative weights, so the generator spends its CPU on requests.
"""

from __future__ import annotations

import bisect
import itertools
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

ZIPF_EXPONENT = 1.1

# Weights of the desk mix (bench/locustfile.py): mostly /predict, a few explanations, lists and batches.
DESK_WEIGHTS: dict[str, int] = {
    "predict": 25,
    "predict_explain": 1,
    "batch_predict_50": 1,
    "predictions_page": 2,
}


def zipf_sampler(symbols: Sequence[str], *, exponent: float = ZIPF_EXPONENT, seed: int = 0) -> Callable[[], str]:
    """A function returning one symbol per call, symbol k (0-based) with weight 1 / (k + 1) ** exponent."""
    if not symbols:
        raise ValueError("no symbols to sample from")
    cumulative = list(itertools.accumulate(1.0 / (k + 1) ** exponent for k in range(len(symbols))))
    total = cumulative[-1]
    rng = random.Random(seed)

    def draw() -> str:
        return symbols[min(bisect.bisect_left(cumulative, rng.random() * total), len(symbols) - 1)]

    return draw


@dataclass(frozen=True)
class Call:
    name: str
    method: str
    path: str
    body: dict[str, Any] | None = None


def mix_sampler(symbols: Sequence[str], *, mix: str, seed: int = 0) -> Callable[[], Call]:
    """Calls of ``mix``: "predict" (only /predict, Zipf symbols), "desk" (``DESK_WEIGHTS``) or
    "list500" (only the day's first 500 ranked predictions, /predictions?page_size=500)."""
    draw = zipf_sampler(symbols, seed=seed)
    rng = random.Random(seed + 1)
    if mix == "predict":
        return lambda: Call("predict", "POST", "/api/v1/predict", {"symbol": draw()})
    if mix == "list500":
        return lambda: Call("predictions_500", "GET", "/api/v1/predictions?page_size=500")
    if mix != "desk":
        raise ValueError(f"unknown mix {mix!r}: predict, desk or list500")
    names = list(DESK_WEIGHTS)
    weights = list(itertools.accumulate(DESK_WEIGHTS.values()))

    def call() -> Call:
        name = names[bisect.bisect_left(weights, rng.random() * weights[-1])]
        if name == "predict":
            return Call(name, "POST", "/api/v1/predict", {"symbol": draw()})
        if name == "predict_explain":
            return Call(name, "POST", "/api/v1/predict", {"symbol": draw(), "explain": True})
        if name == "batch_predict_50":
            return Call(name, "POST", "/api/v1/batch_predict", {"items": [{"symbol": draw()} for _ in range(50)]})
        return Call(name, "GET", "/api/v1/predictions?page_size=50")

    return call
