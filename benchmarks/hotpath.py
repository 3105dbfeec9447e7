"""Microbenchmark of the request path without sockets: parse, dispatch, encode.

Feeds pipelined SET/GET/INCR frames straight into a ``RedisProtocol`` with a
transport that discards output, so the number measures our Python code alone
(stable even on a busy machine, unlike redis-benchmark). Prints µs/request.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from server.main import build_server  # noqa: E402
from server.network import RedisProtocol  # noqa: E402


class NullTransport:
    def get_extra_info(self, name):
        return None

    def set_write_buffer_limits(self, high):
        pass

    def write(self, data):
        pass

    def is_closing(self):
        return False

    def close(self):
        pass

    def get_write_buffer_size(self):
        return 0

    def pause_reading(self):
        pass

    def resume_reading(self):
        pass


def frame(*args: bytes) -> bytes:
    return b"*%d\r\n" % len(args) + b"".join(b"$%d\r\n%b\r\n" % (len(a), a) for a in args)


def run(name: str, make, pipeline: int, rounds: int = 1000, repeats: int = 5) -> float:
    """CPU time per request: the best of a few repeats (process time, not wall clock)."""
    server = build_server(["--port", "0"])
    proto = RedisProtocol(server)
    proto.connection_made(NullTransport())
    chunks = [b"".join(make(i * pipeline + j) for j in range(pipeline)) for i in range(50)]
    best = float("inf")
    for _ in range(repeats):
        start = time.process_time()
        for i in range(rounds):
            proto.data_received(chunks[i % 50])
        best = min(best, time.process_time() - start)
    per = best / (rounds * pipeline) * 1e6
    print(f"{name:<6} P{pipeline:<3} {per:6.2f} µs/request")
    return per


if __name__ == "__main__":
    for p in (1, 16):
        run("SET", lambda i: frame(b"SET", b"key:%06d" % (i % 100000), b"xxx"), p)
        run("GET", lambda i: frame(b"GET", b"key:%06d" % (i % 100000)), p)
        run("INCR", lambda i: frame(b"INCR", b"counter"), p)
        run("MSET", lambda i: frame(b"MSET", *[b"key:%06d" % ((i + k) % 100000) for k in range(10) for _ in (0, 1)]), p)
