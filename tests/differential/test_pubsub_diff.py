"""Pub/sub against redis-server: confirmations, messages, subscribed mode, PUBSUB, RESP3 pushes.

Every test opens the same connections on both servers (``Pair``) and compares
each reply byte for byte, including the messages a subscriber receives.
Channel names are unique per test, since the servers live for the whole session.
"""

from __future__ import annotations

import itertools

import pytest
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, rule

from tests.differential.harness import parse
from tests.differential.live import Pair, Pairs, new_fence
from tests.differential.machines import run_machine

_names = itertools.count()


@pytest.fixture
def pairs(ours, real):
    """A factory of ``Pair``s (closed at the end of the test)."""
    make = Pairs(ours.port, real.port)
    yield make
    make.close()


def unique(prefix: str) -> str:
    return f"{prefix}-{next(_names)}"


@pytest.mark.parametrize("resp", [2, 3])
def test_subscribe_confirms_each_channel_and_counts(pairs, resp):
    sub = pairs(resp)
    a, b = unique("ch"), unique("ch")
    sub.call("SUBSCRIBE", a, b, a, replies=3)
    sub.call("PSUBSCRIBE", "p*", "q?", replies=2)
    sub.call("UNSUBSCRIBE", a, replies=1)
    sub.call("UNSUBSCRIBE", "never-subscribed", replies=1)
    sub.call("PUNSUBSCRIBE", "q?", "p*", replies=2)
    sub.call("UNSUBSCRIBE", replies=1)  # only b left: the order is known
    sub.call("UNSUBSCRIBE", replies=1)  # nothing left: a null channel
    sub.call("PUNSUBSCRIBE", replies=1)
    sub.call("SUNSUBSCRIBE", replies=1)


@pytest.mark.parametrize("resp", [2, 3])
def test_messages_reach_channel_and_pattern_subscribers(pairs, resp):
    sub, pub = pairs(resp), pairs()
    news = unique("news")
    sub.call("SUBSCRIBE", news, replies=1)
    sub.call("PSUBSCRIBE", "news-*", replies=1)
    assert pub.check("PUBLISH", news, "hello") == b":2\r\n"
    sub.read(2)  # message, then pmessage
    pub.check("PUBLISH", "other", "x")
    pub.check("PUBLISH", unique("news"), b"bin\x00\xff\r\n")  # pattern only, binary payload
    sub.read(1)
    pub.check("PUBLISH", news, "")
    sub.read(2)


def test_subscriber_sees_messages_in_publish_order(pairs):
    sub, pub = pairs(), pairs()
    channel = unique("seq")
    sub.call("SUBSCRIBE", channel, replies=1)
    for i in range(50):
        pub.send("PUBLISH", channel, str(i))
    pub.read(50)
    sub.read(50)


def test_patterns_use_redis_glob(pairs):
    sub, pub = pairs(), pairs()
    tag = unique("g")
    patterns = [f"{tag}h?llo", f"{tag}h[ae]llo", f"{tag}h[^e]llo", f"{tag}h[a-b]llo", f"{tag}\\*"]
    sub.call("PSUBSCRIBE", *patterns, replies=len(patterns))
    for channel in ("hello", "hallo", "hbllo", "hxllo", "*", "heello"):
        pub.send("PUBLISH", tag + channel, "m")
        reply = pub.read(1)[0]
        count = int(reply[1:-2])
        if count == 1:
            sub.read(1)
        elif count > 1:  # several patterns of one client: Redis's order is its dict's, so compare sets
            ours = sorted(sub.ours.read_reply() for _ in range(count))
            theirs = sorted(sub.real.read_reply() for _ in range(count))
            assert ours == theirs
    sub.call("PING", replies=1)


def test_resp2_subscribed_mode_allows_only_the_subscribe_family(pairs):
    sub = pairs()
    channel, key = unique("mode"), unique("mode-key")
    sub.call("SUBSCRIBE", channel, replies=1)
    sub.check("GET", key)
    sub.check("CLIENT", "INFO")
    sub.check("PING")
    sub.check("PING", "hi")
    sub.call("PSUBSCRIBE", "x*", replies=1)
    sub.call("SSUBSCRIBE", unique("shard"), replies=1)
    sub.call("UNSUBSCRIBE", channel, replies=1)
    sub.call("PUNSUBSCRIBE", replies=1)
    sub.check("SET", key, "v")  # still subscribed to a shard channel
    sub.call("SUNSUBSCRIBE", replies=1)
    sub.check("PING")  # back to normal mode
    sub.check("DEL", key)


