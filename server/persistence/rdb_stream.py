"""Streams in RDB files and DUMP payloads, in the layout Redis 7.0 writes (RDB_TYPE_STREAM_LISTPACKS_2).

A stream record is its radix tree of listpacks (each node: the 16-byte big-endian
master ID, then the listpack as Redis lays it out: a master entry of live count,
deleted count and field names, then entries of flags, ID deltas, optional fields,
values and a back-count), the length and the 7.0 counters, then each consumer
group with its last ID, read counter, global PEL (ID, delivery time, delivery
count) and consumers (name, seen-time, the IDs they own).

Redis 7.0.15 writes type 19; type 15 (Redis 5/6: no counters) and type 21
(Redis 7.2: consumers also carry an active-time) are read too. Tombstones are
not written: each node is written with its live entries only, which Redis
loads the same way.
"""

from __future__ import annotations

import struct
from typing import TYPE_CHECKING

from server.datatypes.stream import (
    INVALID_ENTRIES_READ,
    SEQ_MASK,
    Consumer,
    Nack,
    Node,
    StreamValue,
    decode_row,
)

if TYPE_CHECKING:
    from server.persistence.rdb import Reader

FLAG_DELETED = 1
FLAG_SAMEFIELDS = 2
_I64 = struct.Struct("<q")


def _signed64(v: int) -> int:
    v &= SEQ_MASK
    return v - (1 << 64) if v >= 1 << 63 else v


def _node_listpack(node: Node) -> bytes:
    from server.persistence.rdb import _lp_entry, encode_listpack

    def num(v: int) -> bytes:
        return _lp_entry(b"%d" % v)

    fields = node.fields
    nf = len(fields)
    parts = [num(node.live), num(0), num(nf)]
    parts.extend(_lp_entry(f) for f in fields)
    parts.append(num(0))
    master_ms, master_seq = node.master >> 64, node.master & SEQ_MASK
    for sid, encoded in node.items():
        if encoded is None:
            continue
        row = decode_row(encoded)
        n = len(row) // 2
        same = n == nf and row[0::2] == fields
        parts.append(num(FLAG_SAMEFIELDS if same else 0))
        parts.append(num(_signed64((sid >> 64) - master_ms)))
        parts.append(num(_signed64((sid & SEQ_MASK) - master_seq)))
        if same:
            parts.extend(_lp_entry(v) for v in row[1::2])
            parts.append(num(n + 3))
        else:
            parts.append(num(n))
            parts.extend(_lp_entry(x) for x in row)
            parts.append(num(2 * n + 4))
    return encode_listpack(parts)


def encode_stream(stream: StreamValue) -> bytes:
    from server.persistence.rdb import encode_length, encode_string

    out = [encode_length(len(stream.nodes))]
    for node in stream.nodes:
        out.append(encode_string(node.master.to_bytes(16, "big")))
        out.append(encode_string(_node_listpack(node)))
    out.append(encode_length(stream.length))
    for sid in (stream.last_id, stream.first_id, stream.max_deleted_id):
        out.append(encode_length(sid >> 64))
        out.append(encode_length(sid & SEQ_MASK))
    out.append(encode_length(stream.entries_added))
    groups = stream.groups or {}
    out.append(encode_length(len(groups)))
    for name in sorted(groups):
        group = groups[name]
        out.append(encode_string(name))
        out.append(encode_length(group.last_id >> 64))
        out.append(encode_length(group.last_id & SEQ_MASK))
        out.append(encode_length(group.entries_read & SEQ_MASK))
        out.append(encode_length(len(group.pel_index)))
        for sid in group.pel_index:
            nack = group.pel[sid]
            out.append(sid.to_bytes(16, "big"))
            out.append(_I64.pack(nack.delivery_time))
            out.append(encode_length(nack.delivery_count))
        out.append(encode_length(len(group.consumers)))
        for cname in sorted(group.consumers):
            consumer = group.consumers[cname]
            out.append(encode_string(cname))
            out.append(_I64.pack(consumer.seen_time))
            out.append(encode_length(len(consumer.pel)))
            out.extend(sid.to_bytes(16, "big") for sid in consumer.pel)
    return b"".join(out)


def _load_node(stream: StreamValue, master: int, items: list[bytes], offset: int) -> None:
    from server.persistence.rdb import RDBError

    try:
        nums = [int(x) for x in items[:3]]
        live, deleted, nf = nums
        fields = tuple(items[3: 3 + nf])
        if len(fields) != nf or items[3 + nf] != b"0":
            raise ValueError
        pos = 4 + nf
        node = Node(master, fields)
        master_ms, master_seq = master >> 64, master & SEQ_MASK
        for _ in range(live + deleted):
            flags = int(items[pos])
            ms = (master_ms + int(items[pos + 1])) & SEQ_MASK
            seq = (master_seq + int(items[pos + 2])) & SEQ_MASK
            pos += 3
            if flags & FLAG_SAMEFIELDS:
                values = items[pos: pos + nf]
                pos += nf
                row = tuple(x for pair in zip(fields, values, strict=True) for x in pair)
            else:
                n = int(items[pos])
                row = tuple(items[pos + 1: pos + 1 + 2 * n])
                if len(row) != 2 * n:
                    raise ValueError
                pos += 1 + 2 * n
            pos += 1  # the back-count
            node.add(ms, seq, row)
            if flags & FLAG_DELETED:
                node.kill(len(node) - 1)
        if pos != len(items) or not node.live or (stream.keys and master <= stream.keys[-1]):
            raise ValueError
    except (ValueError, IndexError):
        raise RDBError("invalid stream listpack", offset) from None
    if stream.nodes:
        stream.nodes[-1].freeze()
    stream.nodes.append(node)
    stream.keys.append(master)


