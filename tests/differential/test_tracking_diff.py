"""Client-side caching compared with redis-server: replies and invalidation messages, byte for byte.

Each scenario runs on two connections per server (a tracking one and a writer),
and after every command compares what the tracking connection (and, with a
redirect, the subscribed RESP2 connection) has received, replies and pushes in
their order.
"""

from __future__ import annotations

import time

import pytest

from tests.differential.harness import RawConnection


class Side:
    """The connections of one server."""

    def __init__(self, port: int, resp: int) -> None:
        self.tracker = RawConnection(port)
        self.writer = RawConnection(port)
        self.redirect = RawConnection(port)
        if resp == 3:
            self.tracker.call("HELLO", "3")
        self.writer.call("FLUSHALL")

    def ids(self) -> tuple[int, int]:
        return (int(self.redirect.call("CLIENT", "ID")[1:-2]), int(self.tracker.call("CLIENT", "ID")[1:-2]))

    def drain(self, conn: RawConnection, wait: float = 0.05) -> bytes:
        """Everything that arrived unasked (pushes) within ``wait`` seconds."""
        conn.sock.settimeout(wait)
        try:
            while True:
                chunk = conn.sock.recv(65536)
                if not chunk:
                    break
                conn.buf += chunk
        except (TimeoutError, OSError):
            pass
        conn.sock.settimeout(10)
        data, conn.buf = conn.buf, b""
        return data

    def close(self) -> None:
        for c in (self.tracker, self.writer, self.redirect):
            c.close()


@pytest.fixture(params=[3, 2], ids=["resp3", "resp2"])
def pair(request, ours, real):
    sides = [Side(ours.port, request.param), Side(real.port, request.param)]
    yield sides, request.param
    for s in sides:
        s.close()


def run(sides: list[Side], who: str, *cmd: str, pushes_to: str = "tracker") -> None:
    """Send ``cmd`` on connection ``who`` of both servers; compare its reply and what ``pushes_to`` received."""
    replies = []
    for side in sides:
        conn = getattr(side, who)
        conn.send_raw(_encode(cmd))
        replies.append(conn.read_reply())
    assert replies[0] == replies[1], f"{cmd}: ours={replies[0]!r} real={replies[1]!r}"
    time.sleep(0.02)
    received = [side.drain(getattr(side, pushes_to)) for side in sides]
    assert received[0] == received[1], f"after {cmd} on {who}: ours={received[0]!r} real={received[1]!r}"


def _encode(cmd: tuple) -> bytes:
    from tests.differential.harness import encode_command

    return encode_command(cmd)


def test_default_mode_invalidations(pair):
    sides, resp = pair
    if resp == 2:
        for side in sides:
            redirect_id, _ = side.ids()
            side.redirect.call("SUBSCRIBE", "__redis__:invalidate")
            assert side.tracker.call("CLIENT", "TRACKING", "on", "REDIRECT", str(redirect_id)) == b"+OK\r\n"
        target = "redirect"
    else:
        run(sides, "tracker", "CLIENT", "TRACKING", "on")
        target = "tracker"
        run(sides, "tracker", "CLIENT", "TRACKINGINFO")  # (with a redirect it names a connection id)
    for cmd in (("SET", "a", "1"), ("SET", "b", "2"), ("HSET", "h", "f", "v"), ("SET", "ttl", "x", "PX", "150")):
        run(sides, "writer", *cmd)
    run(sides, "tracker", "GET", "a")
    run(sides, "tracker", "MGET", "a", "b")
    run(sides, "tracker", "HGET", "h", "f")
    run(sides, "tracker", "GET", "ttl")
    run(sides, "writer", "SET", "a", "changed", pushes_to=target)
    run(sides, "writer", "SET", "a", "again", pushes_to=target)  # forgotten after the first message
    run(sides, "writer", "HDEL", "h", "f", pushes_to=target)
    run(sides, "writer", "DEL", "b", pushes_to=target)
    time.sleep(0.3)
    run(sides, "writer", "GET", "ttl", pushes_to=target)  # expired: invalidated
    run(sides, "tracker", "GET", "a")
    run(sides, "tracker", "SET", "a", "mine")  # own change: message after the reply
    run(sides, "tracker", "GET", "a")
    run(sides, "tracker", "GET", "x")
    run(sides, "writer", "FLUSHALL", pushes_to=target)
    run(sides, "tracker", "GET", "a")
    run(sides, "tracker", "FLUSHDB")
    run(sides, "tracker", "GET", "a")
    run(sides, "tracker", "MULTI")
    run(sides, "tracker", "SET", "a", "1")
    run(sides, "tracker", "INCR", "a")
    run(sides, "tracker", "EXEC")
    run(sides, "tracker", "CLIENT", "TRACKING", "off")
    run(sides, "tracker", "CLIENT", "GETREDIR")
    run(sides, "tracker", "GET", "z")
    run(sides, "writer", "SET", "z", "1", pushes_to=target)


