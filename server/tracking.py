"""Client-side caching: which clients read which keys, and the invalidation messages (tracking.c).

A client that turns tracking on (CLIENT TRACKING ON) is told when a key it read
may have changed, so it can drop its cached copy. Two modes, as in Redis:

- default: every key a read-only command of the client names is remembered in
  ``table`` (key → client ids); the first change to the key sends each of them
  one ``invalidate`` message and forgets the key. OPTIN/OPTOUT restrict which
  commands remember (CLIENT CACHING YES/NO for the next command).
- BCAST: the client subscribes to key prefixes; every change to a key under a
  prefix is collected and sent once per event-loop turn, keys in byte order.

Messages are RESP3 pushes ``["invalidate", [key]]`` (a null instead of the
list after FLUSHDB/FLUSHALL), or, for a client that redirects to another
connection in RESP2, ``message`` on ``__redis__:invalidate``. A change made by
the tracking client itself is announced after the reply to the command that
made it (Redis's pending keys), unless NOLOOP asks for no such messages.

Changes arrive through the keyspace's touch hook (every modification, expiry
and eviction), flushes through the FLUSHDB/FLUSHALL hook. ``tracking-table-max-keys``
bounds the table: past it, random keys are invalidated early.
"""

from __future__ import annotations

import random
from typing import TYPE_CHECKING, cast

if TYPE_CHECKING:
    from server.client import Client
    from server.command import Command
    from server.instance import Server

CHANNEL = b"__redis__:invalidate"
_INVALIDATE_PUSH = b">2\r\n$10\r\ninvalidate\r\n"
_INVALIDATE_MESSAGE = b"*3\r\n$7\r\nmessage\r\n$20\r\n__redis__:invalidate\r\n"


# Read-only script runners: the commands a script runs are tracked, not the runner itself.
_SCRIPT_RUNNERS = frozenset(("eval_ro", "evalsha_ro", "fcall_ro"))


class TrackingState:
    """One client's tracking settings (Redis's CLIENT_TRACKING_* flags)."""

    __slots__ = ("bcast", "optin", "optout", "noloop", "caching", "broken_redirect", "redirect", "prefixes")

    def __init__(self, redirect: int) -> None:
        self.bcast = False
        self.optin = False
        self.optout = False
        self.noloop = False
        self.caching = False  # CLIENT CACHING given for the next command
        self.broken_redirect = False
        self.redirect = redirect
        self.prefixes: list[bytes] = []


