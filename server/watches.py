"""WATCH: who watches which key, and what a change to a key does to their transactions.

``Watches`` maps each watched (db, key) to its clients; the keyspace calls
``touch`` (its ``on_touch`` hook, set when the server is built) whenever a key is
written, deleted, expired, flushed or swapped, and every client watching it gets
``watch_dirty``: its next EXEC answers a null array. As in Redis 7.0, a key that
was already expired when WATCHed does not count as changed when that stale copy is
finally removed, and a watched key whose TTL runs out before EXEC fails the
transaction even if nobody removed it yet.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from server.keyspace import now_ms

if TYPE_CHECKING:
    from server.client import Client
    from server.keyspace import Database, Keyspace


class Watches:
    """Who watches which key: (db, key) → {client: key was already expired when watched}."""

    def __init__(self, keyspace: Keyspace):
        self.keyspace = keyspace
        self.keys: dict[tuple[int, bytes], dict[Client, bool]] = {}

    def watch(self, client: Client, key: bytes) -> None:
        db = client.db
        dbkey = (db.id, key)
        if dbkey in client.watched:
            return
        client.watched.add(dbkey)
        deadline = db.expires.get(key)
        self.keys.setdefault(dbkey, {})[client] = deadline is not None and deadline < now_ms()
        self.keyspace.watched = True

    def touch(self, db: Database, key: bytes) -> None:
        """``Keyspace.on_touch``: ``key`` in ``db`` changed; its watchers' transactions fail."""
        watchers = self.keys.get((db.id, key))
        if not watchers:
            return
        for client, was_expired in list(watchers.items()):
            if was_expired and key not in db.data:
                # The stale copy seen at WATCH time is gone: logically nothing changed.
                watchers[client] = False
                continue
            client.watch_dirty = True
            self.unwatch_all(client)  # it will fail anyway: stop tracking its keys

    def unwatch_all(self, client: Client) -> None:
        keys = self.keys
        for dbkey in client.watched:
            watchers = keys.get(dbkey)
            if watchers is not None:
                watchers.pop(client, None)
                if not watchers:
                    del keys[dbkey]
        client.watched.clear()
        self.keyspace.watched = bool(keys) or self.keyspace.tracking_active

    def expired_since_watch(self, client: Client) -> bool:
        """Has a watched key's TTL run out since WATCH (even if nobody removed it yet)?"""
        now = now_ms()
        dbs = self.keyspace.dbs
        for dbid, key in client.watched:
            if self.keys[(dbid, key)].get(client):
                continue  # already expired when watched
            deadline = dbs[dbid].expires.get(key)
            if deadline is not None and deadline < now:
                return True
        return False

    def end_transaction(self, client: Client) -> None:
        """Leave MULTI: drop the queue and the error mark, stop watching (Redis's discardTransaction)."""
        client.in_multi = False
        client.multi_queue = []
        client.multi_error = False
        client.watch_dirty = False
        if client.watched:
            self.unwatch_all(client)