def test_resp3_subscriber_runs_any_command(pairs):
    sub = pairs(3)
    sub.call("SUBSCRIBE", unique("r3"), replies=1)
    sub.check("SET", "r3key", "v")
    sub.check("GET", "r3key")
    sub.check("PING")
    sub.check("DEL", "r3key")


def test_resp3_push_to_self_comes_before_the_reply_and_after_earlier_ones(pairs):
    sub = pairs(3)
    channel = unique("self")
    sub.call("SUBSCRIBE", channel, replies=1)
    sub.send("PING")
    sub.send("PUBLISH", channel, "to-myself")
    sub.send("ECHO", "after")
    sub.read(4)  # +PONG, >message, :1, $after


def test_shard_channels(pairs):
    sub, pub = pairs(), pairs()
    a, b = unique("sh"), unique("sh")
    sub.call("SSUBSCRIBE", a, b, replies=2)
    sub.call("SUBSCRIBE", a, replies=1)  # a plain channel of the same name is separate
    pub.check("SPUBLISH", a, "one")
    sub.read(1)
    pub.check("PUBLISH", a, "two")
    sub.read(1)
    pub.check("SPUBLISH", unique("sh"), "nobody")
    pub.check("PUBSUB", "SHARDNUMSUB", a, b, "none")
    pub.check("PUBSUB", "NUMSUB", a, b)
    sub.call("SUNSUBSCRIBE", b, replies=1)
    sub.call("SUNSUBSCRIBE", replies=1)


def test_pubsub_introspection(pairs):
    sub, other, query = pairs(), pairs(), pairs()
    tag = unique("intro")
    sub.call("SUBSCRIBE", f"{tag}:a", f"{tag}:b", replies=2)
    other.call("SUBSCRIBE", f"{tag}:a", replies=1)
    other.call("SSUBSCRIBE", f"{tag}:s", replies=1)
    sub.call("PSUBSCRIBE", f"{tag}:*", replies=1)
    other.call("PSUBSCRIBE", f"{tag}:*", replies=1)  # the same pattern counts once in NUMPAT
    query.check("PUBSUB", "NUMSUB", f"{tag}:a", f"{tag}:b", f"{tag}:c")
    query.check("PUBSUB", "NUMSUB")
    query.check("PUBSUB", "SHARDNUMSUB", f"{tag}:s")
    # CHANNELS lists in the order of Redis's hash table: compare as sets.
    mine = sorted(parse(query.ours.call("PUBSUB", "CHANNELS", f"{tag}:*")))
    theirs = sorted(parse(query.real.call("PUBSUB", "CHANNELS", f"{tag}:*")))
    assert mine == theirs == [f"{tag}:a".encode(), f"{tag}:b".encode()]
    query.check("PUBSUB", "SHARDCHANNELS", f"{tag}:*")
    query.check("PUBSUB", "CHANNELS", f"{tag}:nothing*")
    query.check("PUBSUB", "CHANNELS", "a", "b")
    query.check("PUBSUB", "SHARDCHANNELS", "a", "b")
    query.check("PUBSUB", "NUMPAT", "extra")
    query.check("PUBSUB", "NOSUCH")
    query.check("PUBSUB")
    query.check("SUBSCRIBE")
    query.check("PUBLISH", "only-channel")
    query.check("SPUBLISH", "a", "b", "c")


def test_the_empty_channel_name_matches_no_pattern(pairs):
    """Redis 7.0's glob never matches an empty name with a non-empty pattern, ``*`` included:
    PUBSUB CHANNELS * leaves the channel "" out (without a pattern it is listed), and a
    ``*`` subscriber does not receive what is published to ""."""
    sub, query = pairs(), pairs()
    tag = unique("empty")
    sub.call("SUBSCRIBE", "", tag, replies=2)
    sub.call("SSUBSCRIBE", "", replies=1)
    sub.call("PSUBSCRIBE", "*", replies=1)
    for args in (("CHANNELS", "*"), ("CHANNELS", "**"), ("CHANNELS",), ("SHARDCHANNELS", "*"), ("SHARDCHANNELS",)):
        mine = set(parse(query.ours.call("PUBSUB", *args)))
        theirs = set(parse(query.real.call("PUBSUB", *args)))
        assert (b"" in mine) == (b"" in theirs), args
        assert tag.encode() in mine or args[0] == "SHARDCHANNELS"
    assert b"" not in set(parse(query.ours.call("PUBSUB", "CHANNELS", "*")))
    query.check("PUBLISH", "", "m")  # "" itself only: the * pattern does not match
    query.check("PUBSUB", "NUMSUB", "")


