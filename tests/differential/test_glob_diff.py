"""Glob patterns: the same answers as redis-server's matcher, at a bounded cost.

Generated patterns over the bytes that mean something to the matcher (``* ? [ ] ^ - \\``, letters of
both cases, bytes above 0x7f that C compares as negative) are checked three ways: KEYS against
redis-server on the same keys, COMMAND LIST FILTERBY PATTERN (Redis's case-insensitive use) on the
command names both servers know, and a line-by-line port of Redis 7.0's ``stringmatchlen`` for
both cases over arbitrary subjects. The pathological pattern of issue 12 must be answered at once
while another client is served.
"""

from __future__ import annotations

import socket
import threading
import time

import redis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from server.glob import glob_match
from tests.differential.harness import parse

PATTERN_BYTES = st.sampled_from(list(b"**??[[]]^^--\\\\aabbAZz\x80\xff\x00"))
SUBJECT_BYTES = st.sampled_from(list(b"abAZz]^-\\[*?\x80\xff\x00"))
PATTERNS = st.lists(PATTERN_BYTES, max_size=10).map(bytes)
SUBJECTS = st.lists(SUBJECT_BYTES, max_size=8).map(bytes)


def _c_lower(c: int) -> int:
    return c + 32 if 65 <= c <= 90 else c


def redis_stringmatchlen(pattern: bytes, string: bytes, nocase: bool) -> bool:
    """Redis 7.0.15's matcher, transcribed: signed chars, a NUL after the pattern, the pruning flag."""
    pat = [c - 256 if c >= 128 else c for c in pattern] + [0]
    sub = [c - 256 if c >= 128 else c for c in string] + [0]
    skip = [False]

    def impl(p: int, plen: int, s: int, slen: int) -> bool:
        while plen and slen:
            c = pat[p]
            if c == 42:  # '*'
                while plen and pat[p + 1] == 42:
                    p += 1
                    plen -= 1
                if plen == 1:
                    return True
                while slen:
                    if impl(p + 1, plen - 1, s, slen):
                        return True
                    if skip[0]:
                        return False
                    s += 1
                    slen -= 1
                skip[0] = True
                return False
            elif c == 63:  # '?'
                s += 1
                slen -= 1
            elif c == 91:  # '['
                p += 1
                plen -= 1
                negate = pat[p] == 94
                if negate:
                    p += 1
                    plen -= 1
                match = False
                while True:
                    if pat[p] == 92 and plen >= 2:
                        p += 1
                        plen -= 1
                        if pat[p] == sub[s]:
                            match = True
                    elif pat[p] == 93:
                        break
                    elif plen == 0:
                        p -= 1
                        plen += 1
                        break
                    elif plen >= 3 and pat[p + 1] == 45:
                        start, end, ch = pat[p], pat[p + 2], sub[s]
                        if start > end:
                            start, end = end, start
                        if nocase:
                            start, end, ch = _c_lower(start), _c_lower(end), _c_lower(ch)
                        p += 2
                        plen -= 2
                        if start <= ch <= end:
                            match = True
                    elif not nocase:
                        if pat[p] == sub[s]:
                            match = True
                    elif _c_lower(pat[p]) == _c_lower(sub[s]):
                        match = True
                    p += 1
                    plen -= 1
                if negate:
                    match = not match
                if not match:
                    return False
                s += 1
                slen -= 1
            else:
                if c == 92 and plen >= 2:
                    p += 1
                    plen -= 1
                if nocase:
                    if _c_lower(pat[p]) != _c_lower(sub[s]):
                        return False
                elif pat[p] != sub[s]:
                    return False
                s += 1
                slen -= 1
            p += 1
            plen -= 1
            if slen == 0:
                while pat[p] == 42:
                    p += 1
                    plen -= 1
                break
        return plen == 0 and slen == 0

    return impl(0, len(pattern), 0, len(string))


@settings(max_examples=3000, deadline=None)
@given(PATTERNS, SUBJECTS, st.booleans())
def test_same_answers_as_redis_matcher(pattern, subject, nocase):
    if pattern == b"*":  # the callers' shortcut: a lone star is "everything", checked before matching
        assert glob_match(pattern, subject, nocase)
    else:
        assert glob_match(pattern, subject, nocase) == redis_stringmatchlen(pattern, subject, nocase)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(PATTERNS, st.lists(SUBJECTS.filter(bool), min_size=1, max_size=8, unique=True))
def test_keys_matches_like_redis_server(diff, pattern, keys):
    diff.call("FLUSHALL", compare=False)
    args: list[object] = ["MSET"]
    for key in keys:
        args += [key, b"v"]
    diff.check(*args)
    diff.check("KEYS", pattern, sort=True)


NOCASE_PATTERN_BYTES = st.sampled_from(list(b"**??[[]]^^--\\\\aeEgGZzsS|_l"))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(NOCASE_PATTERN_BYTES, min_size=1, max_size=8).map(bytes))
def test_case_insensitive_patterns_like_redis_server(diff, pattern):
    common = set(parse(diff.ours.call("COMMAND", "LIST"))) & set(parse(diff.real.call("COMMAND", "LIST")))
    mine, theirs = diff.call("COMMAND", "LIST", "FILTERBY", "PATTERN", pattern, compare=False)
    assert set(parse(mine)) & common == set(parse(theirs)) & common, pattern


def test_pathological_pattern_answered_while_others_are_served(ours):
    r = redis.Redis(port=ours.port, socket_timeout=5)
    r.set(b"a" * 40, 1)
    r.set(b"a" * 40 + b"b", 1)
    evil = b"a*" * 20 + b"b"
    pings: list[float] = []

    def ping_meanwhile() -> None:
        other = redis.Redis(port=ours.port, socket_timeout=5)
        for _ in range(20):
            start = time.monotonic()
            assert other.ping()
            pings.append(time.monotonic() - start)
        other.close()

    pinger = threading.Thread(target=ping_meanwhile)
    start = time.monotonic()
    pinger.start()
    assert r.keys(evil) == [b"a" * 40 + b"b"]
    for _ in range(20):
        assert r.keys(b"a*" * 30 + b"c") == []
        assert list(r.scan_iter(match=evil)) == [b"a" * 40 + b"b"]
    pinger.join()
    assert time.monotonic() - start < 1.0
    assert len(pings) == 20 and max(pings) < 0.5
    r.delete(b"a" * 40, b"a" * 40 + b"b")
    r.close()


def test_psubscribe_and_config_get_still_match(ours):
    sub = redis.Redis(port=ours.port).pubsub()
    sub.psubscribe(b"news.[a-c]*")
    sub.get_message(timeout=1)
    client = redis.Redis(port=ours.port)
    assert client.publish(b"news.b1", b"x") == 1
    assert client.publish(b"news.d1", b"x") == 0
    message = sub.get_message(timeout=2)
    assert message is not None and message["data"] == b"x"
    sub.close()
    assert set(client.config_get("MAXMEM*")) == {"maxmemory", "maxmemory-clients", "maxmemory-eviction-tenacity",
                                                 "maxmemory-policy", "maxmemory-samples"}
    raw = socket.create_connection(("127.0.0.1", ours.port), timeout=5)
    raw.sendall(b"*2\r\n$4\r\nKEYS\r\n$" + b"%d\r\n" % len(b"a*" * 25 + b"b") + b"a*" * 25 + b"b\r\n")
    assert parse(raw.recv(65536)) is not None
    raw.close()
    client.close()
