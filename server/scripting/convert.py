"""Replies ⇄ Lua values, with Redis's rules (script_lua.c).

Into Lua (a ``redis.call`` reply, in the protocol the script chose with
``redis.setresp``): integers become numbers, bulk strings strings, a RESP2 null
``false``, a status ``{ok=...}``, an error ``{err=...}``; RESP3 adds
``{map=...}``, ``{set=...}``, ``{double=...}``, ``{big_number=...}``,
``{verbatim_string={format=..., string=...}}``, booleans and ``nil``.

Out of Lua (a script's return value): numbers are cast to integers as C does,
tables end at their first nil, ``true`` is 1 in RESP2 and ``false`` a null.
"""

from __future__ import annotations

import math
from typing import Any

from server.protocol import (
    BigNumber,
    Error,
    NullArray,
    Raw,
    RespSet,
    Status,
    Verbatim,
    encode,
    format_double,
)

LLONG_MIN = -(1 << 63)
MAX_DEPTH = 200  # nesting deeper than this in a reply is cut with an error (Redis: its Lua stack limit)


def error_text(err: bytes) -> bytes:
    """Redis's luaPushErrorBuff: ``-CODE msg`` or ``msg`` → ``CODE msg`` (ERR when no code)."""
    if err[:1] == b"-":
        code, sep, msg = err[1:].partition(b" ")
        if not sep:
            code, msg = b"ERR", err[1:]
    else:
        code, msg = b"ERR", err
    return code + b" " + msg.strip(b"\r\n")


def lua_int(value: float) -> int:
    """``(long long)value`` as x86-64 computes it: truncation, INT64_MIN when out of range."""
    if isinstance(value, int):
        return value if LLONG_MIN <= value < (1 << 63) else LLONG_MIN
    if math.isnan(value) or not -9.223372036854775808e18 <= value < 9.223372036854775808e18:
        return LLONG_MIN
    return int(value)


def to_lua(runtime: Any, reply: object, resp3: bool, depth: int = 0) -> Any:
    """A command's reply as the Lua value ``redis.call`` returns."""
    if isinstance(reply, bool):
        return reply if resp3 else int(reply)
    if reply is None or isinstance(reply, NullArray):
        return None if resp3 else False
    if isinstance(reply, int):
        return reply
    if isinstance(reply, Status):
        return runtime.table_from({b"ok": bytes(reply)})
    if isinstance(reply, Raw):  # already RESP: read it back
        return to_lua(runtime, parse_resp(bytes(reply)), resp3, depth)
    if isinstance(reply, BigNumber):
        return runtime.table_from({b"big_number": bytes(reply)}) if resp3 else bytes(reply)
    if isinstance(reply, Verbatim):
        if resp3:
            inner = runtime.table_from({b"format": b"txt", b"string": bytes(reply)})
            return runtime.table_from({b"verbatim_string": inner})
        return bytes(reply)
    if isinstance(reply, (bytes, bytearray, memoryview)):
        return bytes(reply)
    if isinstance(reply, RespSet) and resp3:
        inner = runtime.table_from({to_lua(runtime, k, resp3, depth + 1): True for k in reply})
        return runtime.table_from({b"set": inner})
    if isinstance(reply, (list, tuple)):
        return runtime.table_from([to_lua(runtime, item, resp3, depth + 1) for item in reply])
    if isinstance(reply, dict):
        if resp3:
            inner = runtime.table_from({to_lua(runtime, k, resp3, depth + 1): to_lua(runtime, v, resp3, depth + 1)
                                        for k, v in reply.items()})
            return runtime.table_from({b"map": inner})
        flat = []
        for k, v in reply.items():
            flat.append(to_lua(runtime, k, resp3, depth + 1))
            flat.append(to_lua(runtime, v, resp3, depth + 1))
        return runtime.table_from(flat)
    if isinstance(reply, float):
        if resp3:
            return runtime.table_from({b"double": reply})
        return format_double(reply)
    if isinstance(reply, Error):
        return runtime.table_from({b"err": error_text(b"-" + reply.message)})
    out: list[bytes] = []
    encode(reply, out, resp3)
    return to_lua(runtime, parse_resp(b"".join(out)), resp3, depth)


def parse_resp(data: bytes) -> object:
    """One RESP reply back into the values ``encode`` takes (for ``Raw`` replies)."""
    value, _ = _parse(data, 0)
    return value


