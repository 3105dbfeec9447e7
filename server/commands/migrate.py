"""MIGRATE and RESTORE-ASKING: moving keys to another server (resharding a cluster).

MIGRATE dumps each key, sends ``RESTORE`` (``RESTORE-ASKING`` in cluster mode, so
the target accepts a slot it is importing) over a connection to the target and,
unless COPY, deletes the keys the target accepted; what it propagates is that
DEL. Like Redis's, it waits for the target synchronously, bounded by its
``timeout`` argument: the command is an administrator's, sent during resharding.
"""

from __future__ import annotations

import socket
from typing import TYPE_CHECKING

from server.command import K_ACCESS, K_DELETE, K_RW, command
from server.commands.args import SYNTAX_ERROR, ArgCursor, parse_int
from server.commands.persistence import restore
from server.config import ConfigError
from server.keyspace import now_ms
from server.persistence import rdb
from server.protocol import OK, Error, Status
from server.tls import client_context

if TYPE_CHECKING:
    from server.client import Client

NOKEY = Status(b"NOKEY")


def migrate_keys(argv: list[bytes]) -> list[tuple[int, int]]:
    """MIGRATE's keys (migrateGetKeys): the key argument, or every argument after KEYS."""
    skips = {b"copy": 0, b"replace": 0, b"auth": 1, b"auth2": 2}
    first, count = 3, 1
    i = 6
    while i < len(argv):
        word = argv[i].lower()
        if word == b"keys":
            if argv[3]:
                return []
            first, count = i + 1, len(argv) - i - 1
            break
        i += skips.get(word, 0) + 1
    return [(pos, K_RW | K_ACCESS | K_DELETE) for pos in range(first, first + count)]


def _command(*args: bytes) -> bytes:
    out = [b"*%d\r\n" % len(args)]
    for arg in args:
        out.append(b"$%d\r\n%s\r\n" % (len(arg), arg))
    return b"".join(out)


@command("migrate", arity=-6, flags="write", acl="keyspace dangerous", group="generic",
         since="2.6.0", getkeys=migrate_keys, tips="nondeterministic_output",
         keys=("RW access delete @3", "RW access delete incomplete @KEYS>-2 range(-1,1,0)"),
         summary="Moves keys to another server: DUMP here, RESTORE there, then DEL here.",
         args="host port (key|\"\"){name=key_or_empty_string} destination-db timeout [COPY{since=3.0.0}] "
              "[REPLACE{since=3.0.0}] [[AUTH password{since=4.0.7}]|[username "
              "password]{name=username_password,token=AUTH2,since=6.0.0}]{name=authentication} [KEYS "
              "key{ks=1,since=3.0.6} ...]",
         complexity="O(N) data transfer, plus DUMP, RESTORE and DEL's costs")
def migrate(ctx: Client, host: bytes, port_arg: bytes, key: bytes, db_arg: bytes, timeout_arg: bytes,
            *options: bytes) -> object:
    copy = replace = False
    username: bytes | None = None
    password: bytes | None = None
    keys = [key]
    args = ArgCursor(options)
    while args:
        opt = args.next_keyword()
        if opt == b"COPY":
            copy = True
        elif opt == b"REPLACE":
            replace = True
        elif opt == b"AUTH":
            if not args.has(1):
                raise SYNTAX_ERROR
            password = args.next_bytes()
        elif opt == b"AUTH2":
            if not args.has(2):
                raise SYNTAX_ERROR
            username = args.next_bytes()
            password = args.next_bytes()
        elif opt == b"KEYS":
            if key:
                raise Error(b"ERR When using MIGRATE KEYS option, the key argument must be set to the empty string")
            keys = list(args.rest())
            break
        else:
            raise SYNTAX_ERROR
    timeout = parse_int(timeout_arg)
    dbid = parse_int(db_arg)
    if timeout <= 0:
        timeout = 1000
    db = ctx.db
    present = [(name, value) for name in keys if (value := db.lookup_read(name)) is not None]
    if not present:
        return NOKEY
    restore_name = b"RESTORE-ASKING" if ctx.server.cluster is not None else b"RESTORE"
    requests: list[bytes] = []
    if password is not None:
        requests.append(_command(b"AUTH", username, password) if username is not None
                        else _command(b"AUTH", password))
    requests.append(_command(b"SELECT", b"%d" % dbid))
    sent: list[bytes] = []
    for name, value in present:
        deadline = db.deadline(name)
        ttl = 0
        if deadline is not None:
            ttl = deadline - now_ms()
            if ttl < 0:
                continue
            ttl = max(ttl, 1)
        parts = [restore_name, name, b"%d" % ttl, rdb.dump_payload(value)]
        if replace:
            parts.append(b"REPLACE")
        requests.append(_command(*parts))
        sent.append(name)
    seconds = timeout / 1000
    try:
        conn = socket.create_connection((host.decode("latin-1"), int(port_arg)), timeout=seconds)
    except (TimeoutError, ValueError, socket.gaierror):
        raise Error(b"IOERR error or timeout connecting to the client") from None
    except OSError:  # refused: Redis's non-blocking connect reports it when it first writes
        raise Error(b"IOERR error or timeout writing to target instance") from None
    if ctx.server.config["tls-cluster"]:  # the target's port is its TLS one (Redis's MIGRATE)
        try:
            conn = client_context(ctx.server.config).wrap_socket(conn)
        except (OSError, ConfigError):
            conn.close()
            raise Error(b"IOERR error or timeout connecting to the client") from None
    writing = True
    with conn:
        try:
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            conn.sendall(b"".join(requests))
            writing = False
            replies = conn.makefile("rb")
            prefix = [replies.readline() for _ in range(len(requests) - len(sent))]
            results = [replies.readline() for _ in sent]
        except OSError:
            raise Error(b"IOERR error or timeout %s to target instance" % (b"writing" if writing else b"reading")) \
                from None
    if any(not line for line in prefix + results):
        raise Error(b"IOERR error or timeout reading to target instance")
    error: bytes | None = next((line for line in prefix if line.startswith(b"-")), None)
    deleted: list[bytes] = []
    for name, line in zip(sent, results):
        if error is not None or line.startswith(b"-"):  # a refused AUTH/SELECT fails every key
            error = error or line
        elif not copy:
            db.delete_with_event(name)
            deleted.append(name)
    ctx.propagate_as = [[b"DEL", *deleted]] if deleted else []
    if error is not None:
        raise Error(b"ERR Target instance replied with error: " + error[1:].rstrip(b"\r\n"))
    return OK


@command("restore-asking", arity=-4, flags="write denyoom asking", keys="OW update @1", acl="keyspace dangerous",
         group="server", since="3.0.0", summary="RESTORE as MIGRATE sends it in cluster mode (it may use a slot "
                                                "being imported).",
         args="key ttl serialized-value [REPLACE{since=3.0.0}] [ABSTTL{since=5.0.0}] [IDLETIME "
              "seconds{since=5.0.0}] [FREQ frequency{since=5.0.0}]",
         doc_flags="syscmd")
def restore_asking(ctx: Client, key: bytes, ttl: bytes, payload: bytes, *options: bytes) -> object:
    return restore(ctx, key, ttl, payload, *options)
