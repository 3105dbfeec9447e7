"""Access control lists: users, their passwords and what they may run, touch and hear.

A ``User`` holds Redis 7.0's root selector: on/off, SHA-256 password hashes
(never the passwords), key patterns with their access (``~`` read and write,
``%R~`` read, ``%W~`` write), channel patterns, and the set of commands it may
run. Rules are applied in order, as ``ACL SETUSER`` and ``user`` lines in a
config or ACL file give them; command categories come from the command table.

Which access a key needs comes from the command's key specifications (the
``keys`` of its declaration, or its key-finding function): a key flagged
``access`` needs read permission, one flagged ``insert``, ``delete`` or
``update`` write permission, as Redis 7.0's ACLSelectorCheckKey decides.
"""

from __future__ import annotations

import hashlib
import os
import time
from collections import deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from server.command import ACL_READ_FLAGS, ACL_WRITE_FLAGS, CATEGORIES, TABLE, Command
from server.glob import glob_match
from server.protocol import Error, ProtocolError, split_inline

if TYPE_CHECKING:
    from server.client import Client
    from server.instance import Server

# Commands whose arguments are channels: (first index, step; -1 = all remaining).
CHANNEL_COMMANDS = {"publish": 1, "spublish": 1, "subscribe": -1, "ssubscribe": -1, "psubscribe": -1}

# The permission a key's spec flags need: "r" (%R~), "w" (%W~), both, or "" (any matching pattern).
_ACL_FLAGS = ACL_READ_FLAGS | ACL_WRITE_FLAGS
_ACCESS_NEEDED = {
    flags: ("r" if flags & ACL_READ_FLAGS else "") + ("w" if flags & ACL_WRITE_FLAGS else "")
    for flags in range(_ACL_FLAGS + 1)
    if not flags & ~_ACL_FLAGS
}

NOPERM_KEYS = Error(b"NOPERM this user has no permissions to access one of the keys used as arguments")
NOPERM_CHANNELS = Error(b"NOPERM this user has no permissions to access one of the channels used as arguments")


# Refusals, ranked as Redis ranks them (ACL_DENIED_*): the highest over all selectors is reported.
DENIED_COMMAND, DENIED_KEY, DENIED_CHANNEL = 1, 2, 4


# First-argument rules applied since ACL last looked: it logs Redis's deprecation warning for each.
first_arg_offenders: list[str] = []


class RuleError(Exception):
    """A SETUSER modifier that cannot be applied; the text is Redis's."""


def all_commands() -> list[Command]:
    out = []
    for cmd in TABLE.values():
        out.append(cmd)
        out.extend(cmd.subcommands.values())
    return out


def commands_in(category: str) -> list[Command]:
    return [c for c in all_commands() if category == "all" or category in c.acl]