class Tracking:
    """The server's tracking table, prefix table and the messages they send."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self.table: dict[bytes, dict[int, None]] = {}
        self.total_items = 0
        # prefix -> (clients subscribed, keys changed this turn -> the client that changed them)
        self.prefixes: dict[bytes, tuple[dict[int, Client], dict[bytes, Client | None]]] = {}
        self.clients = 0  # how many have tracking on (INFO tracking_clients)
        self.current: Client | None = None  # the client whose command is running
        self.broadcast_scheduled = False
        self.limit_rounds = 0

    # -- turning it on and off -------------------------------------------------

    def enable(self, client: Client, redirect: int, bcast: bool, optin: bool, optout: bool, noloop: bool,
               prefixes: list[bytes]) -> None:
        state = client.tracking
        if state is None:
            self.clients += 1
            state = client.tracking = TrackingState(redirect)
        state.redirect = redirect
        state.broken_redirect = False
        state.bcast = bcast
        state.optin = optin
        state.optout = optout
        state.noloop = noloop
        if bcast:
            for prefix in prefixes or [b""]:
                clients, _ = self.prefixes.setdefault(prefix, ({}, {}))
                if client.id not in clients:
                    clients[client.id] = client
                    state.prefixes.append(prefix)
        self._listen()

    def disable(self, client: Client) -> None:
        state = client.tracking
        if state is None:
            return
        for prefix in state.prefixes:
            entry = self.prefixes.get(prefix)
            if entry is not None:
                entry[0].pop(client.id, None)
                if not entry[0]:
                    del self.prefixes[prefix]
        client.tracking = None
        client.tracking_pending.clear()
        self.clients -= 1
        self._listen()

    def _listen(self) -> None:
        """Have the keyspace report every change while anything is tracked (``Server._key_changed``)."""
        ks = self.server.keyspace
        ks.tracking_active = bool(self.clients or self.table or self.prefixes)
        if ks.tracking_active:
            ks.watched = True

    # -- remembering keys --------------------------------------------------------

    def after_command(self, client: Client, cmd: Command, argv: list[bytes], top_level: bool) -> None:
        """Remember the keys a read-only command of a tracking client named (trackingRememberKeys)."""
        state = client.tracking
        if state is None:
            return
        if cmd.is_readonly and cmd.name not in _SCRIPT_RUNNERS and not state.bcast and not ((state.optin and not state.caching)
                                                         or (state.optout and state.caching)):
            positions = cmd.key_positions(argv)
            if positions and "pubsub" not in cmd.flags:
                table = self.table
                for pos in positions:
                    ids = table.get(argv[pos])
                    if ids is None:
                        ids = table[argv[pos]] = {}
                    if client.id not in ids:
                        ids[client.id] = None
                        self.total_items += 1
                self._listen()
                self.limit()
        if top_level and state.caching and not client.in_multi and cmd.root_name != b"client":
            state.caching = False

    def limit(self) -> None:
        """tracking-table-max-keys: invalidate random keys until the table fits (trackingLimitUsedSlots)."""
        max_keys = cast(int, self.server.config["tracking-table-max-keys"])
        if not max_keys or len(self.table) <= max_keys:
            self.limit_rounds = 0
            return
        effort = 100 * (self.limit_rounds + 1)
        keys = list(self.table)
        while effort > 0 and keys:
            effort -= 1
            key = keys.pop(random.randrange(len(keys)))
            self.invalidate(key, from_limit=True)
            if len(self.table) <= max_keys:
                self.limit_rounds = 0
                return
        self.limit_rounds += 1

    # -- invalidating ------------------------------------------------------------

    def invalidate(self, key: bytes, from_limit: bool = False) -> None:
        """``key`` changed (trackingInvalidateKey): tell whoever cached it, once."""
        current = None if from_limit else self.current
        if self.prefixes:
            for prefix, (_, changed) in self.prefixes.items():
                if key.startswith(prefix):
                    changed[key] = current
            self._schedule_broadcast()
        ids = self.table.pop(key, None)
        if ids is None:
            return
        self.total_items -= len(ids)
        clients = self.server.clients
        for client_id in ids:
            target = clients.get(client_id)
            state = target.tracking if target is not None else None
            if target is None or state is None or state.bcast:
                continue
            # ``current`` may be a script's client, which carries its caller's id.
            own = current is not None and target.id == current.id
            if state.noloop and own:
                continue
            if own:
                target.tracking_pending.append(key)
            else:
                self.send(target, key)
        self._listen()

    def flushed(self) -> None:
        """FLUSHDB/FLUSHALL: every tracking client gets a null invalidation; the table starts over."""
        if self.clients:
            for client in list(self.server.clients.values()):
                if client.tracking is not None:
                    if client is self.current:
                        client.tracking_pending.append(None)
                    else:
                        self.send(client, None)
        self.table = {}
        self.total_items = 0
        self._listen()

    def message(self, client: Client, key: bytes | None,
                keys_array: bytes | None = None) -> tuple[Client, bytes] | None:
        """Where an invalidation for ``client`` goes and its bytes (sendTrackingMessage), or None."""
        state = client.tracking
        target = client
        redirected = False
        if state is not None and state.redirect:
            found = self.server.clients.get(state.redirect)
            if found is None:
                state.broken_redirect = True
                if client.resp == 3:
                    return client, b">2\r\n$21\r\ntracking-redir-broken\r\n:%d\r\n" % state.redirect
                return None
            target = found
            redirected = True
        if target.resp == 3:
            head = _INVALIDATE_PUSH
        elif redirected and (target.channels or target.patterns or target.shard_channels):
            head = _INVALIDATE_MESSAGE
        else:
            return None  # RESP2 without a subscribed redirect: nowhere to send it
        if keys_array is not None:
            body = keys_array
        elif key is None:
            body = b"_\r\n" if target.resp == 3 else b"$-1\r\n"
        else:
            body = b"*1\r\n$%d\r\n%b\r\n" % (len(key), key)
        return target, head + body

    def send(self, client: Client, key: bytes | None, keys_array: bytes | None = None) -> None:
        found = self.message(client, key, keys_array)
        if found is not None:
            found[0].send_push(found[1])

    def pending_output(self, client: Client) -> bytes:
        """The messages held back for the client's own changes, to follow its reply."""
        pending, client.tracking_pending = client.tracking_pending, []
        out = []
        for key in pending:
            found = self.message(client, key)
            if found is None:
                continue
            if found[0] is client:
                out.append(found[1])
            else:
                found[0].send_push(found[1])
        return b"".join(out)

    # -- broadcasting ------------------------------------------------------------

    def _schedule_broadcast(self) -> None:
        if self.broadcast_scheduled:
            return
        self.broadcast_scheduled = True
        loop = self.server.loop
        if loop is None:
            self.broadcast()
        else:
            loop.call_soon(self.broadcast)

    def broadcast(self) -> None:
        """Send each BCAST client the keys changed under its prefixes (trackingBroadcastInvalidationMessages)."""
        self.broadcast_scheduled = False
        for prefix in sorted(self.prefixes):
            clients, changed = self.prefixes[prefix]
            if not changed:
                continue
            self.prefixes[prefix] = (clients, {})
            keys = sorted(changed)
            common = _keys_array(keys)
            for client in list(clients.values()):
                state = client.tracking
                if state is None:
                    continue
                if state.noloop:
                    own = [k for k in keys if changed[k] is not client]
                    if own:
                        self.send(client, None, _keys_array(own))
                else:
                    self.send(client, None, common)

    # -- INFO --------------------------------------------------------------------

    def info_keys(self) -> int:
        return len(self.table)

    def info_prefixes(self) -> int:
        return len(self.prefixes)


def _keys_array(keys: list[bytes]) -> bytes:
    return b"*%d\r\n" % len(keys) + b"".join(b"$%d\r\n%b\r\n" % (len(k), k) for k in keys)
