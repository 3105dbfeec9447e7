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
from server.protocol import Error

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


@dataclass
class User:
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
    sanitize_payload: bool | None = None  # RESTORE payload checks: set by reset or the flags

    # -- rules -------------------------------------------------------------------

    def apply(self, rule: str) -> None:
        """Apply one ACL rule, or raise RuleError with Redis's reason."""
        low = rule.lower()
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
        elif low in ("allkeys", "~*"):
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
            self.channel_patterns.append(rule[1:].encode())
        elif low in ("allcommands", "+@all"):
            self.allowed = {c.name for c in all_commands()}
            self.command_rules = ["+@all"]
        elif low in ("nocommands", "-@all"):
            self.allowed = set()
            self.command_rules = ["-@all"]
        elif rule[:1] in ("+", "-"):
            self._command_rule(rule)
        elif low == "reset":
            User.__init__(self, self.name)
            self.apply("resetchannels")
            self.command_rules = ["-@all"]
            self.sanitize_payload = True
        elif low == "sanitize-payload":
            self.sanitize_payload = True
        elif low == "skip-sanitize-payload":
            self.sanitize_payload = False
        elif low == "clearselectors":
            pass
        else:
            raise RuleError("Syntax error")

    def _add_hash(self, digest: str) -> None:
        self.nopass = False
        if digest not in self.passwords:
            self.passwords.append(digest)

    def _remove_hash(self, digest: str) -> None:
        if digest not in self.passwords:
            raise RuleError("no such password")  # Redis's text for < and ! on a missing password
        self.passwords.remove(digest)

    def _add_key_pattern(self, rule: str) -> None:
        if rule.startswith("~"):
            access, pattern = "rw", rule[1:]
        else:
            flags, sep, pattern = rule[1:].partition("~")
            if not sep or not flags or any(f not in "RWrw" for f in flags):
                raise RuleError("Syntax error")
            access = ("r" if "R" in flags.upper() else "") + ("w" if "W" in flags.upper() else "")
        if self.all_keys:
            raise RuleError(
                "Adding a pattern after the * pattern (or the 'allkeys' flag) is not valid and does not "
                "have any effect. Try 'resetkeys' to start with an empty list of patterns"
            )
        raw = pattern.encode("utf-8", "surrogateescape")
        for n, (had, existing) in enumerate(self.key_patterns):
            if existing == raw:  # the same pattern again: its permissions join (ACLSetSelector)
                self.key_patterns[n] = ("r" if "r" in had + access else "") + ("w" if "w" in had + access else ""), raw
                return
        self.key_patterns.append((access, raw))

    def _command_rule(self, rule: str) -> None:
        add = rule[0] == "+"
        target = rule[1:].lower()
        if target.startswith("@"):
            category = target[1:]
            if category != "all" and category not in CATEGORIES:
                raise RuleError("Unknown command or category name in ACL")
            names = {c.name for c in commands_in(category)}
        else:
            parent, _, sub = target.partition("|")
            cmd = TABLE.get(parent.encode())
            if cmd is None:
                raise RuleError("Unknown command or category name in ACL")
            if sub:
                if not add:
                    raise RuleError("Allowing first-arg of a subcommand is not supported")
                subcmd = cmd.subcommands.get(sub.encode())
                if subcmd is None:
                    raise RuleError("Unknown command or category name in ACL")
                names = {subcmd.name}
            else:
                names = {cmd.name} | {s.name for s in cmd.subcommands.values()}
        if add:
            self.allowed |= names
        else:
            self.allowed -= names
        self.command_rules.append(rule.lower())

    # -- checks ------------------------------------------------------------------

    def check_password(self, password: bytes) -> bool:
        if not self.enabled:
            return False
        if self.nopass:
            return True
        return hashlib.sha256(password).hexdigest() in self.passwords

    def may_run(self, cmd: Command) -> bool:
        return cmd.name in self.allowed

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
        parts.extend(self._key_text())
        parts.append(self._channel_text())
        parts.append(self.commands_text())
        return " ".join(p for p in parts if p)

    def _key_text(self) -> list[str]:
        if self.all_keys:
            return ["~*"]
        out = []
        for access, pattern in self.key_patterns:
            prefix = {"rw": "~", "r": "%R~", "w": "%W~"}[access]
            out.append(prefix + pattern.decode("utf-8", "surrogateescape"))
        return out

    def _channel_text(self) -> str:
        if self.all_channels:
            return "&*"
        return " ".join(["resetchannels"] + ["&" + p.decode("utf-8", "surrogateescape") for p in self.channel_patterns])

    def commands_text(self) -> str:
        rules = self.command_rules or ["-@all"]
        if rules[0] not in ("+@all", "-@all"):
            rules = ["-@all", *rules]
        return " ".join(rules)


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

    def changed(self) -> None:
        self._refresh_fast_path()

    # -- users ---------------------------------------------------------------------

    def setuser(self, name: str, rules: list[str]) -> None:
        """Apply rules to a copy of the user (created if new); commit only if all apply."""
        import copy

        existing = self.users.get(name)
        user = copy.deepcopy(existing) if existing is not None else User(name)
        if existing is None:
            user.command_rules = ["-@all"]
        for rule in rules:
            try:
                user.apply(rule)
            except RuleError as exc:
                raise Error(f"ERR Error in ACL SETUSER modifier '{rule}': {exc}".encode("utf-8", "surrogateescape")) from None
        self.users[name] = user
        self.changed()

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
        """Why ``user`` may not run ``argv``: ("command"|"key"|"channel", object), or None."""
        if cmd.no_auth and cmd.root_name in (b"auth", b"hello", b"quit", b"reset"):
            return None
        if not user.may_run(cmd):
            return "command", cmd.name
        if not user.all_keys and cmd.has_keys:
            for pos, flags in cmd.find_keys(argv):
                key = argv[pos]
                if not user.may_access_key(key, _ACCESS_NEEDED[flags & _ACL_FLAGS]):
                    return "key", key.decode("utf-8", "surrogateescape")
        if not user.all_channels:
            start = CHANNEL_COMMANDS.get(cmd.name)
            if start is not None:
                channels = argv[1:] if start == -1 else argv[start : start + 1]
                is_pattern = cmd.name == "psubscribe"
                for channel in channels:
                    if not user.may_access_channel(channel, is_pattern):
                        return "channel", channel.decode("utf-8", "surrogateescape")
        return None

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
            name, rules = words[0], words[1:]
            user = User(name)
            user.command_rules = ["-@all"]
            for rule in rules:
                try:
                    user.apply(rule)
                except RuleError as exc:
                    raise Error(f"ERR Error in user declaration '{name}': {exc}".encode()) from None
            staged.users[name] = user
        self.users = staged.users
        self.changed()

    def save_file(self, path: str) -> None:
        tmp = f"{path}.tmp-{os.getpid()}"
        with open(tmp, "w", encoding="utf-8") as fh:
            for user in self.users.values():
                fh.write(user.describe() + "\n")
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
