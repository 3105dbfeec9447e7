"""MULTI / EXEC / DISCARD / WATCH against redis-server, byte for byte.

Hand-written cases (and, at the end, generated sequences): Redis's errors, EXECABORT after a queue-time error, runtime
errors that do not roll back, and WATCH invalidated (or not) by writes from
another connection, expiry, FLUSHDB/FLUSHALL, SWAPDB and RENAME, in RESP2 and
RESP3. Two connections per server are driven in lockstep with ``Pair``.
"""

from __future__ import annotations

import time

import pytest
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, rule

from tests.differential.live import Pair, Pairs
from tests.differential.machines import run_machine


@pytest.fixture
def pairs(ours, real):
    make = Pairs(ours.port, real.port)
    first = make()
    first.call("FLUSHALL")
    first.call("DEBUG", "SET-ACTIVE-EXPIRE", "1")
    yield make
    first.call("DEBUG", "SET-ACTIVE-EXPIRE", "1", compare=False)
    make.close()


@pytest.mark.parametrize("resp", [2, 3])
def test_errors_outside_and_inside_multi(pairs, resp):
    c = pairs(resp)
    for cmd in (("EXEC",), ("DISCARD",), ("UNWATCH",), ("MULTI", "extra"), ("WATCH",)):
        c.check(*cmd)
    c.check("MULTI")
    c.check("MULTI")  # nested: an error that does not abort
    c.check("WATCH", "k")  # inside MULTI: an error that does not abort either
    c.check("SET", "k", "v")
    c.check("EXEC")
    c.check("GET", "k")


@pytest.mark.parametrize("resp", [2, 3])
def test_exec_refused_before_running_answers_execabort(pairs, resp):
    """Redis wraps any refusal of EXEC itself (arity, NOAUTH, RESP2 subscribed mode) in EXECABORT
    and drops the open transaction: the next EXEC has no MULTI."""
    c = pairs(resp)
    c.check("EXEC", "extra")  # no MULTI: still EXECABORT
    c.check("MULTI")
    c.check("SET", "k", "1")
    c.check("EXEC", "extra")
    c.check("EXEC")
    c.check("GET", "k")
    c.check("CONFIG", "SET", "requirepass", "pw")
    fresh = pairs(resp)
    fresh.check("EXEC")
    fresh.check("EXEC", "x")  # arity is checked before authentication
    c.check("CONFIG", "SET", "requirepass", "")
    sub = pairs(resp)
    sub.check("SUBSCRIBE", "ch")
    sub.check("EXEC")  # RESP2: refused in subscribed mode; RESP3: EXEC without MULTI
    sub.check("PING")


@pytest.mark.parametrize("resp", [2, 3])
def test_queue_time_errors_abort_with_execabort(pairs, resp):
    c = pairs(resp)
    for bad in (("SET", "k"), ("NOSUCHCOMMAND", "x"), ("CONFIG", "NOSUCH")):
        c.check("MULTI")
        c.check("SET", "k", "1")
        c.check(*bad)
        c.check("INCR", "k")
        c.check("EXEC")
        c.check("GET", "k")
    c.check("EXEC")  # the transaction is over


@pytest.mark.parametrize("resp", [2, 3])
def test_runtime_errors_do_not_roll_back(pairs, resp):
    c = pairs(resp)
    c.check("MULTI")
    c.check("SET", "a", "1")
    c.check("SADD", "a", "x")  # WRONGTYPE at run time
    c.check("INCR", "a")
    c.check("INCRBYFLOAT", "a", "0.5")
    c.check("SET", "b", "x", "EX", "-1")
    c.check("GET", "a")
    c.check("EXEC")
    c.check("MGET", "a", "b")


@pytest.mark.parametrize("resp", [2, 3])
def test_discard_and_empty_exec(pairs, resp):
    c = pairs(resp)
    c.check("MULTI")
    c.check("EXEC")
    c.check("MULTI")
    c.check("SET", "x", "1")
    c.check("DISCARD")
    c.check("EXISTS", "x")
    c.check("MULTI")
    c.check("PING")
    c.check("ECHO", "e")
    c.check("EXEC")


def test_multi_replies_of_every_shape(pairs):
    c = pairs(3)
    c.check("MULTI")
    for cmd in (("SET", "f", "1.5"), ("INCRBYFLOAT", "f", "1"), ("GET", "nokey"), ("SADD", "s", "a", "b"),
                ("SMEMBERS", "nokey"), ("CONFIG", "GET", "maxmemory"), ("TIME",)):
        c.check(*cmd)
    c.send("EXEC")
    mine = c.ours.read_reply()
    theirs = c.real.read_reply()
    # TIME differs; everything before it must match exactly.
    assert mine.split(b"*2\r\n$10\r\n")[0] == theirs.split(b"*2\r\n$10\r\n")[0]


