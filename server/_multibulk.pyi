"""Types of the C extension ``_multibulk.c`` (see its header comment)."""

from collections.abc import Callable

def split(data: bytes, authenticated: Callable[[], bool] | bool, max_bulk_len: int) -> tuple[list[list[bytes]], int]: ...
