"""Bit commands on string values: SETBIT GETBIT BITCOUNT BITPOS BITOP BITFIELD (bitops.c in Redis).

A string is read as a sequence of bits, the most significant bit of the first
byte being bit 0. Ranges and fields are computed with Python integers built
from byte slices (``int.from_bytes``), so counting, searching and combining
run in C over whole slices rather than bit by bit in Python.

Commands that write bits make the value a ``bytearray`` ("raw" encoding),
grow it with zero bytes as needed, and emit Redis's ``setbit`` event; BITOP
emits ``set`` for its destination (or ``del`` when the result is empty).
"""

from __future__ import annotations

from server.client import Client
from server.command import K_ACCESS, K_RO, K_RW, K_UPDATE, command
from server.commands.args import NOT_INTEGER, SYNTAX_ERROR, ArgCursor, clamp_range, parse_int, to_int
from server.commands.strings import in_place, string_at
from server.keyspace import NOTIFY_STRING, WRONGTYPE, Database
from server.protocol import Error

BIT_OFFSET_ERROR = Error(b"ERR bit offset is not an integer or out of range")
BIT_VALUE_ERROR = Error(b"ERR bit is not an integer or out of range")
BITFIELD_TYPE_ERROR = Error(
    b"ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 is."
)


def bit_offset(ctx: Client, arg: bytes, width: int = 0) -> int:
    """A bit offset argument; with ``width`` (BITFIELD) ``#n`` means n fields of that width."""
    multiply = width and arg[:1] == b"#"
    offset = to_int(arg[1:] if multiply else arg)
    if offset is None:
        raise BIT_OFFSET_ERROR
    if multiply:
        offset *= width
    if offset < 0 or (offset >> 3) >= ctx.server.config.get_int("proto-max-bulk-len"):
        raise BIT_OFFSET_ERROR
    return offset


def read_string(ctx: Client, key: bytes) -> bytes | bytearray | None:
    """The string at ``key`` for a read command (counts hits and misses); WRONGTYPE otherwise."""
    return ctx.db.get_string(key)


def grown_string(db: Database, key: bytes, last_bit: int) -> tuple[bytearray, bool]:
    """The string at ``key`` as a bytearray long enough to hold ``last_bit`` (created if missing).

    Also says whether that already changed the key (created or lengthened): Redis
    then reports a change even if the bits written turn out to be the same.
    """
    size = (last_bit >> 3) + 1
    old = string_at(db, key)
    if old is None:
        raw = bytearray(size)
        db.set(key, raw)
        return raw, True
    raw = in_place(db, key, old)
    if len(raw) >= size:
        return raw, False
    raw.extend(bytes(size - len(raw)))
    return raw, True


# --------------------------------------------------------------------------- single bits


@command("setbit", arity=4, flags="write denyoom", acl="bitmap", group="bitmap",
         summary="Sets or clears one bit of the string at a key; returns the bit's old value.",
         args="key offset value{type=integer}", since="2.2.0",
         keys="RW access update @1")
def setbit(ctx: Client, key: bytes, offset: bytes, value: bytes) -> int:
    position = bit_offset(ctx, offset)
    on = to_int(value)
    if on is None or on & ~1:
        raise BIT_VALUE_ERROR
    db = ctx.db
    raw, changed = grown_string(db, key, position)
    byte = position >> 3
    mask = 0x80 >> (position & 7)
    old = 1 if raw[byte] & mask else 0
    if changed or old != on:
        raw[byte] = (raw[byte] | mask) if on else (raw[byte] & ~mask)
        db.touch(key)
        ctx.db.notify(NOTIFY_STRING, b"setbit", key)
    return old


@command("getbit", arity=3, flags="readonly fast", acl="bitmap", group="bitmap",
         summary="Returns one bit of the string at a key (0 past its end).", args="key offset",
         since="2.2.0",
         keys="RO access @1")
def getbit(ctx: Client, key: bytes, offset: bytes) -> int:
    position = bit_offset(ctx, offset)
    value = read_string(ctx, key)
    byte = position >> 3
    if value is None or byte >= len(value):
        return 0
    return 1 if value[byte] & (0x80 >> (position & 7)) else 0


# --------------------------------------------------------------------------- ranges


def parse_unit(arg: bytes) -> bool:
    """BYTE or BIT: True for BIT."""
    unit = arg.upper()
    if unit == b"BIT":
        return True
    if unit == b"BYTE":
        return False
    raise SYNTAX_ERROR


