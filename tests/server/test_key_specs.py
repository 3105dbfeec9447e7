"""Key specs in the command table: well formed, and everything derived from them.

Each declaration's ``keys`` is parsed at import; these tests check what a parse
cannot: that every spec says how the key is accessed (a declaration still using
the old ``(first, last, step)`` tuple has none, and fails here), that the
derived legacy positions follow Redis's rules, and that a command Redis gives a
key-finding function has one here too.
"""

from __future__ import annotations

import pytest

from server.command import (
    K_ACCESS,
    K_NOT_KEY,
    K_OW,
    K_RM,
    K_RO,
    K_RW,
    K_UPDATE,
    TABLE,
    Command,
    keys_from_specs,
    load_all,
    numkeys_keys,
    parse_key_spec,
)

load_all()

ACCESS_TYPES = (K_RO, K_RW, K_OW, K_RM)


def _every_command() -> list[Command]:
    out = []
    for cmd in TABLE.values():
        out.append(cmd)
        out.extend(cmd.subcommands.values())
    return out


def test_every_key_spec_names_one_access_type():
    wrong = [
        f"{cmd.name}: spec {n}"
        for cmd in _every_command()
        for n, spec in enumerate(cmd.key_specs)
        if not spec.flags & K_NOT_KEY and sum(bool(spec.flags & t) for t in ACCESS_TYPES) != 1
    ]
    assert not wrong, "key specs without exactly one of RO/RW/OW/RM (old keys=(first, last, step)?):\n" + "\n".join(wrong)


def test_commands_with_key_arguments_declare_key_specs():
    """A key argument in the syntax needs a spec, or GETKEYS, ACL and tracking miss it."""
    missing = [cmd.name for cmd in _every_command()
               if any(arg.type == "key" for arg in cmd.args) and not cmd.key_specs]
    assert not missing, missing


def test_spec_notation():
    spec = parse_key_spec("RW access delete @STREAMS>1 range(-1,1,2) # half of the rest")
    assert (spec.begin, spec.keyword, spec.startfrom) == ("keyword", b"STREAMS", 1)
    assert (spec.find, spec.lastkey, spec.keystep, spec.limit) == ("range", -1, 1, 2)
    assert spec.flag_names() == ["RW", "access", "delete"] and spec.notes == "half of the rest"
    assert parse_key_spec("RO access @2 keynum(0,1,1)").find == "keynum"
    for bad in ("RO access", "RO @1 range(1,2)", "XX @1", "RO @1 range(0,1,0) extra", "RO @streams>1"):
        with pytest.raises(ValueError):
            parse_key_spec(bad)


def test_legacy_positions_and_movablekeys_are_derived():
    mset, zunionstore, lmove, xread = (TABLE[n] for n in (b"mset", b"zunionstore", b"lmove", b"xread"))
    assert (mset.first_key, mset.last_key, mset.step) == (1, -1, 2)
    assert "movablekeys" not in mset.flags
    assert (zunionstore.first_key, zunionstore.last_key, zunionstore.step) == (1, 1, 1)
    assert "movablekeys" in zunionstore.flags
    assert (lmove.first_key, lmove.last_key, lmove.step) == (1, 2, 1)  # two consecutive specs merge
    assert (xread.first_key, xread.last_key, xread.step) == (0, 0, 0) and "movablekeys" in xread.flags


def test_keys_found_with_their_flags():
    lmove = TABLE[b"lmove"]
    assert lmove.find_keys([b"LMOVE", b"a", b"b", b"LEFT", b"RIGHT"]) == [
        (1, lmove.key_specs[0].flags), (2, lmove.key_specs[1].flags)]
    # SET's flags vary with GET: its own function answers.
    assert TABLE[b"set"].find_keys([b"SET", b"k", b"v"]) == [(1, K_OW | K_UPDATE)]
    assert TABLE[b"set"].find_keys([b"SET", b"k", b"v", b"get"])[0][1] & K_ACCESS
    # An unparsable count makes the specs invalid; Redis's genericGetKeys reads it with atoi.
    zunion = TABLE[b"zunion"]
    assert keys_from_specs(zunion.key_specs, [b"ZUNION", b"2x", b"a", b"b"], zunion.arity) is None
    assert zunion.key_positions([b"ZUNION", b"2x", b"a", b"b"]) == [2, 3]
    assert numkeys_keys(1, 2, 3)([b"ZUNIONSTORE", b"d", b"0", b"a"]) == []
    # Shard channels are specs marked not_key: no keys.
    assert TABLE[b"spublish"].key_positions([b"SPUBLISH", b"ch", b"m"]) == []
    assert not TABLE[b"spublish"].has_keys


def test_redis_key_functions_are_kept():
    """The commands Redis gives a get_keys_function (their specs are incomplete or vary)."""
    with_function = {
        "bitfield", "blmpop", "bzmpop", "eval", "eval_ro", "evalsha", "evalsha_ro", "fcall", "fcall_ro",
        "georadius", "georadiusbymember", "lmpop", "migrate", "set", "sintercard", "sort", "sort_ro", "xread",
        "xreadgroup", "zdiff", "zdiffstore", "zinter", "zintercard", "zinterstore", "zmpop", "zunion",
        "zunionstore",
    }
    assert {cmd.name for cmd in _every_command() if cmd.getkeys is not None} == with_function
