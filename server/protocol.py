"""RESP on the wire: request frames in, reply bytes out.

This layer turns bytes into frames (lists of byte strings) and reply values
into RESP2 or RESP3 bytes. It knows nothing of what commands mean.

Requests come in two shapes, as in Redis:
- multibulk (``*2\\r\\n$3\\r\\nGET\\r\\n$1\\r\\nk\\r\\n``), what every client library
  sends. hiredis's C reader parses these: it is the fast path.
- inline (``GET k\\r\\n``), what a person types in telnet. hiredis does not
  parse requests of this shape, so a small parser of our own handles them,
  and also produces Redis's exact protocol-error texts when hiredis gives up.

Replies are plain Python values chosen by commands (see ``encode``); the few
reply shapes Python has no natural type for get a small class here.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable

import hiredis

INLINE_MAX = 64 * 1024  # PROTO_INLINE_MAX_SIZE: longest header or inline line
_BIG_HEADER = re.compile(rb"\*[0-9]{7,}\r")  # a multibulk of a million elements or more


class ProtocolError(Exception):
    """Malformed input: the client gets ``-ERR Protocol error: ...`` and is disconnected."""


# --------------------------------------------------------------------------- replies


class Status(bytes):
    """A simple string reply (``+OK``)."""

    __slots__ = ()


class Error(Exception):
    """An error reply. ``message`` starts with its code (``ERR``, ``WRONGTYPE`` ...)."""

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


def encode(value: object, out: list[bytes], resp3: bool = False) -> None:
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
        size = len(value)  # type: ignore[arg-type]
        out.append(BULK_HEADERS[size] if size < 1024 else b"$%d\r\n" % size)
        out.append(value)  # type: ignore[arg-type]
        out.append(CRLF)
    elif cls is bytearray:  # copied now: the stored value may change before the output is joined
        out.append(b"$%d\r\n%b\r\n" % (len(value), value))  # type: ignore[arg-type]
    elif cls is int:
        if -1 <= value <= 10000:  # type: ignore[operator]
            out.append(_small_ints[value + 1])  # type: ignore[operator]
        else:
            out.append(b":%d\r\n" % value)
    elif cls is Status:
        out.append(b"+%b\r\n" % value)
    elif value is None:
        out.append(_NULL3 if resp3 else _NULL2)
    elif cls is list or cls is tuple:
        out.append(b"*%d\r\n" % len(value))  # type: ignore[arg-type]
        for item in value:  # type: ignore[attr-defined]
            encode(item, out, resp3)
    elif isinstance(value, Error):
        out.append(b"-%b\r\n" % value.message)
    elif cls is float:
        if resp3:
            if math.isnan(value):  # type: ignore[arg-type]
                out.append(b",nan\r\n")
            else:
                out.append(b",%b\r\n" % format_double(value))  # type: ignore[arg-type]
        else:
            text = format_double(value)  # type: ignore[arg-type]
            out.append(b"$%d\r\n%b\r\n" % (len(text), text))
    elif cls is dict:
        if resp3:
            out.append(b"%%%d\r\n" % len(value))  # type: ignore[arg-type]
        else:
            out.append(b"*%d\r\n" % (2 * len(value)))  # type: ignore[arg-type]
        for k, v in value.items():  # type: ignore[attr-defined]
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
        out.append(b"%b%d\r\n" % (mark, len(value)))  # type: ignore[arg-type]
        for item in value:  # type: ignore[attr-defined]
            encode(item, out, resp3)
    elif cls is Replies:
        for item in value:  # type: ignore[attr-defined]
            encode(item, out, resp3)
    elif cls is Verbatim:
        if resp3:
            out.append(b"=%d\r\ntxt:%b\r\n" % (len(value) + 4, value))  # type: ignore[arg-type]
        else:
            out.append(b"$%d\r\n%b\r\n" % (len(value), value))  # type: ignore[arg-type]
    elif cls is BigNumber:
        if resp3:
            out.append(b"(%b\r\n" % value)
        else:
            out.append(b"$%d\r\n%b\r\n" % (len(value), value))  # type: ignore[arg-type]
    elif isinstance(value, HumanDouble):
        text = format_human_double(value)
        out.append(b",%b\r\n" % text if resp3 else b"$%d\r\n%b\r\n" % (len(text), text))
    elif cls is Raw:
        out.append(value)  # type: ignore[arg-type]
    elif cls is memoryview:
        out.append(b"$%d\r\n" % len(value))  # type: ignore[arg-type]
        out.append(bytes(value))  # type: ignore[call-overload]
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


def _parse_length(text: bytes) -> int | None:
    """A length header as Redis's string2ll accepts it, or None."""
    if not text or len(text) > 20:
        return None
    if text[0] == ord("+"):
        return None
    try:
        value = int(text)
    except ValueError:
        return None
    if b"_" in text or b" " in text or (len(text) > 1 and text[0] == ord("0")):
        return None
    return value


