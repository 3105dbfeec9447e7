"""The C part of the RDB writer writes exactly what the pure-Python reference writes.

``rdb.write_database`` serialises string and hash records in C
(``_rdbwriter.c``, so a BGSAVE child leaves reference counts alone) and hands
every other value back to Python one key at a time;
``rdb.write_database_python`` is the reference. Both must produce the same
bytes for the same database: every type and encoding redis-server writes
(loaded from its dump), strings on each side of every length-encoding
boundary, bytearray values, expiries, hashes big and small (and after
deletions), and values that interrupt the C run at the first, last and
consecutive positions.
"""

from __future__ import annotations

import io
import subprocess

import pytest

from server.datatypes.hash import HashValue
from server.datatypes.list import ListValue
from server.persistence import rdb
from server.persistence.crc64 import crc64
from tests.server.test_rdb_interchange import populate
from tests.servers import RealServer, real_server_available, require_tool


def _write(writer, data: dict, expires: dict, index: int = 0) -> bytes:
    buf = io.BytesIO()
    out = rdb._ChecksummedFile(buf)
    assert writer(out, index, data, expires) == len(data)
    assert out.checksum() == crc64(0, buf.getvalue())
    return buf.getvalue()


def _assert_identical(data: dict, expires: dict, index: int = 0) -> bytes:
    reference = _write(rdb.write_database_python, data, expires, index)
    assert _write(rdb.write_database, data, expires, index) == reference
    return reference


def test_the_c_writer_is_built():
    """`pip install -e .` builds the extension; without it BGSAVE children copy the dataset."""
    assert rdb.encode_entries is not None, "server/persistence/_rdbwriter.c is not built: run `make ext` (or pip install -e .)"


def test_string_lengths_on_every_encoding_boundary():
    lengths = [0, 1, 63, 64, 65, 16383, 16384, 16385, 70_000]
    data: dict = {}
    expires: dict = {}
    for i, n in enumerate(lengths):
        data[b"v%d" % n] = bytes([i % 256]) * n
        data[b"k" * n or b"-"] = b"value"  # long keys too
        data[b"ba%d" % n] = bytearray(b"b" * n)
        if i % 2:
            expires[b"v%d" % n] = 1_700_000_000_000 + i
    expires[b"ba0"] = -1  # a negative deadline is written as Redis writes it (two's complement)
    _assert_identical(data, expires, index=3)


def test_hashes_of_every_size_and_history():
    data: dict = {}
    for n in (1, 2, 63, 64, 1000):
        data[b"h%d" % n] = HashValue({b"f%d" % i: b"v" * (i % 70) for i in range(n)}, 128, 64)
    holed = HashValue({b"f%d" % i: b"%d" % i for i in range(500)}, 128, 64)
    for i in range(0, 500, 3):
        del holed[b"f%d" % i]  # deleted entries leave holes that dict iteration skips
    holed[b"late"] = bytearray(b"raw")
    data[b"holed"] = holed
    data[b"emptied"] = HashValue({}, 128, 64)
    data[b"x" * 70] = HashValue({b"k" * 20000: b"v" * 70000}, 128, 64)
    _assert_identical(data, {b"h2": 123, b"holed": 5})


def test_a_hash_holding_something_else_is_written_by_python():
    odd = HashValue({b"a": b"1"}, 128, 64)
    odd[b"b"] = 2  # not a string: C hands the whole key to Python
    with pytest.raises(TypeError):
        _write(rdb.write_database, {b"s": b"v", b"odd": odd}, {})
    with pytest.raises(TypeError):
        _write(rdb.write_database_python, {b"s": b"v", b"odd": odd}, {})


def test_non_string_values_interrupt_the_c_run_anywhere():
    def values(layout: str) -> dict:
        data: dict = {}
        for i, kind in enumerate(layout):
            key = b"key:%d" % i
            if kind == "s":
                data[key] = b"str:%d" % i
            elif kind == "l":
                data[key] = ListValue([b"a", b"12", b"x" * 100])
            else:
                data[key] = HashValue({b"f": b"v", b"n": b"1"}, 128, 64)
        return data

    for layout in ("l", "s", "ls", "sl", "llh", "slhs", "sssllsss" * 20, "l" + "s" * 5000 + "h"):
        data = values(layout)
        expires = {key: 1_800_000_000_000 for key in list(data)[::3]}
        _assert_identical(data, expires)
        _assert_identical(data, {})


def test_chunks_are_cut_without_changing_the_bytes(monkeypatch):
    """Runs stop at the chunk budget and resume at the next dict position."""
    data = {b"k%d" % i: b"v" * (i % 300) for i in range(20_000)}
    data[b"list"] = ListValue([b"1", b"2"])
    monkeypatch.setattr(rdb, "_CHUNK_BYTES", 4096)
    _assert_identical(data, {b"k5": 1, b"list": 2})


def test_every_encoding_redis_server_writes(tmp_path):
    """redis-server's dump (every type and encoding, streams and HLLs included) loaded and written both ways."""
    real_server_available(require=True)
    server = RealServer(tmp_path / "real")
    server.start()
    try:
        client = server.client()
        populate(client)
        client.xadd("db0:stream", {"f": "v"})
        client.expire("db0:short", 1000)
        client.save()
    finally:
        server.stop()
    loaded = rdb.load_file(str(tmp_path / "real" / "dump.rdb"))
    assert len(loaded.databases) >= 3
    for index, (data, expires) in loaded.databases.items():
        assert any(not isinstance(v, bytes) for v in data.values())
        _assert_identical(data, expires, index)


def test_a_file_written_with_the_c_writer_passes_redis_check_rdb(tmp_path):
    tool = require_tool("redis-check-rdb")
    data = {b"s%d" % i: b"x" * (i % 100) for i in range(5000)}
    data[b"big"] = b"y" * 100_000
    data[b"list"] = ListValue([b"a", b"1"])
    path = tmp_path / "dump.rdb"
    info = rdb.save_file(str(path), [(0, data, {b"s1": 4_000_000_000_000}), (2, {b"k": b"v"}, {})])
    assert info.keys == 5003
    result = subprocess.run([tool, str(path)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "RDB looks OK" in result.stdout


@pytest.mark.parametrize("bad", [{b"k": b"v", 1: b"int key"}, {b"k": 7}])
def test_what_c_cannot_write_goes_to_python_and_fails_there_alike(bad):
    """A non-bytes key or an unknown value type: the C run hands it to Python, which refuses it."""
    with pytest.raises((rdb.RDBError, TypeError)):
        _write(rdb.write_database_python, bad, {})
    with pytest.raises((rdb.RDBError, TypeError)):
        _write(rdb.write_database, bad, {})


def test_the_c_checksum_is_the_reference_checksum():
    import random

    from server.persistence import crc64 as crc

    assert crc.crc64 is not crc.crc64_python, "the C checksum is not built: run `make ext` (or pip install -e .)"
    assert crc.crc64(0, b"123456789") == crc.crc64_python(0, b"123456789") == 0xE9C6D914C4B8D9CA
    rng = random.Random(7)
    for n in (0, 1, 7, 8, 4095, 65_536, 200_003):
        data = rng.randbytes(n)
        start = rng.getrandbits(64)
        assert crc.crc64(start, data) == crc.crc64_python(start, data)
        assert crc.crc64(0, bytearray(data)) == crc.crc64_python(0, memoryview(data))
