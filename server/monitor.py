"""MONITOR lines: what a monitoring connection receives for each command the server runs.

For each command executed by anyone, one simple-string line in Redis's format::

    +1700000000.123456 [0 127.0.0.1:5555] "SET" "k" "v"

(seconds.microseconds, the database the command left selected, the client's
address, then each argument quoted and escaped as Redis's ``sdscatrepr`` does).
Dispatch calls ``feed`` after each command while ``server.monitors`` is not
empty; commands rejected before running (unknown, wrong arity, NOAUTH) never get
there. As in Redis, administrative commands (CONFIG, DEBUG, CLIENT LIST ...) and
MONITOR itself are not shown, and passwords are replaced by ``(redacted)``
(``server.redact``, the rule SLOWLOG shares): the arguments of AUTH, those after
HELLO's AUTH and MIGRATE's AUTH/AUTH2.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from server.redact import secret_positions

if TYPE_CHECKING:
    from server.client import Client
    from server.command import Command
    from server.instance import Server

REDACTED = b'"(redacted)"'

# Bytes sdscatrepr writes as they are; everything else is escaped.
_PLAIN = bytes(c for c in range(0x20, 0x7F) if c not in (0x22, 0x5C))
_ESCAPED = {0x22: b'\\"', 0x5C: b"\\\\", 0x0A: b"\\n", 0x0D: b"\\r", 0x09: b"\\t", 0x07: b"\\a", 0x08: b"\\b"}


def quote(arg: bytes) -> bytes:
    """An argument as Redis's sdscatrepr prints it: quoted, with C-style escapes."""
    if not arg.translate(None, _PLAIN):
        return b'"%b"' % arg
    out = [b'"']
    for c in arg:
        if 0x20 <= c < 0x7F and c != 0x22 and c != 0x5C:
            out.append(bytes((c,)))
        else:
            out.append(_ESCAPED.get(c) or b"\\x%02x" % c)
    out.append(b'"')
    return b"".join(out)


def format_line(client: Client, argv: list[bytes], now: float | None = None) -> bytes:
    """The RESP simple string a monitor receives for one command."""
    if now is None:
        now = time.time()
    secs = int(now)
    usecs = int((now - secs) * 1_000_000)
    addr = client.addr
    if addr.startswith("/"):
        where = b"unix:%b" % str(client.server.config["unixsocket"]).encode()
    else:
        where = addr.encode()
    hidden = secret_positions(argv)
    if hidden:
        args = b" ".join(REDACTED if i in hidden else quote(a) for i, a in enumerate(argv))
    else:
        args = b" ".join([quote(a) for a in argv])
    return b"+%d.%06d [%d %b] %b\r\n" % (secs, usecs, client.db.id, where, args)


def feed(server: Server, client: Client, cmd: Command, argv: list[bytes]) -> bytes | None:
    """Queue the line for a command that just ran on every monitor but its sender.

    A monitor that ran the command itself must see the line after the reply, which
    dispatch has not queued yet: its line is returned for dispatch to append.
    """
    if cmd.skip_monitor or "admin" in cmd.flags:
        return None
    line = format_line(client, argv)
    for monitor in server.monitors:
        if monitor is not client:
            monitor.send_push(line)
    return line if client.monitor else None
