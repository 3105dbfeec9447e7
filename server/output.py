"""Output ordering: the one owner of what is queued for clients and when it is written.

Everything a client receives goes through its queue, ``Client.outbuf``: its own
replies (``replies``, then ``write_later``), and what other clients cause —
published messages (``deliver_group``), MONITOR lines and tracking invalidations
(``send``), the reply of a blocked command served later (``push``). Queued output is
written once per loop turn (``flush_pending``), so everything reaches a client in
the order it happened, with one write per client.

Replies too wait for the end of the turn, as Redis writes them in ``beforeSleep``
(handleClientsWithPendingWrites) after it has read every ready client: the writes of a
turn then go out back to back. Written as each read is served instead, every reply
woke a client that had gone back to sleep in the meantime; on a two-vCPU machine those
wake-ups took 11% of the server's CPU under ``redis-benchmark -P 16`` (2% now).

``epoch`` moves on whenever anything is queued or written. Pub/sub fan-out relies on
it: consecutive messages to the same subscribers share one growing buffer (a
``_Batch``), which is right only while nothing else was queued in between. That is
why this module is the only code that touches ``outbuf``, ``pending`` and ``epoch``:
a new output path that forgot to move the epoch would misorder messages silently.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from server.protocol import encode

if TYPE_CHECKING:
    from server.client import Client
    from server.instance import Server

Subscribers = dict["Client", None]


class _Batch:
    """Consecutive messages for one group of subscribers: one growing buffer per protocol,
    queued once in each subscriber's output."""

    __slots__ = ("group", "epoch", "resp2", "resp3")

    def __init__(self, group: Subscribers, epoch: int):
        self.group = group
        self.epoch = epoch
        self.resp2: bytearray | None = None
        self.resp3: bytearray | None = None


class Output:
    """Per-client output queues and their writing at the end of the loop turn (``server.output``)."""

    __slots__ = ("server", "pending", "epoch", "_batch")

    def __init__(self, server: Server) -> None:
        self.server = server
        self.pending: list[Client] = []  # clients with queued output, written at the end of the turn
        self.epoch = 0
        self._batch: _Batch | None = None  # the pub/sub messages still being added to

    # -- a client's own replies ------------------------------------------------------

    def replies(self, client: Client) -> list[bytes]:
        """The list a read's replies are appended to: the client's queue, so a message
        queued before the command ran reaches the client before its reply. (A queue that
        was empty and holds replies afterwards is handed to ``write_later``.)"""
        self.epoch += 1  # replies follow what is queued: pub/sub batches stop growing
        return client.outbuf

    def mark(self, client: Client) -> int:
        """A position in the client's queue (EXEC: what its own commands push)."""
        return len(client.outbuf)

    def take_since(self, client: Client, mark: int) -> list[bytes]:
        """Take back what was queued for ``client`` since ``mark`` (EXEC puts it between replies)."""
        out = client.outbuf
        if len(out) <= mark:
            return []
        taken = [bytes(chunk) for chunk in out[mark:]]
        del out[mark:]
        self.epoch += 1
        return taken

    def discard(self, client: Client) -> None:
        """Drop unsent output (a client closed for breaking its output limits)."""
        client.outbuf.clear()
        self.epoch += 1

    # -- output caused by others -----------------------------------------------------

    def push(self, client: Client, value: object) -> None:
        """Queue a value for ``client``, encoded in its protocol (a served blocked command's reply)."""
        buf = client.outbuf
        first = not buf
        encode(value, buf, client.resp == 3)
        self.epoch += 1
        if first:
            self.write_later(client)

    def send(self, client: Client, data: bytes) -> None:
        """Queue bytes already encoded for ``client``'s protocol (MONITOR lines, invalidations)."""
        buf = client.outbuf
        first = not buf
        buf.append(data)
        self.epoch += 1
        if first:
            self.write_later(client)

    def deliver_group(self, subscribers: Subscribers, frame2: bytes, frame3: bytes,
                      publisher: Client | None) -> None:
        """Queue one published message for each subscriber of a group (a channel's or a pattern's).

        The fan-out is the costly part of pub/sub, so consecutive messages to the same
        group share one buffer per protocol: the first message puts the buffer in every
        subscriber's queue, the next ones only extend it, while ``epoch`` says nothing
        else was queued for them in between. A publisher that subscribes to the group
        itself gets its reply between two messages, and a message for several groups must
        interleave them, so those go one by one (``publisher`` is None).
        """
        batch = self._batch
        if (
            batch is not None
            and batch.group is subscribers
            and batch.epoch == self.epoch
            and publisher is not None
        ):
            if batch.resp2 is not None:
                batch.resp2 += frame2
            if batch.resp3 is not None:
                batch.resp3 += frame3
            return
        pending = self.pending
        was_idle = not pending
        append_pending = pending.append
        if publisher is None or publisher in subscribers:
            self._batch = None
            self.epoch += 1
            for client in subscribers:
                buf = client.outbuf
                if not buf:
                    append_pending(client)
                buf.append(frame2 if client.resp == 2 else frame3)
        else:
            batch = self._batch = _Batch(subscribers, self.epoch)
            # One bytearray per protocol, shared by every queue and extended in place.
            resp2: Any = None
            resp3: Any = None
            for client in subscribers:
                buf = client.outbuf
                if not buf:
                    append_pending(client)
                if client.resp == 2:
                    if resp2 is None:
                        resp2 = batch.resp2 = bytearray(frame2)
                    buf.append(resp2)
                else:
                    if resp3 is None:
                        resp3 = batch.resp3 = bytearray(frame3)
                    buf.append(resp3)
        if was_idle and pending:
            self._arm()

    # -- writing -----------------------------------------------------------------------

    def write_later(self, client: Client) -> None:
        """Write ``client``'s queue at the end of this loop turn (with everyone else's).
        Called when the queue stops being empty: a queue that holds output is already due."""
        pending = self.pending
        if not pending:
            loop = self.server.loop
            if loop is None:
                self.flush_client(client)
                return
            loop.call_soon(self.flush_pending)
        pending.append(client)

    def _arm(self) -> None:
        loop = self.server.loop
        if loop is None:
            self.flush_pending()
        else:
            loop.call_soon(self.flush_pending)

    def flush_client(self, client: Client) -> None:
        """Write ``client``'s queue now, in one write, and empty it."""
        out = client.outbuf
        if out:
            # (join hands back a lone bytes reply as it is; a bytearray, a pub/sub batch still
            # growing, is copied)
            data = b"".join(out)
            out.clear()
            client.send(data)

    def flush_pending(self) -> None:
        """End of the loop turn: write every queue that has something."""
        self.epoch += 1
        pending, self.pending = self.pending, []
        for client in pending:
            try:
                self.flush_client(client)
            except Exception as exc:  # one broken connection must not strand the others' output
                client.outbuf.clear()
                self.server.log("warning", f"Writing to client {client.id} failed: {exc!r}")
