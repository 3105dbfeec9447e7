"""The request parser on its own: any split of a byte stream gives the same frames.

C code (server/_multibulk.c) cuts whole multibulk requests out of a read and our
own Python parser reads inline ones and takes over where the C code stops, so the
interesting cases are streams that mix both shapes, cut at arbitrary points.
"""

from __future__ import annotations

import tracemalloc

from hypothesis import given, settings
from hypothesis import strategies as st

from server import protocol
from server.protocol import RequestParser

args = st.lists(st.binary(min_size=0, max_size=12), min_size=1, max_size=4)
words = st.lists(st.text(alphabet="abcxyz019", min_size=1, max_size=6), min_size=1, max_size=3)


def multibulk(frame: list[bytes]) -> bytes:
    return b"*%d\r\n" % len(frame) + b"".join(b"$%d\r\n%b\r\n" % (len(a), a) for a in frame)


requests = st.one_of(
    args.map(lambda f: (multibulk(f), [f])),
    words.map(lambda w: (" ".join(w).encode() + b"\r\n", [[x.encode() for x in w]])),
    st.just((b"\r\n", [])),
)


def feed_in_pieces(stream: bytes, cuts: list[int]) -> tuple[list[list[bytes]], str | None]:
    parser = RequestParser()
    frames: list[list[bytes]] = []
    last = 0
    for cut in sorted(set(c % (len(stream) + 1) for c in cuts)) + [len(stream)]:
        if cut <= last:
            continue
        got, error = parser.feed(stream[last:cut])
        frames.extend(got)
        if error:
            return frames, error
        last = cut
    return frames, None


@settings(max_examples=300, deadline=None)
@given(st.lists(requests, min_size=1, max_size=12), st.lists(st.integers(min_value=0, max_value=10_000), max_size=8))
def test_mixed_stream_cut_anywhere_gives_the_same_frames(reqs, cuts):
    stream = b"".join(r[0] for r in reqs)
    expected = [f for r in reqs for f in r[1]]
    frames, error = feed_in_pieces(stream, cuts)
    assert error is None
    assert frames == expected


@settings(max_examples=200, deadline=None)
@given(st.lists(args, min_size=1, max_size=20), st.lists(st.integers(min_value=0, max_value=10_000), max_size=8))
def test_pipelined_multibulk_cut_anywhere(frames_in, cuts):
    stream = b"".join(multibulk(f) for f in frames_in)
    frames, error = feed_in_pieces(stream, cuts)
    assert error is None
    assert frames == frames_in


def test_redis_cli_pipe_trailer_after_arrays():
    parser = RequestParser()
    body = multibulk([b"SET", b"a", b"1"]) * 3
    frames, error = parser.feed(body[:-5])
    frames2, error2 = parser.feed(body[-5:] + b"\r\n" + multibulk([b"ECHO", b"x" * 20]))
    assert error is None and error2 is None
    assert frames + frames2 == [[b"SET", b"a", b"1"]] * 3 + [[b"ECHO", b"x" * 20]]


def test_huge_multibulk_header_is_not_preallocated():
    parser = RequestParser()
    frames, error = parser.feed(b"*2000000000\r\n$3\r\nSET\r\n")
    assert frames == [] and error is None  # legal for Redis: it waits for the rest
    assert parser.feed(b"$1\r\nk\r\n" * 1000) == ([], None)  # arguments read as they come
    assert parser.pending_bytes() == 0  # qbuf counts unparsed bytes only, as Redis's does


class OwnParserOnly(RequestParser):
    """The reference: our Redis-like parser alone, without the C fast path."""

    def feed(self, data: bytes, earlier: bool = False) -> tuple[list[list[bytes]], str | None]:
        return self._own(data, earlier)


def feed_and_run(parser: RequestParser, data: bytes) -> tuple[list[list[bytes]], str | None]:
    """``feed`` as the server calls it: a request held back until the ones before it have run
    (``deferred``: the unauthenticated limits) is read again once they have."""
    frames, error = parser.feed(data)
    while parser.deferred and error is None:
        parser.deferred = False
        more, error = parser.feed(b"")
        frames += more
    return frames, error


odd_pieces = st.sampled_from([
    b"*0\r\n", b"*-1\r\n", b"*-10\r\n", b"*1\r\n$03\r\nabc\r\n", b"*+1\r\n", b"*1\r\n:1\r\n", b"*1\r\n$-1\r\n",
    b"*1\r\n*1\r\n", b"$3\r\nabc\r\n", b"\r\n", b"\n", b"*2\r\n$1\r\na\r\n", b"$x\r\n", b'"', b"'", b"*1\r", b"*",
    b"*1\r\n$2\r\nabXY", b"GET k\n", b"\x00", b"*12\r\n",
    # Reply types inside a request (Redis: "expected '$', got '+'"), lengths the C code leaves to
    # the reference, the unauthenticated limits on whole requests, headers far past the read.
    b"*1\r\n+PING\r\n", b"*2\r\n$4\r\nECHO\r\n=5\r\ntxt:a\r\n", b"*1\r\n(12\r\n", b"*1\r\n~1\r\n$1\r\na\r\n",
    b"*1\r\n$+3\r\nabc\r\n", b"*01\r\n$1\r\na\r\n", b"*1\r\n$0\r\n\r\n", b"*11\r\n" + b"$1\r\nx\r\n" * 11,
    b"*2\r\n$4\r\nECHO\r\n$16385\r\n" + b"y" * 16385 + b"\r\n", b"*2000000000\r\n", b"*1\r\n>2000000000\r\n",
])
# Bytes made of RESP's own characters: headers and lengths of every shape, cut anywhere.
resp_noise = st.lists(
    st.sampled_from([b"*", b"$", b"+", b":", b"\r", b"\n", b"\r\n", b"0", b"1", b"2", b"3", b"12", b"-", b"x", b" "]),
    max_size=12).map(b"".join)
