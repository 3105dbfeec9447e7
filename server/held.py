"""Serving clients while the event loop is held: a busy script, the start-up load.

Redis keeps answering while a script runs past ``busy-reply-threshold`` and while it
loads its data set at start-up: it processes events in between (-BUSY or -LOADING
for most commands, a few commands allowed). Our event loop cannot run while either
holds it, so a `HeldLoop` serves by hand: a non-blocking ``select`` over the listening
sockets, the connections it accepted meanwhile and asyncio's own plain connections;
each read is answered by the holder's `ReplyPolicy` (`BusyReplies`, `LoadingReplies`);
when the hold ends, `release` hands the connections it accepted to asyncio, with their
state (login, protocol, database) and their unread input. TLS connections wait for the
end of the hold: their bytes cannot be read around the TLS layer.
"""

from __future__ import annotations

import os
import select
import socket
from typing import TYPE_CHECKING, Protocol

from server.command import TABLE
from server.dispatch import LOOKUP, execute, resolve, run_requests
from server.network import RedisProtocol, protected_mode_refusal
from server.protocol import Error, RequestParser, encode

if TYPE_CHECKING:
    from server.client import Client
    from server.command import Command
    from server.instance import Server
    from server.scripting.engine import Engine

Held = tuple[socket.socket, "Client", RequestParser]


class ReplyPolicy(Protocol):
    def answer(self, client: Client, frames: list[list[bytes]], out: list[bytes]) -> None:
        """Answer one read's requests, appending their encoded replies to ``out``."""


class LoadingReplies:
    """The start-up load: the normal dispatch, whose checks answer -LOADING to any
    command without the ``loading`` flag (``dispatch._denied_while_loading``)."""

    def answer(self, client: Client, frames: list[list[bytes]], out: list[bytes]) -> None:
        run_requests(client, frames, out)