class _Rules:
    """Rules and checks a selector owns: key patterns, channel patterns, commands.

    The user's root permissions and each ``(...)`` selector share them (Redis 7.0's aclSelector).
    """

    key_patterns: list[tuple[str, bytes]]
    all_keys: bool
    channel_patterns: list[bytes]
    all_channels: bool
    allowed: set[str]
    command_rules: list[str]
    firstargs: dict[str, list[str]]

    def apply_selector_rule(self, rule: str) -> None:
        """A key, channel or command rule (Redis's ACLSetSelector); anything else is a syntax error."""
        low = rule.lower()
        if low in ("allkeys", "~*"):
            self.all_keys = True
            self.key_patterns = [("rw", b"*")]
        elif low == "resetkeys":
            self.all_keys = False
            self.key_patterns = []
        elif rule.startswith("~") or rule.startswith("%"):
            self._add_key_pattern(rule)
        elif low in ("allchannels", "&*"):
            self.all_channels = True
            self.channel_patterns = [b"*"]
        elif low == "resetchannels":
            self.all_channels = False
            self.channel_patterns = []
        elif rule.startswith("&"):
            if self.all_channels:
                raise RuleError(
                    "Adding a pattern after the * pattern (or the 'allchannels' flag) is not valid and "
                    "does not have any effect. Try 'resetchannels' to start with an empty list of channels"
                )
            raw = rule[1:].encode("utf-8", "surrogateescape")
            if has_spaces(raw):
                raise RuleError("Syntax error")
            if raw not in self.channel_patterns:
                self.channel_patterns.append(raw)
        elif low in ("allcommands", "+@all"):
            self.allowed = {c.name for c in all_commands()}
            self.command_rules = ["+@all"]
            self.firstargs = {}
        elif low in ("nocommands", "-@all"):
            self.allowed = set()
            self.command_rules = ["-@all"]
            self.firstargs = {}
        elif rule[:1] in ("+", "-"):
            self._command_rule(rule)
        else:
            raise RuleError("Syntax error")

    def _add_key_pattern(self, rule: str) -> None:
        """``~pattern`` or ``%<R|W|RW>~pattern``, parsed as ACLSetSelector does (each flag once)."""
        if self.all_keys:
            raise RuleError(
                "Adding a pattern after the * pattern (or the 'allkeys' flag) is not valid and does not "
                "have any effect. Try 'resetkeys' to start with an empty list of patterns"
            )
        access, pattern = "rw", rule[1:]
        if rule.startswith("%"):
            access, pos = "", 1
            while pos < len(rule):
                flag = rule[pos].upper()
                pos += 1
                if flag in "RW" and flag.lower() not in access:
                    access += flag.lower()
                elif flag == "~":
                    break
                else:
                    raise RuleError("Syntax error")
            access = "".join(a for a in "rw" if a in access)
            pattern = rule[pos:]
        raw = pattern.encode("utf-8", "surrogateescape")
        if has_spaces(raw):
            raise RuleError("Syntax error")
        for n, (had, existing) in enumerate(self.key_patterns):
            if existing == raw:  # the same pattern again: its permissions join (ACLSetSelector)
                self.key_patterns[n] = "".join(a for a in "rw" if a in had + access), raw
                return
        self.key_patterns.append((access, raw))

    def _command_rule(self, rule: str) -> None:
        """``+``/``-`` a category, a command, a subcommand, or (``+`` only) a command's first argument.

        Parsed as ACLSetSelector does: ``+name|arg`` splits at the last ``|``; if ``name`` has
        subcommands ``arg`` must be one of them, otherwise ``arg`` is an allowed first argument
        (``+select|0``: SELECT 0 only). Granting or taking away a whole command forgets its first
        arguments.
        """
        add = rule[0] == "+"
        target = rule[1:].lower()
        if target.startswith("@"):
            category = target[1:]
            if category != "all" and category not in CATEGORIES:
                raise RuleError("Unknown command or category name in ACL")
            cmds = commands_in(category)
        elif add and "|" in target:
            head, _, sub = rule[1:].rpartition("|")
            cmd = _lookup(head.lower())
            if cmd is None:
                raise RuleError("Unknown command or category name in ACL")
            if cmd.parent is not None:
                raise RuleError("Allowing first-arg of a subcommand is not supported")
            if not sub:
                raise RuleError("Syntax error")
            if not cmd.subcommands:
                first_arg_offenders.append(rule[1:])
                self._allow_first_arg(cmd, sub)
                return
            subcmd = _lookup(target)
            if subcmd is None:
                raise RuleError("Unknown command or category name in ACL")
            cmds = [subcmd]
        else:
            found = _lookup(target)  # -config|get takes the subcommand away; -select|0 is unknown
            if found is None:
                raise RuleError("Unknown command or category name in ACL")
            cmds = [found, *found.subcommands.values()]
        names = {c.name for c in cmds}
        if add:
            self.allowed |= names
        else:
            self.allowed -= names
        if self.firstargs:
            for name in names & self.firstargs.keys():
                self._forget_first_args(name)
        self.command_rules.append(rule.lower())

    def _allow_first_arg(self, cmd: Command, arg: str) -> None:
        """ACLAddAllowedFirstArg (once per argument, compared without case). While the command is
        allowed outright the argument changes nothing, and anything that could take the command
        away also forgets it, so it is not kept (Redis keeps it but never shows or uses it)."""
        if cmd.name in self.allowed:
            return
        args = self.firstargs.setdefault(cmd.name, [])
        if arg.lower() in (a.lower() for a in args):
            return
        args.append(arg)
        self.command_rules.append(f"+{cmd.name}|{arg}")

    def _forget_first_args(self, name: str) -> None:
        del self.firstargs[name]
        prefix = f"+{name}|"
        self.command_rules = [r for r in self.command_rules if not r.startswith(prefix)]

    # -- checks ------------------------------------------------------------------

    def may_run(self, cmd: Command, argv: list[bytes]) -> bool:
        """The command is allowed, or its first argument is one of those allowed for it (compared
        as strcasecmp compares: without ASCII case, up to a NUL)."""
        if cmd.name in self.allowed:
            return True
        args = self.firstargs.get(cmd.name) if self.firstargs else None
        if not args or len(argv) < 2:
            return False
        first = argv[1].split(b"\0", 1)[0].lower()
        return any(first == a.encode("utf-8", "surrogateescape").lower() for a in args)

    def may_access_key(self, key: bytes, access: str) -> bool:
        for allowed, pattern in self.key_patterns:
            if access and not all(a in allowed for a in access):
                continue
            if glob_match(pattern, key) and (key or not pattern):  # Redis: '*' does not match ''
                return True
        return False

    def may_access_channel(self, channel: bytes, is_pattern: bool = False) -> bool:
        if self.all_channels:
            return True
        for pattern in self.channel_patterns:
            if is_pattern:
                if pattern == channel:  # PSUBSCRIBE needs the very same pattern
                    return True
            elif glob_match(pattern, channel):
                return True
        return False

    def has_unrestricted_read(self) -> bool:
        """Every key is readable (ACLSelectorHasUnrestrictedKeyAccess for CMD_KEY_ACCESS)."""
        return self.all_keys or any(pattern == b"*" and "r" in access for access, pattern in self.key_patterns)

    def refusal(self, cmd: Command, argv: list[bytes], keys: list[tuple[int, int]] | None) -> tuple[int, int] | None:
        """Why this selector refuses ``argv`` (ACLSelectorCheckCmd): (DENIED_*, argument index), or None.

        ``keys`` is the command's key positions and flags when already found, else None.
        """
        if not self.may_run(cmd, argv):
            return DENIED_COMMAND, 0
        if not self.all_keys and cmd.has_keys:
            for pos, flags in cmd.find_keys(argv) if keys is None else keys:
                if not self.may_access_key(argv[pos], _ACCESS_NEEDED[flags & _ACL_FLAGS]):
                    return DENIED_KEY, pos
        if not self.all_channels:
            start = CHANNEL_COMMANDS.get(cmd.name)
            if start is not None:
                end = len(argv) if start == -1 else start + 1
                is_pattern = cmd.name == "psubscribe"
                for pos in range(1 if start == -1 else start, min(end, len(argv))):
                    if not self.may_access_channel(argv[pos], is_pattern):
                        return DENIED_CHANNEL, pos
        return None

    # -- description -------------------------------------------------------------

    def _key_text(self) -> list[str]:
        if self.all_keys:
            return ["~*"]
        out = []
        for access, pattern in self.key_patterns:
            prefix = {"rw": "~", "r": "%R~", "w": "%W~", "": "%~"}[access]
            out.append(prefix + pattern.decode("utf-8", "surrogateescape"))
        return out

    def _channel_text(self) -> str:
        if self.all_channels:
            return "&*"
        return " ".join(["resetchannels"] + ["&" + p.decode("utf-8", "surrogateescape") for p in self.channel_patterns])

    def channels_field(self) -> str:
        """The ``channels`` of ACL GETUSER: the patterns, or ``&*``."""
        if self.all_channels:
            return "&*"
        return " ".join("&" + p.decode("utf-8", "surrogateescape") for p in self.channel_patterns)

    def commands_text(self) -> str:
        rules = self.command_rules or ["-@all"]
        if rules[0] not in ("+@all", "-@all"):
            rules = ["-@all", *rules]
        return " ".join(rules)

    def selector_text(self) -> str:
        """Keys, channels and commands as ACL LIST prints a selector (ACLDescribeSelector)."""
        return " ".join([*self._key_text(), self._channel_text(), self.commands_text()])


