"""RESP on the wire: request frames in, reply bytes out.

This layer turns bytes into frames (lists of byte strings) and reply values
into RESP2 or RESP3 bytes. It knows nothing of what commands mean.

Requests come in two shapes, as in Redis:
- multibulk (``*2\\r\\n$3\\r\\nGET\\r\\n$1\\r\\nk\\r\\n``), what every client library
  sends. A small C function (server/_multibulk.c) cuts whole ones out of a
  read: it is the fast path.
- inline (``GET k\\r\\n``), what a person types in telnet. Our parser in Python
  reads these, and whatever the C function leaves (partial requests, odd
  lengths, malformed input, with Redis's exact protocol-error texts).

Replies are plain Python values chosen by commands (see ``encode``); the few
reply shapes Python has no natural type for get a small class here.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable
from itertools import chain
from typing import Any

INLINE_MAX = 64 * 1024  # PROTO_INLINE_MAX_SIZE: longest header or inline line

# Complete multibulk requests cut in C, and arrays of bulk strings written in C (server/_multibulk.c),
# built by `pip install -e .`; without it our own parser reads everything and ``encode`` writes
# every array element by element.
split: Callable[[bytes, Callable[[], bool] | bool, int], tuple[list[list[bytes]], int]] | None
encode_bulks: Callable[[list[Any] | tuple[Any, ...], bool], bytes | None] | None
try:
    from server._multibulk import encode_bulks, split
except ImportError:  # an install that did not build the extension
    split = encode_bulks = None


class ProtocolError(Exception):
    """Malformed input: the client gets ``-ERR Protocol error: ...`` and is disconnected."""


# --------------------------------------------------------------------------- replies


class Status(bytes):
    """A simple string reply (``+OK``)."""

    __slots__ = ()


class Error(Exception):
    """An error reply. ``message`` starts with its code (``ERR``, ``WRONGTYPE`` ...)."""

    # Already in INFO errorstats: a script passing on what redis.call got (Redis's
    # ERR_REPLY_FLAG_NO_STATS_UPDATE). The command still counts as failed.
    counted = False

    def __init__(self, message: str | bytes):
        if isinstance(message, str):
            message = message.encode()
        if b"\r" in message or b"\n" in message:  # user text in an error must not break the protocol
            message = message.replace(b"\r", b" ").replace(b"\n", b" ")
        self.message = message
        super().__init__(message)


class NullArray:
    """The null that RESP2 writes as ``*-1`` (RESP3 has a single null)."""

    __slots__ = ()


class Verbatim(bytes):
    """A verbatim string (RESP3 ``=``); a bulk string in RESP2. ``INFO``, ``CLIENT LIST``."""

    __slots__ = ()


class Push(list):
    """An out-of-band message: ``>`` in RESP3, a plain array in RESP2 (pub/sub)."""

    __slots__ = ()


class Replies(list):
    """Several replies to one command, written one after another (``SUBSCRIBE a b`` confirms each)."""

    __slots__ = ()


class RespSet(list):
    """A set reply: ``~`` in RESP3, an array in RESP2. Kept as a list to fix the order."""

    __slots__ = ()


class Raw(bytes):
    """Bytes that are already RESP and are written as they are."""

    __slots__ = ()


class HumanDouble(float):
    """A double Redis sends with addReplyHumanLongDouble (GEOPOS, WITHCOORD): ``%.17Lf`` with
    trailing zeros trimmed, as a bulk string in RESP2 and a double in RESP3."""


class BigNumber(bytes):
    """A RESP3 big number; a bulk string in RESP2."""

    __slots__ = ()


OK = Status(b"OK")
QUEUED = Status(b"QUEUED")
PONG = Status(b"PONG")
NULL_ARRAY = NullArray()
NO_REPLY = Raw(b"")  # what a command returns when it answers nothing (CLIENT REPLY OFF, SHUTDOWN)


def format_double(value: float) -> bytes:
    """Format a double the way Redis replies with one (``%.17g``, ``inf``, ``-inf``)."""
    if value and value.is_integer() and -1e17 < value < 1e17:
        # The usual score: ``%.17g`` writes an integral value under 1e17 as its digits, which
        # ``%d`` writes faster (no shortest-digits search). (0 is left below: it may be -0.)
        return b"%d" % value
    if math.isinf(value):
        return b"inf" if value > 0 else b"-inf"
    if value == 0:
        return b"-0" if math.copysign(1.0, value) < 0 else b"0"
    return b"%.17g" % value


def format_human_double(value: float) -> bytes:
    """Format like INCRBYFLOAT: ``%.17Lf`` with trailing zeros trimmed (long double in Redis)."""
    if math.isinf(value):
        return b"inf" if value > 0 else b"-inf"
    text = b"%.17f" % value
    if b"." in text:
        text = text.rstrip(b"0").rstrip(b".")
    if text == b"-0":
        text = b"0"
    return text


# Pre-encoded pieces of the commonest replies (the network layer encodes those inline too).
CRLF = b"\r\n"
OK_REPLY = b"+OK\r\n"
INT_REPLIES = [b":%d\r\n" % i for i in range(-1, 10001)]  # the reply for i is INT_REPLIES[i + 1]
BULK_HEADERS = [b"$%d\r\n" % n for n in range(1024)]  # the header of a bulk string of n bytes
_CRLF = CRLF
_NULL2 = b"$-1\r\n"
_NULL3 = b"_\r\n"
_small_ints = INT_REPLIES


def pair_reply(pairs: Iterable[tuple[object, object]], resp3: bool) -> list:
    """Pairs as Redis replies with them: one flat array in RESP2, an array of 2-element arrays in RESP3.

    The shape of HRANDFIELD WITHVALUES, ZRANGE WITHSCORES, ZPOPMIN with a count and the like
    (a map would lose repeats and order, so RESP3 nests instead).
    """
    if resp3:
        return [[first, second] for first, second in pairs]
    out: list = []
    append = out.append
    for first, second in pairs:
        append(first)
        append(second)
    return out


def encode(value: Any, out: list[bytes], resp3: bool = False) -> None:
    """Append the RESP encoding of ``value`` to ``out``.

    Python values map onto RESP as follows: bytes/bytearray/memoryview → bulk
    string; ``Status`` → simple string; int → integer; bool → integer (RESP2) or
    boolean (RESP3); float → bulk string (RESP2) or double (RESP3); None → null;
    list/tuple → array; dict → flat array (RESP2) or map (RESP3); ``RespSet`` →
    array or set; ``Push`` → array or push; an ``Error`` instance → error.
    """
    cls = value.__class__
    if cls is bytes:
        # Header, value and CRLF as three pieces: cheaper than formatting one, and
        # the value is not copied twice (bytes are immutable: safe to queue as they are).
        size = len(value)
        out.append(BULK_HEADERS[size] if size < 1024 else b"$%d\r\n" % size)
        out.append(value)
        out.append(CRLF)
    elif cls is bytearray:  # copied now: the stored value may change before the output is joined
        out.append(b"$%d\r\n%b\r\n" % (len(value), value))
    elif cls is int:
        if -1 <= value <= 10000:
            out.append(_small_ints[value + 1])
        else:
            out.append(b":%d\r\n" % value)
    elif cls is Status:
        out.append(b"+%b\r\n" % value)
    elif value is None:
        out.append(_NULL3 if resp3 else _NULL2)
    elif cls is list or cls is tuple:
        # An array of bulk strings and nulls, the commonest array (LRANGE, MGET, KEYS ...), is
        # written in one C call; it answers None if an element is anything else.
        data = encode_bulks(value, resp3) if encode_bulks is not None else None
        if data is not None:
            out.append(data)
            return
        out.append(b"*%d\r\n" % len(value))
        for item in value:
            encode(item, out, resp3)
    elif isinstance(value, Error):
        out.append(b"-%b\r\n" % value.message)
    elif cls is float:
        if resp3:
            if math.isnan(value):
                out.append(b",nan\r\n")
            else:
                out.append(b",%b\r\n" % format_double(value))
        else:
            text = format_double(value)
            out.append(b"$%d\r\n%b\r\n" % (len(text), text))
    elif cls is dict:
        if resp3:
            out.append(b"%%%d\r\n" % len(value))
        else:
            out.append(b"*%d\r\n" % (2 * len(value)))
        for k, v in value.items():
            encode(k, out, resp3)
            encode(v, out, resp3)
    elif cls is bool:
        if resp3:
            out.append(b"#t\r\n" if value else b"#f\r\n")
        else:
            out.append(b":1\r\n" if value else b":0\r\n")
    elif cls is NullArray:
        out.append(_NULL3 if resp3 else b"*-1\r\n")
    elif cls is RespSet or cls is Push:
        mark = (b"~" if cls is RespSet else b">") if resp3 else b"*"
        out.append(b"%b%d\r\n" % (mark, len(value)))
        for item in value:
            encode(item, out, resp3)
    elif cls is Replies:
        for item in value:
            encode(item, out, resp3)
    elif cls is Verbatim:
        if resp3:
            out.append(b"=%d\r\ntxt:%b\r\n" % (len(value) + 4, value))
        else:
            out.append(b"$%d\r\n%b\r\n" % (len(value), value))
    elif cls is BigNumber:
        if resp3:
            out.append(b"(%b\r\n" % value)
        else:
            out.append(b"$%d\r\n%b\r\n" % (len(value), value))
    elif isinstance(value, HumanDouble):
        text = format_human_double(value)
        out.append(b",%b\r\n" % text if resp3 else b"$%d\r\n%b\r\n" % (len(text), text))
    elif cls is Raw:
        out.append(value)
    elif cls is memoryview:
        out.append(b"$%d\r\n" % len(value))
        out.append(bytes(value))
        out.append(_CRLF)
    elif isinstance(value, (list, tuple)):
        out.append(b"*%d\r\n" % len(value))
        for item in value:
            encode(item, out, resp3)
    elif isinstance(value, bytes):
        out.append(b"$%d\r\n%b\r\n" % (len(value), value))
    elif isinstance(value, int):
        out.append(b":%d\r\n" % value)
    else:
        raise TypeError(f"cannot encode {cls.__name__} as a reply")


# --------------------------------------------------------------------------- requests


def split_inline(line: bytes) -> list[bytes]:
    """Split an inline request like Redis's ``sdssplitargs``: quotes and escapes."""
    args: list[bytes] = []
    i, n = 0, len(line)
    while True:
        while i < n and line[i] in b" \n\r\t\v\f":
            i += 1
        if i >= n:
            return args
        current = bytearray()
        in_double = in_single = False
        while True:
            if in_double:
                if i >= n:
                    raise ProtocolError("unbalanced quotes in request")
                c = line[i]
                if (
                    c == 0x5C  # backslash
                    and i + 3 < n
                    and line[i + 1] == ord("x")
                    and _is_hex(line[i + 2])
                    and _is_hex(line[i + 3])
                ):
                    current.append(int(line[i + 2 : i + 4], 16))
                    i += 3
                elif c == 0x5C and i + 1 < n:
                    i += 1
                    current.append(_ESCAPES.get(line[i], line[i]))
                elif c == ord('"'):
                    # A closing quote must be followed by a space or nothing.
                    if i + 1 < n and line[i + 1] not in b" \n\r\t\v\f":
                        raise ProtocolError("unbalanced quotes in request")
                    in_double = False
                    i += 1
                    break
                else:
                    current.append(c)
            elif in_single:
                if i >= n:
                    raise ProtocolError("unbalanced quotes in request")
                c = line[i]
                if c == 0x5C and i + 1 < n and line[i + 1] == ord("'"):
                    i += 1
                    current.append(ord("'"))
                elif c == ord("'"):
                    if i + 1 < n and line[i + 1] not in b" \n\r\t\v\f":
                        raise ProtocolError("unbalanced quotes in request")
                    in_single = False
                    i += 1
                    break
                else:
                    current.append(c)
            else:
                if i >= n:
                    break
                c = line[i]
                if c in b" \n\r\t\v\f":
                    break
                if c == ord('"'):
                    in_double = True
                elif c == ord("'"):
                    in_single = True
                else:
                    current.append(c)
            i += 1
        args.append(bytes(current))


