"""Replies as redis-cli sees them, and their rendering byte for byte like redis-cli.

redis-py folds status replies into strings and raises errors; redis-cli prints them
differently (`OK` versus `"OK"`, `(error) ERR ...`). So this module holds:

* small marker types for the reply kinds redis-py would otherwise blur
  (`Status`, `ErrorReply`, and the RESP3 kinds `Double`, `Verbatim`, `Map`, `RSet`, `Push`);
* `TypedRESP2Parser`, a redis-py parser that produces them (plug it into a
  connection pool with ``parser_class=TypedRESP2Parser``);
* `format_tty` and `format_raw`, ports of redis-cli's `cliFormatReplyTTY` and
  `cliFormatReplyRaw`, and `quote_repr`, its `sdscatrepr`;
* `printable`, the one way server data becomes text on a screen: control characters
  (C0, DEL, C1) and undecodable bytes are shown escaped as redis-cli quotes them, so no
  key, value, message or error can retitle, clear or drive the user's terminal.
"""

from __future__ import annotations

import re
from typing import Any

from redis._parsers.resp2 import _RESP2Parser
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import InvalidResponse
from redis.utils import SENTINEL

__all__ = [
    "Double",
    "ErrorReply",
    "Map",
    "Push",
    "RSet",
    "Status",
    "TypedRESP2Parser",
    "Verbatim",
    "format_raw",
    "format_reply",
    "format_tty",
    "has_controls",
    "printable",
    "quote_repr",
    "raw_output",
]


class Status(bytes):
    """A simple-string reply (`+OK`): redis-cli prints it without quotes."""


class ErrorReply(bytes):
    """An error reply (`-ERR ...`), kept whole (redis-py strips the `ERR ` prefix)."""

    @property
    def message(self) -> str:
        return self.decode("utf-8", "replace")


class Verbatim(bytes):
    """A RESP3 verbatim string: printed as is."""


class Double(bytes):
    """A RESP3 double, kept as the server's text."""


class Map(list):
    """A RESP3 map, as a flat list ``[k1, v1, k2, v2, ...]`` (the order is the server's)."""


class RSet(list):
    """A RESP3 set."""


class Push(list):
    """A RESP3 push message."""


class TypedRESP2Parser(_RESP2Parser):
    """redis-py's RESP2 parser, but keeping every reply kind apart, as redis-cli does.

    Bulk strings stay `bytes`; statuses become `Status`; errors are returned (not raised)
    as `ErrorReply`, so one code path prints every reply. After `HELLO 3` the same
    connection speaks RESP3, so its types (`%` maps, `~` sets, `,` doubles, ...) are read too.
    """

    def _read_response(self, disable_decoding: bool = False, timeout: Any = SENTINEL) -> Any:
        assert self._buffer is not None, "read on a connected parser only"
        raw = self._buffer.readline(timeout=timeout)
        if not raw:
            raise RedisConnectionError("Connection closed by server.")
        kind, rest = raw[:1], raw[1:]
        if kind == b"-":
            return ErrorReply(rest)
        if kind == b"+":
            return Status(rest)
        if kind in (b":", b"("):
            return int(rest)
        if kind == b"$":
            return None if rest == b"-1" else self._buffer.read(int(rest), timeout=timeout)
        if kind == b"*" and rest == b"-1":
            return None
        if kind in (b"*", b"~", b">"):
            items = [self._read_response(timeout=timeout) for _ in range(int(rest))]
            return {b"*": list, b"~": RSet, b">": Push}[kind](items)
        if kind == b"%":
            return Map(self._read_response(timeout=timeout) for _ in range(2 * int(rest)))
        if kind == b"_":
            return None
        if kind == b"#":
            return rest == b"t"
        if kind == b",":
            return Double(rest)
        if kind == b"=":
            return Verbatim(self._buffer.read(int(rest), timeout=timeout)[4:])
        if kind == b"!":
            return ErrorReply(self._buffer.read(int(rest), timeout=timeout))
        raise InvalidResponse(f"Protocol Error: {raw!r}")


