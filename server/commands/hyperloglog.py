"""HyperLogLog commands: PFADD PFCOUNT PFMERGE PFDEBUG PFSELFTEST (hyperloglog.c in Redis).

The value is a string in Redis's HYLL representation (``server.datatypes.hyperloglog``),
kept as a ``bytearray`` ("raw" encoding) once a PF command has touched it, since
updates and the cached cardinality change it in place. A string that is not a
valid HLL is refused with Redis's ``WRONGTYPE Key is not a valid HyperLogLog``
text; one whose sparse opcodes do not add up gets ``INVALIDOBJ``.

PFCOUNT of one key stores the estimate in the header, which changes the value:
as in Redis it then counts as a change (dirty, WATCH) although the command is
read-only.
"""

from __future__ import annotations

import math
import random
from typing import cast

from server.client import Client
from server.command import command
from server.commands.args import c_string
from server.commands.strings import in_place
from server.datatypes import hyperloglog as hll
from server.keyspace import NOTIFY_STRING, WRONGTYPE, Database
from server.protocol import OK, Error, Status

INVALID_HLL = Error(b"INVALIDOBJ Corrupted HLL object detected")
NOT_HLL = Error(b"WRONGTYPE Key is not a valid HyperLogLog string value.")


def _checked(value: object) -> bytes | bytearray:
    """``value`` if it is a string holding a valid HLL header; Redis's errors otherwise."""
    if not isinstance(value, (bytes, bytearray)):
        raise WRONGTYPE
    if not hll.valid_header(value):
        raise NOT_HLL
    return value


def _writable(db: Database, key: bytes, value: object) -> bytearray:
    return in_place(db, key, _checked(value))


def _max_bytes(ctx: Client) -> int:
    return cast(int, ctx.server.config["hll-sparse-max-bytes"])


@command("pfadd", arity=-2, flags="write denyoom fast", acl="hyperloglog",
         group="hyperloglog", since="2.8.9", complexity="O(1) to add every element.",
         summary="Adds elements to a HyperLogLog, creating it if needed.", args="key [element ...]",
         keys="RW insert @1")
def pfadd(ctx: Client, key: bytes, *elements: bytes) -> int:
    db = ctx.db
    value = db.lookup(key)
    updated = 0
    if value is None:
        sketch = hll.new_sparse()
        db.set(key, sketch)
        updated = 1
    elif isinstance(value, bytearray) and hll.valid_header(value):  # the common case, in one call
        sketch = value
    else:
        sketch = _writable(db, key, value)
    limit = _max_bytes(ctx) if sketch[4] == hll.SPARSE else 0  # (a config lookup: a dense HLL needs none)
    for element in elements:
        try:
            updated += hll.add(sketch, element, limit)
        except hll.Corrupt:
            raise INVALID_HLL from None
    if updated:
        db.touch(key)
        ctx.db.notify(NOTIFY_STRING, b"pfadd", key)
        db.keyspace.dirty += updated - 1
        hll.invalidate_cache(sketch)
    return 1 if updated else 0


@command("pfcount", arity=-2, flags="readonly", acl="hyperloglog", group="hyperloglog",
         since="2.8.9", complexity="O(1) with a single key; O(N) for N keys, with a large constant.",
         summary="Returns the approximated cardinality of the union of HyperLogLogs.", args="key ...",
         keys="RW access @1 range(-1,1,0) # RW because it may change the internal representation of the key, and propagate to replicas")
def pfcount(ctx: Client, *keys: bytes) -> int:
    db = ctx.db
    if len(keys) > 1:
        merged: bytes | bytearray = bytes(hll.HLL_REGISTERS)
        for key in keys:
            value = db.lookup_read(key)
            if value is None:
                continue
            try:
                merged = hll.max_registers(merged, hll.registers(_checked(value)))
            except hll.Corrupt:
                raise INVALID_HLL from None
        return hll.estimate(hll.histogram(merged))
    key = keys[0]
    value = db.lookup_read(key)
    if value is None:
        return 0
    cached = hll.valid_cached_count(value)  # the common case, checked in one call
    if cached is not None:
        return cached
    sketch = _writable(db, key, value)
    cached = hll.cached_count(sketch)
    if cached is not None:
        return cached
    try:
        card = hll.count(sketch)
    except hll.Corrupt:
        raise INVALID_HLL from None
    hll.store_count(sketch, card)
    db.touch(key)
    return card


@command("pfmerge", arity=-2, flags="write denyoom", acl="hyperloglog", group="hyperloglog",
         since="2.8.9", complexity="O(N) to merge N HyperLogLogs, with a large constant.",
         summary="Merges HyperLogLogs into one, stored at the first key.", args="destkey sourcekey{type=key,ks=1} ...",
         keys=("RW access insert @1", "RO access @2 range(-1,1,0)"))