def read_stream(reader: Reader, rdb_type: int) -> StreamValue:
    """A stream record of type 15, 19 or 21 (the reader sits just after the type byte)."""
    from server.persistence.rdb import (
        TYPE_STREAM_LISTPACKS,
        TYPE_STREAM_LISTPACKS_3,
        RDBError,
        parse_listpack,
    )

    start = reader.pos
    stream = StreamValue()
    for _ in range(reader.length()):
        key = reader.string()
        if len(key) != 16:
            raise RDBError("stream node key is not the size of a stream ID", start)
        at = reader.pos
        lp = reader.string()
        _load_node(stream, int.from_bytes(key, "big"), parse_listpack(lp, at), at)
    stream.length = reader.length()
    stream.last_id = reader.length() << 64 | reader.length()
    if rdb_type == TYPE_STREAM_LISTPACKS:
        stream.entries_added = stream.length
        first = stream.first_entry()
        stream.first_id = first[0] if first else 0
    else:
        stream.first_id = reader.length() << 64 | reader.length()
        stream.max_deleted_id = reader.length() << 64 | reader.length()
        stream.entries_added = reader.length()
    if stream.length != sum(node.live for node in stream.nodes):
        raise RDBError("stream length inconsistent with its entries", start)
    for _ in range(reader.length()):
        name = reader.string()
        last_id = reader.length() << 64 | reader.length()
        if rdb_type == TYPE_STREAM_LISTPACKS:
            entries_read = stream.estimate_distance(last_id)
        else:
            entries_read = _signed64(reader.length())
            if entries_read < 0:
                entries_read = INVALID_ENTRIES_READ
        group = stream.create_group(name, last_id, entries_read)
        if group is None:
            raise RDBError("duplicated consumer group name", start)
        for _ in range(reader.length()):
            sid = int.from_bytes(reader.take(16), "big")
            nack = Nack(None, _I64.unpack(reader.take(8))[0])
            nack.delivery_count = reader.length()
            if sid in group.pel:
                raise RDBError("duplicated global PEL entry", start)
            group.pel[sid] = nack
            group.pel_index.add(sid)
        for _ in range(reader.length()):
            cname = reader.string()
            if cname in group.consumers:
                raise RDBError("duplicate stream consumer", start)
            consumer = group.consumers[cname] = Consumer(cname, _I64.unpack(reader.take(8))[0])
            if rdb_type == TYPE_STREAM_LISTPACKS_3:
                reader.take(8)  # Redis 7.2's active-time: this server keeps 7.0's seen-time only
            for _ in range(reader.length()):
                sid = int.from_bytes(reader.take(16), "big")
                owned = group.pel.get(sid)
                if owned is None or owned.consumer is not None:
                    raise RDBError("consumer PEL entry without a matching group PEL entry", start)
                owned.consumer = consumer
                consumer.pel.add(sid)
        if any(nack.consumer is None for nack in group.pel.values()):
            raise RDBError("group PEL entry without a consumer", start)
    return stream


def rewrite_commands(key: bytes, stream: StreamValue) -> list[list[bytes]]:
    """The commands an AOF rewrite emits for a stream, as Redis's rewriteStreamObject does.

    Entries as XADDs with their IDs (an empty stream as an XADD trimmed to nothing), the
    counters with XSETID, each group with XGROUP CREATE ... ENTRIESREAD, then each pending
    entry as an XCLAIM that recreates it for its consumer (consumers without pending entries
    with XGROUP CREATECONSUMER).
    """
    from server.datatypes.stream import format_id

    out: list[list[bytes]] = []
    if stream.length:
        for sid, row in stream.entries():
            out.append([b"XADD", key, format_id(sid), *row])
    else:
        out.append([b"XADD", key, b"MAXLEN", b"0", b"0-1", b"x", b"y"])
    out.append([b"XSETID", key, format_id(stream.last_id), b"ENTRIESADDED", b"%d" % stream.entries_added,
                b"MAXDELETEDID", format_id(stream.max_deleted_id)])
    groups = stream.groups or {}
    for name in sorted(groups):
        group = groups[name]
        out.append([b"XGROUP", b"CREATE", key, name, format_id(group.last_id), b"ENTRIESREAD",
                    b"%d" % group.entries_read])
        for cname in sorted(group.consumers):
            consumer = group.consumers[cname]
            if not consumer.pel:
                out.append([b"XGROUP", b"CREATECONSUMER", key, name, cname])
                continue
            for sid in consumer.pel:
                nack = group.pel[sid]
                out.append([b"XCLAIM", key, name, cname, b"0", format_id(sid), b"TIME", b"%d" % nack.delivery_time,
                            b"RETRYCOUNT", b"%d" % nack.delivery_count, b"JUSTID", b"FORCE"])
    return out