_ESCAPES = {ord("n"): 10, ord("r"): 13, ord("t"): 9, ord("b"): 8, ord("a"): 7}


def _is_hex(c: int) -> bool:
    return c in b"0123456789abcdefABCDEF"


_LENGTH = re.compile(rb"-?[1-9][0-9]{0,18}|0")
_LLONG = 2**63


def _parse_length(text: bytes) -> int | None:
    """A length header as Redis's string2ll accepts it (no sign ``+``, no leading zeros), or None."""
    if _LENGTH.fullmatch(text) is None:
        return None
    value = int(text)
    return value if -_LLONG <= value < _LLONG else None


class RequestParser:
    """Turns a client's byte stream into request frames, with Redis 7.0's limits and errors.

    ``feed`` returns the complete frames found so far and, if the stream turned malformed, the
    protocol error text (the frames before it still run, then the connection closes, as in
    Redis). ``authenticated`` is asked for Redis's tighter limits on clients that have not
    logged in yet (10 arguments, bulks of 16 KB).

    Two parsers share the stream. Our own, in Python, follows Redis's ``processMultibulkBuffer``
    and ``processInlineBuffer``: it keeps the state of a partial request between reads (the
    arguments read so far, the pending bulk length), so a request of a million arguments is
    read in linear time, and it checks every header as soon as its line is complete (64 KB at
    most for a line, ``proto-max-bulk-len``, the unauthenticated limits). It is the reference.
    In front of it, when the stream is between requests, ``split`` (server/_multibulk.c) cuts
    the read's complete, canonical multibulks in C, the shape every client library sends, and
    stops at anything else; our parser reads on from there, and hands the stream back at the
    next request boundary. (hiredis, a reply parser, is not used here: it takes reply types
    inside requests, and allocates a list as long as any header asks before the bytes arrive.)
    """

    __slots__ = ("held", "_args", "_left", "_bulk", "max_bulk_len", "authenticated", "whole", "deferred")

    def __init__(self, max_bulk_len: int = 512 * 1024 * 1024):
        self.held = bytearray()  # unparsed bytes held by our own parser (the query buffer)
        self._args: list[bytes] = []  # arguments of the multibulk being read
        self._left = 0  # arguments still to read in that multibulk (0: between requests)
        self._bulk = -1  # length of the next argument once its header is read
        self.max_bulk_len = max_bulk_len
        self.authenticated: Callable[[], bool] | bool = True
        # The last read was exactly the frames ``feed`` returned, every length canonical (``split``
        # read all of it): the replication stream may forward its bytes as they came.
        self.whole = False
        # A request past the unauthenticated limits came after others in the same read: it is held
        # until they have run (one may be AUTH), then read again by ``feed(b"")``.
        self.deferred = False

    def pending_bytes(self) -> int:
        """Buffered, unparsed input (``qbuf``, the query buffer limit)."""
        return len(self.held)

    def peek(self, size: int) -> bytes:
        """The first ``size`` unparsed bytes (for the log line of a client that is dropped)."""
        return bytes(self.held[:size])

    def feed(self, data: bytes, earlier: bool = False) -> tuple[list[list[bytes]], str | None]:
        """The requests completed by ``data``, and the protocol error that ends the stream if any.
        (``earlier``: requests of the same read came before ``data``; see ``deferred``.)"""
        if self.held or self._left or split is None:
            self.whole = False
            return self._own(data, earlier)
        frames, used = split(data, self.authenticated, self.max_bulk_len)
        if used == len(data):  # the common case: whole requests only
            self.whole = True
            return frames, None
        self.whole = False
        if not used:
            return self._own(data, earlier)
        more, error = self._own(data[used:], True)
        return frames + more, error

    def _is_authenticated(self) -> bool:
        auth = self.authenticated
        return auth() if callable(auth) else auth

    def _own(self, data: bytes, earlier: bool = False) -> tuple[list[list[bytes]], str | None]:
        """Our parser: everything held plus ``data``; hands back to ``split`` between requests.
        (A read is copied as little as possible: on a big pipeline each copy is a copy of it.)"""
        buf = self.held
        if buf:
            buf += data
            if self._bulk >= 0 and len(buf) < self._bulk + 2:
                return [], None  # still inside a long argument: nothing to parse (nor to copy) yet
            data = bytes(buf)
            buf.clear()
        elif self._bulk >= 0 and len(data) < self._bulk + 2:
            buf += data
            return [], None
        frames: list[list[bytes]] = []
        pos, error = self._parse(data, frames, earlier)
        if pos < len(data):
            if (error is None and pos and not self._left and not self.deferred and data[pos] == 0x2A
                    and split is not None):  # between requests again: ``split`` reads on
                more, error = self.feed(data[pos:], earlier or bool(frames))
                frames += more
                self.whole = False  # (that was the rest of the read only)
            else:
                buf += memoryview(data)[pos:]  # the part of a request read so far (the query buffer)
        return frames, error

    def _parse(self, data: bytes, frames: list[list[bytes]], earlier: bool = False) -> tuple[int, str | None]:
        """Read complete requests from ``data`` into ``frames``: (bytes used, error or None).

        A partial multibulk leaves its state in ``_left``/``_args``/``_bulk`` for the next read.
        ``earlier``: requests of this read came before ``data`` (see ``deferred``).
        """
        pos, n = 0, len(data)
        find = data.find
        lengths = _SMALL_LENGTHS
        while pos < n:
            if not self._left:
                if data[pos] != 0x2A:  # not '*': an inline request, up to its line end
                    end = find(b"\n", pos)
                    if end < 0:
                        return pos, ("too big inline request" if n - pos > INLINE_MAX else None)
                    line = data[pos : end - 1 if end > pos and data[end - 1] == 0x0D else end]
                    try:
                        inline = split_inline(line)
                    except ProtocolError as exc:
                        return pos, str(exc)
                    pos = end + 1
                    if inline:
                        frames.append(inline)
                    continue
                end = find(b"\r", pos)
                if end < 0 or end > n - 2:  # the line, and the byte after its \r, must be here
                    too_big = n - pos > INLINE_MAX
                    return pos, ("too big mbulk count string" if too_big else None)
                count = _parse_length(data[pos + 1 : end])
                if count is None or count > 2147483647:
                    return pos, "invalid multibulk length"
                if count > 10 and not self._is_authenticated():
                    if earlier or frames:  # Redis checks it after they ran: wait for them
                        self.deferred = True
                        return pos, None
                    return pos, "unauthenticated multibulk length"
                pos = end + 2
                if count <= 0:  # *0 and *-1: nothing to run, as in Redis
                    continue
                self._left = count
                self._args = []
                self._bulk = -1
            # The arguments, in a tight loop (a request may have millions of them).
            args = self._args
            append = args.append
            left = self._left
            size = self._bulk
            while left:
                if size < 0:
                    end = find(b"\r", pos)
                    if end < 0 or end > n - 2:
                        self._left, self._bulk = left, -1
                        return pos, ("too big bulk count string" if n - pos > INLINE_MAX else None)
                    if data[pos] != 0x24:  # '$'
                        return pos, f"expected '$', got '{chr(data[pos])}'"
                    size = lengths.get(data[pos + 1 : end], -1)  # small ones pass every limit
                    if size < 0:
                        parsed = _parse_length(data[pos + 1 : end])
                        if parsed is None or parsed < 0 or parsed > self.max_bulk_len:
                            return pos, "invalid bulk length"
                        if parsed > 16384 and not self._is_authenticated():
                            if earlier or frames:
                                self.deferred = True
                                self._left, self._bulk = left, -1
                                return pos, None
                            return pos, "unauthenticated bulk length"
                        size = parsed
                    pos = end + 2
                if n - pos < size + 2:
                    self._left, self._bulk = left, size
                    return pos, None
                append(data[pos : pos + size])
                pos += size + 2  # Redis skips the two bytes after a bulk without looking at them
                size = -1
                left -= 1
            self._left, self._bulk = 0, -1
            frames.append(args)
            self._args = []
        return pos, None


