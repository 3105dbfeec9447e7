"""ACL commands: manage users and inspect permissions (the rules live in ``server.acl``)."""

from __future__ import annotations

import os
import time

from server.acl import User, _Rules, commands_in, has_spaces, read_acl_file
from server.client import Client
from server.command import CATEGORIES, command, container
from server.commands.args import NOT_POSITIVE, c_string, to_int
from server.commands.connection import help_lines
from server.dispatch import resolve
from server.protocol import OK, Error, RespSet

container("acl", summary="Manages users and their permissions.", group="server", since="6.0.0")


def _acl(ctx: Client):
    return ctx.server.acl


def _text(arg: bytes) -> str:
    return arg.decode("utf-8", "surrogateescape")


@command("acl|setuser", arity=-3, flags="admin noscript loading stale", group="server", since="6.0.0",
         summary="Creates a user or changes its rules.", args="username [rule ...]")
def acl_setuser(ctx: Client, _sub: bytes, name: bytes, *rules: bytes) -> object:
    if has_spaces(name):
        raise Error(b"ERR Usernames can't contain spaces or null characters")
    _acl(ctx).setuser(_text(name), [_text(r) for r in rules])
    return OK


@command("acl|deluser", arity=-3, flags="admin noscript loading stale", group="server", since="6.0.0",
         summary="Deletes users and disconnects their clients.", args="username ...")
def acl_deluser(ctx: Client, _sub: bytes, *names: bytes) -> int:
    return _acl(ctx).deluser([_text(n) for n in names])


@command("acl|getuser", arity=3, flags="admin noscript loading stale", group="server", since="6.0.0",
         summary="Describes one user's flags, passwords, commands, keys and channels.", args="username")
def acl_getuser(ctx: Client, _sub: bytes, name: bytes) -> object:
    user: User | None = _acl(ctx).users.get(_text(name))
    if user is None:
        return None
    return {
        b"flags": RespSet(f.encode() for f in user.flag_names()),  # a set in RESP3, as in Redis
        b"passwords": [h.encode() for h in user.passwords],
        **_selector_fields(user),
        b"selectors": [_selector_fields(s) for s in user.selectors],
    }


def _selector_fields(rules: _Rules) -> dict[bytes, bytes]:
    """commands, keys and channels of the root or of one selector, as ACL GETUSER shows them."""
    return {
        b"commands": rules.commands_text().encode(),
        b"keys": " ".join(rules._key_text()).encode("utf-8", "surrogateescape"),
        b"channels": rules.channels_field().encode("utf-8", "surrogateescape"),
    }


@command("acl|list", arity=2, flags="admin noscript loading stale", group="server", since="6.0.0",
         summary="Lists every user with its rules, one line each.")
def acl_list(ctx: Client, _sub: bytes) -> list:
    users = _acl(ctx).users
    return [users[name].describe().encode("utf-8", "surrogateescape") for name in sorted(users)]


@command("acl|users", arity=2, flags="admin noscript loading stale", group="server", since="6.0.0",
         summary="Lists user names.")
def acl_users(ctx: Client, _sub: bytes) -> list:
    return [name.encode() for name in sorted(_acl(ctx).users)]


@command("acl|whoami", arity=2, flags="noscript loading stale", group="server", since="6.0.0",
         summary="Returns the user this connection is logged in as.")
def acl_whoami(ctx: Client, _sub: bytes) -> bytes:
    return ctx.user.encode()


@command("acl|cat", arity=-2, flags="noscript loading stale", group="server", since="6.0.0",
         summary="Lists ACL categories, or the commands of one category.", args="[categoryname]")
def acl_cat(ctx: Client, _sub: bytes, *category: bytes) -> list:
    if not category:
        return [c.encode() for c in CATEGORIES]
    name = _text(category[0]).lower()
    if name not in CATEGORIES:
        raise Error(b"ERR Unknown category '%s'" % category[0])
    return [c.name.encode() for c in commands_in(name)]


@command("acl|genpass", arity=-2, flags="noscript loading stale", group="server", since="6.0.0",
         summary="Generates a random password (256 bits by default).", args="[bits{type=integer}]")
