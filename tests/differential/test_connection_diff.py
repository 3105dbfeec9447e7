"""Connection commands compared with redis-server: PING ECHO SELECT HELLO AUTH and CLIENT.

Replies are compared byte for byte, except where they carry per-server values
(client IDs, addresses, ages): there the shape is compared, e.g. the field
names of CLIENT LIST in their order.
"""

from __future__ import annotations

from tests.differential.harness import RawConnection, parse


def _both(diff, *args) -> tuple:
    """One command on both servers, replies parsed (for replies that differ in values only)."""
    mine, theirs = diff.call(*args, compare=False)
    return parse(mine), parse(theirs)


def test_ping_echo_select(diff):
    diff.check_all(["PING", "PING hello", "ECHO x", "SELECT 1", "SELECT 0", "SELECT 15"])
    for args in [
        ("PING", "a", "b"), ("PING", ""), ("ECHO",), ("ECHO", "a", "b"), ("ECHO", ""),
        ("SELECT", "-1"), ("SELECT", "16"), ("SELECT", "1.5"), ("SELECT", "x"), ("SELECT", "0"),
        ("SELECT", "2147483648"), ("SELECT", "-2147483649"), ("SELECT", "99999999999"), ("SELECT", "2147483647"),
    ]:
        diff.check(*args)


def test_ping_echo_resp3(diff3):
    diff3.check("PING")
    diff3.check("PING", "hello")
    diff3.check("ECHO", "x")
    diff3.check("ECHO", "")


def test_hello_errors(diff):
    for args in [
        ("HELLO", "1"), ("HELLO", "4"), ("HELLO", "x"), ("HELLO", "-1"), ("HELLO", "2.0"), ("HELLO", "3x"),
        ("HELLO", "2", "x"), ("HELLO", "2", "AUTH"), ("HELLO", "2", "AUTH", "a"), ("HELLO", "2", "SETNAME"),
        ("HELLO", "2", "SETNAME", "a b"), ("HELLO", "2", "AUTH", "nouser", "pw"),
        ("AUTH",), ("AUTH", "a", "b", "c"), ("AUTH", "pw"), ("AUTH", "user", "pw"), ("AUTH", "default", ""),
    ]:
        diff.check(*args)


def test_hello_replies(diff):
    """HELLO 2 and HELLO 3 (with AUTH and SETNAME): the same map, apart from the client's id."""
    def as_map(reply) -> dict:  # RESP3 replies parse as a dict, RESP2 ones as a flat list
        return reply if isinstance(reply, dict) else dict(zip(reply[::2], reply[1::2]))

    for args in [
        ("HELLO",), ("HELLO", "2"), ("HELLO", "2", "SETNAME", "first"),
        ("HELLO", "2", "setname", "x", "auth", "default", "whatever"),
        ("HELLO", "3"), ("HELLO", "3", "AUTH", "default", "pw", "SETNAME", "third"), ("HELLO", "2"),
    ]:
        mine, theirs = (as_map(reply) for reply in _both(diff, *args))
        assert isinstance(mine.pop(b"id"), int) and isinstance(theirs.pop(b"id"), int)
        assert mine == theirs, args
    diff.check("CLIENT", "GETNAME")


def test_hello_3_then_commands_in_resp3(diff):
    diff.call("HELLO", "3", compare=False)
    diff.check("PING")
    diff.check("CLIENT", "GETNAME")
    diff.check("CONFIG", "GET", "maxmemory")
    diff.check("HELLO", "4")
    diff.check("PING")  # still RESP3 after a failed HELLO