def bits_of(value: bytes | bytearray, first_bit: int, last_bit: int) -> tuple[int, int]:
    """Bits ``first_bit..last_bit`` of ``value`` as an integer, and how many there are."""
    chunk = int.from_bytes(value[first_bit >> 3 : (last_bit >> 3) + 1], "big")
    width = last_bit - first_bit + 1
    shift = 7 - (last_bit & 7)
    return (chunk >> shift) & ((1 << width) - 1), width


@command("bitcount", arity=-2, flags="readonly", acl="bitmap", group="bitmap",
         summary="Counts the set bits of the string at a key, optionally within a byte or bit range.",
         args="key [start end [BYTE|BIT]{name=index_unit,since=7.0.0}]{name=index}", since="2.6.0", complexity="O(N)",
         keys="RO access @1")
def bitcount(ctx: Client, key: bytes, *args: bytes) -> int:
    value = read_string(ctx, key)
    if value is None:
        return 0
    if not args:
        return int.from_bytes(value, "big").bit_count()
    if len(args) not in (2, 3):
        raise SYNTAX_ERROR
    start, end = to_int(args[0]), to_int(args[1])
    if start is None or end is None:
        raise NOT_INTEGER
    if start < 0 and end < 0 and start > end:
        return 0
    in_bits = parse_unit(args[2]) if len(args) == 3 else False
    total = len(value) * 8 if in_bits else len(value)
    start, end = clamp_range(start, end, total)
    if start > end:
        return 0
    if not in_bits:
        return int.from_bytes(value[start : end + 1], "big").bit_count()
    return bits_of(value, start, end)[0].bit_count()


@command("bitpos", arity=-3, flags="readonly", acl="bitmap", group="bitmap",
         summary="Finds the first set or clear bit of the string at a key, optionally within a range.",
         args="key bit [start [end [BYTE|BIT]{name=index_unit,since=7.0.0}]{name=end_index}]{name=index}", since="2.8.7", complexity="O(N)",
         keys="RO access @1")
def bitpos(ctx: Client, key: bytes, bit: bytes, *args: bytes) -> int:
    target = parse_int(bit)
    if target not in (0, 1):
        raise Error(b"ERR The bit argument must be 1 or 0.")
    value = read_string(ctx, key)
    if value is None:
        # A missing key is an endless run of zero bits.
        return -1 if target else 0
    end_given = len(args) >= 2
    in_bits = False
    if args:
        if len(args) > 3:
            raise SYNTAX_ERROR
        start = parse_int(args[0])
        if len(args) == 3:
            in_bits = parse_unit(args[2])
        if end_given:
            end = parse_int(args[1])
        else:
            end = len(value) * 8 + 7 if in_bits else len(value) - 1
        total = len(value) * 8 if in_bits else len(value)
        start, end = clamp_range(start, end, total)
    else:
        start, end = 0, len(value) - 1
    if start > end:
        return -1
    first_bit, last_bit = (start, end) if in_bits else (start * 8, end * 8 + 7)
    bits, width = bits_of(value, first_bit, last_bit)
    if not target:
        bits ^= (1 << width) - 1  # look for a set bit among the inverted bits
    if bits:
        return first_bit + width - bits.bit_length()
    if target or end_given:
        return -1
    # Looking for a clear bit with no end given: the string continues with zeros.
    return last_bit + 1


# --------------------------------------------------------------------------- BITOP


@command("bitop", arity=-4, flags="write denyoom", acl="bitmap", group="bitmap",
         summary="Combines strings bit by bit (AND, OR, XOR, NOT) into a destination key.",
         args="operation destkey key{ks=1} ...", since="2.6.0", complexity="O(N)",
         keys=("OW update @2", "RO access @3 range(-1,1,0)"))
