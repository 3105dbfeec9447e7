"""COMMAND and its subcommands: the command table, described to clients.

Everything here is read from ``server.command.TABLE``; nothing is listed by
hand. ``COMMAND DOCS`` is what the TUI's completion engine (and redis-cli's
hints) use to know each command's arguments.
"""

from __future__ import annotations

from server.client import Client
from server.command import CATEGORIES, KEY_FLAG_BITS, KEY_FLAG_NAMES, TABLE, Arg, Command, KeySpec, command
from server.commands.args import SYNTAX_ERROR
from server.commands.connection import help_lines
from server.glob import glob_match
from server.protocol import Error, Raw, RespSet, Status, encode

# The order COMMAND prints flags in (Redis's replyFlagNames); may_replicate, sentinel
# and only_sentinel are hidden there, so they are never printed.
FLAG_ORDER = (
    "write readonly denyoom module admin pubsub noscript blocking loading stale skip_monitor "
    "skip_slowlog asking fast no_auth no_mandatory_keys no_async_loading no_multi movablekeys "
    "allow_busy"
).split()
_CATEGORY_RANK = {name: rank for rank, name in enumerate(CATEGORIES)}


def _all() -> list[Command]:
    return list(TABLE.values())


def _key_flag_set(flags: int) -> RespSet:
    return RespSet([Status(name.encode()) for name in KEY_FLAG_NAMES if flags & KEY_FLAG_BITS[name]])


def _key_spec(spec: KeySpec) -> dict:
    """One key spec as COMMAND INFO writes it (Redis's addReplyCommandKeySpecs)."""
    out: dict = {b"notes": spec.notes.encode()} if spec.notes else {}
    out[b"flags"] = _key_flag_set(spec.flags)
    if spec.begin == "index":
        out[b"begin_search"] = {b"type": b"index", b"spec": {b"index": spec.index}}
    elif spec.begin == "keyword":
        out[b"begin_search"] = {b"type": b"keyword",
                                b"spec": {b"keyword": spec.keyword, b"startfrom": spec.startfrom}}
    else:
        out[b"begin_search"] = {b"type": b"unknown", b"spec": {}}
    if spec.find == "range":
        out[b"find_keys"] = {b"type": b"range", b"spec": {
            b"lastkey": spec.lastkey, b"keystep": spec.keystep, b"limit": spec.limit}}
    elif spec.find == "keynum":
        out[b"find_keys"] = {b"type": b"keynum", b"spec": {
            b"keynumidx": spec.keynumidx, b"firstkey": spec.firstkey, b"keystep": spec.keystep}}
    else:
        out[b"find_keys"] = {b"type": b"unknown", b"spec": {}}
    return out


def command_info(cmd: Command) -> list:
    """One entry of COMMAND / COMMAND INFO, in Redis 7.0's shape (flags, categories, tips
    and key specs are sets in RESP3)."""
    return [
        cmd.name.encode(),
        cmd.arity,
        RespSet([Status(f.encode()) for f in FLAG_ORDER if f in cmd.flags]),
        cmd.first_key,
        cmd.last_key,
        cmd.step,
        RespSet([Status(b"@" + c.encode()) for c in sorted(cmd.acl, key=_CATEGORY_RANK.__getitem__)]),
        RespSet([tip.encode() for tip in cmd.tips]),
        RespSet([_key_spec(spec) for spec in cmd.key_specs]),
        # Redis answers an empty set for no subcommands, an array otherwise.
        [command_info(sub) for sub in cmd.subcommands.values()] if cmd.subcommands else RespSet(),
    ]


def _arg_doc(arg: Arg) -> dict:
    doc: dict = {b"name": arg.name.encode(), b"type": arg.type.encode()}
    if arg.key_spec_index is not None:
        doc[b"key_spec_index"] = arg.key_spec_index
    if arg.token is not None:  # MIGRATE's empty-string token counts
        doc[b"token"] = arg.token.encode()
    if arg.since:
        doc[b"since"] = arg.since.encode()
    if arg.deprecated_since:
        doc[b"deprecated_since"] = arg.deprecated_since.encode()
    flags = []
    if arg.optional:
        flags.append(Status(b"optional"))
    if arg.multiple:
        flags.append(Status(b"multiple"))
    if arg.multiple_token:
        flags.append(Status(b"multiple_token"))
    if flags:
        doc[b"flags"] = RespSet(flags)
    if arg.children:
        doc[b"arguments"] = [_arg_doc(c) for c in arg.children]
    return doc


def command_docs(cmd: Command) -> dict:
    doc: dict = {
        b"summary": cmd.summary.encode(),
        b"since": cmd.since.encode(),
        b"group": cmd.group.encode(),
        b"complexity": cmd.complexity.encode(),
    }
    if cmd.doc_flags:
        doc[b"doc_flags"] = RespSet([Status(flag.encode()) for flag in cmd.doc_flags])
    if cmd.deprecated_since:
        doc[b"deprecated_since"] = cmd.deprecated_since.encode()
    if cmd.replaced_by:
        doc[b"replaced_by"] = cmd.replaced_by.encode()
    if cmd.args:
        doc[b"arguments"] = [_arg_doc(a) for a in cmd.args]
    if cmd.subcommands:
        doc[b"subcommands"] = {sub.name.encode(): command_docs(sub) for sub in cmd.subcommands.values()}
    return doc


def _find(name: bytes) -> Command | None:
    parent, _, sub = name.lower().partition(b"|")
    cmd = TABLE.get(parent)
    if cmd is not None and sub:
        return cmd.subcommands.get(sub)
    return cmd


