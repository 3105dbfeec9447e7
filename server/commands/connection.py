"""Connection commands: PING, ECHO, SELECT, HELLO, AUTH, QUIT, RESET and CLIENT.

These change or report the state of the connection itself (``server.client``),
never the data.
"""

from __future__ import annotations

from server import REDIS_VERSION
from server.client import Client
from server.command import command, container
from server.commands.args import (
    DB_OUT_OF_RANGE,
    SYNTAX_ERROR,
    ArgCursor,
    parse_c_int,
    parse_int,
    parse_timeout_ms,
    to_int,
)
from server.protocol import NO_REPLY, OK, PONG, Error, Status, Verbatim

WRONGPASS = Error(b"WRONGPASS invalid username-password pair or user is disabled.")


@command("ping", arity=-1, flags="fast", acl="connection", group="connection",
         summary="Checks that the server answers: PONG, or the message given.", args="[message]",
         tips="request_policy:all_shards response_policy:all_succeeded")
def ping(ctx: Client, *args: bytes) -> object:
    if len(args) > 1:
        raise Error(b"ERR wrong number of arguments for 'ping' command")
    if ctx.resp == 2 and ctx.subscriptions:
        return [b"pong", args[0] if args else b""]
    return args[0] if args else PONG


@command("echo", arity=2, flags="loading stale fast", acl="connection", group="connection",
         summary="Returns the message it was given.", args="message")
def echo(ctx: Client, message: bytes) -> bytes:
    return message


@command("select", arity=2, flags="loading stale fast", acl="connection", group="connection",
         summary="Switches the connection to another numbered database.", args="index")
def select(ctx: Client, index: bytes) -> object:
    value = parse_c_int(index)
    if ctx.server.cluster is not None and value != 0:
        raise Error(b"ERR SELECT is not allowed in cluster mode")
    if not 0 <= value < len(ctx.server.keyspace.dbs):
        raise DB_OUT_OF_RANGE
    ctx.select(value)
    return OK


@command("quit", arity=-1, flags="noscript loading stale fast no_auth allow_busy", acl="connection",
         group="connection", summary="Closes the connection after replying OK.")
def quit_(ctx: Client, *args: bytes) -> object:
    ctx.close_after_reply = True
    return OK


def authenticate(ctx: Client, username: bytes | None, password: bytes) -> object:
    """Check credentials against the ACL's users (requirepass is the default user's password)."""
    server = ctx.server
    if username is None and not server.default_user_has_password():
        return Error(
            b"ERR AUTH <password> called without any password configured for the default user. "
            b"Are you sure your configuration is correct?"
        )
    user = server.acl.check_credentials(username, password)
    if user is None:
        return WRONGPASS
    ctx.user = user
    ctx.authenticated = True
    return None


@command("auth", arity=-2, flags="noscript loading stale fast no_auth allow_busy", acl="connection",
         group="connection", summary="Logs the connection in as a user.",
         args="[username{since=6.0.0}] password")
def auth(ctx: Client, *args: bytes) -> object:
    if len(args) > 2:
        raise SYNTAX_ERROR
    username = args[0] if len(args) == 2 else None
    error = authenticate(ctx, username, args[-1])
    if error is not None:
        return error
    return OK


@command("hello", arity=-1, flags="noscript loading stale fast no_auth allow_busy", acl="connection",
         group="connection", since="6.0.0",
         summary="Switches protocol version (2 or 3), optionally logs in and names the connection.",
         args="[protover [username password]{name=username_password,token=AUTH} [SETNAME "
              "clientname]]{name=arguments}")