class RequestParser:
    """Turns a client's byte stream into request frames.

    ``feed`` returns the complete frames found so far and, if the stream turned
    malformed, the protocol error text (the frames before it still run, then the
    connection closes, as in Redis). ``authenticated`` is asked for Redis's
    tighter limits on clients that have not logged in yet.

    Multibulk requests go to hiredis. hiredis cannot say whether it is between
    frames, and it rejects inline requests, so when it raises we work out
    whether the chunk began on a frame boundary (the previous chunk ended with
    the encoding of the last frame it completed) and, if so, parse the rest of
    the chunk with our own parser: that is how an inline request or the bare
    CRLF that ``redis-cli --pipe`` sends after the multibulk ones is read.
    """

    __slots__ = ("_reader", "_inline", "_hiredis", "_last_frame", "_since", "max_bulk_len",
                 "authenticated")

    def __init__(self, max_bulk_len: int = 512 * 1024 * 1024):
        self._reader = hiredis.Reader()
        self._inline = b""  # bytes held for the pure-Python parser
        self._hiredis = False  # hiredis has been fed and may hold part of a frame
        self._last_frame: list[bytes] | None = None  # last frame hiredis completed
        # Chunks fed since (and including) the one that completed ``_last_frame``;
        # None once too large to keep. Only read on the rare error path.
        self._since: list[bytes] | None = None
        self.max_bulk_len = max_bulk_len
        self.authenticated: Callable[[], bool] | bool = True

    def pending_bytes(self) -> int:
        """An estimate of buffered, unparsed input (for ``qbuf`` and the query buffer limit)."""
        if self._inline:
            return len(self._inline)
        return self._reader.len() if self._hiredis and self._reader.has_data() else 0

    def _history(self) -> bytes | None:
        return b"".join(self._since) if self._since is not None else None

    def _ended_on_boundary(self) -> bool:
        """Did the bytes fed so far end exactly where the last completed frame ended?"""
        if not self._hiredis:
            return True
        history, frame = self._history(), self._last_frame
        if history is None or frame is None:
            return False
        encoded = _encode_frame(frame)
        if len(history) >= len(encoded):
            return history.endswith(encoded)
        return encoded.endswith(history)

    def feed(self, data: bytes) -> tuple[list[list[bytes]], str | None]:
        if self._inline or (not self._hiredis and data[:1] != b"*"):
            return self._python_path(self._inline + data if self._inline else data)
        big = _BIG_HEADER.search(data)
        if big is None:
            return self._feed_hiredis(data)
        # A header announcing millions of elements: hiredis would allocate for all
        # of them at once, so if it is a real header (not bytes inside a value) our
        # own parser, which only allocates what arrives, takes over.
        head, tail = data[: big.start()], data[big.start() :]
        frames, error = self._feed_hiredis(head) if head else ([], None)
        if error:
            return frames, error
        if self._ended_on_boundary():
            self._reset_hiredis()
            more, error = self._python_path(tail)
        else:
            more, error = self._feed_hiredis(tail)
        return frames + more, error

    def _feed_hiredis(self, data: bytes) -> tuple[list[list[bytes]], str | None]:
        reader = self._reader
        reader.feed(data)
        frames: list = []
        try:
            while True:
                frame = reader.gets()
                if frame is False:
                    break
                if frame.__class__ is not list:
                    raise hiredis.ProtocolError("not a multibulk")
                for arg in frame:
                    if arg.__class__ is not bytes:
                        raise hiredis.ProtocolError("not a bulk")
                frames.append(frame)
        except hiredis.ProtocolError:
            # hiredis stopped at something that is not a well-formed multibulk: an
            # inline request after the arrays, or garbage. If we can tell where it
            # is, our own parser (which knows both shapes and Redis's error texts)
            # takes over from there.
            offset = self._error_offset(data, frames)
            self._reset_hiredis()
            if offset is None:
                return frames, "invalid multibulk length"
            if data[offset : offset + 1] == b"*":  # a malformed multibulk: only the error text is wanted
                _, _, error = self._parse_python(data[offset:])
                return frames, error or "invalid multibulk length"
            more, error = self._python_path(data[offset:])
            return frames + more, error
        if frames:
            self._hiredis = True
            self._last_frame = frames[-1]
            self._since = [data]
        else:
            started_on_boundary = self._ended_on_boundary()
            since = self._since
            if since is not None:
                since.append(data)
                if len(since) > 64:
                    self._since = None
            elif not self._hiredis:
                self._since = [data]
            if started_on_boundary and data[:1] == b"*" and len(data) <= INLINE_MAX:
                # A frame has begun and is incomplete: refuse absurd lengths now
                # rather than buffering toward them.
                _, _, error = self._parse_python(data, check_only=True)
                if error:
                    self._reset_hiredis()
                    return frames, error
            self._hiredis = True
        return frames, None

    def _error_offset(self, data: bytes, frames: list[list[bytes]]) -> int | None:
        """Where in ``data`` hiredis gave up: just after the frames it completed.

        The frames are re-encoded to find their end; the first may have begun in
        an earlier chunk, so each candidate end is checked against the bytes fed
        before. Runs only on the error path. None if it cannot be told.
        """
        if not frames:
            return 0 if self._ended_on_boundary() else None
        history = self._history() if self._hiredis else b""
        first = _encode_frame(frames[0])
        rest = b"".join(_encode_frame(f) for f in frames[1:])
        found = None
        end = data.find(b"\n")
        while 0 <= end and end + 1 <= len(first):
            cut = end + 1
            if first.endswith(data[:cut]) and data.startswith(rest, cut):
                seen = data[:cut] if history is None else history + data[:cut]
                if history is None or seen.endswith(first) or first.endswith(seen):
                    found = cut + len(rest)
            end = data.find(b"\n", cut)
        return found

    def _reset_hiredis(self) -> None:
        self._reader = hiredis.Reader()
        self._hiredis = False
        self._last_frame = None
        self._since = None

    def _python_path(self, data: bytes) -> tuple[list[list[bytes]], str | None]:
        frames, consumed, error = self._parse_python(data)
        rest = data[consumed:]
        if error is None and rest[:1] == b"*" and not _BIG_HEADER.match(rest):
            # Back on a frame boundary with a multibulk: hand the rest to hiredis.
            self._inline = b""
            self._reset_hiredis()
            more, error = self.feed(rest)
            return frames + more, error
        self._inline = rest
        return frames, error

    def _is_authenticated(self) -> bool:
        auth = self.authenticated
        return auth() if callable(auth) else auth

    def _parse_python(
        self, data: bytes, check_only: bool = False
    ) -> tuple[list[list[bytes]], int, str | None]:
        """Parse complete requests of either shape from ``data``.

        Returns the frames, how many bytes they used, and an error text or None.
        With ``check_only`` the headers are validated but nothing is consumed.
        """
        frames: list[list[bytes]] = []
        pos, n = 0, len(data)
        while pos < n:
            if data[pos] != ord("*"):
                if check_only:
                    return frames, pos, None
                end = data.find(b"\n", pos)
                if end < 0:
                    if n - pos > INLINE_MAX:
                        return frames, pos, "too big inline request"
                    return frames, pos, None
                line = data[pos:end]
                if line.endswith(b"\r"):
                    line = line[:-1]
                try:
                    args = split_inline(line)
                except ProtocolError as exc:
                    return frames, pos, str(exc)
                pos = end + 1
                if args:
                    frames.append(args)
                continue
            end = data.find(b"\r\n", pos)
            if end < 0:
                if n - pos > INLINE_MAX:
                    return frames, pos, "too big mbulk count string"
                return frames, pos, None
            count = _parse_length(data[pos + 1 : end])
            if count is None or count > 2147483647:
                return frames, pos, "invalid multibulk length"
            if count > 10 and not self._is_authenticated():
                return frames, pos, "unauthenticated multibulk length"
            cursor = end + 2
            args = []
            complete = True
            for _ in range(max(count, 0)):
                if cursor >= n:
                    complete = False
                    break
                if data[cursor] != ord("$"):
                    got = chr(data[cursor])
                    return frames, pos, f"expected '$', got '{got}'"
                end = data.find(b"\r\n", cursor)
                if end < 0:
                    if n - cursor > INLINE_MAX:
                        return frames, pos, "too big bulk count string"
                    complete = False
                    break
                size = _parse_length(data[cursor + 1 : end])
                if size is None or size < 0 or size > self.max_bulk_len:
                    return frames, pos, "invalid bulk length"
                if size > 16384 and not self._is_authenticated():
                    return frames, pos, "unauthenticated bulk length"
                start = end + 2
                if start + size + 2 > n:
                    complete = False
                    break
                args.append(data[start : start + size])
                cursor = start + size + 2
            if not complete or check_only:
                return frames, pos, None
            pos = cursor
            if args:
                frames.append(args)
        return frames, pos, None


def _encode_frame(frame: list[bytes]) -> bytes:
    """A request frame as a client library writes it."""
    return b"*%d\r\n" % len(frame) + b"".join(b"$%d\r\n%b\r\n" % (len(a), a) for a in frame)