def test_numpat_counts_distinct_patterns(pairs):
    # Other tests' subscribers are gone by now, but compare deltas to be safe.
    query = pairs()
    before = query.call("PUBSUB", "NUMPAT", compare=False)[0]
    tag = unique("np")
    a, b = pairs(), pairs()
    a.call("PSUBSCRIBE", f"{tag}*", f"{tag}?", replies=2)
    b.call("PSUBSCRIBE", f"{tag}*", replies=1)
    after = query.call("PUBSUB", "NUMPAT", compare=False)[0]
    assert int(after[1:-2]) - int(before[1:-2]) == 2


@pytest.mark.parametrize("resp", [2, 3])
def test_subscribe_inside_multi(pairs, resp):
    client = pairs(resp)
    client.check("MULTI")
    client.check("SUBSCRIBE", unique("m"))
    client.check("PSUBSCRIBE", unique("m") + "*")
    client.check("SSUBSCRIBE", unique("m"))
    client.check("PING")
    client.check("EXEC")
    client.call("RESET", replies=1)


def test_reset_and_disconnect_drop_subscriptions(pairs):
    sub, query = pairs(), pairs()
    channel = unique("gone")
    sub.call("SUBSCRIBE", channel, replies=1)
    sub.call("SSUBSCRIBE", channel, replies=1)
    query.check("PUBSUB", "NUMSUB", channel)
    sub.check("RESET")
    query.check("PUBSUB", "NUMSUB", channel)
    query.check("PUBSUB", "SHARDNUMSUB", channel)
    query.check("PUBLISH", channel, "x")
    sub.check("GET", "nokey")  # no longer in subscribed mode
    sub.call("SUBSCRIBE", channel, replies=1)
    sub.close()
    for _ in range(100):  # the servers notice the close on their next loop turn
        if query.call("PUBSUB", "NUMSUB", channel, compare=False)[0].endswith(b":0\r\n"):
            break
    query.check("PUBSUB", "NUMSUB", channel)


def test_keyspace_notification_push_shape(pairs, ours, real):
    sub, cmd = pairs(3), pairs()
    cmd.check("CONFIG", "SET", "notify-keyspace-events", "KEA")
    try:
        sub.call("SUBSCRIBE", "__keyspace@0__:kn-shape", replies=1)
        sub.call("PSUBSCRIBE", "__keyevent@0__:*", replies=1)
        cmd.check("SET", "kn-shape", "1")
        sub.read(2)
        cmd.check("DEL", "kn-shape")
        sub.read(2)
    finally:
        cmd.check("CONFIG", "SET", "notify-keyspace-events", "")


def test_pipelined_publishes_keep_every_subscribers_order(pairs):
    """Bursts of messages (which the server queues in shared batches) arrive interleaved exactly as published."""
    both_kinds, resp3, pub = pairs(), pairs(3), pairs()
    a, b = unique("burst"), unique("burst")
    both_kinds.call("SUBSCRIBE", a, b, replies=2)
    both_kinds.call("PSUBSCRIBE", a + "*", replies=1)  # a's messages also come as pmessages
    resp3.call("SUBSCRIBE", a, replies=1)
    order = [a, a, b, a, b, b, a, a, "unrelated", a]
    for i, channel in enumerate(order):
        pub.send("PUBLISH", channel, str(i))
    pub.read(len(order))
    both_kinds.read(order.count(a) * 2 + order.count(b))
    resp3.read(order.count(a))
    both_kinds.check("PING")
    resp3.check("PING")


def test_publisher_subscribed_to_its_own_channel_pipelined(pairs):
    client, other = pairs(3), pairs()
    channel = unique("own")
    client.call("SUBSCRIBE", channel, replies=1)
    other.call("SUBSCRIBE", channel, replies=1)
    for i in range(3):
        client.send("PUBLISH", channel, str(i))
    client.send("GET", "nokey")
    client.read(7)  # push, :2, push, :2, push, :2, null
    other.read(3)