def test_client_names(diff):
    mine, theirs = _both(diff, "CLIENT", "ID")
    assert isinstance(mine, int) and isinstance(theirs, int)
    for args in [
        ("CLIENT", "GETNAME"), ("CLIENT", "SETNAME", "abc"), ("CLIENT", "GETNAME"),
        ("CLIENT", "SETNAME", "a b"), ("CLIENT", "SETNAME", "a\nb"), ("CLIENT", "SETNAME", "é"),
        ("CLIENT", "SETNAME", ""), ("CLIENT", "GETNAME"), ("CLIENT", "SETNAME"), ("CLIENT", "GETNAME", "x"),
        ("CLIENT", "ID", "x"), ("CLIENT",), ("CLIENT", "NOSUCH"), ("CLIENT", "INFO", "x"),
    ]:
        diff.check(*args)


def _field_names(line: str) -> list[str]:
    return [field.split("=", 1)[0] for field in line.split(" ")]


def test_client_info_and_list_fields(diff):
    diff.call("CLIENT", "SETNAME", "lister", compare=False)
    mine, theirs = _both(diff, "CLIENT", "INFO")
    assert mine.endswith(b"\n") and theirs.endswith(b"\n")
    assert _field_names(mine.decode().strip()) == _field_names(theirs.decode().strip())
    mine, theirs = _both(diff, "CLIENT", "LIST")
    for reply in (mine, theirs):
        assert reply.endswith(b"\n")
    ours_lines = [line for line in mine.decode().splitlines() if "name=lister" in line]
    real_lines = [line for line in theirs.decode().splitlines() if "name=lister" in line]
    assert len(ours_lines) == len(real_lines) == 1
    assert _field_names(ours_lines[0]) == _field_names(real_lines[0])
    # Filters: the lister itself, by its own ID on each side.
    for conn in (diff.ours, diff.real):
        cid = parse(conn.call("CLIENT", "ID"))
        listed = parse(conn.call("CLIENT", "LIST", "ID", str(cid), "999999")).decode()
        assert listed.count("\n") == 1 and f"id={cid} " in listed
        assert parse(conn.call("CLIENT", "LIST", "TYPE", "normal")).count(b"name=lister") == 1
    for args in [
        ("CLIENT", "LIST", "TYPE", "x"), ("CLIENT", "LIST", "ID", "x"), ("CLIENT", "LIST", "ID", "0"),
        ("CLIENT", "LIST", "ID", "-1"), ("CLIENT", "LIST", "ID", "999999"), ("CLIENT", "LIST", "x"),
        ("CLIENT", "LIST", "ID"), ("CLIENT", "LIST", "TYPE", "master"), ("CLIENT", "LIST", "TYPE", "replica"),
        ("CLIENT", "LIST", "TYPE", "pubsub"),
    ]:
        diff.check(*args)


def test_client_kill_errors(diff):
    for args in [
        ("CLIENT", "KILL"), ("CLIENT", "KILL", "1.2.3.4:5"), ("CLIENT", "KILL", "ID"),
        ("CLIENT", "KILL", "ID", "x"), ("CLIENT", "KILL", "ID", "0"), ("CLIENT", "KILL", "ID", "-1"),
        ("CLIENT", "KILL", "ID", "999999"), ("CLIENT", "KILL", "TYPE", "x"),
        ("CLIENT", "KILL", "TYPE", "normal", "SKIPME", "maybe"), ("CLIENT", "KILL", "TYPE", "master"),
        ("CLIENT", "KILL", "TYPE", "slave"), ("CLIENT", "KILL", "TYPE", "replica"),
        ("CLIENT", "KILL", "TYPE", "pubsub"), ("CLIENT", "KILL", "USER", "nosuch"),
        ("CLIENT", "KILL", "ADDR", "1.2.3.4:5"), ("CLIENT", "KILL", "LADDR", "1.2.3.4:5"),
        ("CLIENT", "KILL", "MAXAGE", "100"), ("CLIENT", "KILL", "FOO", "bar"), ("CLIENT", "KILL", "ID", "1", "TYPE"),
        # Each filter is checked before the next is read: an odd count fails only when reached.
        ("CLIENT", "KILL", "ID", "x", "TYPE"), ("CLIENT", "KILL", "TYPE", "bogus", "ID"),
        ("CLIENT", "KILL", "SKIPME", "maybe", "ADDR"), ("CLIENT", "KILL", "USER", "nosuch", "SKIPME"),
    ]:
        diff.check(*args)


