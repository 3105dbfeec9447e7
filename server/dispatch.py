"""From a request frame to a reply: the checks Redis makes before running a command.

``execute`` looks the command up in the table, then applies Redis's order of
checks (processCommand): unknown command, unknown subcommand, arity,
authentication, ACL, subscribed-mode restrictions, MULTI queueing, out of
memory. Then it calls the command, times it for INFO and SLOWLOG, feeds
MONITOR, and hands write commands to persistence.

Commands raise ``protocol.Error`` for error replies; anything else they raise is
a bug, reported as ``-ERR`` to the client and logged, never a dropped server.
"""

from __future__ import annotations

import traceback
from time import perf_counter_ns
from typing import TYPE_CHECKING

from server.client import Blocked
from server.command import TABLE, Command
from server.effects import plain_args
from server.monitor import feed as feed_monitors
from server.protocol import (
    BULK_HEADERS,
    CRLF,
    INT_REPLIES,
    NO_REPLY,
    OK,
    OK_REPLY,
    QUEUED,
    Error,
    Push,
    Raw,
    Replies,
    encode,
)

if TYPE_CHECKING:
    from server.client import Client
    from server.instance import Server

LOOKUP: dict[bytes, Command] = {}

# Commands a RESP2 client in subscribed mode may still send.
SUBSCRIBED_OK = {b"subscribe", b"ssubscribe", b"unsubscribe", b"sunsubscribe", b"psubscribe",
                 b"punsubscribe", b"ping", b"quit", b"reset"}
# What ``_checked`` returns for a request CLIENT PAUSE holds back.
POSTPONED = object()
# Commands that run at once even inside MULTI.
MULTI_IMMEDIATE = {b"exec", b"discard", b"multi", b"watch", b"quit", b"reset"}


def build_lookup() -> None:
    """Index the table by lower and upper case names (clients send either)."""
    LOOKUP.clear()
    for name, cmd in TABLE.items():
        LOOKUP[name] = cmd
        LOOKUP[name.upper()] = cmd
        for sub in cmd.subcommands.values():
            sub.prepare()
            sub.plain_args = plain_args(sub)
        cmd.prepare()
        cmd.plain_args = plain_args(cmd)


def _sanitize(text: str) -> str:
    return text.replace("\r", " ").replace("\n", " ")


def unknown_command_error(argv: list[bytes]) -> Error:
    args = ""
    for arg in argv[1:]:
        if len(args) >= 128:
            break
        args += "'%s' " % arg.decode("utf-8", "surrogateescape")[: 128 - len(args)]
    name = argv[0].decode("utf-8", "surrogateescape")[:128]
    return Error(_sanitize(f"ERR unknown command '{name}', with args beginning with: {args}").encode("utf-8", "surrogateescape"))


def arity_error(cmd: Command) -> Error:
    return Error(b"ERR wrong number of arguments for '%s' command" % cmd.name.encode())


def resolve(argv: list[bytes]) -> Command | Error:
    """The command (or subcommand) ``argv`` names, or the error Redis gives."""
    name = argv[0]
    cmd = LOOKUP.get(name)
    if cmd is None:
        cmd = TABLE.get(name.lower())
        if cmd is None:
            return unknown_command_error(argv)
    if cmd.subcommands and len(argv) >= 2:
        sub = cmd.subcommands.get(argv[1].lower())
        if sub is None:
            sub_name = argv[1].decode("utf-8", "surrogateescape")[:128]
            return Error(
                _sanitize(
                    f"ERR unknown subcommand '{sub_name}'. Try {cmd.name.upper()} HELP."
                ).encode("utf-8", "surrogateescape")
            )
        cmd = sub
    arity = cmd.arity
    n = len(argv)
    if (arity > 0 and n != arity) or n < -arity:
        return arity_error(cmd)
    return cmd


def execute(client: Client, argv: list[bytes]) -> object:
    """Run one request with every check and return its reply value."""
    cmd = resolve(argv)
    if isinstance(cmd, Error):
        if client.in_multi:
            client.multi_error = True
        if argv[0].lower() == b"exec":  # EXEC is known: this is its arity error
            cmd = exec_abort(client, cmd)
        client.server.stats.count_error(cmd.message)
        reply: object = cmd
    else:
        reply = _checked(client, cmd, argv)
    client.server.standing_changed()  # a command off the fast path may have changed what it reads
    return reply