@dataclass
class Selector(_Rules):
    """One ``(...)`` rule group: it alone must allow a command, its keys and its channels."""

    key_patterns: list[tuple[str, bytes]] = field(default_factory=list)
    all_keys: bool = False
    channel_patterns: list[bytes] = field(default_factory=list)
    all_channels: bool = False
    allowed: set[str] = field(default_factory=set)
    command_rules: list[str] = field(default_factory=list)
    firstargs: dict[str, list[str]] = field(default_factory=dict)


def _lookup(name: str) -> Command | None:
    """A command or ``parent|subcommand`` by its lower-case name, as lookupCommandBySdsLogic in
    strict mode: ``get|x`` or ``a|b|c`` name nothing."""
    parts = name.split("|")
    if len(parts) > 2:
        return None
    cmd = TABLE.get(parts[0].encode("utf-8", "surrogateescape"))
    if len(parts) == 1 or cmd is None:
        return cmd
    return cmd.subcommands.get(parts[1].encode("utf-8", "surrogateescape"))


def parse_selector(rule: str, all_channels: bool = False) -> Selector:
    """``(rule rule ...)`` as one selector; the words split as sdssplitargs splits them.
    ``all_channels``: acl-pubsub-default is allchannels (a new selector starts with ``&*``)."""
    try:
        words = split_inline(rule[1:-1].encode("utf-8", "surrogateescape"))
    except ProtocolError:
        words = []  # Redis's split fails and leaves an empty selector
    selector = Selector()
    if all_channels:
        selector.apply_selector_rule("allchannels")
    for word in words:
        selector.apply_selector_rule(word.decode("utf-8", "surrogateescape"))
    return selector


