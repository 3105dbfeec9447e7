"""What the million-element tests share: their size, their pipeline batch and a timer."""

from __future__ import annotations

import time
from collections.abc import Callable

SIZE = 1_000_000
BATCH = 10_000  # commands per pipelined round trip while a value is built


def timed(fn: Callable[[], object], repeat: int = 50) -> float:
    """Seconds per call, the best of three rounds (the machine is shared)."""
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        for _ in range(repeat):
            fn()
        best = min(best, (time.perf_counter() - start) / repeat)
    return best
