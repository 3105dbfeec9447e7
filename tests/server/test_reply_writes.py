"""When replies are written: at the end of the loop turn, after every read of the turn, one
write per client (Redis writes them in beforeSleep), and at once before a close."""

from __future__ import annotations

import asyncio

from server.main import build_server
from server.network import RedisProtocol


def frame(*args: bytes) -> bytes:
    return b"*%d\r\n" % len(args) + b"".join(b"$%d\r\n%b\r\n" % (len(a), a) for a in args)


class WritesTransport:
    """A transport that records each write separately (a socket would see each as a send)."""

    def __init__(self) -> None:
        self.writes: list[bytes] = []
        self.closed = False

    def get_extra_info(self, name):
        return None

    def set_write_buffer_limits(self, high):
        pass

    def write(self, data: bytes) -> None:
        self.writes.append(data)

    def is_closing(self) -> bool:
        return self.closed

    def close(self) -> None:
        self.closed = True

    def get_write_buffer_size(self) -> int:
        return 0


def test_replies_go_out_together_at_the_end_of_the_loop_turn():
    loop = asyncio.new_event_loop()
    try:
        server = build_server(["--save", ""])
        server.loop = loop
        ends = []
        for _ in range(2):
            protocol = RedisProtocol(server)
            transport = WritesTransport()
            protocol.connection_made(transport)  # type: ignore[arg-type]
            ends.append((protocol, transport))
        (a, a_out), (b, b_out) = ends
        # The reads of one turn: nothing is written while they are served.
        a.data_received(frame(b"SET", b"k", b"1") + frame(b"GET", b"k"))
        b.data_received(frame(b"INCR", b"c"))
        a.data_received(frame(b"INCR", b"k"))  # a second read of the same client in the turn
        assert a_out.writes == [] and b_out.writes == []
        loop.run_until_complete(asyncio.sleep(0))  # the turn ends
        assert a_out.writes == [b"+OK\r\n$1\r\n1\r\n:2\r\n"]  # one write, in order
        assert b_out.writes == [b":1\r\n"]
        # A published message queued after a reply in the same turn follows it in the same write.
        b.data_received(frame(b"SUBSCRIBE", b"ch"))
        loop.run_until_complete(asyncio.sleep(0))
        a.data_received(frame(b"PUBLISH", b"ch", b"hi"))
        b.data_received(frame(b"PING"))
        loop.run_until_complete(asyncio.sleep(0))
        assert a_out.writes[-1] == b":1\r\n"
        assert b_out.writes[-1] == b"*3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$2\r\nhi\r\n*2\r\n$4\r\npong\r\n$0\r\n\r\n"
        # QUIT: its reply is written at once, then the connection closes.
        a.data_received(frame(b"GET", b"k") + frame(b"QUIT"))
        assert a_out.writes[-1] == b"$1\r\n2\r\n+OK\r\n" and a_out.closed
    finally:
        loop.close()
