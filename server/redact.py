"""Which arguments of a command are secrets, as Redis's ``redactClientCommandArgument`` calls decide.

One rule for every place that shows a command back to someone: MONITOR prints those arguments as
``"(redacted)"`` and SLOWLOG keeps ``(redacted)`` in their place. Redis redacts while the command
runs, so an argument is hidden only if the command got as far as reading it: ``AUTH`` with too
many arguments, or ``HELLO 4 AUTH ...``, stop before (and show everything, as Redis does).
"""

from __future__ import annotations

from collections.abc import Sequence

from server.commands.args import ArgCursor, to_int

REDACTED = b"(redacted)"
SENSITIVE_CONFIGS = (b"requirepass", b"masterauth", b"masteruser")  # SENSITIVE_CONFIG in config.c
_NAMES = (b"auth", b"hello", b"migrate", b"acl", b"config")


def secret_positions(argv: Sequence[bytes]) -> set[int]:
    """Indexes of ``argv`` that hold passwords or user rules; empty for most commands."""
    name = argv[0].lower()
    if name not in _NAMES:
        return set()
    if name == b"auth":
        return set(range(1, len(argv))) if len(argv) <= 3 else set()
    if name == b"hello":
        return _hello(argv)
    if name == b"migrate":
        return _migrate(argv)
    sub = argv[1].lower() if len(argv) > 1 else b""
    if name == b"acl" and sub == b"setuser" and len(argv) >= 3:
        return set(range(2, len(argv)))  # the name too: nothing about the user leaks
    if name == b"config" and sub == b"set" and len(argv) % 2 == 0:
        return {i + 1 for i in range(2, len(argv), 2) if argv[i].lower() in SENSITIVE_CONFIGS}
    return set()


def _hello(argv: Sequence[bytes]) -> set[int]:
    if len(argv) > 1 and to_int(argv[1]) not in (2, 3):
        return set()  # refused before its options are read
    hidden: set[int] = set()
    args = ArgCursor(argv, 2)
    while args:
        opt = args.next_keyword()
        if opt == b"AUTH" and args.has(2):
            hidden.update((args.pos, args.pos + 1))
            args.skip(2)
        elif opt == b"SETNAME" and args.has(1):
            args.skip()
        else:  # a syntax error: Redis stops reading there
            break
    return hidden


def _migrate(argv: Sequence[bytes]) -> set[int]:
    hidden: set[int] = set()
    args = ArgCursor(argv, 6)
    while args:
        opt = args.next_keyword()
        if opt == b"KEYS":
            break
        if opt == b"AUTH" and args.has(1):
            hidden.add(args.pos)
            args.skip()
        elif opt == b"AUTH2" and args.has(2):
            hidden.update((args.pos, args.pos + 1))
            args.skip(2)
    return hidden


def redacted(argv: Sequence[bytes]) -> Sequence[bytes]:
    """``argv`` with its secrets replaced by ``(redacted)`` (``argv`` itself when it has none)."""
    hidden = secret_positions(argv)
    if not hidden:
        return argv
    return [REDACTED if i in hidden else arg for i, arg in enumerate(argv)]
