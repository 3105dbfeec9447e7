"""Types of the C extension ``_rdbwriter.c`` (see its header comment)."""

from typing import Any

def encode_strings(data: dict[Any, Any], expires: dict[Any, Any], pos: int,
                   budget: int) -> tuple[bytes, int, Any, Any]: ...

def crc64(crc: int, data: bytes | bytearray | memoryview) -> int: ...
