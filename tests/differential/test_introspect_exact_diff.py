"""COMMAND GETKEYS / DOCS and the *HELP replies: the details Redis 7.0.15 answers differently from a naive table."""

from __future__ import annotations

import pytest

from tests.differential.harness import parse

CONTAINERS = ("ACL", "CLIENT", "COMMAND", "CONFIG", "FUNCTION", "LATENCY", "MEMORY", "MODULE", "OBJECT",
              "PUBSUB", "SCRIPT", "SLOWLOG", "XGROUP", "XINFO")


def test_shard_channels_are_not_keys(diff):
    """SSUBSCRIBE/SUNSUBSCRIBE/SPUBLISH's key spec is marked not-a-key: no key arguments."""
    for line in (("SSUBSCRIBE", "ch1", "ch2"), ("SUNSUBSCRIBE", "ch1"), ("SPUBLISH", "ch1", "m")):
        assert diff.check("COMMAND", "GETKEYS", *line) == b"-ERR The command has no key arguments\r\n"
        diff.check("COMMAND", "GETKEYSANDFLAGS", *line)
    diff.check("COMMAND", "GETKEYS", "GET", "k")


@pytest.mark.parametrize("resp", [2, 3])
def test_command_docs_answers_a_name_each_time_it_is_asked(diff, resp):
    diff.call("HELLO", resp, compare=False)
    for names in (("get", "GET"), ("set", "nosuch", "SET", "set"), ("config|get", "CONFIG|GET")):
        mine, theirs = diff.call("COMMAND", "DOCS", *names, compare=False)
        ours, real = parse(mine), parse(theirs)
        ours_names = ours[::2] if isinstance(ours, list) else list(ours)
        real_names = real[::2] if isinstance(real, list) else list(real)
        assert ours_names == real_names, (names, mine[:200], theirs[:200])
        assert mine[:1] == theirs[:1] and mine.split(b"\r\n")[0] == theirs.split(b"\r\n")[0]


@pytest.mark.parametrize("container", CONTAINERS)
def test_help_lines_are_simple_strings(diff, container):
    mine, theirs = diff.call(container, "HELP", compare=False)
    assert theirs.startswith(b"*") and b"\r\n$" not in theirs  # Redis: simple strings only
    assert mine.startswith(b"*") and b"\r\n$" not in mine, mine[:120]