def test_blocking_commands_do_not_block_inside_multi(pairs):
    c = pairs()
    c.check("MULTI")
    c.check("BZPOPMIN", "empty-zset", "0")
    c.check("ZADD", "z", "1", "a")
    c.check("BZPOPMIN", "z", "0")
    c.check("EXEC")


def watch_then(pairs, setup, change, watched=("k",), resp: int = 2, select: int | None = None):
    """WATCH ``watched`` on one connection, run ``change`` on another, then MULTI/PING/EXEC."""
    a, b = pairs(resp), pairs()
    for cmd in setup:
        b.check(*cmd)
    if select is not None:
        a.check("SELECT", str(select))
    a.check("WATCH", *watched)
    for cmd in change:
        b.check(*cmd)
    a.check("MULTI")
    a.check("PING")
    a.check("EXEC")
    return a, b


@pytest.mark.parametrize("resp", [2, 3])
@pytest.mark.parametrize(
    "setup, change",
    [
        ([], []),  # nothing happens: EXEC runs
        ([], [("SET", "k", "1")]),  # a write: EXEC fails
        ([("SET", "k", "1")], [("SET", "k", "1")]),  # the same value still counts
        ([], [("DEL", "k")]),  # deleting a missing key changes nothing
        ([("SET", "k", "1")], [("EXPIRE", "k", "100")]),
        ([("SET", "k", "1")], [("PERSIST", "k")]),  # no TTL to remove: no change
        ([("SET", "k", "1")], [("APPEND", "k", "x")]),
        ([("SET", "k", "1")], [("GET", "k")]),  # reads do not count
        ([("SADD", "k", "a")], [("SADD", "k", "a")]),  # nothing added
        ([("SADD", "k", "a")], [("SREM", "k", "a")]),
        ([("SET", "src", "1")], [("RENAME", "src", "k")]),
        ([("SET", "k", "1")], [("RENAME", "k", "dst")]),
        ([("SET", "k", "1")], [("FLUSHDB",)]),
        ([], [("FLUSHDB",)]),  # the key did not exist: no change
        ([("SELECT", "1"), ("SET", "k", "1"), ("SELECT", "0")], [("FLUSHALL",)]),  # other db only
        ([("SET", "k", "1")], [("FLUSHALL",)]),
        ([("SELECT", "1"), ("SET", "k", "1"), ("SELECT", "0")], [("SWAPDB", "0", "1")]),
        ([("SET", "k", "1")], [("SWAPDB", "0", "1")]),
        ([], [("SWAPDB", "0", "1")]),  # absent on both sides
        ([("SET", "k", "1")], [("MOVE", "k", "2")]),
        ([("SET", "k", "1")], [("SELECT", "3"), ("SET", "k", "2"), ("SELECT", "0")]),  # another db's k
    ],
)
def test_watch_invalidation(pairs, setup, change, resp):
    watch_then(pairs, setup, change, resp=resp)


def test_watch_in_another_db(pairs):
    watch_then(pairs, [], [("SET", "k", "1")], select=1)  # db 1's k is not the one written
    watch_then(pairs, [], [("SELECT", "1"), ("SET", "k", "1"), ("SELECT", "0")], select=1)


def test_unwatch_discard_and_exec_forget_watches(pairs):
    a, b = pairs(), pairs()
    a.check("WATCH", "k")
    a.check("UNWATCH")
    b.check("SET", "k", "1")
    a.check("MULTI")
    a.check("EXEC")
    a.check("WATCH", "k")
    a.check("MULTI")
    a.check("DISCARD")
    b.check("SET", "k", "2")
    a.check("MULTI")
    a.check("EXEC")
    a.check("WATCH", "k")
    b.check("SET", "k", "3")
    a.check("MULTI")
    a.check("EXEC")  # fails, and forgets the watch
    b.check("SET", "k", "4")
    a.check("MULTI")
    a.check("EXEC")
    a.check("WATCH", "k")
    b.check("SET", "k", "5")
    a.check("UNWATCH")  # clears the dirty mark too
    a.check("MULTI")
    a.check("EXEC")


def test_own_write_before_multi_invalidates(pairs):
    a = pairs()
    a.check("WATCH", "k")
    a.check("SET", "k", "mine")
    a.check("MULTI")
    a.check("SET", "k", "again")
    a.check("EXEC")
    a.check("GET", "k")