def merge_selector_words(rules: list[str]) -> list[str]:
    """Join a ``(`` word with the following ones up to one ending in ``)`` (ACLMergeSelectorArguments).

    Raises Error with Redis's text when a parenthesis stays open.
    """
    out: list[str] = []
    opened: str | None = None
    first = ""
    for rule in rules:
        if rule.startswith("(") and not rule.endswith(")"):
            opened = first = rule  # a second '(' restarts the group, as in Redis
            continue
        if opened is not None:
            opened += " " + rule
            if rule.endswith(")"):
                out.append(opened)
                opened = None
            continue
        out.append(rule)
    if opened is not None:
        raise UnmatchedParenthesis(first)
    return out


class UnmatchedParenthesis(Exception):
    """A selector's ``(`` never closes; the argument is the word that opened it."""


@dataclass
class User(_Rules):
    name: str
    enabled: bool = False
    nopass: bool = False
    passwords: list[str] = field(default_factory=list)  # SHA-256 hex digests
    key_patterns: list[tuple[str, bytes]] = field(default_factory=list)  # (access "rw"/"r"/"w", glob)
    all_keys: bool = False
    channel_patterns: list[bytes] = field(default_factory=list)
    all_channels: bool = False
    allowed: set[str] = field(default_factory=set)  # command full names ("config|get")
    command_rules: list[str] = field(default_factory=list)  # as given, for ACL LIST
    firstargs: dict[str, list[str]] = field(default_factory=dict)  # command → allowed first arguments
    sanitize_payload: bool | None = None  # RESTORE payload checks: set by reset or the flags
    selectors: list[Selector] = field(default_factory=list)  # the ``(...)`` groups after the root

    # -- rules -------------------------------------------------------------------

    def apply(self, rule: str, all_channels: bool = False) -> None:
        """Apply one ACL rule, or raise RuleError with Redis's reason. ``all_channels``:
        acl-pubsub-default is allchannels, which ``reset`` and new selectors start from."""
        low = rule.lower()
        if not rule:
            return  # an empty rule does nothing, as in Redis
        if low == "on":
            self.enabled = True
        elif low == "off":
            self.enabled = False
        elif low == "nopass":
            self.nopass = True
            self.passwords.clear()
        elif low == "resetpass":
            self.nopass = False
            self.passwords.clear()
        elif rule.startswith(">"):
            self._add_hash(hashlib.sha256(rule[1:].encode("utf-8", "surrogateescape")).hexdigest())
        elif rule.startswith("#"):
            digest = rule[1:]
            if len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
                raise RuleError(
                    "The password hash must be exactly 64 characters and contain only lowercase "
                    "hexadecimal characters"
                )
            self._add_hash(digest)
        elif rule.startswith("<"):
            self._remove_hash(hashlib.sha256(rule[1:].encode("utf-8", "surrogateescape")).hexdigest())
        elif rule.startswith("!"):
            self._remove_hash(rule[1:])
        elif rule.startswith("(") and rule.endswith(")"):
            self.selectors.append(parse_selector(rule, all_channels))
        elif low == "clearselectors":
            self.selectors.clear()
        elif low == "reset":
            User.__init__(self, self.name)
            self.apply("allchannels" if all_channels else "resetchannels")
            self.command_rules = ["-@all"]
            self.sanitize_payload = True
        elif low == "sanitize-payload":
            self.sanitize_payload = True
        elif low == "skip-sanitize-payload":
            self.sanitize_payload = False
        else:
            self.apply_selector_rule(rule)

    def _add_hash(self, digest: str) -> None:
        self.nopass = False
        if digest not in self.passwords:
            self.passwords.append(digest)

    def _remove_hash(self, digest: str) -> None:
        if digest not in self.passwords:
            raise RuleError("no such password")  # Redis's text for < and ! on a missing password
        self.passwords.remove(digest)

    # -- checks ------------------------------------------------------------------

    def check_password(self, password: bytes) -> bool:
        if not self.enabled:
            return False
        if self.nopass:
            return True
        return hashlib.sha256(password).hexdigest() in self.passwords

    # -- description -------------------------------------------------------------

    def flag_names(self) -> list[str]:
        flags = ["on" if self.enabled else "off"]
        if self.nopass:
            flags.append("nopass")
        if self.sanitize_payload is True:
            flags.append("sanitize-payload")
        elif self.sanitize_payload is False:
            flags.append("skip-sanitize-payload")
        return flags

    def describe(self) -> str:
        """The user as ACL LIST prints it."""
        parts = ["user", self.name, "on" if self.enabled else "off"]
        parts.extend(self.flag_names()[1:])
        parts.extend("#" + h for h in self.passwords)
        parts.append(self.selector_text())
        parts.extend("(" + s.selector_text() + ")" for s in self.selectors)
        return " ".join(p for p in parts if p)