def exec_abort(client: Client, error: Error) -> Error:
    """EXEC refused before it runs: Redis drops the transaction (if any) and wraps the reason.

    The reason loses its ``ERR`` code, other codes (NOAUTH, NOPERM ...) stay:
    ``EXECABORT Transaction discarded because of: wrong number of arguments ...``.
    """
    if client.in_multi:
        client.server.watches.end_transaction(client)  # (transactions.discard_transaction)
    message = error.message
    if message.startswith(b"ERR "):
        message = message[4:]
    return Error(b"EXECABORT Transaction discarded because of: " + message)


def _rejected(client: Client, cmd: Command, error: Error) -> Error:
    """A check refused ``cmd``: count it, mark an open transaction, and wrap EXEC's refusal."""
    cmd.rejected_calls += 1
    if cmd.root_name == b"exec":
        return exec_abort(client, error)
    if client.in_multi:
        client.multi_error = True
    return error


def fast_path_open(client: Client) -> bool:
    """Can this client's requests skip ``_checked``? True for a logged-in client outside
    MULTI, MONITOR and RESP2 subscribed mode, with its replies on, on a server with no ACL
    rules to apply, no failed save blocking writes and no CLIENT PAUSE. (A memory limit is
    checked per command: ``denyoom``.)

    An open answer is remembered with the server's ``fast_stamp`` of the time
    (``client.fast_stamp``): ``run_requests`` trusts it while the stamp has not moved. What is
    read here changes only by a command off the fast path (``call`` moves the stamp after each)
    or by one of the server's own events, whose writers move it (``Server.standing_changed``:
    a failed save, the end of a pause, loading, the replication gate, ACL rules)."""
    server = client.server
    # One ``or`` chain of the reasons to take the full path (cheaper than ``and not`` each).
    closed = (
        not client.authenticated
        or client.in_multi
        or client.monitor
        or server.acl.restricted
        or server.persistence.write_block is not None
        or server.pause_mode is not None
        or client.reply_off or client.skip_this or client.skip_next
        or ((client.channels or client.patterns or client.shard_channels) and client.resp == 2)
        or client.tracking is not None  # tracking clients go through ``call``, which remembers their keys
        or server.cluster is not None  # in cluster mode every command with keys is routed (``_checked``)
        or server.replication.gate  # a replica refuses writes; min-replicas-to-write may too
        or server.persistence.loading  # -LOADING for most commands while the data set loads
    )
    client.fast_stamp = -1 if closed else server.fast_stamp
    return not closed


