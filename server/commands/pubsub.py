"""Pub/sub commands: (P|S)SUBSCRIBE, (P|S)UNSUBSCRIBE, PUBLISH, SPUBLISH and PUBSUB.

The registry and the delivery live in ``server.pubsub``; these functions only
parse arguments and shape replies. A (un)subscribe command confirms each
channel with its own message, so it returns ``Replies`` (one push each).
Without arguments, the unsubscribe commands drop every subscription of their
kind; with none to drop they still confirm once, with a null name.

Inside EXEC (or a script) a client must get exactly one reply per command,
which is why Redis refuses SSUBSCRIBE there while SUBSCRIBE and PSUBSCRIBE
stay allowed for backward compatibility.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from server.client import Client
from server.command import command, container
from server.commands.connection import help_lines
from server.glob import compile_glob
from server.protocol import Error, Replies

if TYPE_CHECKING:
    from server.pubsub import PubSub


def _registry(ctx: Client) -> PubSub:
    return ctx.server.pubsub


@command("subscribe", arity=-2, flags="pubsub noscript loading stale", group="pubsub", since="2.0.0",
         summary="Listens for messages published to the given channels.", args="channel ...",
         complexity="O(N) where N is the number of channels")
def subscribe(ctx: Client, *channels: bytes) -> object:
    pubsub = _registry(ctx)
    return Replies(pubsub.subscribe(ctx, channel) for channel in channels)


@command("unsubscribe", arity=-1, flags="pubsub noscript loading stale", group="pubsub", since="2.0.0",
         summary="Stops listening to the given channels, or to all channels.",
         args="[channel ...]", complexity="O(N) where N is the number of channels")
def unsubscribe(ctx: Client, *channels: bytes) -> object:
    pubsub = _registry(ctx)
    names = channels or tuple(ctx.channels) or (None,)
    return Replies(pubsub.unsubscribe(ctx, name) for name in names)


@command("psubscribe", arity=-2, flags="pubsub noscript loading stale", group="pubsub", since="2.0.0",
         summary="Listens for messages on every channel matching the given glob patterns.",
         args="(pattern){type=block} ...", complexity="O(N) where N is the number of patterns")
def psubscribe(ctx: Client, *patterns: bytes) -> object:
    pubsub = _registry(ctx)
    return Replies(pubsub.psubscribe(ctx, pattern) for pattern in patterns)


@command("punsubscribe", arity=-1, flags="pubsub noscript loading stale", group="pubsub", since="2.0.0",
         summary="Stops listening to the given patterns, or to all patterns.",
         args="[pattern ...]", complexity="O(N) where N is the number of patterns")
def punsubscribe(ctx: Client, *patterns: bytes) -> object:
    pubsub = _registry(ctx)
    names = patterns or tuple(ctx.patterns) or (None,)
    return Replies(pubsub.punsubscribe(ctx, name) for name in names)


@command("ssubscribe", arity=-2, flags="pubsub noscript loading stale", group="pubsub",
         since="7.0.0", summary="Listens for messages published to the given shard channels.",
         args="shardchannel ...", complexity="O(N) where N is the number of shard channels",
         keys="not_key @1 range(-1,1,0)")
def ssubscribe(ctx: Client, *channels: bytes) -> object:
    if ctx.executing_multi:
        raise Error(b"ERR SSUBSCRIBE isn't allowed for a DENY BLOCKING client")
    pubsub = _registry(ctx)
    return Replies(pubsub.ssubscribe(ctx, channel) for channel in channels)


@command("sunsubscribe", arity=-1, flags="pubsub noscript loading stale", group="pubsub",
         since="7.0.0", summary="Stops listening to the given shard channels, or to all of them.",
         args="[shardchannel ...]", complexity="O(N) where N is the number of shard channels",
         keys="not_key @1 range(-1,1,0)")
def sunsubscribe(ctx: Client, *channels: bytes) -> object:
    pubsub = _registry(ctx)
    names = channels or tuple(ctx.shard_channels) or (None,)
    return Replies(pubsub.sunsubscribe(ctx, name) for name in names)


@command("publish", arity=3, flags="pubsub loading stale fast may_replicate", group="pubsub", since="2.0.0",
         summary="Sends a message to a channel; returns how many subscribers received it.",
         args="channel message", complexity="O(N+M) for N channel subscribers and M patterns")
def publish(ctx: Client, channel: bytes, message: bytes) -> int:
    receivers = _registry(ctx).publish(channel, message, ctx)
    server = ctx.server
    cluster = server.cluster
    if cluster is not None:  # every node's subscribers hear it
        cluster.propagate_publish(channel, message, sharded=False)
    elif server.replication.backlog is not None:  # replicas' subscribers too (not the AOF), as Redis
        server.replication.propagate(ctx.db.id, [b"PUBLISH", channel, message])
    return receivers


@command("spublish", arity=3, flags="pubsub loading stale fast may_replicate", group="pubsub",
         since="7.0.0", summary="Sends a message to a shard channel; returns how many subscribers received it.",
         args="shardchannel message", complexity="O(N) for N shard channel subscribers",
         keys="not_key @1")
def spublish(ctx: Client, channel: bytes, message: bytes) -> int:
    receivers = _registry(ctx).spublish(channel, message, ctx)
    cluster = ctx.server.cluster
    if cluster is not None:  # the other nodes of this slot's shard
        cluster.propagate_publish(channel, message, sharded=True)
    return receivers


# --------------------------------------------------------------------------- PUBSUB

container("pubsub", summary="Reports on channels, patterns and their subscribers.", group="pubsub",
          since="2.8.0")


def _wrong_use(sub: bytes) -> Error:
    return Error(b"ERR unknown subcommand or wrong number of arguments for '%s'. Try PUBSUB HELP." % sub)


def _active(index: dict[bytes, dict], sub: bytes, args: tuple[bytes, ...]) -> list[bytes]:
    if len(args) > 1:
        raise _wrong_use(sub)
    if not args:
        return list(index)
    # Redis matches even a lone ``*`` here, and no non-empty pattern matches the empty channel name.
    match = compile_glob(args[0]).match
    return [name for name in index if match(name) is not None]


@command("pubsub|channels", arity=-2, flags="pubsub loading stale", group="pubsub", since="2.8.0",
         summary="Lists the channels that have subscribers, optionally only those matching a pattern.",
         args="[pattern]", complexity="O(N) for N active channels")
def pubsub_channels(ctx: Client, sub: bytes, *args: bytes) -> list[bytes]:
    return _active(_registry(ctx).channels, sub, args)


@command("pubsub|shardchannels", arity=-2, flags="pubsub loading stale", group="pubsub", since="7.0.0",
         summary="Lists the shard channels that have subscribers, optionally only those matching a pattern.",
         args="[pattern]", complexity="O(N) for N active shard channels")
def pubsub_shardchannels(ctx: Client, sub: bytes, *args: bytes) -> list[bytes]:
    return _active(_registry(ctx).shard_channels, sub, args)


def _counts(index: dict[bytes, dict], channels: tuple[bytes, ...]) -> list[object]:
    out: list[object] = []
    for channel in channels:
        out.append(channel)
        out.append(len(index.get(channel, ())))
    return out


@command("pubsub|numsub", arity=-2, flags="pubsub loading stale", group="pubsub", since="2.8.0",
         summary="Counts the subscribers of each given channel (patterns not included).",
         args="[channel ...]", complexity="O(N) for N requested channels")
def pubsub_numsub(ctx: Client, _sub: bytes, *channels: bytes) -> list[object]:
    return _counts(_registry(ctx).channels, channels)


@command("pubsub|shardnumsub", arity=-2, flags="pubsub loading stale", group="pubsub", since="7.0.0",
         summary="Counts the subscribers of each given shard channel.",
         args="[shardchannel ...]", complexity="O(N) for N requested shard channels")
def pubsub_shardnumsub(ctx: Client, _sub: bytes, *channels: bytes) -> list[object]:
    return _counts(_registry(ctx).shard_channels, channels)


@command("pubsub|numpat", arity=2, flags="pubsub loading stale", group="pubsub", since="2.8.0",
         summary="Counts the distinct patterns that clients are subscribed to.")
def pubsub_numpat(ctx: Client, _sub: bytes) -> int:
    return _registry(ctx).pattern_count()


@command("pubsub|help", arity=2, flags="loading stale", group="pubsub", since="6.2.0",
         summary="Lists PUBSUB's subcommands.")
def pubsub_help(ctx: Client, _sub: bytes) -> object:
    return help_lines(ctx, "pubsub")