def test_own_writes_inside_exec_do_not_invalidate_the_next(pairs):
    a = pairs()
    a.check("WATCH", "k")
    a.check("MULTI")
    a.check("SET", "k", "1")
    a.check("EXEC")
    a.check("MULTI")
    a.check("INCR", "k")
    a.check("EXEC")


def test_watch_and_expiry(pairs):
    a, b = pairs(), pairs()
    a.check("DEBUG", "SET-ACTIVE-EXPIRE", "0")
    # A watched key whose TTL runs out before EXEC fails it, even if nobody deleted it.
    b.check("SET", "k", "v", "PX", "30")
    a.check("WATCH", "k")
    time.sleep(0.06)
    a.check("MULTI")
    a.check("PING")
    a.check("EXEC")
    # A key already expired when watched: its removal is no change...
    b.check("SET", "k", "v", "PX", "10")
    time.sleep(0.03)
    a.check("WATCH", "k")
    b.check("GET", "k")  # lazy expiry removes it
    a.check("MULTI")
    a.check("PING")
    a.check("EXEC")
    # ... nor is FLUSHDB removing it, nor leaving it alone ...
    for change in (("FLUSHDB",), ("PING",), ("DEL", "k")):
        b.check("SET", "k", "v", "PX", "10")
        time.sleep(0.03)
        a.check("WATCH", "k")
        b.check(*change)
        a.check("MULTI")
        a.check("PING")
        a.check("EXEC")
    # ... but writing a new value is.
    b.check("SET", "k", "v", "PX", "10")
    time.sleep(0.03)
    a.check("WATCH", "k")
    b.check("SET", "k", "new")
    a.check("MULTI")
    a.check("PING")
    a.check("EXEC")
    a.check("DEBUG", "SET-ACTIVE-EXPIRE", "1")


def test_watch_active_expiry(pairs):
    a, b = pairs(), pairs()
    b.check("SET", "k", "v", "PX", "20")
    a.check("WATCH", "k")
    for _ in range(200):  # wait until both servers' expiry cycles removed it
        if a.call("DBSIZE", compare=False)[0] == b":0\r\n" and a.real.call("DBSIZE") == b":0\r\n":
            break
        time.sleep(0.01)
    a.check("MULTI")
    a.check("PING")
    a.check("EXEC")


def test_served_blocked_pop_invalidates_watch(pairs):
    a, b, blocked = pairs(), pairs(), pairs()
    blocked.send("BZPOPMIN", "z", "5")
    time.sleep(0.1)
    a.check("WATCH", "z")
    b.check("ZADD", "z", "1", "m")  # served at once: the pop empties z again
    blocked.read(1)
    a.check("MULTI")
    a.check("PING")
    a.check("EXEC")


def test_reset_ends_multi_and_watch(pairs):
    a, b = pairs(), pairs()
    a.check("WATCH", "k")
    a.check("MULTI")
    a.check("SET", "k", "1")
    a.check("RESET")
    b.check("SET", "k", "2")
    a.check("MULTI")
    a.check("EXEC")
    a.check("GET", "k")


def test_monitor_and_subscribe_family_inside_exec(pairs):
    a = pairs()
    a.check("MULTI")
    a.check("MONITOR")
    a.check("EXEC")
    a.check("PING")


def test_own_keyspace_events_land_inside_the_exec_reply(pairs):
    """RESP3: Redis writes EXEC's array header first, so a client's own events come among the replies."""
    a = pairs(3)
    a.check("CONFIG", "SET", "notify-keyspace-events", "KEA")
    try:
        a.call("SUBSCRIBE", "__keyevent@0__:set", replies=1)
        a.check("MULTI")
        a.check("SET", "k", "1")
        a.check("GET", "k")
        a.check("SET", "k", "2")
        a.check("EXEC")
        a.check("SET", "k", "3")
    finally:
        a.check("CONFIG", "SET", "notify-keyspace-events", "")


def test_publish_to_self_inside_exec(pairs):
    a, other = pairs(3), pairs()
    other.call("SUBSCRIBE", "tx-self", replies=1)
    a.call("SUBSCRIBE", "tx-self", replies=1)
    a.check("MULTI")
    a.check("PUBLISH", "tx-self", "1")
    a.check("PUBLISH", "tx-self", "2")
    a.check("EXEC")
    other.read(2)


def test_quit_inside_multi(pairs):
    a = pairs()
    a.check("MULTI")
    a.check("SET", "q", "1")
    a.check("QUIT")
    b = pairs()
    b.check("EXISTS", "q")


# --------------------------------------------------------------------------- generated sequences