def test_optin_optout_noloop(pair):
    sides, resp = pair
    if resp == 2:
        return  # without a redirect, RESP2 receives no messages: covered by the redirect scenario
    run(sides, "tracker", "CLIENT", "TRACKING", "on", "OPTIN")
    run(sides, "tracker", "CLIENT", "TRACKINGINFO")
    run(sides, "tracker", "GET", "a")
    run(sides, "writer", "SET", "a", "1")
    run(sides, "tracker", "CLIENT", "CACHING", "YES")
    run(sides, "tracker", "CLIENT", "TRACKINGINFO")
    run(sides, "tracker", "GET", "b")
    run(sides, "tracker", "CLIENT", "TRACKINGINFO")
    run(sides, "writer", "SET", "b", "1")
    run(sides, "tracker", "CLIENT", "CACHING", "NO")
    run(sides, "tracker", "CLIENT", "TRACKING", "on", "OPTOUT")
    run(sides, "tracker", "CLIENT", "TRACKING", "off")
    run(sides, "tracker", "CLIENT", "TRACKING", "on", "OPTOUT", "NOLOOP")
    run(sides, "tracker", "CLIENT", "CACHING", "NO")
    run(sides, "tracker", "GET", "c")
    run(sides, "tracker", "GET", "d")
    run(sides, "writer", "MSET", "c", "1", "d", "2")
    run(sides, "tracker", "GET", "d")
    run(sides, "tracker", "SET", "d", "mine")  # NOLOOP: no message for its own change
    run(sides, "tracker", "CLIENT", "TRACKINGINFO")
    run(sides, "tracker", "CLIENT", "CACHING", "maybe")


def test_bcast_prefixes(pair):
    sides, resp = pair
    if resp == 2:
        return
    run(sides, "tracker", "CLIENT", "TRACKING", "on", "BCAST", "PREFIX", "user:", "PREFIX", "obj:")
    run(sides, "tracker", "CLIENT", "TRACKINGINFO")
    run(sides, "writer", "SET", "user:1", "x")
    run(sides, "writer", "SET", "other", "x")
    run(sides, "writer", "MSET", "obj:2", "a", "obj:1", "b", "user:0", "c")
    run(sides, "tracker", "SET", "user:9", "own")
    run(sides, "tracker", "CLIENT", "TRACKING", "on", "BCAST", "PREFIX", "use")
    run(sides, "tracker", "CLIENT", "TRACKING", "on", "BCAST", "PREFIX", "zz", "PREFIX", "zzz")
    run(sides, "tracker", "CLIENT", "TRACKING", "on", "BCAST", "PREFIX", "new")
    run(sides, "tracker", "CLIENT", "TRACKINGINFO")
    run(sides, "tracker", "CLIENT", "TRACKING", "on")
    run(sides, "tracker", "CLIENT", "TRACKING", "off")
    run(sides, "tracker", "CLIENT", "TRACKING", "on", "BCAST", "NOLOOP")
    run(sides, "tracker", "SET", "k", "own")
    run(sides, "writer", "SET", "k2", "theirs")