def run_requests(client: Client, frames: list[list[bytes]], out: list[bytes], raw: bytes | None = None) -> bool:
    """Run the requests of one read in order, appending their encoded replies to ``out``.

    Returns True if a command blocked (the client is then blocked) or must wait for
    CLIENT PAUSE to end: the frames after it (with it, if it waits) are then kept in
    ``client.pending``. Stops early too if the client must close. At the end, the effects
    of the read's plain writes go out (``Effects.settle``).

    ``raw``: the bytes ``frames`` were parsed from, when they are exactly those frames in
    canonical RESP (``RequestParser.whole``). When every request of the read was a plain
    write, the replication stream takes these bytes as they came instead of encoding each
    command again (``Replication.apply_raw``).

    This loop runs once per request on pipelined traffic, so it holds a fast path.
    What ``_checked`` would verify for every request depends on the client's and the
    server's standing state, which only a few commands change (``Command.batchable`` is
    False for those). So the state is read once here (``fast_path_open``, remembered from
    the last read while nothing changed), and read again only after a command outside
    the fast path. On the fast path, ``call``'s body is inlined (one Python call less per
    request, ~11% fewer instructions for SET at -P 16), and the commonest replies are
    encoded inline. tests/server/test_call_paths.py runs every fast-path command both ways
    and fails on any difference (replies, statistics, SLOWLOG, MONITOR, effects): a change
    to one copy must be made to the other.
    """
    server = client.server
    keyspace = server.keyspace
    replication = server.replication
    offset = replication.offset
    effects = server.effects
    # The standing state, read once (and again after any command off the fast path).
    open_ = client.fast_stamp == server.fast_stamp or fast_path_open(client)
    no_memory_limit = not server.eviction.limited
    propagating = effects.active
    deferred = effects.replicas_only  # plain writes' effects wait for the batch's end
    monitored = server.monitors  # (tested for truth only)
    slow = server.slowlog_threshold  # (CONFIG SET, which moves it, is off the fast path)
    requests = iter(frames)
    lookup = LOOKUP.get  # (a bound method is cheaper per call; ``out.append`` is not: 3.11 specializes it)
    try:
        for argv in requests:
            cmd = lookup(argv[0])
            n = len(argv)
            if (
                open_
                and cmd is not None
                and cmd.batchable
                and cmd.min_args <= n <= cmd.max_args
                and (no_memory_limit or not cmd.denyoom)
            ):
                dirty_before = keyspace.dirty
                client.last_command = cmd.name_bytes
                client.argv = argv
                func = cmd.func
                start = perf_counter_ns()
                try:
                    # Spelled out for the common lengths: ``func(client, *argv[1:])`` costs a
                    # slice, a tuple and a C-level call (CALL_FUNCTION_EX), about 200 ns more
                    # per request on CPython 3.11 than a plain positional call.
                    if n == 2:
                        reply = func(client, argv[1])
                    elif n == 3:
                        reply = func(client, argv[1], argv[2])
                    elif n == 4:
                        reply = func(client, argv[1], argv[2], argv[3])
                    elif n == 5:  # XADD key * field value, SET key value EX n ...
                        reply = func(client, argv[1], argv[2], argv[3], argv[4])
                    else:
                        reply = func(client, *argv[1:])
                except Exception as exc:
                    reply = failure_reply(server, cmd, exc)
                duration = (perf_counter_ns() - start) // 1000
                cmd.calls += 1
                cmd.usec += duration
                cls = reply.__class__
                if (
                    cls is Error
                    or duration >= slow
                    or (propagating and keyspace.dirty != dirty_before)
                    or monitored
                    or keyspace.ready_keys
                ):
                    if (
                        n <= cmd.plain_args  # its effect is its argv (effects.PLAIN_ARGS): nothing to derive
                        and keyspace.dirty != dirty_before
                        and cls is not Error
                        and duration < slow
                        and not monitored
                        and not keyspace.ready_keys
                        and client.propagate_as is None
                    ):
                        # What ``after_call`` would do here, with nothing else to do: the write's
                        # effect, for the consumers (replicas, the AOF) at the end of the batch
                        # (below), or before any other effect (``Effects._deliver``).
                        if effects.muted:
                            pass
                        elif deferred:  # (replicas only: nothing here can fail)
                            effects.plain.append((client.db.id, argv))
                        else:
                            effects.emit(client.db.id, [argv])
                            client.woff = replication.offset
                            if server.persistence.write_block is not None:  # the AOF write failed (MISCONF)
                                open_ = False
                    else:
                        reply = after_call(client, cmd, argv, reply, duration, dirty_before)
                        cls = reply.__class__
                        open_ = fast_path_open(client)  # feeding the AOF may have failed and blocked writes
            else:
                if effects.plain:  # the batch's plain writes go out before this command runs
                    effects.settle(None)
                    client.woff = replication.offset
                reply = execute(client, argv)
                if reply is POSTPONED:  # CLIENT PAUSE: this request and the rest wait for its end
                    server.postpone(client, [argv, *requests])
                    return True
                if (client.reply_off or client.skip_this or client.skip_next) and reply.__class__ is not Blocked:
                    if client.reply_muted() and not _is_push(reply):
                        reply = NO_REPLY  # (pub/sub confirmations are pushes: Redis always sends them)
                cls = reply.__class__
                open_ = fast_path_open(client)
                no_memory_limit = not server.eviction.limited
                propagating = effects.active
                deferred = effects.replicas_only
                monitored = server.monitors
                slow = server.slowlog_threshold
            if cls is bytes:  # as ``encode`` writes them
                size = len(reply)
                out.append(BULK_HEADERS[size] if size < 1024 else b"$%d\r\n" % size)
                out.append(reply)
                out.append(CRLF)
            elif reply is OK:
                out.append(OK_REPLY)
            elif cls is int:
                out.append(INT_REPLIES[reply + 1] if -1 <= reply <= 10000 else b":%d\r\n" % reply)
            elif cls is Blocked:
                server.blocking.block(client, reply, argv)
                client.pending.extend(requests)
                return True
            elif cls is Raw:
                out.append(reply)
            else:
                encode(reply, out, client.resp == 3)
            if client.close_after_reply:
                break
        return False
    finally:
        if effects.plain:
            if raw is not None and len(effects.plain) != len(frames):
                raw = None
            effects.settle(raw)
        if replication.offset != offset:  # (Redis's rule for c->woff: the stream grew during its commands)
            client.woff = replication.offset