KEYS = st.sampled_from(["k", "j", "s"])
COMMANDS = st.one_of(
    st.sampled_from([("MULTI",), ("EXEC",), ("DISCARD",), ("UNWATCH",), ("PING",), ("SET",), ("NOSUCH",),
                     ("SELECT", "0"), ("SELECT", "1"), ("SWAPDB", "0", "1"), ("FLUSHDB",), ("DBSIZE",)]),
    st.tuples(st.just("WATCH"), KEYS),
    st.tuples(st.just("WATCH"), KEYS, KEYS),
    st.tuples(st.sampled_from(["GET", "INCR", "DEL", "PERSIST", "TYPE", "EXISTS"]), KEYS),
    st.tuples(st.just("SET"), KEYS, st.sampled_from(["1", "v", "10"])),
    st.tuples(st.just("SADD"), KEYS, st.sampled_from(["a", "b"])),
    st.tuples(st.just("EXPIRE"), KEYS, st.sampled_from(["1000", "-1"])),
    st.tuples(st.just("RENAME"), KEYS, KEYS),
)


class TransactionMachine(RuleBasedStateMachine):
    """Two clients interleave transactions, WATCHes and writes; every reply must match redis-server's."""

    ours_port = 0
    real_port = 0
    resp = 2

    def __init__(self) -> None:
        super().__init__()
        self.clients = [Pair(self.ours_port, self.real_port, resp=self.resp) for _ in range(2)]

    def teardown(self) -> None:
        for client in self.clients:
            client.close()

    @initialize()
    def empty(self) -> None:
        self.clients[0].call("FLUSHALL")

    @rule(which=st.integers(0, 1), command=COMMANDS)
    def run(self, which, command):
        self.clients[which].check(*command)


@pytest.mark.parametrize("resp", [2, 3])
def test_generated_transactions_match_redis(ours, real, resp):
    run_machine(TransactionMachine, ours, real, 25, 30, resp=resp)


def test_acl_rules_changed_before_exec(pairs):
    admin, user = pairs(), pairs()
    admin.check("ACL", "SETUSER", "tx-user", "on", "nopass", "+@all", "~*", "&*")
    try:
        user.check("AUTH", "tx-user", "any")
        user.check("MULTI")
        user.check("GET", "k")
        user.check("SET", "k2", "v")
        user.check("PUBLISH", "ch", "m")
        user.check("PING")
        admin.check("ACL", "SETUSER", "tx-user", "-get", "resetkeys", "~k", "resetchannels")
        user.check("EXEC")
    finally:
        admin.check("ACL", "DELUSER", "tx-user")
        admin.call("ACL", "LOG", "RESET", compare=False)


def test_out_of_memory_around_multi(pairs):
    admin, c = pairs(), pairs()
    c.check("MULTI")
    c.check("SET", "a", "1")
    c.check("GET", "a")
    admin.check("CONFIG", "SET", "maxmemory", "1")
    try:
        c.check("EXEC")  # a write was queued and memory is now full: aborted with the reason
        c.check("MULTI")
        c.check("GET", "a")  # while over the limit, queueing anything is refused
        c.check("EXEC")
        c.check("MULTI")
        c.check("DISCARD")
    finally:
        admin.check("CONFIG", "SET", "maxmemory", "0")
    c.check("MULTI")
    c.check("GET", "a")
    c.check("EXEC")


def test_blocked_clients_are_served_after_exec_not_between(pairs):
    """SWAPDB twice in one transaction: the list that appears and goes again serves nobody."""
    setup, blocked, c = pairs(), pairs(), pairs()
    setup.check("SELECT", "1")
    setup.check("RPUSH", "swapped-list", "x")
    blocked.send("BLPOP", "swapped-list", "1")
    time.sleep(0.1)
    c.check("MULTI")
    c.check("SWAPDB", "0", "1")
    c.check("SWAPDB", "0", "1")
    c.check("EXEC")
    blocked.read(1)  # timed out: nil, on both
    setup.check("LLEN", "swapped-list")


def test_hello_inside_multi_switches_protocol_mid_reply(pairs):
    c = pairs()
    c.check("MULTI")
    c.check("GET", "nokey")
    c.check("HELLO", "3", "SETNAME", "tx")
    c.check("GET", "nokey")
    c.send("EXEC")
    mine, theirs = c.ours.read_reply(), c.real.read_reply()
    # HELLO's map carries each server's own client id: compare around it.
    assert mine.split(b"$2\r\nid\r\n")[0] == theirs.split(b"$2\r\nid\r\n")[0]
    assert mine.split(b"$4\r\nmode\r\n")[1] == theirs.split(b"$4\r\nmode\r\n")[1]
    c.check("GET", "nokey")