def test_client_kill_variants(ours, real):
    """Each way of naming a victim closes it and counts it (or answers OK for the old form)."""
    for port in (ours.port, real.port):
        killer = RawConnection(port)
        for form in ("addr", "ADDR", "ID", "USER", "SKIPME"):
            victim = RawConnection(port)
            victim_id = parse(victim.call("CLIENT", "ID"))
            line = parse(victim.call("CLIENT", "INFO")).decode()
            addr = line.split(" addr=", 1)[1].split(" ", 1)[0]
            if form == "addr":
                assert killer.call("CLIENT", "KILL", addr) == b"+OK\r\n"
            elif form == "ADDR":
                assert killer.call("CLIENT", "KILL", "ADDR", addr, "SKIPME", "yes") == b":1\r\n"
            elif form == "ID":
                assert killer.call("CLIENT", "KILL", "ID", str(victim_id)) == b":1\r\n"
            elif form == "USER":
                # Filters combine: only this default-user connection (other tests' stay open).
                reply = killer.call("CLIENT", "KILL", "USER", "default", "ID", str(victim_id), "TYPE", "normal")
                assert reply == b":1\r\n"
                assert killer.call("PING") == b"+PONG\r\n"
            else:  # SKIPME no: the killer goes too, after its reply
                reply = victim.call("CLIENT", "KILL", "ID", str(victim_id), "SKIPME", "no")
                assert reply == b":1\r\n"
            try:
                assert victim.call("PING") != b"+PONG\r\n"
            except (ConnectionError, OSError):
                pass
            victim.close()
        killer.close()


def test_client_flags_and_modes(diff):
    for args in [
        ("CLIENT", "NO-EVICT"), ("CLIENT", "NO-EVICT", "on"), ("CLIENT", "NO-EVICT", "OFF"),
        ("CLIENT", "NO-EVICT", "x"), ("CLIENT", "NO-EVICT", "on", "off"),
        ("CLIENT", "UNBLOCK"), ("CLIENT", "UNBLOCK", "x"), ("CLIENT", "UNBLOCK", "-5"),
        ("CLIENT", "UNBLOCK", "999999"), ("CLIENT", "UNBLOCK", "999999", "TIMEOUT"),
        ("CLIENT", "UNBLOCK", "999999", "error"), ("CLIENT", "UNBLOCK", "999999", "foo"),
        ("CLIENT", "unblock", "1", "TIMEOUT", "x"),
        ("CLIENT", "REPLY"), ("CLIENT", "REPLY", "x"), ("CLIENT", "REPLY", "ON"), ("CLIENT", "REPLY", "on", "x"),
        ("CLIENT", "PAUSE"), ("CLIENT", "PAUSE", "x"), ("CLIENT", "PAUSE", "-1"), ("CLIENT", "PAUSE", "1.5"),
        ("CLIENT", "PAUSE", "1", "x"), ("CLIENT", "pause", "1", "WRITE", "x"),
        ("CLIENT", "PAUSE", "1", "WRITE"), ("CLIENT", "PAUSE", "1", "all"), ("CLIENT", "PAUSE", "1"),
        ("CLIENT", "UNPAUSE"), ("CLIENT", "UNPAUSE", "x"),
    ]:
        diff.check(*args)
    mine, theirs = _both(diff, "CLIENT", "HELP")
    assert mine[0] == theirs[0]  # the heading; the lines are our own words