def _checked(client: Client, cmd: Command, argv: list[bytes]) -> object:
    """Redis's remaining checks, in its order: auth, ACL, subscribed mode, MULTI, memory."""
    server = client.server
    if not client.authenticated and not cmd.no_auth:
        return _rejected(client, cmd, Error(b"NOAUTH Authentication required."))
    acl = server.acl
    if acl.restricted:
        client.last_command = cmd.name_bytes  # the ACL log shows the command denied
        denied = acl.check(client, cmd, argv)
        if denied is not None:
            return _rejected(client, cmd, denied)
    cluster = server.cluster
    if cluster is not None:
        redirect = cluster.route(client, cmd, argv)
        if redirect is not None:
            cmd.rejected_calls += 1
            server.stats.count_error(redirect.message)
            if cmd.root_name == b"exec":
                server.watches.end_transaction(client)  # discarded, then redirected
            elif client.in_multi:
                client.multi_error = True
            return redirect
    if client.resp == 2 and (client.channels or client.patterns or client.shard_channels):
        if cmd.root_name not in SUBSCRIBED_OK:
            cmd.rejected_calls += 1
            error = Error(
                b"ERR Can't execute '%s': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET "
                b"are allowed in this context" % cmd.name.encode()
            )
            return exec_abort(client, error) if cmd.root_name == b"exec" else error
    if client.monitor and (cmd.is_write or "readonly" in cmd.flags or "may_replicate" in cmd.flags):
        # A MONITOR connection is a replica: it may not touch keys.
        return _rejected(client, cmd, Error(b"ERR Replica can't interact with the keyspace"))
    write_block = server.persistence.write_block
    if write_block is not None and (cmd.is_write or cmd.root_name == b"ping"):
        # MISCONF: the last save failed, writes would not be persisted.
        return _rejected(client, cmd, write_block)
    if server.replication.gate:
        refused = server.replication.refuse(client, cmd)
        if refused is not None:
            return _rejected(client, cmd, refused)
    if server.persistence.loading and _denied_while_loading(client, cmd):
        return _rejected(client, cmd, LOADING)
    if server.pause_mode is not None and server.must_wait(client, cmd):
        return POSTPONED
    if client.in_multi and cmd.root_name not in MULTI_IMMEDIATE:
        if cmd.no_multi:
            client.multi_error = True
            return Error(b"ERR Command not allowed inside a transaction")
        if server.eviction.limited:  # queueing takes memory too: any command is refused
            oom = server.eviction.check(client, argv)
            if oom is not None:
                client.multi_error = True
                return oom
        client.multi_queue.append((cmd, argv))
        return QUEUED
    if cmd.denyoom and server.eviction.limited:
        oom = server.eviction.check(client, argv)
        if oom is not None:
            cmd.rejected_calls += 1
            return oom
    return call(client, cmd, argv)


LOADING = Error(b"LOADING Redis is loading the dataset in memory")


def _denied_while_loading(client: Client, cmd: Command) -> bool:
    """Redis's is_denyloading_command: a command without the ``loading`` flag, or an EXEC
    whose queue holds one. (Clients are served during a load: persistence/loading.py.)"""
    if cmd.root_name == b"exec" and client.in_multi:
        return any("loading" not in queued.flags for queued, _ in client.multi_queue)
    return "loading" not in cmd.flags


