"""Microbenchmark of the request path without sockets: parse, dispatch, encode.

Feeds pipelined frames shaped like redis-benchmark's tests straight into a
``RedisProtocol`` with a transport that discards output, so the number measures
our Python code alone (stable even on a busy machine, unlike redis-benchmark).
Prints CPU µs/request, the best of a few repeats.

Usage: ``python benchmarks/hotpath.py [--tests set,get,...] [--pipelines 1,16] [--rounds N]``.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import deque
from hashlib import sha1
from itertools import cycle, islice
from pathlib import Path

from redis.lock import Lock

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from server.main import build_server  # noqa: E402
from server.network import RedisProtocol  # noqa: E402
from tests.servers import MemoryTransport  # noqa: E402


def frame(*args: bytes) -> bytes:
    return b"*%d\r\n" % len(args) + b"".join(b"$%d\r\n%b\r\n" % (len(a), a) for a in args)


def rand(i: int) -> bytes:
    """redis-benchmark's ``__rand_int__`` with ``-r 100000`` (spread, deterministic)."""
    return b"%012d" % ((i * 7919) % 100000)


def fill(count: int, make) -> list[bytes]:
    return [make(i) for i in range(count)]


# name -> (request maker, setup frames maker or None). The requests are those redis-benchmark sends;
# the setups give the keys the size they reach in ``make bench`` (``-r 100000``: 100k members).
CASES = {
    "set": (lambda i: frame(b"SET", b"key:" + rand(i), b"xxx"), None),
    "get": (lambda i: frame(b"GET", b"key:" + rand(i)),
            lambda: fill(100000, lambda i: frame(b"SET", b"key:%012d" % i, b"xxx"))),
    "strlen": (lambda i: frame(b"STRLEN", b"key:" + rand(i)), None),
    "incr": (lambda i: frame(b"INCR", b"counter:" + rand(i)), None),
    "mset": (lambda i: frame(b"MSET", *[a for k in range(10) for a in (b"key:" + rand(i * 10 + k), b"xxx")]), None),
    "lpush": (lambda i: frame(b"LPUSH", b"mylist", b"xxx"), None),
    "rpush": (lambda i: frame(b"RPUSH", b"mylist", b"xxx"), None),
    "lpop": (lambda i: frame(b"LPOP", b"mylist"),
             lambda: fill(200, lambda i: frame(b"LPUSH", b"mylist", *[b"xxx"] * 1000))),
    "rpop": (lambda i: frame(b"RPOP", b"mylist"),
             lambda: fill(200, lambda i: frame(b"LPUSH", b"mylist", *[b"xxx"] * 1000))),
    "sadd": (lambda i: frame(b"SADD", b"myset", b"element:" + rand(i)),
             lambda: fill(100, lambda i: frame(b"SADD", b"myset", *[b"element:%012d" % (i * 1000 + k) for k in range(1000)]))),
    "hset": (lambda i: frame(b"HSET", b"myhash", b"element:" + rand(i), b"xxx"),
             lambda: fill(100, lambda i: frame(b"HSET", b"myhash", *[a for k in range(1000) for a in (
                 b"element:%012d" % (i * 1000 + k), b"xxx")]))),
    "spop": (lambda i: frame(b"SPOP", b"myset"),
             lambda: fill(200, lambda i: frame(b"SADD", b"myset", *[b"element:%d" % (i * 1000 + k) for k in range(1000)]))),
    "zadd": (lambda i: frame(b"ZADD", b"myzset", b"%d" % ((i * 31) % 100000), b"element:" + rand(i)),
             lambda: fill(100, lambda i: frame(b"ZADD", b"myzset", *[a for k in range(1000) for a in (
                 b"%d" % ((i * 1000 + k) * 37 % 100000), b"element:%012d" % (i * 1000 + k))]))),
    "zpopmin": (lambda i: frame(b"ZPOPMIN", b"myzset"),
                lambda: fill(200, lambda i: frame(b"ZADD", b"myzset", *[a for k in range(1000) for a in (
                    b"%d" % ((i * 1000 + k) * 37 % 100000), b"element:%d" % (i * 1000 + k))]))),
    "lrange_100": (lambda i: frame(b"LRANGE", b"mylist", b"0", b"99"),
                   lambda: [frame(b"LPUSH", b"mylist", *[b"xxx"] * 1000)]),
}
INCR_SCRIPT = b"return redis.call('incr', KEYS[1])"
RELEASE_SCRIPT = Lock.LUA_RELEASE_SCRIPT.encode()
CASES["evalsha_incr"] = (
    lambda i: frame(b"EVALSHA", sha1(INCR_SCRIPT).hexdigest().encode(), b"1", b"counter:" + rand(i)),
    lambda: [frame(b"SCRIPT", b"LOAD", INCR_SCRIPT)])
CASES["evalsha_release"] = (
    lambda i: frame(b"EVALSHA", sha1(RELEASE_SCRIPT).hexdigest().encode(), b"1", b"bench:lock", b"other-token"),
    lambda: [frame(b"SCRIPT", b"LOAD", RELEASE_SCRIPT), frame(b"SET", b"bench:lock", b"holder-token")])
