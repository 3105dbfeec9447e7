"""Clients waiting on keys: BLPOP, BLMOVE, BZPOPMIN and friends.

A blocking command that cannot be served returns a ``Blocked`` (see
``server.client``). The client stops reading requests and is queued, in
arrival order, on each key it waits for. When a write makes a key "ready"
(``Database.signal_ready``), the clients queued on it are retried first come,
first served, after the command that made it ready finishes (and after EXEC for
a transaction), exactly as Redis's handleClientsBlockedOnKeys does. A retry
either produces the reply, which unblocks the client, or blocks again.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from server.client import Blocked
from server.protocol import Error

if TYPE_CHECKING:
    from server.client import Client
    from server.instance import Server


class Blocking:
    def __init__(self, server: Server):
        self.server = server
        self.waiting = server.keyspace.blocked_keys  # (db, key) -> [clients in arrival order]
        self.count = 0
        self._handling = False
        # The key whose readiness is being offered to ``retry``: Redis serves a client
        # from that key, not from the first of its keys that happens to hold data.
        self.serving_key: bytes | None = None

    def block(self, client: Client, blocked: Blocked, argv: list[bytes]) -> None:
        """Park ``client`` (which ran ``argv``) until one of its keys is ready or its timeout passes."""
        client.blocked = blocked
        blocked.argv = argv
        self.count += 1
        dbid = client.db.id
        for key in blocked.keys:
            self.waiting.setdefault((dbid, key), []).append(client)
        if blocked.timeout > 0:
            loop = self.server.loop
            if loop is not None:
                blocked.handle = loop.call_later(blocked.timeout, self.timeout, client)

    def _forget(self, client: Client) -> Blocked | None:
        blocked = client.blocked
        if blocked is None:
            return None
        client.blocked = None
        self.count -= 1
        dbid = client.db.id
        for key in blocked.keys:
            queue = self.waiting.get((dbid, key))
            if queue is not None:
                try:
                    queue.remove(client)
                except ValueError:
                    pass
                if not queue:
                    del self.waiting[(dbid, key)]
        if blocked.handle is not None:
            blocked.handle.cancel()
        return blocked

    def finish(self, client: Client, reply: object) -> None:
        """Unblock ``client`` with ``reply`` and let it read its next requests."""
        self._forget(client)
        self._deliver(client, reply)
        self.server.resume_client(client)

    @staticmethod
    def _deliver(client: Client, reply: object) -> None:
        """The reply a blocked command ends with (unless CLIENT REPLY mutes it)."""
        if not client.reply_muted():
            client.push(reply)

    def timeout(self, client: Client) -> None:
        blocked = client.blocked
        if blocked is None:
            return
        self.finish(client, blocked.on_timeout(client))

    def unblock(self, client: Client, error: bool) -> bool:
        """CLIENT UNBLOCK: end the wait as a timeout, or with an UNBLOCKED error."""
        blocked = client.blocked
        if blocked is None:
            return False
        if error:
            reply: object = Error(b"UNBLOCKED client unblocked via CLIENT UNBLOCK")
        else:
            reply = blocked.on_timeout(client)
        self.finish(client, reply)
        return True

    def disconnected(self, client: Client) -> None:
        """A blocked client went away: leave no trace of it."""
        self._forget(client)

    def handle_ready_keys(self) -> None:
        """Serve clients waiting on keys that commands made ready, in FIFO order."""
        if self._handling:
            return
        self._handling = True
        ks = self.server.keyspace
        try:
            while ks.ready_keys:
                ready, ks.ready_keys = ks.ready_keys, []
                seen = set()
                for dbkey in ready:
                    if dbkey in seen:
                        continue
                    seen.add(dbkey)
                    for client in list(self.waiting.get(dbkey, ())):
                        blocked = client.blocked
                        if blocked is None:
                            continue
                        if dbkey[1] not in client.db.data and not blocked.wants_missing:
                            continue
                        self.serving_key = dbkey[1]
                        reply = blocked.retry(client)
                        self.serving_key = None
                        if reply.__class__ is Blocked:
                            continue
                        self._forget(client)
                        self._deliver(client, reply)
                        self.server.effects.served(client, blocked.argv, reply)
                        self.server.resume_client(client)
        finally:
            self._handling = False