def bitop(ctx: Client, operation: bytes, destkey: bytes, *keys: bytes) -> int:
    op = operation.upper()
    if op not in (b"AND", b"OR", b"XOR", b"NOT"):
        raise SYNTAX_ERROR
    if op == b"NOT" and len(keys) != 1:
        raise Error(b"ERR BITOP NOT must be called with a single source key.")
    db = ctx.db
    sources = []
    for key in keys:
        value = db.lookup_read(key)
        if value is None:
            value = b""
        elif value.__class__ is not bytes and value.__class__ is not bytearray:
            raise WRONGTYPE
        sources.append(value)
    size = max(len(v) for v in sources)
    db.lookup(destkey)
    if not size:
        db.delete_with_event(destkey)
        return 0
    # Shorter strings are padded with zero bytes on the right.
    numbers = [int.from_bytes(v, "big") << (8 * (size - len(v))) for v in sources]
    result = numbers[0]
    if op == b"NOT":
        result = ~result & ((1 << (8 * size)) - 1)
    elif op == b"AND":
        for n in numbers[1:]:
            result &= n
    elif op == b"OR":
        for n in numbers[1:]:
            result |= n
    else:
        for n in numbers[1:]:
            result ^= n
    db.set(destkey, bytearray(result.to_bytes(size, "big")))
    ctx.db.notify(NOTIFY_STRING, b"set", destkey)
    return size


# --------------------------------------------------------------------------- BITFIELD


def bitfield_type(arg: bytes) -> tuple[bool, int]:
    """``i<bits>`` (signed, 1..64) or ``u<bits>`` (unsigned, 1..63) → (signed, bits)."""
    kind = arg[:1]
    if kind not in (b"i", b"u"):
        raise BITFIELD_TYPE_ERROR
    bits = to_int(arg[1:])
    if bits is None or bits < 1 or bits > (64 if kind == b"i" else 63):
        raise BITFIELD_TYPE_ERROR
    return kind == b"i", bits


def read_field(buf: bytes | bytearray, offset: int, bits: int, signed: bool) -> int:
    """The ``bits``-wide integer at bit ``offset`` of ``buf`` (zero past its end)."""
    first, last = offset >> 3, (offset + bits - 1) >> 3
    chunk = bytes(buf[first : last + 1])
    chunk += bytes(last + 1 - first - len(chunk))
    value = (int.from_bytes(chunk, "big") >> (7 - ((offset + bits - 1) & 7))) & ((1 << bits) - 1)
    if signed and value >> (bits - 1):
        value -= 1 << bits
    return value


def write_field(buf: bytearray, offset: int, bits: int, value: int) -> None:
    """Store the low ``bits`` bits of ``value`` at bit ``offset`` of ``buf`` (long enough already)."""
    first, last = offset >> 3, (offset + bits - 1) >> 3
    shift = 7 - ((offset + bits - 1) & 7)
    mask = ((1 << bits) - 1) << shift
    chunk = int.from_bytes(buf[first : last + 1], "big")
    chunk = (chunk & ~mask) | ((value << shift) & mask)
    buf[first : last + 1] = chunk.to_bytes(last + 1 - first, "big")


def _int64(x: int) -> int:
    """``x`` wrapped to a signed 64-bit integer, as C arithmetic on int64_t wraps in practice."""
    return (x + (1 << 63)) % (1 << 64) - (1 << 63)


def overflow_direction(value: int, incr: int, bits: int, signed: bool) -> int:
    """+1 if value + incr passes the field's maximum, -1 if its minimum, else 0.

    This follows Redis's checks, computed in 64-bit arithmetic: ``max - value`` can
    wrap, so a signed SET of a value far below the minimum (such as -2**63 into
    an i21) counts as an overflow *upwards* and saturates to the maximum.
    """
    if not signed:
        high = (1 << bits) - 1
        if value > high or (incr > 0 and incr > _int64(high - value)):
            return 1
        if incr < 0 and incr < _int64(-value):
            return -1
        return 0
    high = (1 << (bits - 1)) - 1
    low = -high - 1
    max_incr = _int64(high - value)
    min_incr = _int64(low - value)
    if value > high or (bits != 64 and incr > max_incr) or (value >= 0 and incr > 0 and incr > max_incr):
        return 1
    if value < low or (bits != 64 and incr < min_incr) or (value < 0 and incr < 0 and incr < min_incr):
        return -1
    return 0