def call(client: Client, cmd: Command, argv: list[bytes]) -> object:
    """Run a resolved, checked command: timing, stats, slowlog, MONITOR, propagation.

    ``run_requests`` has a copy of this body for its fast path (one call less per
    request), and a replica's ``MasterLink._apply_stream`` another for its master's stream:
    a change here must be made there too (tests/server/test_call_paths.py compares all three).
    """
    server = client.server
    keyspace = server.keyspace
    dirty_before = keyspace.dirty
    client.last_command = cmd.name_bytes
    client.argv = argv
    tracking = server.tracking
    outer = tracking.current  # set inside EXEC (and scripts): this call is nested
    tracking.current = client
    start = perf_counter_ns()
    try:
        # Spelled out for the common lengths: ``func(client, *argv[1:])`` costs a
        # slice, a tuple and a C-level call (CALL_FUNCTION_EX), about 200 ns more
        # per request on CPython 3.11 than a plain positional call.
        n = len(argv)
        if n == 2:
            reply = cmd.func(client, argv[1])
        elif n == 3:
            reply = cmd.func(client, argv[1], argv[2])
        elif n == 4:
            reply = cmd.func(client, argv[1], argv[2], argv[3])
        elif n == 5:
            reply = cmd.func(client, argv[1], argv[2], argv[3], argv[4])
        else:
            reply = cmd.func(client, *argv[1:])
    except Exception as exc:
        reply = failure_reply(server, cmd, exc)
    duration = (perf_counter_ns() - start) // 1000
    cmd.calls += 1
    cmd.usec += duration
    if client.tracking is not None:
        tracking.after_command(client, cmd, argv, outer is None)
    tracking.current = outer
    if (
        reply.__class__ is Error
        or duration >= server.slowlog_threshold
        or (keyspace.dirty != dirty_before and server.effects.active)
        or server.monitors
        or keyspace.ready_keys
    ):
        reply = after_call(client, cmd, argv, reply, duration, dirty_before)
    if client.tracking_pending and outer is None and reply.__class__ is not Blocked:
        # Invalidations of keys this client changed itself follow the reply (Redis's pending keys).
        reply = Replies([reply, Raw(tracking.pending_output(client))])
    return reply


def _is_push(reply: object) -> bool:
    """A push, or pushes only (SUBSCRIBE a b): output CLIENT REPLY OFF/SKIP does not mute."""
    if reply.__class__ is Push:
        return True
    return isinstance(reply, Replies) and bool(reply) and all(item.__class__ is Push for item in reply)


def failure_reply(server: Server, cmd: Command, exc: Exception) -> Error:
    """The reply for a command that raised: its error, or a logged internal error (a bug)."""
    if isinstance(exc, Error):
        # Shared instances (SYNTAX_ERROR, WRONGTYPE ...) are raised again and again: each raise
        # would add its frames to the traceback the instance keeps, and the exception it was
        # raised during would stay attached. Drop both, so a sent error holds nothing alive.
        exc.__traceback__ = exc.__context__ = exc.__cause__ = None
        return exc
    if isinstance(exc, RecursionError):
        return Error(b"ERR internal error: recursion too deep")
    server.log("warning", f"Internal error running {cmd.name}: {exc!r}\n{traceback.format_exc()}")
    return Error(f"ERR internal error: {exc.__class__.__name__}".encode())


def after_call(client: Client, cmd: Command, argv: list[bytes], reply: object, duration: int,
               dirty_before: int) -> object:
    """What follows a command that failed, was slow, changed the keyspace with an AOF to feed,
    ran while someone MONITORs, or made keys ready for blocked clients."""
    server = client.server
    keyspace = server.keyspace
    if reply.__class__ is Error:
        cmd.failed_calls += 1
        if isinstance(reply, Error) and not reply.counted:
            server.stats.count_error(reply.message)
    if duration >= server.slowlog_threshold >= 0 and not cmd.skip_slowlog:
        server.slowlog.add(client, argv, duration)
    if keyspace.dirty != dirty_before and server.effects.active:
        if not cmd.is_readonly:
            # (A read-only command moves ``dirty`` only by expiring keys, which log their own DELs.)
            server.effects.command(client, cmd.name, argv, reply)
        client.woff = server.replication.offset  # what WAIT waits for (Redis's c->woff)
    if server.monitors:  # after the command, as Redis does: a SELECT shows its new db
        own_line = feed_monitors(server, client, cmd, argv)
        if own_line is not None:  # a monitor sees its own command after the reply to it
            reply = Replies([reply, Raw(own_line)])
    if keyspace.ready_keys and not client.executing_multi:  # EXEC serves them once, at its end
        server.blocking.handle_ready_keys()
    return reply
