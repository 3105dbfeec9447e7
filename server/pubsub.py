"""Publish/subscribe: who listens where, and getting each message to them.

Three kinds of subscription, each a map from a name to the clients holding it
(in subscription order, which is the order Redis 7.0 delivers in):

- channels (SUBSCRIBE): a message reaches a channel's subscribers as
  ``message <channel> <payload>``;
- patterns (PSUBSCRIBE): every pattern that matches the channel (same glob as
  KEYS) delivers ``pmessage <pattern> <channel> <payload>`` to its subscribers;
  a client on both a channel and a matching pattern gets both messages;
- shard channels (SSUBSCRIBE, SPUBLISH): like channels but kept apart, with
  ``smessage``. Without cluster mode every shard channel lives here.

A client keeps its own sets (``client.channels`` ...); this module keeps the
reverse maps. Messages are encoded once per protocol version and the same
bytes go to every subscriber: RESP2 clients see an array, RESP3 clients a push.
A burst of messages to one group of subscribers shares a single growing buffer
(``_Batch``), so fan-out costs one append per message, not one per subscriber.

Keyspace notifications (``notify-keyspace-events``) are published through
``notify_keyspace``, the ``Keyspace.notify_hook``: ``__keyspace@<db>__:<key>``
carries the event name and ``__keyevent@<db>__:<event>`` carries the key.

Slow subscribers are bounded by ``client-output-buffer-limit pubsub``; the
network layer checks it whenever a write stays buffered
(``RedisProtocol.check_output_limits``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from server.glob import compile_glob
from server.keyspace import NOTIFY_KEYEVENT, NOTIFY_KEYSPACE
from server.protocol import Push

if TYPE_CHECKING:
    from server.client import Client
    from server.instance import Server

Subscribers = dict  # dict[Client, None]: an ordered set of clients


def _bulk(data: bytes) -> bytes:
    return b"$%d\r\n%b\r\n" % (len(data), data)


def message_frames(kind: bytes, parts: tuple[bytes, ...]) -> tuple[bytes, bytes]:
    """One message, encoded for RESP2 (array) and RESP3 (push): ``kind`` then ``parts``."""
    body = _bulk(kind) + b"".join(_bulk(p) for p in parts)
    count = len(parts) + 1
    return b"*%d\r\n" % count + body, b">%d\r\n" % count + body


class PubSub:
    """The server-wide subscription registry (``server.pubsub``)."""

    def __init__(self, server: Server):
        self.server = server
        self.channels: dict[bytes, Subscribers] = {}
        self.patterns: dict[bytes, Subscribers] = {}
        self.shard_channels: dict[bytes, Subscribers] = {}
        self._matchers: dict[bytes, Callable[[bytes], object]] = {}
        self._keyspace_prefix = [b"__keyspace@%d__:" % i for i in range(len(server.keyspace.dbs))]
        self._keyevent_prefix = [b"__keyevent@%d__:" % i for i in range(len(server.keyspace.dbs))]

    # -- INFO ------------------------------------------------------------------

    def channel_count(self) -> int:
        return len(self.channels)

    def pattern_count(self) -> int:
        return len(self.patterns)

    def shard_channel_count(self) -> int:
        return len(self.shard_channels)

    # -- subscribing -------------------------------------------------------------

    def subscribe(self, client: Client, channel: bytes) -> Push:
        if channel not in client.channels:
            client.channels.add(channel)
            self.channels.setdefault(channel, {})[client] = None
        return Push([b"subscribe", channel, len(client.channels) + len(client.patterns)])

    def unsubscribe(self, client: Client, channel: bytes | None) -> Push:
        if channel is not None and channel in client.channels:
            client.channels.discard(channel)
            _drop(self.channels, channel, client)
        return Push([b"unsubscribe", channel, len(client.channels) + len(client.patterns)])

    def psubscribe(self, client: Client, pattern: bytes) -> Push:
        if pattern not in client.patterns:
            client.patterns.add(pattern)
            if pattern not in self.patterns:
                self.patterns[pattern] = {}
                self._matchers[pattern] = compile_glob(pattern).match
            self.patterns[pattern][client] = None
        return Push([b"psubscribe", pattern, len(client.channels) + len(client.patterns)])

    def punsubscribe(self, client: Client, pattern: bytes | None) -> Push:
        if pattern is not None and pattern in client.patterns:
            client.patterns.discard(pattern)
            if _drop(self.patterns, pattern, client):
                del self._matchers[pattern]
        return Push([b"punsubscribe", pattern, len(client.channels) + len(client.patterns)])

    def ssubscribe(self, client: Client, channel: bytes) -> Push:
        if channel not in client.shard_channels:
            client.shard_channels.add(channel)
            self.shard_channels.setdefault(channel, {})[client] = None
        return Push([b"ssubscribe", channel, len(client.shard_channels)])

    def sunsubscribe(self, client: Client, channel: bytes | None) -> Push:
        if channel is not None and channel in client.shard_channels:
            client.shard_channels.discard(channel)
            _drop(self.shard_channels, channel, client)
        return Push([b"sunsubscribe", channel, len(client.shard_channels)])

    def forget(self, client: Client) -> None:
        """Drop every subscription of a client, silently (disconnect, RESET)."""
        for channel in client.channels:
            _drop(self.channels, channel, client)
        for pattern in client.patterns:
            if _drop(self.patterns, pattern, client):
                del self._matchers[pattern]
        for channel in client.shard_channels:
            _drop(self.shard_channels, channel, client)
        client.channels.clear()
        client.patterns.clear()
        client.shard_channels.clear()

    # -- publishing ----------------------------------------------------------------

    def publish(self, channel: bytes, message: bytes, publisher: Client | None = None) -> int:
        """Deliver to the channel's subscribers, then to matching patterns'; return the receiver count.

        ``publisher`` is the client running the command, when known (see ``_deliver``).
        """
        self.server.stats.pubsub_messages += 1
        receivers = 0
        groups = 0
        subscribers = self.channels.get(channel)
        if subscribers:
            self._deliver(subscribers, b"message", (channel, message), publisher)
            receivers = len(subscribers)
            groups = 1
        if self.patterns:
            for pattern, matcher in self._matchers.items():
                if matcher(channel) is not None:
                    subscribers = self.patterns[pattern]
                    # A second group in one publish: clients in both must get the
                    # messages interleaved, so batches stop here (see _deliver).
                    groups += 1
                    self._deliver(subscribers, b"pmessage", (pattern, channel, message),
                                  publisher if groups == 1 else None)
                    receivers += len(subscribers)
        return receivers

    def spublish(self, channel: bytes, message: bytes, publisher: Client | None = None) -> int:
        self.server.stats.pubsub_messages += 1
        subscribers = self.shard_channels.get(channel)
        if not subscribers:
            return 0
        self._deliver(subscribers, b"smessage", (channel, message), publisher)
        return len(subscribers)

    def _deliver(self, subscribers: Subscribers, kind: bytes, parts: tuple[bytes, ...],
                 publisher: Client | None) -> None:
        """Queue one message for each subscriber of a group (``Output.deliver_group`` batches them)."""
        frame2, frame3 = message_frames(kind, parts)
        self.server.output.deliver_group(subscribers, frame2, frame3, publisher)

    # -- keyspace notifications ----------------------------------------------------

    def notify_keyspace(self, kind: int, event: bytes, key: bytes, dbid: int) -> None:
        """``Keyspace.notify_hook``: publish one event on the channels the K/E flags ask for."""
        if not (self.channels or self.patterns):
            return  # nobody can be listening: skip building the channel names
        flags = self.server.keyspace.notify_flags
        if flags & NOTIFY_KEYSPACE:
            self.publish(self._keyspace_prefix[dbid] + key, event)
        if flags & NOTIFY_KEYEVENT:
            self.publish(self._keyevent_prefix[dbid] + event, key)


def _drop(index: dict[bytes, Subscribers], name: bytes, client: Client) -> bool:
    """Remove ``client`` from ``index[name]``; True if that left the name without subscribers."""
    subscribers = index.get(name)
    if subscribers is None:
        return False
    subscribers.pop(client, None)
    if not subscribers:
        del index[name]
        return True
    return False
