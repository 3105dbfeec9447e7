"""Job functions for the rq end-to-end test (a worker imports them by dotted name)."""

from __future__ import annotations


def add(a: int, b: int) -> int:
    return a + b


def explode(message: str) -> None:
    raise ValueError(message)