class ACL:
    """All users, the ACL log, and the checks dispatch asks for."""

    def __init__(self, server: Server):
        self.server = server
        self.users: dict[str, User] = {}
        self.log: deque = deque()
        self.log_next_id = 0
        self.restricted = False  # some user may not do everything: dispatch calls ``check``
        self.reset_default()
        server.config.on_change("requirepass", self._requirepass_changed)
        self._requirepass_changed(server.config["requirepass"])
        self._refresh_fast_path()

    def reset_default(self) -> None:
        default = User("default")
        for rule in ("on", "nopass", "~*", "&*", "+@all"):
            default.apply(rule)
        self.users["default"] = default

    def _requirepass_changed(self, value: object) -> None:
        """requirepass is the default user's password, as in Redis 6+."""
        default = self.users["default"]
        default.apply("resetpass")
        if value:
            default.apply(">" + str(value))
        else:
            default.apply("nopass")

    def default_user_has_password(self) -> bool:
        return not self.users["default"].nopass

    def requires_auth(self) -> bool:
        """New connections start logged in as ``default`` only if it is on and has no password."""
        default = self.users["default"]
        return not (default.enabled and default.nopass)

    def _refresh_fast_path(self) -> None:
        """Dispatch skips ACL checks entirely while every user may do everything."""
        unrestricted = all(
            u.all_keys and u.all_channels and len(u.allowed) >= len(all_commands()) for u in self.users.values()
        )
        self.restricted = not unrestricted
        self.server.standing_changed()

    def changed(self) -> None:
        self._refresh_fast_path()

    # -- users ---------------------------------------------------------------------

    def setuser(self, name: str, rules: list[str]) -> None:
        """Apply rules to a copy of the user (created if new); commit only if all apply."""
        import copy

        try:
            rules = merge_selector_words(rules)
        except UnmatchedParenthesis as exc:
            raise Error(f"ERR Unmatched parenthesis in acl selector starting at '{exc.args[0]}'.".encode(
                "utf-8", "surrogateescape")) from None
        existing = self.users.get(name)
        all_channels = self.pubsub_default_all()
        user = copy.deepcopy(existing) if existing is not None else self.new_user(name, all_channels)
        try:
            for rule in rules:
                try:
                    user.apply(rule, all_channels)
                except RuleError as exc:
                    raise Error(f"ERR Error in ACL SETUSER modifier '{rule}': {exc}".encode(
                        "utf-8", "surrogateescape")) from None
        finally:
            self.warn_first_args()
        self.users[name] = user
        self.changed()

    def warn_first_args(self) -> None:
        """Redis's warning for each ``+cmd|arg`` first-argument rule just applied."""
        for offender in first_arg_offenders:
            self.server.log("warning", "Deprecation warning: Allowing a first arg of an otherwise blocked command "
                            f"is a misuse of ACL and may get disabled in the future (offender: +{offender})")
        first_arg_offenders.clear()

    def pubsub_default_all(self) -> bool:
        """acl-pubsub-default: do new users, ``reset`` and new selectors start with ``&*``?"""
        return self.server.config.get_str("acl-pubsub-default") == "allchannels"

    @staticmethod
    def new_user(name: str, all_channels: bool) -> User:
        """A user as ACLCreateUser makes it: off, no password, no keys, no commands, and the
        channels acl-pubsub-default gives."""
        user = User(name)
        user.command_rules = ["-@all"]
        if all_channels:
            user.apply("allchannels")
        return user

    def deluser(self, names: list[str]) -> int:
        removed = 0
        for name in names:
            if name == "default":
                raise Error(b"ERR The 'default' user cannot be removed")
            if self.users.pop(name, None) is not None:
                removed += 1
                for client in list(self.server.clients.values()):
                    if client.user == name:
                        client.close()
        self.changed()
        return removed

    def check_credentials(self, username: bytes | None, password: bytes) -> str | None:
        """The user name if the credentials are good, else None (and an ACL LOG entry)."""
        # Only a missing name means ``default``: an empty one names a user that cannot exist.
        name = "default" if username is None else username.decode("utf-8", "surrogateescape")
        user = self.users.get(name)
        if user is not None and user.check_password(password):
            return name
        self.record(None, "auth", "toplevel", "AUTH" if username is None else "auth", name)
        return None

    # -- the check -------------------------------------------------------------------

    def check(self, client: Client, cmd: Command, argv: list[bytes]) -> Error | None:
        """Dispatch's question: may ``client`` run ``argv``? None, or the NOPERM error."""
        user = self.users.get(client.user)
        if user is None:
            return Error(b"NOPERM this user has no permissions to run the '%s' command" % cmd.name.encode())
        denied = self.denial(user, cmd, argv)
        if denied is None:
            return None
        reason, obj = denied
        context = "multi" if client.in_multi else "toplevel"
        self.record(client, reason, context, obj, user.name)
        if reason == "command":
            return Error(b"NOPERM this user has no permissions to run the '%s' command" % cmd.name.encode())
        return NOPERM_KEYS if reason == "key" else NOPERM_CHANNELS

    def denial(self, user: User, cmd: Command, argv: list[bytes]) -> tuple[str, str] | None:
        """Why ``user`` may not run ``argv``: ("command"|"key"|"channel", object), or None.

        The root permissions or any one selector must allow the command, all its keys and its
        channels. When none does, Redis reports the highest-ranked refusal (channel over key over
        command), the later argument on a tie.
        """
        if cmd.no_auth and cmd.root_name in (b"auth", b"hello", b"quit", b"reset"):
            return None
        worst = user.refusal(cmd, argv, None)
        if worst is None:
            return None
        if user.selectors:
            keys = cmd.find_keys(argv) if cmd.has_keys else []
            for selector in user.selectors:
                found = selector.refusal(cmd, argv, keys)
                if found is None:
                    return None
                worst = max(worst, found)
        reason, pos = worst
        if reason == DENIED_COMMAND:
            return "command", cmd.name
        return "key" if reason == DENIED_KEY else "channel", argv[pos].decode("utf-8", "surrogateescape")

    # -- ACL LOG -------------------------------------------------------------------------

    def record(self, client: Client | None, reason: str, context: str, obj: str, username: str) -> None:
        now = time.time()
        for entry in self.log:
            if (entry["reason"], entry["context"], entry["object"], entry["username"]) == (
                reason, context, obj, username
            ) and now - entry["updated"] < 60:
                entry["count"] += 1
                entry["updated"] = now
                if client is not None:
                    entry["client-info"] = client.info_line()
                self.log.remove(entry)  # a repeated entry moves to the head, as in Redis
                self.log.appendleft(entry)
                return
        self.log.appendleft({
            "count": 1, "reason": reason, "context": context, "object": obj, "username": username,
            "created": now, "updated": now, "entry-id": self.log_next_id,
            "client-info": client.info_line() if client is not None else "",
        })
        self.log_next_id += 1
        limit = self.server.config.get_int("acllog-max-len")
        while len(self.log) > limit:
            self.log.pop()

    # -- files ---------------------------------------------------------------------------

    def load_lines(self, lines: list[list[str]]) -> None:
        """``user <name> <rules...>`` lines (config file or ACL file); all or nothing."""
        staged = ACL.__new__(ACL)
        staged.users = {}
        staged.server = self.server
        default = User("default")
        for rule in ("on", "nopass", "~*", "&*", "+@all"):
            default.apply(rule)
        staged.users["default"] = default
        for words in lines:
            if not words:
                continue
            name = words[0]
            try:
                rules = merge_selector_words(words[1:])
            except UnmatchedParenthesis:
                raise Error(f"ERR Error in user declaration '{name}': Unmatched parenthesis in selector definition.".encode(
                    "utf-8", "surrogateescape")) from None
            all_channels = self.pubsub_default_all()
            user = self.new_user(name, all_channels)
            try:
                for rule in rules:
                    try:
                        user.apply(rule, all_channels)
                    except RuleError as exc:
                        raise Error(f"ERR Error in user declaration '{name}': {exc}".encode()) from None
            finally:
                self.warn_first_args()
            staged.users[name] = user
        self.users = staged.users
        self.changed()

    def save_file(self, path: str) -> None:
        tmp = f"{path}.tmp-{os.getpid()}"
        with open(tmp, "w", encoding="utf-8") as fh:
            for name in sorted(self.users):  # in name order, as Redis walks its user tree
                fh.write(self.users[name].describe() + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)


