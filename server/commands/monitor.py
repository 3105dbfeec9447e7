"""MONITOR: turn this connection into a live feed of every command the server runs.

The lines themselves are written by ``server.monitor`` (dispatch feeds it after
each command). A monitoring connection behaves like a replica: it may still send
commands, but none that read or write keys. RESET and disconnects take a client
off ``server.monitors`` (``Server.reset_client``, ``Server.client_gone``).
"""

from __future__ import annotations

from server.client import Client
from server.command import command
from server.protocol import OK, Error, Replies


@command("monitor", arity=1, flags="admin noscript loading stale", group="server", since="1.0.0",
         summary="Turns this connection into a live feed of every command the server runs.")
def monitor(ctx: Client) -> object:
    if ctx.executing_multi:
        raise Error(b"ERR MONITOR isn't allowed for DENY BLOCKING client")
    if ctx.monitor:
        return Replies()  # already monitoring: Redis sends nothing at all
    ctx.monitor = True
    ctx.server.monitors.append(ctx)
    return OK