class BusyReplies:
    """A busy script: -BUSY, but for the commands flagged ``allow_busy`` (SCRIPT KILL,
    FUNCTION KILL, SHUTDOWN NOSAVE, AUTH, HELLO ...), which run. Unknown commands and
    wrong arities get their usual errors first, as in Redis."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def answer(self, client: Client, frames: list[list[bytes]], out: list[bytes]) -> None:
        for argv in frames:
            reply = self.reply(client, argv)
            encode(reply, out, client.resp == 3)  # (after the command: HELLO 3 answers in RESP3)
            if client.close_after_reply:
                break

    def reply(self, client: Client, argv: list[bytes]) -> object:
        engine = self.engine
        cmd = LOOKUP.get(argv[0]) or TABLE.get(argv[0].lower())
        if cmd is None or "allow_busy" not in _flags_of(cmd, argv):
            resolved = resolve(argv)
            return resolved if isinstance(resolved, Error) else engine.busy_error()
        if cmd.name == "shutdown":
            if not any(a.lower() == b"nosave" for a in argv[1:]):
                from server.scripting.engine import BUSY_EVAL  # (the engine imports this module)

                return BUSY_EVAL
            run = engine.run
            if run is not None:
                run.killed = b"ERR Script killed by SHUTDOWN NOSAVE"
        return execute(client, argv)


def _flags_of(cmd: Command, argv: list[bytes]) -> frozenset[str]:
    """The flags of the subcommand ``argv`` names (SCRIPT KILL is allowed, SCRIPT FLUSH is not)."""
    if cmd.subcommands and len(argv) >= 2:
        sub = cmd.subcommands.get(argv[1].lower())
        if sub is not None:
            return sub.flags
    return cmd.flags


class HeldLoop:
    """The connections served while the loop is held, and the serving itself."""

    def __init__(self, server: Server, policy: ReplyPolicy) -> None:
        self.server = server
        self.policy = policy
        self.conns: dict[int, Held] = {}  # fd -> accepted while held: (socket, client, request parser)

    def poll(self, holder: Client | None = None) -> None:
        """Accept and answer whatever is ready now, without waiting. ``holder``: the client
        whose command holds the loop (its connection is not read meanwhile)."""
        server = self.server
        # What this loop turn queued (replies, messages) goes out first, in order before the
        # answers below, as Redis's processEventsWhileBlocked writes pending replies too.
        server.output.flush_pending()
        conns = self.conns
        loop_clients: dict[int, tuple[Client, RedisProtocol]] = {}
        for client in server.clients.values():
            if client is holder or client.closed or client.fd < 0 or client.fd in conns:
                continue
            protocol = getattr(client.send, "__self__", None)
            if isinstance(protocol, RedisProtocol) and not protocol.paused and protocol.transport is not None:
                if protocol.transport.get_extra_info("ssl_object") is None:
                    loop_clients[client.fd] = (client, protocol)
        listening = {sock.fileno() for sock in server.listen_sockets}
        watched = [*loop_clients, *conns, *listening]
        if not watched:
            return
        try:
            readable, _, _ = select.select(watched, [], [], 0)
        except (OSError, ValueError):
            return
        for fd in readable:
            if fd in listening:
                self._accept(fd)
            elif fd in conns:
                self._serve_held(fd)
            else:
                client, protocol = loop_clients[fd]
                try:
                    data = os.read(fd, 65536)
                except OSError:
                    continue
                if data:  # (an end of stream is asyncio's to notice, once the loop runs)
                    if self._answer(client, protocol.parser, data):
                        client.close()

    def _accept(self, listen_fd: int) -> None:
        """Take one connection from a listening socket by hand; protected mode applies as at any accept."""
        server = self.server
        try:
            listener = socket.socket(fileno=os.dup(listen_fd))
        except OSError:
            return
        try:
            conn, addr = listener.accept()
        except OSError:
            return
        finally:
            listener.close()
        conn.setblocking(False)
        if conn.family in (socket.AF_INET, socket.AF_INET6):
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            refusal = protected_mode_refusal(server, addr)
            if refusal is not None:
                _send(conn, refusal)
                conn.close()
                return
            local = conn.getsockname()
            peer, here = "%s:%d" % (addr[0], addr[1]), "%s:%d" % (local[0], local[1])
        else:
            peer, here = str(server.config["unixsocket"]) + ":0", str(server.config["unixsocket"])
        client = server.new_client(peer, here, conn.fileno())
        parser = RequestParser()
        parser.authenticated = lambda: client.authenticated

        def reply(data: bytes) -> None:
            _send(conn, data)

        def close() -> None:
            client.closed = True

        client.send = reply
        client.close = close
        self.conns[conn.fileno()] = (conn, client, parser)

    def _serve_held(self, fd: int) -> None:
        conn, client, parser = self.conns[fd]
        try:
            data = conn.recv(65536)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        if not data or self._answer(client, parser, data) or client.closed:
            self._drop(fd)

    def _answer(self, client: Client, parser: RequestParser, data: bytes) -> bool:
        """Answer one read with the policy; True when the client is to be closed."""
        self.server.stats.net_input += len(data)
        frames, error = parser.feed(data)
        if client.blocked is not None or client.pending:  # a command that waits holds the rest back
            client.pending.extend(frames)
            if error:
                client.pending_error = error
            return False
        out: list[bytes] = []
        self.policy.answer(client, frames, out)
        if error and not client.close_after_reply:
            if not client.reply_off:
                out.append(b"-ERR Protocol error: %b\r\n" % error.encode())
            self.server.log("verbose", f"Protocol error ({error}) from client: {client.addr}")
            client.close_after_reply = True
        if out:
            client.send(b"".join(out))
        return client.close_after_reply

    def _drop(self, fd: int) -> None:
        conn, client, _ = self.conns.pop(fd)
        conn.close()
        self.server.client_gone(client)

    def release(self) -> None:
        """The hold is over: asyncio takes the connections over, with what they still owe."""
        conns, self.conns = self.conns, {}
        for conn, client, parser in conns.values():
            if client.closed:
                conn.close()
                self.server.client_gone(client)
            else:
                _adopt(self.server, conn, client, parser)


def _adopt(server: Server, conn: socket.socket, client: Client, parser: RequestParser) -> None:
    """Hand a connection accepted while the loop was held to asyncio."""
    loop = server.loop
    if loop is None:
        conn.close()
        return

    def factory() -> RedisProtocol:
        return RedisProtocol(server, client, parser)

    async def attach() -> None:
        try:
            await loop.connect_accepted_socket(factory, conn)
        except OSError:
            conn.close()
            server.client_gone(client)

    loop.create_task(attach())


def _send(conn: socket.socket, data: bytes) -> None:
    """Write a reply while the loop is held (small replies; a peer that takes none of it for
    a second loses the rest, as a dead one would)."""
    try:
        conn.setblocking(True)
        conn.settimeout(1.0)
        conn.sendall(data)
    except OSError:
        pass
    finally:
        conn.setblocking(False)