@command("command", arity=-1, flags="loading stale", acl="connection", group="server", since="2.8.13",
         summary="Describes every command the server knows.",
         tips="nondeterministic_output_order")
def command_(ctx: Client, *args: bytes) -> list:
    if args:  # dispatch routes subcommands; anything left is unknown
        raise Error(b"ERR unknown subcommand '%s'. Try COMMAND HELP." % args[0])
    return [command_info(cmd) for cmd in _all()]


# COMMAND has no-subcommand form too, so it is declared as a command and gets
# subcommands attached (dispatch resolves them when present).


@command("command|count", arity=2, flags="loading stale", acl="connection", group="server", since="2.8.13",
         summary="Returns how many commands the server knows.")
def command_count(ctx: Client, _sub: bytes) -> int:
    return len(TABLE)


@command("command|info", arity=-2, flags="loading stale", acl="connection", group="server", since="2.8.13",
         summary="Describes the named commands (all of them when none is named).",
         args="[command-name ...]",
         tips="nondeterministic_output_order")
def command_info_(ctx: Client, _sub: bytes, *names: bytes) -> list:
    if not names:
        return [command_info(cmd) for cmd in _all()]
    out = []
    for name in names:
        cmd = _find(name)
        out.append(command_info(cmd) if cmd is not None else None)
    return out


@command("command|docs", arity=-2, flags="loading stale", acl="connection", group="server", since="7.0.0",
         summary="Documents the named commands: summary, group and argument tree.",
         args="[command-name ...]",
         tips="nondeterministic_output_order")
def command_docs_(ctx: Client, _sub: bytes, *names: bytes) -> dict | Raw:
    out: dict = {}
    if not names:
        for cmd in _all():
            out[cmd.name.encode()] = command_docs(cmd)
        return out
    entries: list = []  # a name asked twice is answered twice, as Redis does
    for name in names:
        found = _find(name)
        if found is not None:
            entries += [found.name.encode(), command_docs(found)]
    if len(entries) // 2 == len(set(entries[::2])):
        return dict(zip(entries[::2], entries[1::2]))
    resp3 = ctx.resp == 3  # a map with repeated names: a dict cannot hold it, so encode it here
    parts = [b"%%%d\r\n" % (len(entries) // 2) if resp3 else b"*%d\r\n" % len(entries)]
    for item in entries:
        encode(item, parts, resp3)
    return Raw(b"".join(parts))


@command("command|list", arity=-2, flags="loading stale", acl="connection", group="server", since="7.0.0",
         summary="Lists command names, optionally filtered by module, ACL category or pattern.",
         args="[MODULE module-name|ACLCAT category|PATTERN pattern]{name=filterby,token=FILTERBY}",
         tips="nondeterministic_output_order")
def command_list(ctx: Client, _sub: bytes, *args: bytes) -> list:
    names: list[bytes] = []
    for cmd in _all():
        names.append(cmd.name.encode())
        names.extend(sub.name.encode() for sub in cmd.subcommands.values())
    if not args:
        return names
    if len(args) != 3 or args[0].upper() != b"FILTERBY":
        raise SYNTAX_ERROR
    kind, value = args[1].upper(), args[2]
    if kind == b"MODULE":
        return []
    if kind == b"ACLCAT":
        cat = value.lower().decode("utf-8", "replace")
        out = []
        for cmd in _all():
            for c in [cmd, *cmd.subcommands.values()]:
                if cat in c.acl:
                    out.append(c.name.encode())
        return out
    if kind == b"PATTERN":
        return [n for n in names if glob_match(value, n, nocase=True)]
    raise SYNTAX_ERROR


def _resolve_keys(argv: list[bytes]) -> list[tuple[int, int]]:
    """The command a full command line names and its key positions, or GETKEYS's errors.

    Redis's order: unknown command, a command without key arguments, wrong
    arity, then no key found in these arguments (an empty list for commands
    whose keys are optional, such as ZUNION's with no sources ... ).
    """
    cmd = TABLE.get(argv[0].lower())
    if cmd is not None and cmd.subcommands and len(argv) >= 2:
        cmd = cmd.subcommands.get(argv[1].lower())
    if cmd is None:
        raise Error(b"ERR Invalid command specified")
    if not cmd.has_keys:  # shard channels (SSUBSCRIBE ...) have specs, marked not_key
        raise Error(b"ERR The command has no key arguments")
    if (cmd.arity > 0 and len(argv) != cmd.arity) or len(argv) < -cmd.arity:
        raise Error(b"ERR Invalid number of arguments specified for command")
    keys = cmd.find_keys(argv)
    if not keys and "no_mandatory_keys" not in cmd.flags:
        raise Error(b"ERR Invalid arguments specified for command")
    return keys


@command("command|getkeys", arity=-4, flags="loading stale", acl="connection", group="server", since="2.8.13",
         summary="Extracts the key names from a full command line.")
def command_getkeys(ctx: Client, _sub: bytes, *argv: bytes) -> list:
    return [argv[pos] for pos, _ in _resolve_keys(list(argv))]


@command("command|getkeysandflags", arity=-4, flags="loading stale", acl="connection", group="server",
         since="7.0.0", summary="Extracts the key names from a full command line, each with its access flags.")
def command_getkeysandflags(ctx: Client, _sub: bytes, *argv: bytes) -> list:
    return [[argv[pos], _key_flag_set(flags)] for pos, flags in _resolve_keys(list(argv))]


@command("command|help", arity=2, flags="loading stale", acl="connection", group="server",
         summary="Lists COMMAND's subcommands.", since="5.0.0")
def command_help(ctx: Client, _sub: bytes) -> object:
    return help_lines(ctx, "command")

