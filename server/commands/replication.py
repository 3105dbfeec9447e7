"""Replication commands: SYNC, PSYNC, REPLCONF, REPLICAOF/SLAVEOF, WAIT, ROLE, FAILOVER.

They are thin: the state and the protocol live in ``server.replication``
(server/replication/). Declarations follow redis-server 7.0.15's COMMAND INFO.
"""

from __future__ import annotations

from server.client import Client
from server.command import command
from server.commands.args import SYNTAX_ERROR, parse_int, parse_timeout_ms, to_int
from server.protocol import OK, Error, Status

INVALID_PORT = Error(b"ERR Invalid master port")


@command("sync", arity=1, flags="admin noscript no_async_loading no_multi", group="server", since="1.0.0",
         summary="Internal: a replica asks for the whole data set and the stream that follows.")
def sync(ctx: Client) -> object:
    if ctx.kind == "replica":
        return Status(b"")
    return ctx.server.replication.sync(ctx, None, -1)


@command("psync", arity=-3, flags="admin noscript no_async_loading no_multi", group="server", since="2.8.0",
         summary="Internal: a replica asks to continue a replication stream, or for a full sync.",
         args="replicationid offset")
def psync(ctx: Client, replid: bytes, offset: bytes, *_rest: bytes) -> object:
    if ctx.kind == "replica":
        from server.protocol import NO_REPLY

        return NO_REPLY
    replication = ctx.server.replication
    if _rest and _rest[0].lower() == b"failover":
        refused = replication.psync_failover(ctx, replid)
        if refused is not None:
            return refused
    if replication.failover_state != "no-failover":
        return Error(b"NOMASTERLINK Can't SYNC while failing over")
    value = to_int(offset)
    return replication.sync(ctx, replid, -1 if value is None else value)


@command("replconf", arity=-1, flags="admin noscript loading stale allow_busy", group="server", since="3.0.0",
         summary="Internal: a replica describes itself to its master, or acknowledges the stream.",
         doc_flags="syscmd")
def replconf(ctx: Client, *args: bytes) -> object:
    if len(args) % 2:
        raise SYNTAX_ERROR
    pairs = [(args[i], args[i + 1]) for i in range(0, len(args), 2)]
    return ctx.server.replication.replconf(ctx, pairs)


def _replicaof(ctx: Client, host: bytes, port: bytes) -> object:
    if ctx.server.cluster is not None:  # cluster mode sets replicas up itself (CLUSTER REPLICATE)
        raise Error(b"ERR REPLICAOF not allowed in cluster mode.")
    replication = ctx.server.replication
    if replication.failover_state != "no-failover":
        raise Error(b"ERR REPLICAOF not allowed while failing over.")
    if host.lower() == b"no" and port.lower() == b"one":
        if replication.is_replica:
            replication.become_master()
            ctx.server.log("notice", f"MASTER MODE enabled (user request from '{ctx.info_line()}')")
        return OK
    if ctx.kind == "replica":
        raise Error(b"ERR Command is not valid when client is a replica.")
    number = parse_int(port, INVALID_PORT)
    if not 0 <= number <= 65535:
        raise INVALID_PORT
    name = host.decode("utf-8", "surrogateescape")
    if replication.is_replica and replication.master_host.lower() == name.lower() and replication.master_port == number:
        ctx.server.log("notice", "REPLICAOF would result into synchronization with the master we are already "
                                 "connected with. No operation performed.")
        return Status(b"OK Already connected to specified master")
    replication.replicate_from(name, number)
    ctx.server.log("notice", f"REPLICAOF {name}:{number} enabled (user request from '{ctx.info_line()}')")
    return OK


@command("replicaof", arity=3, flags="admin noscript stale no_async_loading", group="server", since="5.0.0",
         summary="Makes this server a replica of another one, or (NO ONE) a master again.",
         args="((host port)|(NO ONE)){name=args}")
def replicaof(ctx: Client, host: bytes, port: bytes) -> object:
    return _replicaof(ctx, host, port)


@command("slaveof", arity=3, flags="admin noscript stale no_async_loading", group="server", since="1.0.0",
         summary="Makes this server a replica of another one, or (NO ONE) a master again (old name).",
         args="((host port)|(NO ONE)){name=args}",
         doc_flags="deprecated", deprecated_since="5.0.0", replaced_by="`REPLICAOF`")
def slaveof(ctx: Client, host: bytes, port: bytes) -> object:
    return _replicaof(ctx, host, port)


@command("wait", arity=3, flags="noscript", acl="slow connection", group="generic", since="3.0.0",
         tips="request_policy:all_shards response_policy:agg_min",
         summary="Waits until the writes sent so far are acknowledged by a number of replicas.",
         args="numreplicas timeout")
def wait(ctx: Client, numreplicas: bytes, timeout: bytes) -> object:
    wanted = parse_int(numreplicas)
    timeout_ms = parse_timeout_ms(timeout)
    return ctx.server.replication.wait(ctx, wanted, timeout_ms)


@command("role", arity=1, flags="noscript loading stale fast", acl="admin dangerous", group="server",
         since="2.8.12", summary="Reports the replication role, with the replicas or the master link.")
def role(ctx: Client) -> list:
    return ctx.server.replication.role_reply()


@command("failover", arity=-1, flags="admin noscript stale", group="server", since="6.2.0",
         summary="Hands the master role to one of the replicas, then follows it.",
         args="[host port [FORCE]]{name=target,token=TO} [ABORT] [TIMEOUT milliseconds]")
def failover(ctx: Client, *args: bytes) -> object:
    if ctx.server.cluster is not None:
        raise Error(b"ERR FAILOVER not allowed in cluster mode. Use CLUSTER FAILOVER command instead.")
    return ctx.server.replication.failover_command(ctx, list(args))