def pfmerge(ctx: Client, dest: bytes, *sources: bytes) -> object:
    db = ctx.db
    merged: bytes | bytearray = bytes(hll.HLL_REGISTERS)
    use_dense = False
    for key in (dest, *sources):
        value = db.lookup_read(key)
        if value is None:
            continue
        sketch = _checked(value)
        if sketch[4] == hll.DENSE:
            use_dense = True
        try:
            merged = hll.max_registers(merged, hll.registers(sketch))
        except hll.Corrupt:
            raise INVALID_HLL from None
    value = db.lookup(dest)
    if value is None:
        target = hll.new_sparse()
        db.set(dest, target)
    else:
        target = in_place(db, dest, _checked(value))
    if use_dense:
        try:
            hll.to_dense(target)
        except hll.Corrupt:
            raise INVALID_HLL from None
    hll.set_registers(target, merged, _max_bytes(ctx))
    hll.invalidate_cache(target)
    db.touch(dest)
    ctx.db.notify(NOTIFY_STRING, b"pfadd", dest)
    return OK


@command("pfdebug", arity=3, flags="write denyoom admin", acl="hyperloglog",
         group="hyperloglog", since="2.8.9", complexity="N/A",
         summary="Internal command for testing HyperLogLog values.", args="subcommand key",
         keys="RW access @2",
         doc_flags="syscmd")
def pfdebug(ctx: Client, sub: bytes, key: bytes) -> object:
    db = ctx.db
    value = db.lookup(key)
    if value is None:
        raise Error(b"ERR The specified key does not exist")
    sketch = _writable(db, key, value)
    name = sub.lower()
    if name == b"getreg":
        if sketch[4] == hll.SPARSE:
            try:
                hll.to_dense(sketch)
            except hll.Corrupt:
                raise INVALID_HLL from None
            db.keyspace.dirty += 1
        return list(hll.dense_registers(sketch))
    if name == b"decode":
        if sketch[4] != hll.SPARSE:
            raise Error(b"ERR HLL encoding is not sparse")
        return hll.decode_sparse(sketch)
    if name == b"encoding":
        return Status(b"dense" if sketch[4] == hll.DENSE else b"sparse")
    if name == b"todense":
        if sketch[4] != hll.SPARSE:
            return 0
        try:
            hll.to_dense(sketch)
        except hll.Corrupt:
            raise INVALID_HLL from None
        db.keyspace.dirty += 1
        return 1
    raise Error(b"ERR Unknown PFDEBUG subcommand '%s'" % c_string(sub))


# Redis's self-test runs 1000 register passes and adds ten million elements: minutes of
# Python. Ours runs the same checks on a bounded scale (milliseconds), so the server never
# stalls for long.
SELFTEST_REGISTER_PASSES = 1
SELFTEST_SPOT_CHECKS = 64
SELFTEST_ELEMENTS = 100
_LOW6 = bytes(b & 63 for b in range(256))


@command("pfselftest", arity=1, flags="admin", acl="hyperloglog", group="hyperloglog", since="2.8.9",
         complexity="N/A", summary="Internal command for testing the HyperLogLog implementation.",
         doc_flags="syscmd")
def pfselftest(ctx: Client) -> object:
    dense = hll.new_sparse()
    hll.to_dense(dense)
    for _ in range(SELFTEST_REGISTER_PASSES):
        expected = random.randbytes(hll.HLL_REGISTERS).translate(_LOW6)
        dense[hll.HDR_SIZE:] = hll.pack_dense(expected)
        got = hll.dense_registers(dense)  # every register at once, then some one by one
        wrong = [i for i in range(hll.HLL_REGISTERS) if got[i] != expected[i]] if got != expected else []
        for i in wrong or random.sample(range(hll.HLL_REGISTERS), SELFTEST_SPOT_CHECKS):
            value = got[i] if wrong else hll.dense_get(dense, i)
            if value != expected[i]:
                raise Error(b"TESTFAILED Register %d should be %d but is %d" % (i, expected[i], value))
    dense = hll.new_sparse()
    hll.to_dense(dense)
    sparse = hll.new_sparse()
    limit = _max_bytes(ctx)
    relerr = 1.04 / hll.HLL_REGISTERS**0.5
    seed = random.getrandbits(64)
    checkpoint = 1
    for j in range(1, SELFTEST_ELEMENTS + 1):
        element = (j ^ seed).to_bytes(8, "little")
        hll.add(dense, element, limit)
        hll.add(sparse, element, limit)
        if j != checkpoint:
            continue
        if j < limit // 2 and sparse[4] != hll.SPARSE:
            raise Error(b"TESTFAILED sparse encoding not used")
        estimate = hll.count(dense)
        if estimate != hll.count(sparse):
            raise Error(b"TESTFAILED dense/sparse disagree")
        max_error = 1 if j == 10 else math.ceil(relerr * 6 * checkpoint)
        if abs(checkpoint - estimate) > max_error:
            raise Error(b"TESTFAILED Too big error. card:%d abserr:%d" % (checkpoint, abs(checkpoint - estimate)))
        checkpoint *= 10
    return OK
