"""The analysis of RDB files (issue 20): every key counted, bytes equal to the file, per category,
against what the writing server (redis-server 7.0 or ours) said about each key."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import shutil
from collections import Counter
from pathlib import Path

import pytest

from redistui.analysis import analyse_file, analyse_target, format_report, report_csv
from redistui.cli import main
from redistui.dumpfile import find_damage
from redistui.rdbscan import RDBScanner, listpack_walk, lzf_decompress, open_rdb, ziplist_walk
from server.persistence import rdb
from server.persistence.lzf import decompress
from tests.dumpfile.conftest import Written, key_record_size
from tests.server.test_rdb_format import old_encodings_file, ziplist

# The encodings a 7.0 server stores the dataset in (OBJECT ENCODING before SAVE) and the
# encodings the file holds them in: our reader names the file's, which differ only for lists
# (a quicklist of listpacks) and strings (raw, embstr and int are all "string" in a file).
FILE_ENCODING = {"embstr": "string", "raw": "string", "int": "string"}


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def records(path: Path) -> dict[tuple[int, bytes], tuple[str, int, int, int | None]]:
    scanner = open_rdb(path)
    return {(db, key): (t_name(t), size, elements, expire) for db, key, t, size, elements, expire in scanner.records()}


def t_name(t: int) -> str:
    from redistui.rdbscan import TYPE_NAMES

    return TYPE_NAMES[t]


def test_every_key_type_length_and_expiry_match_the_writer(rdb_file: Written) -> None:
    found = records(rdb_file.path)
    assert set(found) == set(rdb_file.keys)
    for where, facts in rdb_file.keys.items():
        type_, size, elements, expire = found[where]
        assert type_ == facts.type, where
        assert elements == facts.length, where
        assert expire == facts.expire_ms, where
        assert size == key_record_size(where[1], facts), where


def test_every_encoding_of_the_dataset_is_in_the_file(rdb_file: Written) -> None:
    report = analyse_file(rdb_file.path)
    assert report.complete and report.damage is None
    written = {FILE_ENCODING.get(f.encoding, f.encoding) for f in rdb_file.keys.values()}
    assert written >= {"listpack", "quicklist", "intset", "hashtable", "skiplist", "stream", "string"}
    if rdb_file.kind == "redis-server":  # Redis saves each value in the encoding it holds it in
        assert set(report.by_encoding) == written
    else:  # ours saves collections in their plain forms, which any Redis loads
        assert set(report.by_encoding) <= written
    assert set(report.by_type) == {f.type for f in rdb_file.keys.values()}
    assert report.functions and report.functions[0][0] == b"dumplib"


def test_bytes_add_up_to_the_file_size(rdb_file: Written) -> None:
    report = analyse_file(rdb_file.path)
    functions = sum(size for _, size in report.functions)
    assert report.size + report.structure_bytes + functions == rdb_file.path.stat().st_size


def test_csv_counts_and_bytes_equal_a_direct_count(rdb_file: Written) -> None:
    """Key counts from DBSIZE and TYPE, bytes from each key's DUMP payload, summed by the test."""
    rows = list(csv.DictReader(io.StringIO(report_csv(analyse_file(rdb_file.path)))))
    by = {(row["section"], row["name"]): row for row in rows}
    sizes = {where: key_record_size(where[1], facts) for where, facts in rdb_file.keys.items()}
    total = by[("total", str(rdb_file.path))]
    assert int(total["keys"]) == sum(rdb_file.dbsize.values())
    assert int(total["bytes"]) == sum(sizes.values())
    for db, count in rdb_file.dbsize.items():
        if count:
            assert int(by[("database", f"db{db}")]["keys"]) == count
            assert int(by[("database", f"db{db}")]["bytes"]) == sum(s for (d, _), s in sizes.items() if d == db)
    types = Counter(facts.type for facts in rdb_file.keys.values())
    for type_, count in types.items():
        assert int(by[("type", type_)]["keys"]) == count
        assert int(by[("type", type_)]["bytes"]) == sum(
            sizes[w] for w, f in rdb_file.keys.items() if f.type == type_
        )
    user = by[("prefix", "user")]
    assert int(user["keys"]) == 80
    assert int(user["bytes"]) == sum(s for (_, key), s in sizes.items() if key.startswith(b"user:"))
    biggest = [row for row in rows if row["section"] == "biggest_by_bytes"]
    assert int(biggest[0]["bytes"]) == max(sizes.values())
    longest = [row for row in rows if row["section"] == "biggest_by_elements"]
    assert int(longest[0]["elements"]) == max(f.length for f in rdb_file.keys.values() if f.type != "string")


def test_ttl_buckets(rdb_file: Written) -> None:
    report = analyse_file(rdb_file.path)
    expiring = sum(1 for f in rdb_file.keys.values() if f.expire_ms is not None)
    assert report.by_ttl["no expiry"][0] == len(rdb_file.keys) - expiring
    assert report.by_ttl["< 1 hour"][0] == 1  # zset:small, 10 minutes
    assert report.by_ttl["< 1 day"][0] == 1  # str:ttl, 2 hours
    assert report.by_ttl["< 1 year"][0] == 1  # hash:small, 60 days
    assert report.by_ttl[">= 1 year"][0] == 1  # str:ttl:long, 400 days
    later = analyse_file(rdb_file.path, now_ms=max(f.expire_ms or 0 for f in rdb_file.keys.values()) + 1)
    assert later.by_ttl["expired"][0] == expiring