# --- redis-cli's sdscatrepr ------------------------------------------------------------

_ESCAPES = {
    ord("\\"): "\\\\",
    ord('"'): '\\"',
    ord("\n"): "\\n",
    ord("\r"): "\\r",
    ord("\t"): "\\t",
    7: "\\a",
    8: "\\b",
}


def quote_repr(data: bytes) -> str:
    """Quote bytes the way redis-cli does: `"a\\nb\\x00"` (printable ASCII kept)."""
    out = ['"']
    for byte in data:
        if byte in _ESCAPES:
            out.append(_ESCAPES[byte])
        elif 32 <= byte < 127:
            out.append(chr(byte))
        else:
            out.append(f"\\x{byte:02x}")
    out.append('"')
    return "".join(out)


# --- server data on a screen --------------------------------------------------------------

# C0 controls, DEL, C1 controls, and the lone surrogates that "surrogateescape" decoding
# uses for bytes that are not UTF-8.
_CONTROLS = re.compile("[\x00-\x1f\x7f-\x9f\udc80-\udcff]")
_CONTROLS_BUT_LINES = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\udc80-\udcff]")
_CONTROL_NAMES = {0x07: "\\a", 0x08: "\\b", 0x09: "\\t", 0x0A: "\\n", 0x0D: "\\r"}


def _escape_control(match: re.Match[str]) -> str:
    code = ord(match.group())
    if code >= 0xDC80:  # a byte that was not UTF-8, kept by surrogateescape
        return f"\\x{code - 0xDC00:02x}"
    if code >= 0x80:  # a C1 control arrives as two UTF-8 bytes: show those, as redis-cli would
        return "".join(f"\\x{byte:02x}" for byte in chr(code).encode())
    return _CONTROL_NAMES.get(code) or f"\\x{code:02x}"


def printable(data: bytes | str, *, newlines: bool = False) -> str:
    """Server data as text that is safe to put on a terminal.

    UTF-8 is shown as text; bytes that are not UTF-8, and every control character
    (C0, DEL, C1), are shown as redis-cli escapes them (``\\x1b``, ``\\n``, ``\\x9b``),
    so they are visible and never reach the terminal. ``newlines`` keeps line feeds
    and tabs as they are (and CRLF line ends as line feeds), for multi-line text (a
    string value, INFO output).
    """
    if isinstance(data, bytes | bytearray | memoryview):
        text = bytes(data).decode("utf-8", "backslashreplace")
    else:
        text = data
    if text.isprintable():
        return text
    if newlines:
        return _CONTROLS_BUT_LINES.sub(_escape_control, text.replace("\r\n", "\n"))
    return _CONTROLS.sub(_escape_control, text)


def has_controls(data: bytes | str, *, newlines: bool = True) -> bool:
    """Whether ``data`` holds control characters (beyond line feeds and tabs when ``newlines``)."""
    text = data.decode("utf-8", "surrogateescape") if isinstance(data, bytes) else data
    return (_CONTROLS_BUT_LINES if newlines else _CONTROLS).search(text) is not None


# --- TTY format ------------------------------------------------------------------------


def _is_multiline(reply: Any) -> bool:
    if isinstance(reply, Map):
        return len(reply) > 2 or (len(reply) == 2 and _is_multiline(reply[1]))
    if isinstance(reply, list):
        return len(reply) > 1 or (len(reply) == 1 and _is_multiline(reply[0]))
    return False


def _empty_text(reply: list) -> str:
    if isinstance(reply, Map):
        return "(empty hash)\n"
    if isinstance(reply, RSet):
        return "(empty set)\n"
    if isinstance(reply, Push):
        return "(empty push)\n"
    return "(empty array)\n"


