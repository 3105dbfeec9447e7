"""Sockets: one ``asyncio.Protocol`` per client on one event loop.

Each read is parsed into frames, every frame is executed in order, and all the
replies of that read go out in one write: on pipelined traffic that single
write is worth more than any other optimisation. When a client does not read
its replies, the transport's buffer grows past a high-water mark and we stop
reading its requests until it drains (the output-buffer limits themselves
are enforced in ``RedisProtocol.check_output_limits``).
"""

from __future__ import annotations

import asyncio
import socket
import time
from typing import TYPE_CHECKING, cast

from server.client import Client
from server.dispatch import run_requests
from server.protocol import RequestParser
from server.tls import server_context

if TYPE_CHECKING:
    from server.instance import Server

HIGH_WATER = 4 * 1024 * 1024
YIELD_AFTER = 0.01  # seconds: a read that took longer lets the other clients go first
# libuv (and asyncio's selector loop) read a socket again in the same turn only after a read that
# filled their buffer (about 256 KB in both): a smaller read cannot hold the others up.
YIELD_MIN_READ = 64 * 1024


class RedisProtocol(asyncio.Protocol):
    __slots__ = ("server", "client", "transport", "parser", "paused", "resp3", "adopted")

    def __init__(self, server: Server, adopted: Client | None = None, parser: RequestParser | None = None):
        self.server = server
        self.client: Client | None = None
        self.transport: asyncio.Transport | None = None
        self.parser = parser or RequestParser()
        self.paused = False
        # A client accepted while the loop was held (server/held.py: a busy script, the start-up
        # load): it keeps its state (login, protocol, database) and its unread input.
        self.adopted = adopted

    # -- connection lifecycle --------------------------------------------------

    def connection_made(self, base: asyncio.BaseTransport) -> None:
        transport = cast(asyncio.Transport, base)  # a stream transport: asyncio gives nothing else here
        self.transport = transport
        server = self.server
        sock = transport.get_extra_info("socket")
        peer = transport.get_extra_info("peername")
        local = transport.get_extra_info("sockname")
        fd = sock.fileno() if sock is not None else -1
        if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            try:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                keepalive = server.config.get_int("tcp-keepalive")
                if keepalive:
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
                    if hasattr(socket, "TCP_KEEPIDLE"):
                        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE, keepalive)
                        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPINTVL, max(keepalive // 3, 1))
            except OSError:
                pass
        adopted = self.adopted
        client = adopted if adopted is not None else server.new_client(_fmt_addr(peer), _fmt_addr(local), fd)
        self.client = client
        client.tls = transport.get_extra_info("sslcontext") is not None
        client.send = self.send
        client.close = self.close
        client.abort = self.abort
        client.resume = self.resume
        client.output_size = transport.get_write_buffer_size
        client.input_size = self.parser.pending_bytes
        self.parser.authenticated = lambda: client.authenticated
        transport.set_write_buffer_limits(high=HIGH_WATER)
        if adopted is not None:
            self.adopted = None
            if client.closed:
                self.close()
            return
        refusal = protected_mode_refusal(server, peer)
        if refusal is None and len(server.clients) > server.config.get_int("maxclients"):
            refusal = b"-ERR max number of clients reached\r\n"
        if refusal is not None:
            server.stats.rejected_connections += 1
            transport.write(refusal)
            client.closed = True
            self.close()

    def connection_lost(self, exc: Exception | None) -> None:
        if self.client is not None:
            self.server.client_gone(self.client)

    # -- flow control ------------------------------------------------------------

    def pause_writing(self) -> None:
        """The client's unsent replies passed the high-water mark. Reading goes on, as in Redis:
        a client that writes a whole pipeline before reading any reply (redis-py) would
        otherwise wait for us while we wait for it. ``client-output-buffer-limit`` decides."""
        self.check_output_limits()

    def resume_writing(self) -> None:
        pass

    # -- requests -----------------------------------------------------------------

    def data_received(self, data: bytes) -> None:
        client = self.client
        if client is None or client.closed:
            return
        server = self.server
        size = len(data)
        server.stats.net_input += size
        parser = self.parser
        # Only a read that filled most of the loop's buffer can be followed by another read of
        # this socket in the same turn (see yield_reading): smaller ones are not timed at all.
        timed = size >= YIELD_MIN_READ
        # client-query-buffer-limit is at least 1 MB (config.py), more than a small read: the
        # limit can be reached only by a large read or by input already held.
        if (timed or parser.held) and len(parser.held) + size > server.query_buffer_limit:
            from server.monitor import quote  # sdscatrepr; rare path

            held = (parser.peek(64) + data[:64])[:64]
            server.log("warning", f"Closing client that reached max query buffer length: {client.info_line()} "
                       f"(qbuf initial bytes: {quote(held).decode('latin-1')})")
            self.abort()
            return
        parser.max_bulk_len = server.proto_max_bulk_len
        if timed:
            started = time.perf_counter()
        frames, error = parser.feed(data)
        if client.blocked is not None or client.pending:
            client.pending.extend(frames)
            if error:
                client.pending_error = error
        elif parser.whole:
            # The common read: whole canonical requests, so no protocol error and nothing
            # deferred. ``run_frames`` without those cases, spelled out: the call and its
            # checks are ~3% of an unpipelined INCR.
            output = server.output
            out = output.replies(client)
            idle = not out  # (a queue that holds output is already due to be written)
            client.last_interaction = time.monotonic()
            run_requests(client, frames, out, data)
            if client.close_after_reply:
                self.close_after_replies()
            elif out and idle:
                output.write_later(client)
        elif frames or error:
            self.run_frames(frames, error)
        else:  # only part of a request so far
            client.last_interaction = time.monotonic()
        if timed and time.perf_counter() - started > YIELD_AFTER:
            self.yield_reading()

    def yield_reading(self) -> None:
        """Serve the other clients before this one's next read.

        libuv reads a busy socket up to 32 times in a row: a client streaming a request of a
        million arguments, or a huge pipeline, would hold everyone else for all of them. After
        a read that took long, reading pauses for one turn of the loop (the resume is queued
        from the next turn, so the poll in between serves the others), as Redis moves on to
        the next client after each read.
        """
        transport = self.transport
        if transport is None or transport.is_closing() or not transport.is_reading():
            return
        transport.pause_reading()
        loop = asyncio.get_running_loop()
        loop.call_soon(loop.call_soon, self._resume_after_yield)

    def _resume_after_yield(self) -> None:
        transport = self.transport
        if transport is not None and not transport.is_closing() and not transport.is_reading():
            transport.resume_reading()

    def run_frames(self, frames: list[list[bytes]], error: str | None = None) -> None:
        """Execute frames in order (until one blocks) and queue all their replies, then the
        protocol error if any, then run what was deferred (see ``data_received`` for the
        common read, which needs none of that)."""
        client = self.client
        assert client is not None
        output = self.server.output
        out = output.replies(client)
        idle = not out
        client.last_interaction = time.monotonic()
        if run_requests(client, frames, out) and error:
            # Reading goes on while blocked (data_received queues the frames):
            # that is how a blocked client's disconnect is noticed at once.
            client.pending_error = error
            error = None
        if error and not client.close_after_reply:
            if not client.reply_off:
                out.append(b"-ERR Protocol error: %s\r\n" % error.encode())
            self.server.log("verbose", f"Protocol error ({error}) from client: {client.addr}")
            client.close_after_reply = True
        if client.close_after_reply:
            self.close_after_replies()
            return
        if out and idle:
            output.write_later(client)
        if self.parser.deferred and client.blocked is None and not client.pending:
            self.parser.deferred = False  # the requests before it have run (one may have been AUTH)
            frames, error = self.parser.feed(b"")
            if frames or error:
                self.run_frames(frames, error)

    def resume(self) -> None:
        """Called when a blocked client is served: run what it sent while waiting."""
        client = self.client
        if client is None or client.closed:
            return
        frames, client.pending = client.pending, []
        error, client.pending_error = client.pending_error, None
        if frames or error or self.parser.deferred:
            self.run_frames(frames, error)
        if client.blocked is None and not client.pending and self.transport is not None and not self.paused:
            self.transport.resume_reading()

    # -- output ---------------------------------------------------------------------

    def send(self, data: bytes) -> None:
        transport = self.transport
        if transport is None or transport.is_closing():
            return
        server = self.server
        held = server.held_replies
        if held is not None:  # appendfsync always: the AOF is fsynced first (group commit)
            held.append((self.deliver, data))
            return
        server.stats.net_output += len(data)
        transport.write(data)
        if transport.get_write_buffer_size():  # the kernel did not take it all: a slow reader
            self.check_output_limits()

    def close_after_replies(self) -> None:
        """Write what is queued for the client now, then close (QUIT, a protocol error, a kill)."""
        client = self.client
        if client is not None:
            self.server.output.flush_client(client)
        self.close()

    def close(self) -> None:
        held = self.server.held_replies
        if held is not None:  # after the replies held for the group commit
            held.append((self.deliver, None))
            return
        if self.transport is not None and not self.transport.is_closing():
            self.transport.close()

    def deliver(self, data: bytes | None) -> None:
        """Send a reply held for the group commit (None: the close that followed it)."""
        if data is None:
            self.close()
        else:
            self.send(data)

    def abort(self) -> None:
        """Close at once, discarding unsent output (what a limit-breaking client gets)."""
        if self.transport is not None:
            self.transport.abort()

    def check_output_limits(self) -> None:
        """``client-output-buffer-limit``: drop a client whose unsent output is over its
        class's hard limit, or has stayed over the soft limit for longer than allowed."""
        client = self.client
        transport = self.transport
        if client is None or transport is None:
            return
        kind = client.kind if client.kind == "replica" else ("pubsub" if client.subscriptions else "normal")
        limits = self.server.config.get_dict("client-output-buffer-limit")
        hard, soft, seconds = limits.get(kind, (0, 0, 0))
        used = transport.get_write_buffer_size()
        over = bool(hard) and used >= hard
        if soft and used >= soft:
            now = time.monotonic()
            if client.soft_limit_since is None:
                client.soft_limit_since = now
            elif now - client.soft_limit_since > seconds:
                over = True
        else:
            client.soft_limit_since = None
        if over:
            self.server.log(
                "warning",
                f"Client {client.info_line()} scheduled to be closed ASAP for overcoming of output buffer limits.",
            )
            self.server.output.discard(client)
            self.abort()


def _fmt_addr(addr: object) -> str:
    if isinstance(addr, tuple) and len(addr) >= 2:
        host = addr[0]
        return f"{host}:{addr[1]}"
    if isinstance(addr, str):
        return addr or "/unixsocket:0"
    return ""


async def listen(server: Server) -> list[asyncio.AbstractServer]:
    """Open the TCP listeners named by ``bind`` and ``port`` (port 0 picks a free one)."""
    loop = asyncio.get_running_loop()
    server.loop = loop

    def factory() -> RedisProtocol:
        return RedisProtocol(server)

    listeners: list[asyncio.AbstractServer] = []
    config = server.config
    port = config.port
    # Port 0 picks a free port, unless a Unix socket is set: then, as in redis-server, it means
    # no TCP listener at all (``redistui open`` runs a server reachable through its socket only).
    if port or (config["tls-port"] == 0 and not config.get_str("unixsocket")):
        server.tcp_port = await _listen_on(server, factory, port, None, listeners)
    tls_port = config.get_int("tls-port")
    if tls_port:
        context = server_context(config)
        server.tls_port = await _listen_on(server, factory, tls_port, context, listeners)
    unixsocket = server.config.get_str("unixsocket")
    if unixsocket:
        srv = await loop.create_unix_server(factory, unixsocket)
        listeners.append(srv)
        server.listen_sockets.extend(srv.sockets)
    return listeners


async def _listen_on(server: Server, factory, port: int, context, listeners: list) -> int:
    """Listen on every ``bind`` address at ``port`` (0 = a free one); returns the port."""
    loop = asyncio.get_running_loop()
    chosen = port
    for addr in server.config.get_str_list("bind"):
        optional = addr.startswith("-")
        host = addr.lstrip("-")
        if host == "*":
            host = "0.0.0.0"
        try:
            srv = await loop.create_server(
                factory, host, chosen, reuse_address=True, backlog=server.config.get_int("tcp-backlog"), ssl=context
            )
        except OSError as exc:
            if optional:
                continue
            raise OSError(f"Could not create server TCP listening socket {host}:{chosen}: {exc}") from exc
        if chosen == 0:
            chosen = srv.sockets[0].getsockname()[1]
        listeners.append(srv)
        if context is None:
            server.listen_sockets.extend(srv.sockets)
    return chosen


PROTECTED_MODE_DENIED = (
    b"-DENIED Redis is running in protected mode because protected mode is enabled and no password is "
    b"set for the default user. In this mode connections are only accepted from the loopback interface. "
    b"If you want to connect from external computers to Redis you may adopt one of the following "
    b"solutions: 1) Just disable protected mode sending the command 'CONFIG SET protected-mode no' from "
    b"the loopback interface by connecting to Redis from the same host the server is running, however "
    b"MAKE SURE Redis is not publicly accessible from internet if you do so. Use CONFIG REWRITE to make "
    b"this change permanent. 2) Alternatively you can just disable the protected mode by editing the "
    b"Redis configuration file, and setting the protected mode option to 'no', and then restarting the "
    b"server. 3) If you started the server manually just for testing, restart it with the "
    b"'--protected-mode no' option. 4) Set up an authentication password for the default user. NOTE: "
    b"You only need to do one of the above things in order for the server to start accepting "
    b"connections from the outside.\r\n"
)


def is_loopback(peer: object) -> bool:
    """True for connections from this machine: 127.0.0.0/8, ::1, or a unix socket."""
    if not isinstance(peer, tuple) or not peer:
        return True  # unix sockets have no address
    host = str(peer[0])
    if host.startswith("::ffff:"):
        host = host[7:]
    return host.startswith("127.") or host == "::1"


def protected_mode_refusal(server: Server, peer: object) -> bytes | None:
    """Redis's protected mode: without a password, only loopback clients are served."""
    if not server.config["protected-mode"] or is_loopback(peer):
        return None
    if server.default_user_has_password():
        return None
    return PROTECTED_MODE_DENIED
