"""Secrets never kept: SLOWLOG shows passwords and user rules as ``(redacted)``, as Redis 7.0 does."""

from __future__ import annotations

from tests.differential.harness import parse

SECRET_COMMANDS = [
    ("AUTH", "hunter2"),
    ("AUTH", "someone", "hunter2"),
    ("AUTH", "a", "b", "c"),  # a syntax error before Redis reads the password: shown as sent
    ("HELLO", "2", "AUTH", "someone", "hunter2"),
    ("HELLO", "2", "SETNAME", "me", "AUTH", "default", "hunter2"),
    ("HELLO", "4", "AUTH", "someone", "hunter2"),  # refused before the options are read
    ("ACL", "SETUSER", "tmp-secret", "on", ">hunter2", "~*"),
    ("ACL", "DELUSER", "tmp-secret"),
    ("CONFIG", "SET", "requirepass", ""),
    ("CONFIG", "SET", "maxmemory-samples", "5", "masterauth", "hunter2", "masteruser", "hunter3"),
    ("CONFIG", "SET", "masterauth", ""),
    ("CONFIG", "SET", "masteruser", ""),
    ("CONFIG", "SET", "requirepass"),  # odd argument count: nothing read
]


def test_slowlog_redacts_secrets_like_redis(diff):
    diff.check("CONFIG", "SET", "slowlog-log-slower-than", "0")
    try:
        diff.check("SLOWLOG", "RESET")
        for args in SECRET_COMMANDS:
            diff.call(*args, compare=False)
        mine, theirs = diff.call("SLOWLOG", "GET", "100", compare=False)
    finally:
        diff.check("CONFIG", "SET", "slowlog-log-slower-than", "10000")
    ours_argv = [entry[3] for entry in parse(mine)]
    real_argv = [entry[3] for entry in parse(theirs)]
    assert ours_argv == real_argv
    assert len(real_argv) == len(SECRET_COMMANDS)  # the last one fails CONFIG SET's arity: not run
    shown_in_clear = [argv for argv in real_argv if b"hunter2" in argv]
    assert shown_in_clear == [[b"HELLO", b"4", b"AUTH", b"someone", b"hunter2"]]