CASES["xadd"] = (lambda i: frame(b"XADD", b"mystream", b"*", b"myfield", b"xxx"), None)
CASES["xadd_maxlen"] = (lambda i: frame(b"XADD", b"mystream", b"MAXLEN", b"~", b"1000", b"*", b"myfield", b"xxx"), None)
# benchmarks/streams.py's XRANGE case: the whole of a stream of 100 entries (as ``redis-cli --pipe`` fills it).
CASES["xrange_100"] = (lambda i: frame(b"XRANGE", b"r", b"-", b"+", b"COUNT", b"100"),
                       lambda: [frame(b"XADD", b"r", b"*", b"f", b"value1") for _ in range(100)])
# One consumer-loop step: read the next entry for the group, then acknowledge it (IDs are ``<n>-0``).
CASES["xreadgroup_xack"] = (
    lambda i: frame(b"XREADGROUP", b"GROUP", b"g", b"c1", b"COUNT", b"1", b"STREAMS", b"q", b">")
    + frame(b"XACK", b"q", b"g", b"%d-0" % (i + 1)),
    lambda: [frame(b"XADD", b"q", b"%d-0" % (n + 1), b"f", b"value1") for n in range(60000)]
    + [frame(b"XGROUP", b"CREATE", b"q", b"g", b"0")])
# benchmarks/streams.py's consumer loop: ten entries read, then those ten acknowledged (one pair a request).
CASES["xreadgroup10_xack10"] = (
    lambda i: frame(b"XREADGROUP", b"GROUP", b"g", b"c1", b"COUNT", b"10", b"STREAMS", b"q", b">")
    + frame(b"XACK", b"q", b"g", *[b"%d-0" % (i * 10 + k + 1) for k in range(10)]),
    lambda: [frame(b"XADD", b"q", b"%d-0" % (n + 1), b"f", b"value1") for n in range(60000)]
    + [frame(b"XGROUP", b"CREATE", b"q", b"g", b"0")])
# benchmarks/hll_geo_sort.py's cases: a dense HLL (as the benchmark's soon is), 10k geo members.
CASES["pfadd"] = (lambda i: frame(b"PFADD", b"visitors", b"el:%d" % ((i * 7919) % 1000000)),
                  lambda: [frame(b"PFADD", b"visitors", *[b"v%d" % i for i in range(5000)])])
CASES["pfcount"] = (lambda i: frame(b"PFCOUNT", b"visitors"),  # the cached cardinality, as in the benchmark
                    lambda: [frame(b"PFADD", b"visitors", *[b"v%d" % i for i in range(5000)]),
                             frame(b"PFCOUNT", b"visitors")])
CASES["geosearch"] = (
    lambda i: frame(b"GEOSEARCH", b"places", b"FROMLONLAT", b"15", b"37", b"BYRADIUS", b"20", b"km", b"ASC"),
    lambda: [frame(b"GEOADD", b"places", *[a for k in range(10000) for a in (
        b"%.6f" % (14 + 2 * ((k * 7919) % 10007) / 10007), b"%.6f" % (36 + 2 * ((k * 104729) % 10009) / 10009),
        b"place-%d" % k)])])
CASES["sort_1k"] = (lambda i: frame(b"SORT", b"numbers"),
                   lambda: [frame(b"RPUSH", b"numbers", *[b"%d" % ((k * 7919) % 1000003) for k in range(1000)])])
FRESH = {"xreadgroup_xack", "xreadgroup10_xack10"}  # each request must be new (no cycling over the same chunks)
CORE = ["set", "get", "incr", "mset"]


def run(name: str, pipeline: int, rounds: int = 1000, repeats: int = 5) -> float:
    """CPU time per request: the best of a few repeats (process time, not wall clock)."""
    make, setup = CASES[name]
    server = build_server(["--port", "0"])
    proto = RedisProtocol(server)
    proto.connection_made(MemoryTransport(keep=False))
    if setup is not None:
        for data in setup():
            proto.data_received(data)
    if name in ("lrange_100", "xrange_100", "sort_1k"):
        rounds //= 4 if pipeline == 1 else 8
    if name in FRESH:
        rounds = min(rounds, 60000 // (pipeline * repeats * (10 if name == "xreadgroup10_xack10" else 1)))
        feed = iter([b"".join(make(i * pipeline + j) for j in range(pipeline)) for i in range(rounds * repeats)])
    else:
        feed = cycle([b"".join(make(i * pipeline + j) for j in range(pipeline)) for i in range(50)])
    best = float("inf")
    for _ in range(repeats):
        start = time.process_time()
        # The loop runs in C (deque's consume_iterator): nothing of the driver is measured, and
        # ``valgrind --tool=callgrind --toggle-collect=consume_iterator`` counts only this.
        deque(map(proto.data_received, islice(feed, rounds)), maxlen=0)
        best = min(best, time.process_time() - start)
    per = best / (rounds * pipeline) * 1e6
    print(f"{name:<10} P{pipeline:<3} {per:6.2f} µs/request", flush=True)
    return per


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tests", default=",".join(CASES))
    parser.add_argument("--pipelines", default="1,16")
    parser.add_argument("--rounds", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=5)
    opts = parser.parse_args()
    for p in map(int, opts.pipelines.split(",")):
        for name in opts.tests.split(","):
            run(name, p, opts.rounds, opts.repeats)


if __name__ == "__main__":
    main()
