"""Types of the C extension ``_hllgeo.c`` (see its header comment)."""

from array import array
from collections.abc import Iterable

def add(hll: bytearray, element: bytes, max_bytes: int) -> int: ...

def murmur64a(data: bytes) -> int: ...

def scan(keys: Iterable[bytes], kind: int, lon: float, lat: float, radius_m: float, width_m: float,
         height_m: float, limit: int, found: list[tuple[float, bytes]]) -> None: ...

def entries(ms: list[int] | array[int], seq: list[int] | array[int], rows: list[bytes | None] | bytes,
            offs: array[int], gone: set[int], j: int, k: int, rev: bool, limit: int) -> tuple[int, bytes]: ...
