"""Types of the C extension ``_rdbwriter.c`` (see its header comment)."""

from typing import Any

def encode_entries(data: dict[Any, Any], expires: dict[Any, Any], pos: int, budget: int,
                   hash_type: type) -> tuple[bytes, int, Any, Any]: ...

def crc64(crc: int, data: bytes | bytearray | memoryview) -> int: ...