def hello(ctx: Client, *args: bytes) -> object:
    version = ctx.resp
    if args:
        ver = to_int(args[0])
        if ver is None:
            raise Error(b"ERR Protocol version is not an integer or out of range")
        if ver not in (2, 3):
            raise Error(b"NOPROTO unsupported protocol version")
        version = ver
    name = None
    options = ArgCursor(args, 1)
    while options:
        given = options.next_bytes()
        opt = given.upper()
        if opt == b"AUTH" and options.has(2):
            error = authenticate(ctx, options.next_bytes(), options.next_bytes())
            if error is not None:
                return error
        elif opt == b"SETNAME" and options.has(1):
            name = options.next_bytes()
            check_client_name(name)
        else:
            raise Error(b"ERR Syntax error in HELLO option '%s'" % given)
    if not ctx.authenticated:
        return Error(b"NOAUTH HELLO must be called with the client already authenticated, "
                     b"otherwise the HELLO AUTH <user> <pass> option can be used to "
                     b"authenticate the client and select the RESP protocol version at the same time")
    if name is not None:
        ctx.name = name
    ctx.resp = version
    return {
        b"server": b"redis",
        b"version": REDIS_VERSION.encode(),
        b"proto": version,
        b"id": ctx.id,
        b"mode": b"standalone",
        b"role": b"master",
        b"modules": [],
    }


@command("reset", arity=1, flags="noscript loading stale fast no_auth allow_busy", acl="connection",
         group="connection", since="6.2.0",
         summary="Returns the connection to its initial state: db 0, RESP2, no MULTI, WATCH or subscriptions.")
def reset(ctx: Client) -> object:
    ctx.server.reset_client(ctx)
    return Status(b"RESET")


# --------------------------------------------------------------------------- CLIENT

container("client", summary="Inspects and manages client connections.", group="connection", since="2.4.0")


def check_client_name(name: bytes) -> None:
    for c in name:
        if c < 33 or c > 126:
            raise Error(b"ERR Client names cannot contain spaces, newlines or special characters.")


@command("client|id", arity=2, flags="noscript loading stale", acl="connection", group="connection",
         since="5.0.0", summary="Returns the connection's unique ID.")
def client_id(ctx: Client, _sub: bytes) -> int:
    return ctx.id


@command("client|setname", arity=3, flags="noscript loading stale", acl="connection", group="connection",
         since="2.6.9", summary="Names the connection (CLIENT LIST shows it).", args="connection-name")
def client_setname(ctx: Client, _sub: bytes, name: bytes) -> object:
    check_client_name(name)
    ctx.name = name
    return OK


@command("client|getname", arity=2, flags="noscript loading stale", acl="connection", group="connection",
         since="2.6.9", summary="Returns the connection's name, or nil.")
def client_getname(ctx: Client, _sub: bytes) -> object:
    return ctx.name or None


def _client_filter(ctx: Client, args: tuple[bytes, ...]) -> list[Client]:
    clients = list(ctx.server.clients.values())
    if not args:
        return clients
    if args[0].upper() == b"TYPE" and len(args) == 2:
        kind = args[1].lower()
        if kind not in (b"normal", b"master", b"replica", b"slave", b"pubsub"):
            raise Error(b"ERR Unknown client type '%s'" % args[1])
        if kind == b"pubsub":
            return [c for c in clients if c.subscriptions]
        if kind == b"normal":
            return [c for c in clients if not c.subscriptions and c.kind not in ("replica", "master")]
        if kind == b"master":
            return [c for c in clients if c.kind == "master"]
        return [c for c in clients if c.kind == "replica"]
    if args[0].upper() == b"ID" and len(args) >= 2:
        wanted = set()
        for arg in args[1:]:
            value = to_int(arg)
            if value is None:  # any integer is accepted; IDs that match nothing list nothing
                raise Error(b"ERR Invalid client ID")
            wanted.add(value)
        return [c for c in clients if c.id in wanted]
    raise SYNTAX_ERROR


@command("client|list", arity=-2, flags="admin noscript loading stale", acl="connection", group="connection",
         since="2.4.0", summary="Lists the connections and their state, one line each.",
         args="[NORMAL|MASTER|REPLICA|PUBSUB]{name=normal_master_replica_pubsub,token=TYPE,since=5.0.0} "
              "[(client-id ...){type=block,name=id,token=ID}]{since=6.2.0}",
         tips="nondeterministic_output")
