"""The RDB building blocks: CRC-64, LZF, and the older encodings Redis 7.0 still reads.

Redis 7.0 writes listpacks, but loads files from older Redis versions that hold
ziplists, zipmaps, intsets, plain lists and string-encoded zset scores. These
tests build such files byte by byte (from the format, not from Redis's code)
and check that our reader and Debian's redis-server agree on what they hold.
"""

from __future__ import annotations

import os
import struct
import subprocess

import pytest
import redis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from server.persistence import crc64 as crc_module
from server.persistence import lzf, rdb
from tests.servers import OurServer, RealServer, real_server_available

# --------------------------------------------------------------------------- CRC-64 and LZF


def test_crc64_redis_test_vector():
    assert crc_module.crc64(0, b"123456789") == 0xE9C6D914C4B8D9CA


@pytest.mark.parametrize("size", [0, 1, 4095, 65536, 65536 + 4097, 300_001])
def test_crc64_fast_path_matches_the_table_loop(size):
    data = os.urandom(size)
    assert crc_module.crc64_python(0, data) == crc_module._crc_loop(0, data)
    # Continuing from a previous CRC equals checksumming the concatenation.
    head, tail = data[: size // 3], data[size // 3:]
    assert crc_module.crc64_python(crc_module.crc64_python(0, head), tail) == crc_module._crc_loop(0, data)


def test_lzf_literals_and_overlapping_back_references():
    # "abc" as a literal run, then a back reference of length 9 at distance 3 (overlapping).
    stream = bytes([2]) + b"abc" + bytes([(7 << 5) | 0, 9 - 2 - 7, 2])
    assert lzf.decompress(stream, 12) == b"abc" * 4
    with pytest.raises(lzf.LZFError):
        lzf.decompress(stream, 13)
    with pytest.raises(lzf.LZFError):
        lzf.decompress(bytes([(1 << 5), 10]), 3)  # refers before the start


# --------------------------------------------------------------------------- old encodings


def ziplist(entries: list[bytes | int]) -> bytes:
    body = b""
    prev = 0
    last_offset = 10
    for item in entries:
        head = bytes([prev]) if prev < 254 else b"\xfe" + struct.pack("<I", prev)
        if isinstance(item, int):
            if 0 <= item <= 12:
                enc = bytes([0xF1 + item])
            elif -128 <= item < 128:
                enc = b"\xfe" + struct.pack("<b", item)
            elif -(1 << 15) <= item < (1 << 15):
                enc = b"\xc0" + struct.pack("<h", item)
            elif -(1 << 23) <= item < (1 << 23):
                enc = b"\xf0" + item.to_bytes(3, "little", signed=True)
            elif -(1 << 31) <= item < (1 << 31):
                enc = b"\xd0" + struct.pack("<i", item)
            else:
                enc = b"\xe0" + struct.pack("<q", item)
        else:
            n = len(item)
            if n < 64:
                enc = bytes([n]) + item
            elif n < 16384:
                enc = bytes([0x40 | (n >> 8), n & 0xFF]) + item
            else:
                enc = b"\x80" + struct.pack(">I", n) + item
        entry = head + enc
        last_offset = 10 + len(body)
        body += entry
        prev = len(entry)
    total = 10 + len(body) + 1
    return struct.pack("<IIH", total, last_offset, len(entries)) + body + b"\xff"


def zipmap(pairs: list[tuple[bytes, bytes]]) -> bytes:
    def length(n: int) -> bytes:
        return bytes([n]) if n < 254 else b"\xfe" + struct.pack("<I", n)

    out = bytes([min(len(pairs), 254)])
    for key, value in pairs:
        out += length(len(key)) + key + length(len(value)) + b"\x00" + value
    return out + b"\xff"


def intset(values: list[int], width: int) -> bytes:
    code = {2: "h", 4: "i", 8: "q"}[width]
    return struct.pack("<II", width, len(values)) + struct.pack(f"<{len(values)}{code}", *sorted(values))


def rdb_string(s: bytes) -> bytes:
    return rdb.encode_string(s)


def record(rdb_type: int, key: bytes, body: bytes) -> bytes:
    return bytes([rdb_type]) + rdb_string(key) + body


def old_file(records: list[bytes], version: int = 9, extra: bytes = b"") -> bytes:
    data = b"REDIS%04d" % version + extra + b"\xfe\x00" + b"".join(records) + b"\xff"
    return data + crc_module.crc64(0, data).to_bytes(8, "little")


def old_encodings_file() -> tuple[bytes, dict]:
    """A version-9 file with every pre-listpack encoding, and what each key must hold."""
    expected: dict = {}
    recs = []
    items = [b"a", 5, -3, 300, -70000, 2**40, b"x" * 100, 12]
    flat = [b"a", b"5", b"-3", b"300", b"-70000", b"1099511627776", b"x" * 100, b"12"]
    recs.append(record(rdb.TYPE_LIST_ZIPLIST, b"list:ziplist", rdb_string(ziplist(items))))
    expected[b"list:ziplist"] = ("list", flat)
    nodes = [ziplist([b"n1", b"n2"]), ziplist([3, b"n4"])]
    recs.append(record(rdb.TYPE_LIST_QUICKLIST, b"list:quicklist",
                       rdb.encode_length(2) + b"".join(rdb_string(n) for n in nodes)))
    expected[b"list:quicklist"] = ("list", [b"n1", b"n2", b"3", b"n4"])
    recs.append(record(rdb.TYPE_LIST, b"list:plain", rdb.encode_length(2) + rdb_string(b"p") + rdb_string(b"q")))
    expected[b"list:plain"] = ("list", [b"p", b"q"])
    recs.append(record(rdb.TYPE_SET_INTSET, b"set:intset16", rdb_string(intset([1, -2, 300], 2))))
    expected[b"set:intset16"] = ("set", sorted([b"1", b"-2", b"300"]))
    recs.append(record(rdb.TYPE_SET_INTSET, b"set:intset64", rdb_string(intset([2**40, -5], 8))))
    expected[b"set:intset64"] = ("set", sorted([b"1099511627776", b"-5"]))
    recs.append(record(rdb.TYPE_HASH_ZIPMAP, b"hash:zipmap", rdb_string(zipmap([(b"f", b"v"), (b"g", b"w" * 300)]))))
    expected[b"hash:zipmap"] = ("hash", sorted([(b"f", b"v"), (b"g", b"w" * 300)]))
    recs.append(record(rdb.TYPE_HASH_ZIPLIST, b"hash:ziplist", rdb_string(ziplist([b"f1", b"v1", b"n", 42]))))
    expected[b"hash:ziplist"] = ("hash", sorted([(b"f1", b"v1"), (b"n", b"42")]))
    recs.append(record(rdb.TYPE_ZSET_ZIPLIST, b"zset:ziplist", rdb_string(ziplist([b"m1", 1, b"m2", b"2.5"]))))
    expected[b"zset:ziplist"] = ("zset", [(b"m1", 1.0), (b"m2", 2.5)])
    zs = rdb.encode_length(3)
    for member, text in ((b"a", b"1.5"), (b"b", None), (b"c", b"-2")):
        zs += rdb_string(member) + (bytes([len(text)]) + text if text else b"\xfe")  # 254: +inf
    recs.append(record(rdb.TYPE_ZSET, b"zset:strings", zs))
    expected[b"zset:strings"] = ("zset", [(b"c", -2.0), (b"a", 1.5), (b"b", float("inf"))])
    return old_file(recs), expected


def test_reader_handles_old_encodings():
    data, expected = old_encodings_file()
    result = rdb.load_bytes(data)
    assert result.version == 9
    loaded = result.databases[0][0]
    for key, (kind, content) in expected.items():
        value = loaded[key]
        assert value.TYPE_NAME.decode() == kind
        if kind == "list":
            assert list(value) == content
        elif kind == "set":
            assert sorted(value) == content
        elif kind == "hash":
            assert sorted(value.items()) == content
        else:
            assert list(value.items()) == content


def test_old_encodings_agree_with_redis(tmp_path):
    """redis-server loads the same hand-built file and serves the same contents."""
    real_server_available(require=True)
    data, expected = old_encodings_file()
    (tmp_path / "dump.rdb").write_bytes(data)
    server = RealServer(tmp_path)
    server.start()
    try:
        client = server.client()
        for key, (kind, content) in expected.items():
            assert client.type(key).decode() == kind
            if kind == "list":
                assert client.lrange(key, 0, -1) == content
            elif kind == "set":
                assert sorted(client.smembers(key)) == content
            elif kind == "hash":
                assert sorted(client.hgetall(key).items()) == content
            else:
                assert client.zrange(key, 0, -1, withscores=True) == content
    finally:
        server.stop()


def test_opcodes_expiry_idle_freq_and_skipped_records():
    now_ms = 1_800_000_000_000
    module_aux = (b"\xf7" + rdb.encode_length(12345) + rdb.encode_length(2) + rdb.encode_length(1)
                  + rdb.encode_length(2) + rdb.encode_length(7) + rdb.encode_length(5) + rdb_string(b"blob")
                  + rdb.encode_length(4) + b"\x00" * 8 + rdb.encode_length(0))
    function = b"\xf5" + rdb_string(b"#!lua name=lib\nredis.register_function('f', function() return 1 end)")
    recs = [
        b"\xfc" + struct.pack("<q", now_ms + 5000) + record(0, b"ms", rdb_string(b"1")),
        b"\xfd" + struct.pack("<i", now_ms // 1000 + 60) + record(0, b"seconds", rdb_string(b"2")),
        b"\xfc" + struct.pack("<q", now_ms - 1) + record(0, b"expired", rdb_string(b"3")),
        b"\xf8" + rdb.encode_length(100) + record(0, b"idle", rdb_string(b"4")),
        b"\xf9\x05" + record(0, b"freq", rdb_string(b"5")),
        module_aux,
        function,
        b"\xfb" + rdb.encode_length(10) + rdb.encode_length(2),
        record(0, b"int8", b"\xc0\x85"),
        record(0, b"int16", b"\xc1" + struct.pack("<h", -30000)),
        record(0, b"int32", b"\xc2" + struct.pack("<i", 2_000_000_000)),
    ]
    data = old_file(recs, version=10, extra=b"\xfa" + rdb_string(b"redis-ver") + rdb_string(b"7.0.15"))
    result = rdb.load_bytes(data, now_ms=now_ms)
    db, expires = result.databases[0]
    assert db == {b"ms": b"1", b"seconds": b"2", b"idle": b"4", b"freq": b"5",
                  b"int8": b"-123", b"int16": b"-30000", b"int32": b"2000000000"}
    assert expires == {b"ms": now_ms + 5000, b"seconds": (now_ms // 1000 + 60) * 1000}
    assert result.keys_expired == 1 and result.keys_loaded == 7
    assert result.module_aux_skipped == 1
    assert result.functions == [b"#!lua name=lib\nredis.register_function('f', function() return 1 end)"]
    assert result.aux[b"redis-ver"] == b"7.0.15"


@pytest.mark.parametrize("rdb_type, message", [(7, "module values"), (8, "unknown value type")])
def test_unsupported_types_are_refused_with_offset(rdb_type, message):
    data = old_file([record(0, b"ok", rdb_string(b"v")), record(rdb_type, b"k", b"\x00")], version=10)
    with pytest.raises(rdb.RDBError, match=message) as excinfo:
        rdb.load_bytes(data)
    assert excinfo.value.offset == 9 + 2 + len(record(0, b"ok", rdb_string(b"v")))


def test_version_and_checksum_checks():
    good = old_file([record(0, b"k", rdb_string(b"v"))], version=10)
    with pytest.raises(rdb.RDBError, match="can't handle RDB format version 11"):
        rdb.load_bytes(b"REDIS0011" + good[9:])
    corrupt = bytearray(good)
    corrupt[-12] ^= 1  # inside the value: only the checksum can tell
    with pytest.raises(rdb.RDBError, match="checksum mismatch"):
        rdb.load_bytes(bytes(corrupt))
    unchecked = good[:-8] + b"\x00" * 8  # a zero checksum means "not computed", as rdbchecksum no writes
    assert rdb.load_bytes(unchecked).checksum == "disabled"


def test_dump_payload_layout():
    payload = rdb.dump_payload(b"hello")
    assert payload[:1] == b"\x00" and payload[1:7] == b"\x05hello"
    assert payload[-10:-8] == (10).to_bytes(2, "little")
    assert int.from_bytes(payload[-8:], "little") == crc_module.crc64(0, payload[:-8])
    assert rdb.load_payload(payload) == b"hello"


def test_loaded_file_serves_through_our_server(tmp_path):
    """The hand-built old-encoding file also starts our server (keys counted in INFO)."""
    real_server_available(require=True)  # for redis-check-rdb
    data, expected = old_encodings_file()
    (tmp_path / "dump.rdb").write_bytes(data)
    server = OurServer(tmp_path)
    server.start()
    try:
        client: redis.Redis = server.client()
        assert client.dbsize() == len(expected)
        assert client.info("persistence")["rdb_last_load_keys_loaded"] == len(expected)
        assert client.type("zset:strings") == b"zset"
    finally:
        server.stop()
    assert subprocess.run(["redis-check-rdb", str(tmp_path / "dump.rdb")], capture_output=True).returncode == 0


# --------------------------------------------------------------------------- random round trips

# Elements that exercise every listpack encoding: small and large integers at each width's
# edges, non-canonical numbers that must stay strings, short, medium and long strings.
_edges = [0, 127, 128, -1, -4096, 4095, -4097, 4096, 2**15 - 1, -(2**15), 2**15, 2**23 - 1, -(2**23),
          2**23, 2**31 - 1, -(2**31), 2**31, 2**63 - 1, -(2**63)]
element = st.one_of(
    st.sampled_from(_edges).map(lambda n: b"%d" % n),
    st.integers(min_value=-(2**63), max_value=2**63 - 1).map(lambda n: b"%d" % n),
    st.sampled_from([b"-0", b"+1", b"007", b" 1", b"1 ", b"9223372036854775808", b""]),
    st.binary(max_size=70),
    st.binary(min_size=4000, max_size=4200),
)


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.data_too_large])
@given(items=st.lists(element, min_size=1, max_size=40))
def test_list_payloads_restore_into_redis(real, items):
    """Our listpack encoder, through DUMP payloads, against redis-server's RESTORE and LRANGE."""
    from server.datatypes.list import ListValue

    payload = rdb.dump_payload(ListValue(items))
    client = real.client()
    client.restore("prop:list", 0, payload, replace=True)
    assert client.lrange("prop:list", 0, -1) == items
    assert list(rdb.load_payload(client.dump("prop:list"))) == items


@settings(max_examples=30, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.data_too_large])
@given(pairs=st.dictionaries(element, st.floats(allow_nan=False), min_size=1, max_size=30),
       members=st.sets(element, min_size=1, max_size=30))
def test_collection_payloads_round_trip_with_redis(real, pairs, members):
    from server.datatypes.hash import HashValue
    from server.datatypes.set import SetValue
    from server.datatypes.zset import ZSetValue

    client = real.client()
    client.restore("prop:zset", 0, rdb.dump_payload(ZSetValue(pairs.items())), replace=True)
    got = client.zrange("prop:zset", 0, -1, withscores=True)
    assert sorted(got) == sorted(pairs.items())
    client.restore("prop:hash", 0, rdb.dump_payload(HashValue({m: m[::-1] for m in members})), replace=True)
    assert client.hgetall("prop:hash") == {m: m[::-1] for m in members}
    client.restore("prop:set", 0, rdb.dump_payload(SetValue(members)), replace=True)
    assert client.smembers("prop:set") == members
    back = rdb.load_payload(client.dump("prop:set"))
    assert set(back) == members


def test_checksum_in_a_helper_process(monkeypatch):
    """Large files are checksummed by a forked helper while the parent decodes: same verdicts."""
    monkeypatch.setattr(rdb, "_PARALLEL_CRC_MIN", 0)
    data = {b"k%d" % i: b"v" * (i % 90) for i in range(5000)}
    import io

    out = io.BytesIO()
    rdb.write_rdb(out, [(0, data, {})])
    good = out.getvalue()
    assert rdb.load_bytes(good).databases[0][0] == data
    corrupt = bytearray(good)
    corrupt[len(good) // 2] ^= 0x01
    with pytest.raises(rdb.RDBError):
        rdb.load_bytes(bytes(corrupt))
    with pytest.raises(rdb.RDBError, match="unexpected end"):
        rdb.load_bytes(good[:-3])