def _scalar_tty(reply: Any) -> str:
    if reply is None:
        return "(nil)\n"
    if isinstance(reply, bool):
        return "(true)\n" if reply else "(false)\n"
    if isinstance(reply, int):
        return f"(integer) {reply}\n"
    if isinstance(reply, ErrorReply):
        return f"(error) {printable(reply, newlines=True)}\n"
    if isinstance(reply, Status | Verbatim):
        # redis-cli writes these as they come; control bytes are escaped so they cannot drive the terminal
        return printable(reply, newlines=True) + "\n"
    if isinstance(reply, Double):
        return f"(double) {reply.decode()}\n"
    if isinstance(reply, float):
        return f"(double) {reply!r}\n"
    if isinstance(reply, str):
        reply = reply.encode()
    if isinstance(reply, Exception):
        return f"(error) {printable(str(reply), newlines=True)}\n"
    return quote_repr(bytes(reply)) + "\n"


def format_tty(reply: Any, prefix: str = "") -> str:
    """redis-cli's human format: `1) "a"`, `(integer) 1`, `(nil)`, nested indentation."""
    if not isinstance(reply, list):
        return _scalar_tty(reply)
    if not reply:
        return _empty_text(reply)
    is_map = isinstance(reply, Map)
    count = len(reply) // 2 if is_map else len(reply)
    width = len(str(count))
    child_prefix = prefix + " " * (width + 2)
    sep = "~" if isinstance(reply, RSet) else "#" if is_map else ")"
    out: list[str] = []
    step = 2 if is_map else 1
    for n, i in enumerate(range(0, len(reply), step), start=1):
        out.append(f"{'' if i == 0 else prefix}{n:>{width}}{sep} ")
        out.append(format_tty(reply[i], child_prefix))
        if is_map:
            out[-1] = out[-1][:-1] + " => "
            value = reply[i + 1]
            if _is_multiline(value):
                out.append("\n" + child_prefix)
            out.append(format_tty(value, child_prefix))
    return "".join(out)


# --- raw format ------------------------------------------------------------------------


def format_raw(reply: Any, delimiter: bytes = b"\n") -> bytes:
    """redis-cli's `--raw` format of one reply (without the trailing command delimiter)."""
    if reply is None:
        return b""
    if isinstance(reply, bool):
        return b"(true)" if reply else b"(false)"
    if isinstance(reply, int):
        return str(reply).encode()
    if isinstance(reply, ErrorReply):
        return bytes(reply) + b"\n"
    if isinstance(reply, Exception):
        return str(reply).encode() + b"\n"
    if isinstance(reply, float):
        return repr(reply).encode()
    if isinstance(reply, str):
        return reply.encode()
    if isinstance(reply, Map):
        pairs = (format_raw(reply[i]) + b" " + format_raw(reply[i + 1]) for i in range(0, len(reply), 2))
        return delimiter.join(pairs)
    if isinstance(reply, list):
        return delimiter.join(format_raw(item) for item in reply)
    return bytes(reply)


def raw_output(args: list[bytes]) -> bool:
    """Commands whose text redis-cli prints as it comes, line by line, even to a terminal.

    INFO, CLIENT LIST, CLUSTER INFO and friends answer with a report in one bulk string;
    redis-cli shows it raw rather than as one quoted line full of ``\\r\\n`` (its
    ``output_raw`` list in cliSendCommand).
    """
    if not args:
        return False
    name = args[0].lower()
    sub = args[1].lower() if len(args) > 1 else b""
    argc = len(args)
    return (
        name in (b"info", b"lolwut")
        or (name == b"debug" and sub in (b"htstats", b"htstats-key", b"client-eviction"))
        or (name == b"memory" and sub in (b"malloc-stats", b"doctor"))
        or (argc == 2 and name == b"cluster" and sub in (b"nodes", b"info"))
        or (name == b"client" and sub in (b"list", b"info"))
        or (argc == 3 and name == b"latency" and sub == b"graph")
        or (argc == 2 and name == b"latency" and sub == b"doctor")
        or (name == b"proxy" and sub == b"info")
    )


def format_reply(reply: Any, raw: bool = False) -> bytes:
    """One reply as redis-cli writes it to stdout, trailing newline included."""
    if raw:
        return format_raw(reply) + b"\n"
    return format_tty(reply).encode("utf-8", "replace")