def read_acl_file(path: str) -> list[list[str]]:
    lines = []
    with open(path, encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            words = line.split()
            if words[0] != "user" or len(words) < 2:
                raise Error(f"ERR /{path}:{lineno}: line should start with user keyword".encode())
            lines.append(words[1:])
    return lines


class ACLLoadError(Exception):
    """The configured users cannot be loaded: the server refuses to start (already logged)."""


def has_spaces(name: bytes) -> bool:
    """Redis's ACLStringHasSpaces: C whitespace or NUL, which no user name may contain."""
    return any(c in b" \t\n\v\f\r\x00" for c in name)


def load_users(acl: ACL, user_lines: list[list[str]]) -> None:
    """Start-up: users from the config file (``user`` lines), else from the ACL file."""
    server = acl.server
    for words in user_lines:
        # ``user "default on >pw"`` (one quoted word) would create a user named with spaces and
        # leave ``default`` open: Redis refuses to start instead.
        if words and has_spaces(words[0].encode("utf-8", "surrogateescape")):
            server.log("warning", "Spaces not allowed in ACL usernames")
            server.log("warning", "Critical error while loading ACLs. Exiting.")
            raise ACLLoadError(words[0])
    config = server.config
    aclfile = config.get_str("aclfile")
    if user_lines and aclfile:
        raise Error(b"ERR Configuring Redis with users defined in redis.conf and at the same setting an ACL file path is invalid.")
    if user_lines:
        acl.load_lines(user_lines)
    elif aclfile and os.path.exists(aclfile):
        acl.load_lines(read_acl_file(aclfile))
    if config["requirepass"]:
        acl._requirepass_changed(config["requirepass"])