stream_pieces = st.one_of(args.map(multibulk), words.map(lambda w: " ".join(w).encode() + b"\r\n"), odd_pieces,
                          resp_noise)


@settings(max_examples=400, deadline=None)
@given(st.lists(stream_pieces, min_size=1, max_size=12), st.lists(st.integers(min_value=0, max_value=10_000), max_size=8),
       st.booleans())
def test_c_fast_path_agrees_with_our_parser(pieces, cuts, logged_in):
    """Whatever the bytes (odd frames, garbage, non-canonical lengths) and wherever the reads
    end, the parser with its C fast path gives the frames and the error that our own
    Redis-like parser gives reading the whole stream at once."""
    assert protocol.split is not None, "server/_multibulk.c is not built: run `make ext` (or pip install -e .)"
    stream = b"".join(pieces)
    reference = OwnParserOnly()
    reference.authenticated = logged_in
    expected = feed_and_run(reference, stream)
    parser = RequestParser()
    parser.authenticated = logged_in
    frames: list[list[bytes]] = []
    error = None
    last = 0
    for cut in sorted(set(c % (len(stream) + 1) for c in cuts)) + [len(stream)]:
        if cut <= last:
            continue
        got, error = feed_and_run(parser, stream[last:cut])
        frames.extend(got)
        last = cut
        if error:
            break
    assert (frames, error) == expected


def test_every_two_piece_cut_of_a_pipeline_gives_its_frames():
    """Wherever a read ends inside a request (a few bytes short of a value's end, right after a
    whole argument, inside a header), the request comes out once, whole, after the next read."""
    frames_in = [[b"SET", b"k", b"abcde"], [b"GET", b"k"], [b"SET", b"k2", b"v"], [b"ECHO", b"*0\r\n"], [b"PING"]]
    stream = b"".join(multibulk(f) for f in frames_in)
    for cut in range(1, len(stream)):
        parser = RequestParser()
        first, error = parser.feed(stream[:cut])
        second, error2 = parser.feed(stream[cut:])
        assert error is None and error2 is None, cut
        assert first + second == frames_in, cut
        assert parser.pending_bytes() == 0


def test_a_huge_header_after_a_request_costs_nothing():
    """A header asking for two billion arguments, in the read of a whole request: the request
    runs, and nothing is allocated for the header (the list it asks for would take 16 GB, and
    seconds to free)."""
    parser = RequestParser()
    tracemalloc.start()
    for kind in b"*~>|":
        frames, error = parser.feed(b"*1\r\n$4\r\nPING\r\n*2\r\n$3\r\nGET\r\n%c2000000000\r\n" % kind)
        assert frames == [[b"PING"]] and error == "expected '$', got '%c'" % kind
        parser = RequestParser()
    frames, error = parser.feed(b"*1\r\n$4\r\nPING\r\n*2000000000\r\n")
    assert frames == [[b"PING"]] and error is None
    assert parser.feed(b"$1\r\nk\r\n" * 1000) == ([], None)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 1_000_000  # (the hiredis-based parser allocated the list, then spent 5 s freeing it)


def test_a_request_past_the_unauthenticated_limits_waits_for_the_auth_before_it():
    """Redis checks a request's limits after the requests before it have run: an AUTH in the
    same read lifts them. The parser holds such a request back until then (``deferred``)."""
    big = multibulk([b"x"] * 11)
    for logged_in, expected in ((True, ([[b"x"] * 11], None)), (False, ([], "unauthenticated multibulk length"))):
        state = {"auth": False}
        parser = RequestParser()
        parser.authenticated = lambda state=state: state["auth"]
        assert parser.feed(multibulk([b"AUTH", b"pw"]) + big) == ([[b"AUTH", b"pw"]], None)
        assert parser.deferred
        parser.deferred = False
        state["auth"] = logged_in  # what running AUTH did
        assert parser.feed(b"") == expected
    parser = RequestParser()
    parser.authenticated = False
    value = multibulk([b"SET", b"k", b"v" * 20000])
    assert parser.feed(multibulk([b"PING"]) + value) == ([[b"PING"]], None) and parser.deferred
    parser.deferred = False
    assert parser.feed(b"") == ([], "unauthenticated bulk length")