def client_list(ctx: Client, _sub: bytes, *args: bytes) -> object:
    lines = [c.info_line() for c in _client_filter(ctx, args)]
    return Verbatim(("".join(line + "\n" for line in lines)).encode())


@command("client|info", arity=2, flags="noscript loading stale", acl="connection", group="connection",
         since="6.2.0", summary="Describes this connection, in CLIENT LIST's format.",
         tips="nondeterministic_output")
def client_info(ctx: Client, _sub: bytes) -> object:
    return Verbatim((ctx.info_line() + "\n").encode())


@command("client|kill", arity=-3, flags="admin noscript loading stale", acl="connection", group="connection",
         since="2.4.0", summary="Closes connections chosen by address, ID, type, user or local address.",
         args="(ip:port{deprecated=2.8.12}|([ID "
              "client-id{since=2.8.12}]|[NORMAL|MASTER{since=3.2.0}|SLAVE|REPLICA{since=5.0.0}|PUBSUB]{name=normal_master_slave_pubsub,token=TYPE,since=2.8.12}|[USER "
              "username]|[ADDR ip:port]|[LADDR ip:port{since=6.2.0}]|[SKIPME "
              "yes/no]){name=new-format,multiple}){name=filter}")
def client_kill(ctx: Client, _sub: bytes, *args: bytes) -> object:
    clients = list(ctx.server.clients.values())
    if len(args) == 1:
        addr = args[0].decode("utf-8", "replace")
        targets = [c for c in clients if c.addr == addr]
        if not targets:
            raise Error(b"ERR No such client")
        _kill(ctx, targets)
        return OK
    skipme = True
    selected = clients
    options = ArgCursor(args)
    while options:
        opt = options.next_keyword()
        value = options.next_bytes()  # every filter takes a value: none left is a syntax error
        if opt == b"ID":
            cid = to_int(value)
            if cid is None or cid <= 0:
                raise Error(b"ERR client-id should be greater than 0")
            selected = [c for c in selected if c.id == cid]
        elif opt == b"TYPE":
            selected = [c for c in selected if c in _client_filter(ctx, (b"TYPE", value))]
        elif opt == b"USER":
            users = ctx.server.acl.users
            if value.decode("utf-8", "surrogateescape") not in users:
                raise Error(b"ERR No such user '%s'" % value)
            selected = [c for c in selected if c.user.encode() == value]
        elif opt == b"ADDR":
            selected = [c for c in selected if c.addr.encode() == value]
        elif opt == b"LADDR":
            selected = [c for c in selected if c.laddr.encode() == value]
        elif opt == b"SKIPME":
            low = value.lower()
            if low not in (b"yes", b"no"):
                raise SYNTAX_ERROR
            skipme = low == b"yes"
        else:
            raise SYNTAX_ERROR
    if skipme:
        selected = [c for c in selected if c is not ctx]
    _kill(ctx, selected)
    return len(selected)


def _kill(ctx: Client, targets: list[Client]) -> None:
    for target in targets:
        if target is ctx:
            ctx.close_after_reply = True
        else:
            target.close()


def _on_off(mode: bytes) -> bool:
    """CLIENT NO-EVICT's and NO-TOUCH's ``ON|OFF``."""
    value = mode.upper()
    if value not in (b"ON", b"OFF"):
        raise SYNTAX_ERROR
    return value == b"ON"


@command("client|no-evict", arity=3, flags="admin noscript loading stale", acl="connection", group="connection",
         since="7.0.0", summary="Exempts this connection from client eviction (maxmemory-clients).",
         args="(ON|OFF){name=enabled}")
def client_no_evict(ctx: Client, _sub: bytes, mode: bytes) -> object:
    ctx.no_evict = _on_off(mode)
    return OK