def acl_genpass(ctx: Client, _sub: bytes, *bits: bytes) -> bytes:
    count = 256
    if bits:
        value = to_int(bits[0])
        if value is None or value <= 0 or value > 4096:
            raise Error(b"ERR ACL GENPASS argument must be the number of bits for the output password, "
                        b"a positive number up to 4096")
        count = value
    chars = (count + 3) // 4
    return os.urandom((chars + 1) // 2).hex()[:chars].encode()


@command("acl|log", arity=-2, flags="admin noscript loading stale", group="server", since="6.0.0",
         summary="Shows recent permission denials and failed logins, or RESET them.", args="[count|RESET]{name=operation}")
def acl_log(ctx: Client, _sub: bytes, *args: bytes) -> object:
    acl = _acl(ctx)
    limit = len(acl.log)
    if args:
        if args[0].upper() == b"RESET":
            acl.log.clear()
            return OK
        value = to_int(args[0])
        if value is None or value < 0:
            raise NOT_POSITIVE
        limit = value
    now = time.time()
    out = []
    for entry in list(acl.log)[:limit]:
        out.append({
            b"count": entry["count"],
            b"reason": entry["reason"].encode(),
            b"context": entry["context"].encode(),
            b"object": entry["object"].encode("utf-8", "surrogateescape"),
            b"username": entry["username"].encode("utf-8", "surrogateescape"),
            b"age-seconds": round(now - entry["created"], 3),
            b"client-info": entry["client-info"].encode(),
        })
    return out


@command("acl|dryrun", arity=-4, flags="admin noscript loading stale", group="server", since="7.0.0",
         summary="Tells whether a user could run a command, without running it.",
         args="username command [arg ...]")
def acl_dryrun(ctx: Client, _sub: bytes, name: bytes, *argv: bytes) -> object:
    acl = _acl(ctx)
    user = acl.users.get(_text(name))
    if user is None:
        raise Error(b"ERR User '%s' not found" % name)
    cmd = resolve(list(argv))
    if isinstance(cmd, Error):
        if b"wrong number" in cmd.message:
            raise cmd  # it names the subcommand, as Redis's cmd->fullname does
        raise Error(b"ERR Command '%s' not found" % argv[0])
    denied = acl.denial(user, cmd, list(argv))
    if denied is None:
        return OK
    reason, obj = denied
    if reason == "command":
        return b"This user has no permissions to run the '%s' command" % cmd.name.encode()
    name = c_string(obj.encode("utf-8", "surrogateescape"))  # printed with %s: up to a NUL
    if reason == "key":
        return b"This user has no permissions to access the '%s' key" % name
    return b"This user has no permissions to access the '%s' channel" % name


NO_ACL_FILE = Error(
    b"ERR This Redis instance is not configured to use an ACL file. You may want to specify users via the "
    b"ACL SETUSER command and then issue a CONFIG REWRITE (assuming you have a Redis configuration file set) "
    b"in order to store users in the Redis configuration."
)


def _acl_file(ctx: Client) -> str:
    """The configured ``aclfile`` (ACL SAVE and ACL LOAD refuse to run without one)."""
    path = ctx.server.config["aclfile"]
    if not path:
        raise NO_ACL_FILE
    return str(path)


@command("acl|save", arity=2, flags="admin noscript loading stale", group="server", since="6.0.0",
         summary="Writes the users to the ACL file.")
def acl_save(ctx: Client, _sub: bytes) -> object:
    path = _acl_file(ctx)
    try:
        _acl(ctx).save_file(path)
    except OSError as exc:
        raise Error(f"ERR There was an error trying to save the ACLs. Please check the server logs for more information ({exc.strerror})".encode()) from None
    return OK


@command("acl|load", arity=2, flags="admin noscript loading stale", group="server", since="6.0.0",
         summary="Reloads the users from the ACL file (all or nothing).")
def acl_load(ctx: Client, _sub: bytes) -> object:
    path = _acl_file(ctx)
    try:
        lines = read_acl_file(path)
    except OSError as exc:
        raise Error(f"ERR Error loading ACLs, opening file '{path}': {exc.strerror}".encode()) from None
    _acl(ctx).load_lines(lines)
    return OK


@command("acl|help", arity=2, flags="loading stale", group="server", since="6.0.0",
         summary="Lists ACL's subcommands.")
def acl_help(ctx: Client, _sub: bytes) -> object:
    return help_lines(ctx, "acl")