def test_client_unblock_a_blocked_client(ours, real):
    replies = []
    for port in (ours.port, real.port):
        blocked, other = RawConnection(port), RawConnection(port)
        blocked_id = parse(blocked.call("CLIENT", "ID"))
        blocked.send_raw(b"*3\r\n$5\r\nBLPOP\r\n$13\r\nunblock:empty\r\n$1\r\n0\r\n")
        for _ in range(100):  # until the server has it blocked
            if b"flags=b" in parse(other.call("CLIENT", "LIST", "ID", str(blocked_id))):
                break
        first = other.call("CLIENT", "UNBLOCK", str(blocked_id), "ERROR")
        replies.append((first, blocked.read_reply(), other.call("CLIENT", "UNBLOCK", str(blocked_id))))
        blocked.close()
        other.close()
    assert replies[0] == replies[1]


# CLIENT INFO fields whose values depend only on what the connection did.
DETERMINISTIC_FIELDS = ["name", "flags", "db", "sub", "psub", "ssub", "multi", "user", "redir", "resp", "oll", "omem"]


def _text(value) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _fields(reply: bytes | str) -> dict[str, str]:
    """A raw CLIENT INFO reply (or its text, as EXEC returned it): the deterministic fields."""
    text = _text(parse(reply)) if isinstance(reply, bytes) else reply
    pairs = dict(field.split("=", 1) for field in text.strip().split(" "))
    return {name: pairs[name] for name in DETERMINISTIC_FIELDS}


def test_client_info_values_follow_the_connection_state(diff3):
    steps = [
        ("SELECT", "2"), ("CLIENT", "SETNAME", "state"), ("SUBSCRIBE", "a"), ("PSUBSCRIBE", "x*"),
        ("SSUBSCRIBE", "s"), ("UNSUBSCRIBE", "a"), ("PUNSUBSCRIBE", "x*"), ("SUNSUBSCRIBE", "s"),
        ("CLIENT", "NO-EVICT", "on"), ("RESET",), ("SELECT", "1"), ("WATCH", "k"), ("MULTI",),
    ]
    mine, theirs = diff3.call("CLIENT", "INFO", compare=False)
    assert _fields(mine) == _fields(theirs)
    for step in steps:
        diff3.check(*step)
        mine, theirs = diff3.call("CLIENT", "INFO", compare=False)
        if step == ("MULTI",):  # queued: CLIENT INFO runs inside EXEC
            assert mine == theirs == b"+QUEUED\r\n"
            mine, theirs = (_text(parse(reply)[0]) for reply in diff3.call("EXEC", compare=False))
        assert _fields(mine) == _fields(theirs), step


def test_hello_and_auth_with_a_password(ours, real):
    """requirepass set: HELLO without AUTH is refused, HELLO AUTH logs in and names the connection."""
    replies = []
    for port in (ours.port, real.port):
        admin = RawConnection(port)
        assert admin.call("CONFIG", "SET", "requirepass", "secret") == b"+OK\r\n"
        try:
            conn = RawConnection(port)
            seen = [
                conn.call("HELLO", "3"), conn.call("HELLO"), conn.call("PING"), conn.call("CLIENT", "ID"),
                conn.call("HELLO", "3", "AUTH", "default", "wrong"), conn.call("HELLO", "2", "AUTH", "nouser", "x"),
                conn.call("HELLO", "3", "AUTH", "default", "secret", "SETNAME", "authed"),
                conn.call("CLIENT", "GETNAME"), conn.call("AUTH", "wrong"), conn.call("PING"),
                conn.call("AUTH", "default", "secret"), conn.call("AUTH", "secret"), conn.call("RESET"),
                conn.call("PING"), conn.call("HELLO", "2", "AUTH", "default", "secret"),
            ]
            conn.close()
            # The two HELLO maps carry each server's client id: compare them without it.
            for index in (6, 14):
                reply = parse(seen[index])
                mapping = reply if isinstance(reply, dict) else dict(zip(reply[::2], reply[1::2]))
                assert isinstance(mapping.pop(b"id"), int)
                seen[index] = sorted(mapping.items())
            replies.append(seen)
        finally:
            assert admin.call("CONFIG", "SET", "requirepass", "") == b"+OK\r\n"
            admin.close()
    assert replies[0] == replies[1]