@command("client|unblock", arity=-3, flags="admin noscript loading stale", acl="connection",
         group="connection", since="5.0.0",
         summary="Ends another client's blocking command, as a timeout or with an error.",
         args="client-id [TIMEOUT|ERROR]{name=timeout_error}")
def client_unblock(ctx: Client, sub: bytes, cid: bytes, *mode: bytes) -> object:
    if len(mode) > 1:
        raise subcommand_syntax_error("client", sub)
    target_id = parse_int(cid)
    error = False
    if mode:
        kind = mode[0].upper()
        if kind not in (b"TIMEOUT", b"ERROR"):
            raise Error(b"ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR")
        error = kind == b"ERROR"
    target = ctx.server.clients.get(target_id)
    if target is None or target.blocked is None:
        return 0
    return 1 if ctx.server.blocking.unblock(target, error) else 0


@command("client|reply", arity=3, flags="noscript loading stale", acl="connection", group="connection",
         since="3.2.0", summary="Turns replies to this connection on or off.", args="(ON|OFF|SKIP){name=on_off_skip}")
def client_reply(ctx: Client, _sub: bytes, mode: bytes) -> object:
    """ON answers OK; OFF and SKIP answer nothing (their own reply is the first one muted)."""
    word = mode.upper()
    if word == b"ON":
        ctx.reply_off = ctx.skip_this = False
        return OK
    if word == b"OFF":
        ctx.reply_off = True
    elif word == b"SKIP":
        if not ctx.reply_off:
            ctx.skip_next = True
    else:
        raise SYNTAX_ERROR
    return NO_REPLY


@command("client|pause", arity=-3, flags="admin noscript loading stale", acl="connection", group="connection",
         since="2.9.50", summary="Suspends commands from clients (all, or those that write) for a while.",
         args="timeout [WRITE|ALL]{name=mode,since=6.2.0}")
def client_pause(ctx: Client, sub: bytes, timeout: bytes, *mode: bytes) -> object:
    if len(mode) > 1:
        raise subcommand_syntax_error("client", sub)
    value = parse_timeout_ms(timeout)
    kind = mode[0].upper() if mode else b"ALL"
    if kind not in (b"WRITE", b"ALL"):
        raise Error(b"ERR CLIENT PAUSE mode must be WRITE or ALL")
    ctx.server.pause(value / 1000.0, kind.decode().lower())
    return OK


@command("client|unpause", arity=2, flags="admin noscript loading stale", acl="connection", group="connection",
         since="6.2.0", summary="Resumes clients suspended by CLIENT PAUSE.")
def client_unpause(ctx: Client, _sub: bytes) -> object:
    ctx.server.unpause()
    return OK


@command("client|help", arity=2, flags="loading stale", acl="connection", group="connection",
         since="5.0.0", summary="Lists CLIENT's subcommands.")
def client_help(ctx: Client, _sub: bytes) -> object:
    return help_lines(ctx, "client")


def subcommand_syntax_error(container_name: str, sub: bytes) -> Error:
    """Redis's reply to a known subcommand given the wrong arguments (addReplySubcommandSyntaxError)."""
    return Error(
        b"ERR unknown subcommand or wrong number of arguments for '%s'. Try %s HELP."
        % (sub[:128], container_name.upper().encode())
    )


def help_lines(ctx: Client, container_name: str) -> list[Status]:
    """A HELP reply built from the command table: one line of syntax and one of summary each.

    Simple strings, as Redis's addReplyHelp sends them."""
    from server.command import TABLE, render_args

    cmd = TABLE[container_name.encode()]
    lines = [Status(f"{container_name.upper()} <subcommand> [<arg> [value] [opt] ...]. Subcommands are:".encode())]
    for name, sub in sorted(cmd.subcommands.items()):
        lines.append(Status(f"{name.decode().upper()} {render_args(sub.args)}".rstrip().encode()))
        lines.append(Status(f"    {sub.summary}".encode()))
    return lines