def test_cli_formats(rdb_file: Written, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["analyse", str(rdb_file.path), "--format", "json", "--top", "3", "--delimiter", ":"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["keys"] == sum(rdb_file.dbsize.values())
    assert len(data["biggest_by_bytes"]) == 3
    assert data["bytes_source"].startswith("serialized bytes")
    assert main(["analyse", str(rdb_file.path), "--top", "500"]) == 0
    table = capsys.readouterr().out
    assert "bytes:  serialized bytes of each key's record in the file" in table
    assert "bin:\\xff\\x00key" in table  # control bytes escaped, never sent to the terminal


def test_truncated_file_reports_offset_and_keys_read(rdb_file: Written, tmp_path: Path) -> None:
    whole = rdb_file.path.read_bytes()
    cut = len(whole) * 2 // 3
    damaged = tmp_path / "truncated.rdb"
    damaged.write_bytes(whole[:cut])
    before = sha(damaged)
    report = analyse_file(damaged)
    assert report.damage is not None and not report.complete
    assert report.damage_offset is not None and report.damage_offset <= cut
    # Every key whose record ends before the damage is counted, and no other.
    ends = []
    offset = 0
    scanner = RDBScanner(whole)
    for _db, _key, _t, _size, _e, _x in scanner.records():
        offset = scanner.summary.pos
        ends.append(offset)
    assert report.keys == sum(1 for end in ends if end <= report.damage_offset)
    assert report.keys > 0
    assert main(["analyse", str(damaged), "--format", "csv"]) == 3
    assert sha(damaged) == before


def test_corrupt_record_is_reported_where_it_is(rdb_file: Written, tmp_path: Path) -> None:
    whole = bytearray(rdb_file.path.read_bytes())
    at = whole.index(b"list:big") - 2  # the type byte of list:big's record
    whole[at] = 0x70  # not a record type
    damaged = tmp_path / "corrupt.rdb"
    damaged.write_bytes(bytes(whole))
    damage = find_damage(damaged)
    assert damage is not None and damage.offset == at and "unknown record type" in damage.reason


def test_old_encodings(tmp_path: Path) -> None:
    """zipmap, ziplist, linked lists, old quicklists and string scores (files of Redis before 7.0)."""
    data, expected = old_encodings_file()
    path = tmp_path / "old.rdb"
    path.write_bytes(data)
    found = records(path)
    assert {key for _, key in found} == set(expected)
    for (_, key), (type_, _size, elements, _expire) in found.items():
        kind, content = expected[key]
        assert type_ == kind
        assert elements == len(content)


def test_long_compact_encodings_are_counted_one_by_one() -> None:
    """A listpack or ziplist of 65535 entries or more says 65535 in its header: the walk counts them."""
    entries = [b"%d" % i for i in range(70000)]
    lp = rdb.encode_listpack([rdb._lp_entry(entry) for entry in entries])
    assert lp[4:6] == b"\xff\xff"
    assert listpack_walk(lp) == 70000
    zl = ziplist([*range(65000), *(b"s%d" % i for i in range(535))])  # a header count of 65535: "walk me"
    assert zl[8:10] == b"\xff\xff"
    assert ziplist_walk(zl) == 65535


def test_lzf_literals_and_overlapping_back_references() -> None:
    """A literal run "abc", then a 9-byte copy from 3 back (it overlaps what it writes), then
    a short copy; the server's decoder is the reference, and a prefix stops early."""
    packed = b"\x02abc" + b"\xe0\x00\x02" + b"\x20\x05" + b"\x00z"
    expected = b"abc" * 5 + b"z"
    assert decompress(packed, 16) == expected
    assert lzf_decompress(packed, 16) == expected
    assert lzf_decompress(packed, 16, limit=5) == expected[:5]


def test_aof_directory_is_analysed_from_a_snapshot(aof_dir: Written, tmp_path: Path) -> None:
    copy = tmp_path / "aof"
    shutil.copytree(aof_dir.path, copy)
    before = {p.name: sha(p) for p in copy.iterdir()}
    report = analyse_target(str(copy))
    assert report.keys == sum(aof_dir.dbsize.values())
    assert report.by_type["stream"][0] == 2
    assert "AOF" in report.bytes_source
    assert {p.name: sha(p) for p in copy.iterdir()} == before  # nothing added, nothing changed
    out = format_report(report, "json")
    assert json.loads(out)["keys"] == report.keys


def test_live_server_analysis_counts_every_key_with_memory_usage(rdb_file: Written) -> None:
    """A live server (redis-server and ours): bytes are MEMORY USAGE, summed by the test."""
    from tests.dumpfile.dataset import populate
    from tests.servers import server_process

    process = server_process(rdb_file.kind)
    process.start()
    try:
        with process.client(single_connection_client=True) as conn:
            populate(conn)
            expected = 0
            count = 0
            for db in (0, 1, 3):
                conn.select(db)
                for key in conn.scan_iter(count=1000):
                    expected += conn.execute_command("MEMORY", "USAGE", key, "SAMPLES", 5)
                    count += 1
        report = analyse_target(f"redis://127.0.0.1:{process.port}/0")
        assert report.complete
        assert report.keys == count
        assert report.size == expected
        assert "MEMORY USAGE" in report.bytes_source and "SAMPLES 5" in report.bytes_source
        assert report.by_db[1][0] == 80
    finally:
        process.stop()
