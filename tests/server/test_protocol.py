"""The wire protocol through a real socket: pipelining, inline commands, partial frames, bad input."""

from __future__ import annotations

import socket
import time

import pytest


def raw(port: int, payload: bytes, wait: float = 0.3) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(payload)
        time.sleep(wait)
        sock.settimeout(0.5)
        data = b""
        try:
            while True:
                chunk = sock.recv(65536)
                if not chunk:
                    break
                data += chunk
        except TimeoutError:
            pass
        return data


def test_inline_commands_with_quotes(ours):
    out = raw(ours.port, b'PING\r\nECHO "hello world"\r\nECHO \'a b\'\r\n')
    assert out == b"+PONG\r\n$11\r\nhello world\r\n$3\r\na b\r\n"


def test_inline_and_multibulk_mixed_with_blank_lines(ours):
    out = raw(ours.port, b"*1\r\n$4\r\nPING\r\n\r\nPING\r\n*2\r\n$4\r\nECHO\r\n$1\r\nx\r\n")
    assert out == b"+PONG\r\n+PONG\r\n$1\r\nx\r\n"


def test_pipelined_replies_arrive_in_order(ours):
    payload = b"".join(b"*3\r\n$3\r\nSET\r\n$2\r\nk%d\r\n$1\r\n%d\r\n" % (i % 10, i % 10) for i in range(100))
    payload += b"*2\r\n$3\r\nGET\r\n$2\r\nk7\r\n"
    out = raw(ours.port, payload)
    assert out == b"+OK\r\n" * 100 + b"$1\r\n7\r\n"


def test_frame_split_across_reads(ours):
    with socket.create_connection(("127.0.0.1", ours.port), timeout=5) as sock:
        frame = b"*2\r\n$4\r\nECHO\r\n$10\r\n0123456789\r\n"
        for byte in frame:
            sock.sendall(bytes([byte]))
        assert sock.recv(100) == b"$10\r\n0123456789\r\n"


def test_unbalanced_quotes_is_a_protocol_error(ours):
    out = raw(ours.port, b'ECHO "abc\r\n')
    assert out == b"-ERR Protocol error: unbalanced quotes in request\r\n"


@pytest.mark.parametrize(
    "payload,message",
    [
        (b"*1\r\n$-5\r\n", b"invalid bulk length"),
        (b"*1\r\n$99999999999\r\n", b"invalid bulk length"),
        (b"*abc\r\n", b"invalid multibulk length"),
        (b"*1\r\n:5\r\n", b"expected '$', got ':'"),
        (b"*3000000000\r\n", b"invalid multibulk length"),
    ],
)
def test_malformed_multibulk_closes_with_redis_error(ours, payload, message):
    out = raw(ours.port, payload)
    assert out == b"-ERR Protocol error: " + message + b"\r\n"


def test_server_survives_bad_client(ours):
    raw(ours.port, b"*1\r\n$-5\r\n")
    assert raw(ours.port, b"PING\r\n") == b"+PONG\r\n"


def test_format_double_writes_integral_values_as_percent_17g():
    """``format_double`` writes integral values below 1e17 with ``%d``: the same text as ``%.17g``
    (Redis's format), around every boundary, and -0, inf and values past the cut as before."""
    import math
    import random

    from server.protocol import format_double

    rng = random.Random(5)
    values = [0.0, -0.0, 1.0, -1.0, 1e16, 1e17, -1e17, 1e17 - 16, 2.0**53 + 2, -(2.0**60), 1e22, 0.5, -2.5,
              math.inf, -math.inf]
    values += [float(rng.randint(-(2**bits), 2**bits)) for bits in range(70) for _ in range(50)]
    for value in values:
        if math.isinf(value):
            expected = b"inf" if value > 0 else b"-inf"
        elif value == 0:
            expected = b"-0" if math.copysign(1.0, value) < 0 else b"0"
        else:
            expected = b"%.17g" % value
        assert format_double(value) == expected, value


def test_c_array_encoder_writes_what_the_element_by_element_encoder_writes(monkeypatch):
    """``encode`` writes an array of bulks and nulls in one C call (``encode_bulks``): for any
    array, of those or of anything else, in RESP2 and RESP3, the bytes are those the
    element-by-element path writes, and a known array gives Redis's exact bytes."""
    from hypothesis import given, settings
    from hypothesis import strategies as st

    from server import protocol
    from server.protocol import Status, encode

    assert protocol.encode_bulks is not None, "server/_multibulk.c is not built: run `make ext` (or pip install -e .)"

    def written(value: object, resp3: bool) -> bytes:
        out: list[bytes] = []
        encode(value, out, resp3)
        return b"".join(out)

    assert written([b"a", None, b"", b"x" * 1500], False) == (
        b"*4\r\n$1\r\na\r\n$-1\r\n$0\r\n\r\n$1500\r\n" + b"x" * 1500 + b"\r\n")
    assert written((b"a", None), True) == b"*2\r\n$1\r\na\r\n_\r\n"
    assert written([], False) == b"*0\r\n"

    leaf = st.one_of(st.binary(max_size=40), st.none(), st.binary(max_size=5).map(Status),
                     st.binary(max_size=5).map(bytearray), st.integers(-5, 20000), st.floats(allow_nan=False))
    arrays = st.recursive(st.lists(leaf, max_size=12), lambda inner: st.lists(st.one_of(leaf, inner), max_size=4)
                          | st.tuples(inner, leaf), max_leaves=30)

    @settings(max_examples=300, deadline=None)
    @given(arrays, st.booleans())
    def agrees(value, resp3):
        fast = written(value, resp3)
        with monkeypatch.context() as patch:
            patch.setattr(protocol, "encode_bulks", None)
            assert written(value, resp3) == fast

    agrees()
