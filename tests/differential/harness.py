"""Send the same commands to our server and to redis-server and compare the raw replies.

Replies are read as raw RESP bytes, so the comparison is byte for byte:
types, lengths, error texts and float formatting all have to agree. A few
replies are legitimately unordered (SMEMBERS, HGETALL ...): ``sort=True``
compares their elements as a multiset.
"""

from __future__ import annotations

import socket

import hiredis


def encode_command(args: tuple) -> bytes:
    parts = [b"*%d\r\n" % len(args)]
    for arg in args:
        if isinstance(arg, str):
            arg = arg.encode()
        elif isinstance(arg, (int, float)):
            arg = repr(arg).encode() if isinstance(arg, float) else b"%d" % arg
        parts.append(b"$%d\r\n%s\r\n" % (len(arg), arg))
    return b"".join(parts)


class RawConnection:
    """A socket that sends commands and returns each reply as its exact bytes."""

    def __init__(self, port: int, timeout: float = 10.0):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.buf = b""

    def send_raw(self, data: bytes) -> None:
        self.sock.sendall(data)

    def call(self, *args) -> bytes:
        self.send_raw(encode_command(args))
        return self.read_reply()

    def _fill(self) -> None:
        chunk = self.sock.recv(65536)
        if not chunk:
            raise ConnectionError("connection closed")
        self.buf += chunk

    def _line(self, pos: int) -> int:
        while True:
            end = self.buf.find(b"\r\n", pos)
            if end >= 0:
                return end
            self._fill()

    def _skip(self, pos: int) -> int:
        """Position just after the reply starting at ``pos``."""
        end = self._line(pos)
        kind = self.buf[pos : pos + 1]
        header = self.buf[pos + 1 : end]
        pos = end + 2
        if kind in (b"$", b"=", b"!"):
            size = int(header)
            if size < 0:
                return pos
            while len(self.buf) < pos + size + 2:
                self._fill()
            return pos + size + 2
        if kind in (b"*", b">", b"~", b"%", b"|"):
            count = int(header)
            if kind in (b"%", b"|"):
                count *= 2
            for _ in range(max(count, 0)):
                pos = self._skip(pos)
            if kind == b"|":
                pos = self._skip(pos)
            return pos
        return pos

    def read_reply(self) -> bytes:
        end = self._skip(0)
        reply, self.buf = self.buf[:end], self.buf[end:]
        return reply

    def close(self) -> None:
        self.sock.close()


def _end_of(buf: bytes, pos: int) -> int:
    """Where the complete RESP value starting at ``pos`` of ``buf`` ends."""
    end = buf.index(b"\r\n", pos)
    kind, header = buf[pos : pos + 1], buf[pos + 1 : end]
    pos = end + 2
    if kind in (b"$", b"=", b"!"):
        size = int(header)
        return pos if size < 0 else pos + size + 2
    if kind in (b"*", b">", b"~", b"%", b"|"):
        count = max(int(header), 0) * (2 if kind in (b"%", b"|") else 1) + (1 if kind == b"|" else 0)
        for _ in range(count):
            pos = _end_of(buf, pos)
    return pos


def raw_elements(reply: bytes) -> tuple[bytes, list[bytes]]:
    """An aggregate reply split into its header line and the exact bytes of each element."""
    start = reply.index(b"\r\n") + 2
    items, pos = [], start
    while pos < len(reply):
        end = _end_of(reply, pos)
        items.append(reply[pos:end])
        pos = end
    return reply[:start], items


def parse(reply: bytes):
    reader = hiredis.Reader()
    reader.feed(reply)
    return reader.gets()


def _sorted_reply(reply: bytes):
    value = parse(reply)
    if isinstance(value, list):
        return sorted(value, key=repr)
    return value


class Differ:
    def __init__(self, our_port: int, real_port: int, resp: int = 2):
        self.ours = RawConnection(our_port)
        self.real = RawConnection(real_port)
        self.resp = resp
        if resp == 3:
            self.call("HELLO", "3", compare=False)

    def call(self, *args, compare: bool = True, sort: bool = False):
        mine = self.ours.call(*args)
        theirs = self.real.call(*args)
        if compare:
            if sort:
                assert _sorted_reply(mine) == _sorted_reply(theirs), f"{args!r}: ours={mine!r} real={theirs!r}"
            else:
                assert mine == theirs, f"{args!r}:\n  ours={mine!r}\n  real={theirs!r}"
        return mine, theirs

    def check(self, *args, sort: bool = False) -> bytes:
        """Run a command on both servers and assert identical replies; returns the reply."""
        mine, _ = self.call(*args, sort=sort)
        return mine

    def check_all(self, commands: list) -> None:
        for cmd in commands:
            if isinstance(cmd, str):
                cmd = tuple(cmd.split())
            self.check(*cmd)

    def flush(self) -> None:
        self.call("FLUSHALL", compare=False)
        self.call("SELECT", "0", compare=False)

    def close(self) -> None:
        self.ours.close()
        self.real.close()