def fit_field(value: int, incr: int, bits: int, signed: bool, overflow: bytes) -> int | None:
    """value + incr made to fit the field: wrapped, saturated, or None when FAIL refuses it."""
    direction = overflow_direction(value, incr, bits, signed)
    total = value + incr
    if not direction:
        return total
    if overflow == b"FAIL":
        return None
    low, high = (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if signed else (0, (1 << bits) - 1)
    if overflow == b"SAT":
        return high if direction > 0 else low
    return (total - low) % (1 << bits) + low


def run_bitfield(ctx: Client, key: bytes, args: tuple[bytes, ...], read_only: bool) -> list:
    """BITFIELD and BITFIELD_RO: parse every operation first, then run them in order."""
    ops = []
    overflow = b"WRAP"
    writes = False
    last_write_bit = 0
    parts = ArgCursor(args)
    while parts:
        sub = parts.next_keyword()
        if sub == b"OVERFLOW" and parts.has(1):
            overflow = parts.next_keyword()
            if overflow not in (b"WRAP", b"SAT", b"FAIL"):
                raise Error(b"ERR Invalid OVERFLOW type specified")
            continue
        if not ((sub == b"GET" and parts.has(2)) or (sub in (b"SET", b"INCRBY") and parts.has(3))):
            raise SYNTAX_ERROR
        signed, bits = bitfield_type(parts.next_bytes())
        offset = bit_offset(ctx, parts.next_bytes(), bits)
        number = 0
        if sub != b"GET":
            writes = True
            last_write_bit = max(last_write_bit, offset + bits - 1)
            number = parts.next_int()
        ops.append((sub, signed, bits, offset, number, overflow))
    db = ctx.db
    if not writes:
        buf: bytes | bytearray = read_string(ctx, key) or b""
        grown = False
    elif read_only:
        raise Error(b"ERR BITFIELD_RO only supports the GET subcommand")
    else:
        buf, grown = grown_string(db, key, last_write_bit)
    replies: list = []
    changes = 0
    for sub, signed, bits, offset, number, ow in ops:
        old = read_field(buf, offset, bits, signed)
        if sub == b"GET":
            replies.append(old)
            continue
        if sub == b"SET" and not signed and number < 0:
            number += 1 << 64  # Redis reads the value as a 64-bit unsigned integer
        new = fit_field(old, number, bits, signed, ow) if sub == b"INCRBY" else fit_field(number, 0, bits, signed, ow)
        if new is None:
            replies.append(None)
            continue
        write_field(buf, offset, bits, new)  # type: ignore[arg-type]  # buf exists once a SET/INCRBY ran
        replies.append(new if sub == b"INCRBY" else old)
        if grown or new != old:
            changes += 1
    if changes:
        db.touch(key)
        ctx.db.notify(NOTIFY_STRING, b"setbit", key)
    return replies


def _bitfield_keys(argv: list[bytes]) -> list[tuple[int, int]]:
    """bitfieldGetKeys: read-only flags while every operation is a complete GET (or OVERFLOW)."""
    readonly = True
    i = 2
    while i < len(argv):
        left = len(argv) - i - 1
        word = argv[i].lower()
        if word == b"get" and left >= 2:
            i += 2
        elif word in (b"set", b"incrby") and left >= 3:
            readonly = False
            break
        elif word == b"overflow" and left >= 1:
            i += 1
        else:
            readonly = False  # a syntax error: assume it writes
            break
        i += 1
    return [(1, K_RO | K_ACCESS)] if readonly else [(1, K_RW | K_ACCESS | K_UPDATE)]


@command("bitfield", arity=-2, flags="write denyoom", acl="bitmap", group="bitmap",
         summary="Reads, sets and increments integers of any width at any bit offset of a string.",
         args="key [(encoding "
              "offset){name=encoding_offset,token=GET}|([WRAP|SAT|FAIL]{name=wrap_sat_fail,token=OVERFLOW} "
              "((encoding offset value{type=integer}){name=encoding_offset_value,token=SET}|(encoding "
              "offset "
              "increment){name=encoding_offset_increment,token=INCRBY}){name=write_operation}){name=write}]{name=operation} "
              "...",
         since="3.2.0", complexity="O(1) per operation",
         keys="RW update access variable_flags @1 # This command allows both access and modification of the key",
         getkeys=_bitfield_keys)
def bitfield(ctx: Client, key: bytes, *args: bytes) -> list:
    return run_bitfield(ctx, key, args, read_only=False)


@command("bitfield_ro", arity=-2, flags="readonly fast", acl="bitmap", group="bitmap",
         summary="Reads integers of any width at any bit offset of a string (BITFIELD's GET only).",
         args="key [encoding offset]{name=encoding_offset,token=GET,mt} ...", since="6.0.0", complexity="O(1) per operation",
         keys="RO access @1")
def bitfield_ro(ctx: Client, key: bytes, *args: bytes) -> list:
    return run_bitfield(ctx, key, args, read_only=True)