def test_tracking_errors(pair):
    sides, _ = pair
    for cmd in (
        ("CLIENT", "TRACKING", "maybe"), ("CLIENT", "TRACKING", "on", "PREFIX", "a"),
        ("CLIENT", "TRACKING", "on", "BCAST", "OPTIN"), ("CLIENT", "TRACKING", "on", "OPTIN", "OPTOUT"),
        ("CLIENT", "TRACKING", "on", "REDIRECT", "999999"), ("CLIENT", "TRACKING", "on", "REDIRECT", "x"),
        ("CLIENT", "TRACKING", "on", "REDIRECT"), ("CLIENT", "TRACKING", "on", "FOO"),
        ("CLIENT", "TRACKING", "on", "BCAST", "PREFIX", "a", "PREFIX", "ab"),
        ("CLIENT", "CACHING", "yes"), ("CLIENT", "GETREDIR"), ("CLIENT", "TRACKINGINFO"),
        ("CLIENT", "TRACKING", "on", "OPTIN"), ("CLIENT", "CACHING", "no"),
        ("CLIENT", "TRACKING", "on", "OPTOUT"), ("CLIENT", "TRACKING", "on", "BCAST"), ("CLIENT", "TRACKING", "off"),
        ("CLIENT", "TRACKING", "off", "BCAST"), ("CLIENT", "GETREDIR"), ("CLIENT", "CACHING"),
        ("CLIENT", "TRACKING"),
    ):
        run(sides, "tracker", *cmd)


def test_broken_redirect_and_info(ours, real):
    for port_pair in ((ours.port, real.port),):
        outputs = []
        for port in port_pair:
            tracker, other, writer = RawConnection(port), RawConnection(port), RawConnection(port)
            writer.call("FLUSHALL")
            tracker.call("HELLO", "3")
            other_id = int(other.call("CLIENT", "ID")[1:-2])
            tracker.call("CLIENT", "TRACKING", "on", "REDIRECT", str(other_id))
            tracker.call("GET", "k")
            other.close()
            time.sleep(0.1)
            writer.call("SET", "k", "1")
            time.sleep(0.05)
            got = [tracker.call("CLIENT", "GETREDIR")]
            got.append(tracker.call("CLIENT", "TRACKINGINFO"))
            got = [g.replace(b":%d\r\n" % other_id, b":ID\r\n") for g in got]
            info = writer.call("INFO", "clients").decode()
            got.append([line for line in info.split("\r\n") if line.startswith("tracking_clients")])
            info = writer.call("INFO", "stats").decode()
            got.append(sorted(line for line in info.split("\r\n") if line.startswith("tracking_total")))
            outputs.append(got)
            tracker.close()
            writer.close()
        assert outputs[0] == outputs[1]


def test_scripts_are_tracked_for_their_caller(pair):
    """Keys a script reads are tracked for the caller; its own writes are announced after its reply."""
    sides, resp = pair
    if resp == 2:
        return
    run(sides, "writer", "SET", "s1", "1")
    run(sides, "tracker", "CLIENT", "TRACKING", "on")
    run(sides, "tracker", "EVAL", "return redis.call('GET', KEYS[1])", "1", "s1")
    run(sides, "tracker", "EVAL_RO", "return 1", "1", "s2")  # EVAL_RO itself remembers nothing
    run(sides, "writer", "SET", "s2", "x")
    run(sides, "writer", "SET", "s1", "2")
    run(sides, "tracker", "GET", "s1")
    run(sides, "tracker", "EVAL", "redis.call('SET', KEYS[1], 'mine') return 7", "1", "s1")
    run(sides, "tracker", "CLIENT", "TRACKING", "off")