_SMALL_LENGTHS = {b"%d" % n: n for n in range(1024)}
_BULK_OVERHEAD = [len(b"$%d\r\n\r\n" % n) for n in range(1024)]


def _frame_size(frame: list[bytes]) -> int:
    """How many bytes ``frame`` took on the wire, written as client libraries write it."""
    size = len(b"*%d\r\n" % len(frame))
    for arg in frame:
        n = len(arg)
        size += n + (_BULK_OVERHEAD[n] if n < 1024 else len(b"$%d\r\n\r\n" % n))
    return size


_HEADER_SIZES = [len(b"*%d\r\n" % n) for n in range(64)]
_BULK_SIZES = [len(b"$%d\r\n\r\n" % n) for n in range(4096)]


def wire_size(frames: list[list[bytes]]) -> int:
    """How many bytes ``frames`` took on the wire as canonical RESP (``_frame_size`` of them
    all), summed with C-level loops: a replica sizes every command of its master's stream."""
    lengths = list(map(len, chain.from_iterable(frames)))
    try:
        return (sum(lengths) + sum(map(_BULK_SIZES.__getitem__, lengths))
                + sum(map(_HEADER_SIZES.__getitem__, map(len, frames))))
    except IndexError:  # a long argument, or many of them
        return sum(map(_frame_size, frames))

