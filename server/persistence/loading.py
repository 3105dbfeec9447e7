"""Answering clients while the data set loads at start-up, as Redis does.

Redis listens before it loads, and every couple of megabytes of file it reads
(``loading-process-events-interval-bytes``, 2 MB) it serves its clients for a moment:
commands flagged ``loading`` (INFO, CONFIG, AUTH, HELLO, CLIENT …) run, the others get
``-LOADING Redis is loading the dataset in memory`` (dispatch's check), and INFO
persistence shows the progress (``loading_loaded_bytes`` of ``loading_total_bytes``,
``loading_eta_seconds``). So a client sees a server loading, not one that is down, and
a UI can draw a progress bar.

The event loop cannot run while the load holds it, so `LoadingService.poll` does the
serving with a non-blocking ``select``: it accepts on the listening sockets, reads what
the clients sent and answers through the normal dispatch. When the load ends, `adopt`
hands those connections to asyncio (as a busy script's are). TLS connections wait for
the end of the load: their bytes cannot be read around the TLS layer.
"""

from __future__ import annotations

import select
import socket
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from server.client import Client
    from server.instance import Server
    from server.protocol import RequestParser


class LoadAborted(Exception):
    """SHUTDOWN was served during the load: stop loading, the server exits."""


class LoadingService:
    """Connections accepted and served while the loop is held by a start-up load."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self.conns: dict[int, tuple[socket.socket, Client, RequestParser]] = {}

    def poll(self) -> None:
        """Accept and answer whatever is ready now, without waiting."""
        listening = {sock.fileno(): sock for sock in self.server.listen_sockets}
        watched = [*listening, *self.conns]
        if not watched:
            return
        try:
            readable, _, _ = select.select(watched, [], [], 0)
        except (OSError, ValueError):
            return
        for fd in readable:
            if fd in listening:
                self._accept(fd)
            else:
                self._serve(fd)
        if self.server.persistence.shutdown_done:
            raise LoadAborted

    def _accept(self, listen_fd: int) -> None:
        from server.network import accept_while_held

        accepted = accept_while_held(self.server, listen_fd, _send)
        if accepted is not None:
            self.conns[accepted[0].fileno()] = accepted

    def _serve(self, fd: int) -> None:
        from server.dispatch import run_requests

        conn, client, parser = self.conns[fd]
        try:
            data = conn.recv(65536)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        if not data:
            self._drop(fd)
            return
        self.server.stats.net_input += len(data)
        frames, error = parser.feed(data)
        out: list[bytes] = []
        if client.pending:  # a command that waits (CLIENT PAUSE, a blocking pop) holds the rest back
            client.pending.extend(frames)
        else:
            run_requests(client, frames, out)
        if error:
            out.append(b"-ERR Protocol error: %b\r\n" % error.encode())
        if out:
            client.send(b"".join(out))
        if client.closed or client.close_after_reply or error:
            self._drop(fd)

    def _drop(self, fd: int) -> None:
        conn, client, _ = self.conns.pop(fd)
        conn.close()
        self.server.client_gone(client)

    def adopt(self) -> None:
        """The load is over: asyncio takes the connections over, with what they still owe."""
        from server.network import adopt_socket

        conns, self.conns = self.conns, {}
        for conn, client, parser in conns.values():
            if client.closed:
                conn.close()
                self.server.client_gone(client)
            else:
                adopt_socket(self.server, conn, client, parser)


def _send(conn: socket.socket, data: bytes) -> None:
    """Write a reply during the load (small replies: a full buffer drops the rest, as a dead peer)."""
    try:
        conn.setblocking(True)
        conn.settimeout(1.0)
        conn.sendall(data)
    except OSError:
        pass
    finally:
        conn.setblocking(False)