def _parse(data: bytes, pos: int) -> tuple[object, int]:
    end = data.index(b"\r\n", pos)
    kind = data[pos:pos + 1]
    head = data[pos + 1:end]
    pos = end + 2
    if kind == b"+":
        return Status(head), pos
    if kind == b"-":
        return Error(head), pos
    if kind == b":":
        return int(head), pos
    if kind in (b"$", b"=", b"!"):
        size = int(head)
        if size < 0:
            return None, pos
        body = data[pos:pos + size]
        if kind == b"=":
            return Verbatim(body[4:]), pos + size + 2
        return body, pos + size + 2
    if kind == b"_":
        return None, pos
    if kind == b"#":
        return head == b"t", pos
    if kind == b",":
        return float(head), pos
    if kind == b"(":
        return BigNumber(head), pos
    if kind in (b"*", b"~", b">"):
        count = int(head)
        if count < 0:
            return None, pos
        items = []
        for _ in range(count):
            item, pos = _parse(data, pos)
            items.append(item)
        return (RespSet(items) if kind == b"~" else items), pos
    if kind == b"%":
        mapping = {}
        for _ in range(int(head)):
            k, pos = _parse(data, pos)
            v, pos = _parse(data, pos)
            mapping[k] = v
        return mapping, pos
    raise ValueError("unexpected RESP type")


def from_lua(shape: Any, value: Any, script_resp3: bool, depth: int = 0) -> object:
    """A script's Lua return value as a reply (``shape`` is the sandbox's table classifier)."""
    cls = value.__class__
    if cls is bytes:
        return value
    if cls is int or cls is float:
        return lua_int(value)
    if cls is bool:
        if script_resp3:
            return value
        return 1 if value else None
    if value is None:
        return None
    if depth > MAX_DEPTH:
        return Error(b"ERR reached lua stack limit")
    result = shape(value)
    if result.__class__ is not tuple:  # not a table (a function, a coroutine ...): a null, as Redis replies
        return None
    kind, payload, *rest = result
    rest.append(0)
    if kind == b"err":
        error = Error(payload)
        error.counted = rest[0] is True  # redis.call's error, counted when it happened
        return error
    if kind == b"ok":
        return Status(payload.replace(b"\r", b" ").replace(b"\n", b" "))
    if kind == b"double":
        return float(payload)
    if kind == b"big_number":
        return BigNumber(payload.replace(b"\r", b" ").replace(b"\n", b" "))
    if kind == b"verbatim":
        fmt, text = payload[1], payload[2]
        if fmt == b"txt":
            return Verbatim(text)
        return VerbatimAs(fmt[:3], text)
    count = rest[0] or 0
    items = [from_lua(shape, payload[i], script_resp3, depth + 1) for i in range(1, count + 1)]
    if kind == b"map":
        return MapPairs(items)
    if kind == b"set":
        return RespSet(items)
    return items


class MapPairs(list):
    """A map reply kept as its flat key, value list (Lua keys need not be hashable replies)."""

    __slots__ = ()


class VerbatimAs(bytes):
    """A verbatim string with a format other than ``txt``."""

    fmt: bytes = b"txt"

    def __new__(cls, fmt: bytes, text: bytes) -> VerbatimAs:
        obj = super().__new__(cls, text)
        obj.fmt = fmt.ljust(3, b"\0")[:3]
        return obj


def finish(reply: object, resp3: bool) -> object:
    """Turn the helper types above into RESP the encoder writes."""
    if isinstance(reply, (MapPairs, VerbatimAs)):
        out: list[bytes] = []
        _write(reply, out, resp3)
        return Raw(b"".join(out))
    if isinstance(reply, RespSet):
        return RespSet([finish(item, resp3) for item in reply])
    if isinstance(reply, list):
        return [finish(item, resp3) for item in reply]
    return reply


def _write(reply: object, out: list[bytes], resp3: bool) -> None:
    if isinstance(reply, MapPairs):
        n = len(reply) // 2
        out.append(b"%%%d\r\n" % n if resp3 else b"*%d\r\n" % (2 * n))
        for item in reply:
            _write(item, out, resp3)
    elif isinstance(reply, VerbatimAs):
        if resp3:
            out.append(b"=%d\r\n%b:%b\r\n" % (len(reply) + 4, reply.fmt, bytes(reply)))
        else:
            out.append(b"$%d\r\n%b\r\n" % (len(reply), bytes(reply)))
    elif isinstance(reply, RespSet):
        out.append((b"~%d\r\n" if resp3 else b"*%d\r\n") % len(reply))
        for item in reply:
            _write(item, out, resp3)
    elif isinstance(reply, list):
        out.append(b"*%d\r\n" % len(reply))
        for item in reply:
            _write(item, out, resp3)
    else:
        encode(reply, out, resp3)