def test_subscriber_replies_between_bursts(pairs):
    sub, pub = pairs(), pairs()
    channel = unique("between")
    sub.call("SUBSCRIBE", channel, replies=1)
    for round_ in range(3):
        for i in range(5):
            pub.send("PUBLISH", channel, f"{round_}-{i}")
        pub.read(5)  # published: the messages are queued before the PING below runs
        sub.send("PING", str(round_))
        sub.send("GET", "k")  # refused in subscribed mode
        sub.read(7)


# --------------------------------------------------------------------------- generated sequences

CHANNELS = st.sampled_from(["c1", "c2", "news.a", "news.b"])
PATTERNS = st.sampled_from(["news.*", "c?", "*", "n[ae]ws.a"])


class PubSubMachine(RuleBasedStateMachine):
    """Three clients (RESP2, RESP2, RESP3) subscribe, publish and ask PUBSUB in random order.

    After each step every client sends ``PING <fence>``, and what each received up
    to the fence must be the same on both servers. Replies within one step are
    compared as multisets: with several patterns matching, and for mass
    unsubscribes, Redis's order is that of its hash tables.
    """

    ours_port = 0
    real_port = 0

    def __init__(self) -> None:
        super().__init__()
        self.tag = unique("gen")
        self.clients = [Pair(self.ours_port, self.real_port, resp=resp) for resp in (2, 2, 3)]

    def teardown(self) -> None:
        for client in self.clients:
            client.close()

    def name(self, channel: str) -> str:
        return f"{self.tag}:{channel}"

    def send(self, which: int, *args: str) -> None:
        self.clients[which].send(*args)
        self.sync()

    def sync(self) -> None:
        for client in self.clients:
            fence = new_fence()
            client.send("PING", fence)
            collected = []
            for conn in (client.ours, client.real):
                seen = []
                while True:
                    reply = conn.read_reply()
                    if reply.endswith(b"%b\r\n" % fence) and b"message" not in reply:
                        break
                    seen.append(reply)
                collected.append(_normalised(seen))
            assert collected[0] == collected[1], f"\n  ours={collected[0]!r}\n  real={collected[1]!r}"

    @rule(which=st.integers(0, 2), kind=st.sampled_from(["SUBSCRIBE", "SSUBSCRIBE", "UNSUBSCRIBE", "SUNSUBSCRIBE"]),
          channels=st.lists(CHANNELS, max_size=3))
    def channel_subscription(self, which, kind, channels):
        if not channels and kind in ("SUBSCRIBE", "SSUBSCRIBE"):
            channels = ["c1"]
        self.send(which, kind, *(self.name(c) for c in channels))

    @rule(which=st.integers(0, 2), kind=st.sampled_from(["PSUBSCRIBE", "PUNSUBSCRIBE"]),
          patterns=st.lists(PATTERNS, max_size=2))
    def pattern_subscription(self, which, kind, patterns):
        if not patterns and kind == "PSUBSCRIBE":
            patterns = ["*"]
        self.send(which, kind, *(self.name(p) for p in patterns))

    @rule(which=st.integers(0, 2), kind=st.sampled_from(["PUBLISH", "SPUBLISH"]), channel=CHANNELS,
          message=st.sampled_from(["hello", "", "x" * 100]))
    def publish(self, which, kind, channel, message):
        self.send(which, kind, self.name(channel), message)

    @rule(which=st.integers(0, 2), channels=st.lists(CHANNELS, max_size=3),
          sub=st.sampled_from(["NUMSUB", "SHARDNUMSUB"]))
    def counts(self, which, channels, sub):
        self.send(which, "PUBSUB", sub, *(self.name(c) for c in channels))

    @rule(which=st.integers(0, 2))
    def reset(self, which):
        self.send(which, "RESET")
        if which == 2:
            self.clients[2].call("HELLO", "3", compare=False)


def _normalised(replies: list[bytes]) -> tuple[list, list, list]:
    """One step's replies, free of the order Redis's hash tables impose.

    A mass unsubscribe confirms channels in hash order, and each confirmation
    carries the count left at that point, so names and counts are compared as
    two multisets; every other reply is compared whole, as a multiset.
    """
    others, names, counts = [], [], []
    for reply in replies:
        value = parse(reply)
        if isinstance(value, list) and len(value) == 3 and value[0] in (b"unsubscribe", b"punsubscribe",
                                                                         b"sunsubscribe"):
            names.append(value[:2])
            counts.append(value[2])
        else:
            others.append(reply)
    return sorted(others), sorted(names, key=repr), sorted(counts)


def test_generated_pubsub_matches_redis(ours, real):
    run_machine(PubSubMachine, ours, real, 20, 25)
