"""The libraries Redis loads into its Lua state, backed by Python: bit, cjson, cmsgpack, struct.

Each function returns ``(True, results...)`` or ``(False, message)``; a Lua wrapper
(``_raising``) raises it as ``LibError``, which the sandbox turns into the error the C library
would raise, prefixed with the calling script's line.
Behaviour follows the C libraries Redis bundles: LuaBitOp's 32-bit results,
lua-cjson's number format (``%.14g``), escapes and sparse-array rule, lua-cmsgpack's
smallest encodings, and Roberto's struct formats.
"""

from __future__ import annotations

import math
import re
import struct as pystruct
from typing import Any

import lupa.lua51 as lupa


class LibError(Exception):
    """A library function's error, raised into Lua; the sandbox prefixes the caller's line."""

    def __init__(self, message: bytes):
        super().__init__(message)
        self.message = message


def _raising(func: Any) -> Any:
    """Adapt a function returning ``(ok, results...)`` to one that raises ``LibError``."""

    def call(*args: Any) -> Any:
        result = func(*args)
        if not result[0]:
            raise LibError(result[1])
        if len(result) == 2:
            return result[1]
        return result[1:]

    return call


def _num(name: str, args: tuple, i: int) -> float:
    """luaL_checknumber: a number, or a string that reads as one."""
    if i >= len(args):
        raise _ArgError(f"bad argument #{i + 1} to '{name}' (number expected, got no value)")
    v = args[i]
    if v.__class__ in (int, float):
        return v
    if isinstance(v, bytes):
        try:
            return float(v.strip()) if not v.strip().lower().startswith((b"0x", b"-0x")) else float(int(v, 16))
        except ValueError:
            pass
    kind = _lua_type(v)
    raise _ArgError(f"bad argument #{i + 1} to '{name}' (number expected, got {kind})")


def _lua_type(v: object) -> str:
    if v is None:
        return "nil"
    if isinstance(v, bool):
        return "boolean"
    if isinstance(v, bytes):
        return "string"
    if isinstance(v, (int, float)):
        return "number"
    return lupa.lua_type(v) or "userdata"


class _ArgError(Exception):
    pass


def _tobit(x: float) -> int:
    """LuaBitOp's normalisation: round to nearest (ties to even), keep the low 32 bits, signed."""
    if x.__class__ is float:
        if math.isnan(x) or math.isinf(x):
            return 0
        x = round(x)
    v = int(x) & 0xFFFFFFFF
    return v - (1 << 32) if v & 0x80000000 else v


def _bit_functions() -> dict[bytes, Any]:
    def unary(name: str, op: Any) -> Any:
        def f(*args: Any) -> tuple:
            try:
                return True, _tobit(op(_tobit(_num(name, args, 0))))
            except _ArgError as exc:
                return False, str(exc).encode()
        return f

    def nary(name: str, op: Any) -> Any:
        def f(*args: Any) -> tuple:
            try:
                acc = _tobit(_num(name, args, 0))
                for i in range(1, len(args)):
                    acc = op(acc, _tobit(_num(name, args, i)))
                return True, _tobit(acc)
            except _ArgError as exc:
                return False, str(exc).encode()
        return f

    def shift(name: str, op: Any) -> Any:
        def f(*args: Any) -> tuple:
            try:
                x = _tobit(_num(name, args, 0)) & 0xFFFFFFFF
                n = _tobit(_num(name, args, 1)) & 31
                return True, _tobit(op(x, n))
            except _ArgError as exc:
                return False, str(exc).encode()
        return f

    def arshift(x: int, n: int) -> int:
        signed = x - (1 << 32) if x & 0x80000000 else x
        return signed >> n

    def tohex(*args: Any) -> tuple:
        try:
            x = _tobit(_num("tohex", args, 0)) & 0xFFFFFFFF
            n = 8 if len(args) < 2 or args[1] is None else _tobit(_num("tohex", args, 1))
        except _ArgError as exc:
            return False, str(exc).encode()
        digits = "0123456789abcdef"
        if n < 0:
            n = -n
            digits = digits.upper()
        n = min(n, 8)
        out = "".join(digits[(x >> (4 * i)) & 15] for i in range(n - 1, -1, -1))
        return True, out.encode()

    def bswap(x: int) -> int:
        x &= 0xFFFFFFFF
        return int.from_bytes(x.to_bytes(4, "little"), "big")

    return {
        b"tobit": unary("tobit", lambda x: x),
        b"bnot": unary("bnot", lambda x: ~x),
        b"bswap": unary("bswap", bswap),
        b"band": nary("band", lambda a, b: a & b),
        b"bor": nary("bor", lambda a, b: a | b),
        b"bxor": nary("bxor", lambda a, b: a ^ b),
        b"lshift": shift("lshift", lambda x, n: x << n),
        b"rshift": shift("rshift", lambda x, n: x >> n),
        b"arshift": shift("arshift", arshift),
        b"rol": shift("rol", lambda x, n: (x << n) | (x >> (32 - n)) if n else x),
        b"ror": shift("ror", lambda x, n: (x >> n) | (x << (32 - n)) if n else x),
        b"tohex": tohex,
    }


# --------------------------------------------------------------------------- cjson

_ESCAPES = {i: "\\u%04x" % i for i in range(32)}
_ESCAPES.update({8: "\\b", 9: "\\t", 10: "\\n", 12: "\\f", 13: "\\r", 34: '\\"', 92: "\\\\", 47: "\\/", 127: "\\u007f"})


def _json_string(data: bytes) -> bytes:
    text = data.decode("latin-1")
    return ('"' + text.translate(_ESCAPES) + '"').encode("latin-1")


def _json_number(x: float) -> bytes:
    if x.__class__ is float and (math.isnan(x) or math.isinf(x)):
        raise _ArgError("Cannot serialise number: must not be NaN or Inf")
    if x.__class__ is int:
        x = float(x)
    text = b"%.14g" % x
    return text


class _Json:
    def __init__(self, runtime: Any, null: Any):
        self.runtime = runtime
        self.null = null
        self.rawequal = runtime.eval("rawequal")

    def encode(self, *args: Any) -> tuple:
        if len(args) != 1:
            return False, b"bad argument #1 to 'encode' (expected 1 argument)"
        out: list[bytes] = []
        try:
            self._encode(args[0], out, 0)
        except _ArgError as exc:
            return False, str(exc).encode()
        except RecursionError:
            return False, b"Cannot serialise, excessive nesting (1001)"
        return True, b"".join(out)

    def _encode(self, v: Any, out: list[bytes], depth: int) -> None:
        cls = v.__class__
        if cls is bytes:
            out.append(_json_string(v))
        elif cls is bool:
            out.append(b"true" if v else b"false")
        elif cls is int or cls is float:
            out.append(_json_number(v))
        elif v is None:
            out.append(b"null")
        else:
            kind = lupa.lua_type(v)
            if kind == "table":
                self._table(v, out, depth + 1)
            elif kind == "userdata" and self.rawequal(v, self.null):
                out.append(b"null")
            else:
                raise _ArgError(f"Cannot serialise {kind}: type not supported")

    def _table(self, t: Any, out: list[bytes], depth: int) -> None:
        if depth > 1000:
            raise _ArgError(f"Cannot serialise, excessive nesting ({depth})")
        items = list(t.items())
        max_index = 0
        array = True
        for k, _ in items:
            if k.__class__ in (int, float) and k == math.floor(k) and k >= 1:
                max_index = max(max_index, int(k))
            else:
                array = False
                break
        if array and items:
            if max_index > 10 and max_index > len(items) * 2:
                raise _ArgError("Cannot serialise table: excessively sparse array")
            out.append(b"[")
            for i in range(1, max_index + 1):
                if i > 1:
                    out.append(b",")
                self._encode(t[i], out, depth)
            out.append(b"]")
            return
        out.append(b"{")
        first = True
        for k, v in items:
            if not first:
                out.append(b",")
            first = False
            if k.__class__ is bytes:
                out.append(_json_string(k))
            elif k.__class__ in (int, float):
                out.append(b'"' + _json_number(k) + b'"')
            else:
                raise _ArgError("Cannot serialise table: table key must be a number or string")
            out.append(b":")
            self._encode(v, out, depth)
        out.append(b"}")

    def decode(self, *args: Any) -> tuple:
        if len(args) != 1:
            return False, b"bad argument #1 to 'decode' (expected 1 argument)"
        data = args[0]
        if data.__class__ in (int, float):
            data = _json_number(data)
        if not isinstance(data, bytes):
            return False, b"bad argument #1 to 'decode' (string expected, got %s)" % _lua_type(data).encode()
        try:
            return True, _JsonDecoder(data, self).decode()
        except _ArgError as exc:
            return False, str(exc).encode()


_NUMBER_START = frozenset(b"-0123456789")
_WHITESPACE = frozenset(b" \t\n\r")
_PUNCTUATION = {ord("{"): "T_OBJ_BEGIN", ord("}"): "T_OBJ_END", ord("["): "T_ARR_BEGIN", ord("]"): "T_ARR_END",
                ord(":"): "T_COLON", ord(","): "T_COMMA"}
_STRING_ESCAPES = {ord("b"): b"\b", ord("f"): b"\f", ord("n"): b"\n", ord("r"): b"\r", ord("t"): b"\t",
                   ord('"'): b'"', ord("\\"): b"\\", ord("/"): b"/"}
_STRTOD = re.compile(rb"[ \t\n\r\f\v]*[+-]?(?:0[xX](?:[0-9a-fA-F]+\.?[0-9a-fA-F]*|\.[0-9a-fA-F]+)(?:[pP][+-]?[0-9]+)?"
                     rb"|inf(?:inity)?|nan(?:\([0-9A-Za-z_]*\))?"
                     rb"|(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?)", re.IGNORECASE)


class _JsonDecoder:
    """lua-cjson's decoder, token by token, so errors read as its do ("Expected value but found
    T_END at character 2"). Like Redis's build it accepts inf, nan and hex numbers."""

    def __init__(self, data: bytes, owner: _Json):
        self.data = data
        self.pos = 0
        self.owner = owner
        self.depth = 0

    def decode(self) -> Any:
        token = self.next_token()
        value = self.value(token)
        token = self.next_token()
        if token[0] != "T_END":
            self.fail("the end", token)
        return value

    def fail(self, expected: str, token: tuple[str, Any, int]) -> None:
        found = token[1] if token[0] == "T_ERROR" else token[0]
        raise _ArgError(f"Expected {expected} but found {found} at character {token[2] + 1}")

    def next_token(self) -> tuple[str, Any, int]:
        data = self.data
        n = len(data)
        pos = self.pos
        while pos < n and data[pos] in _WHITESPACE:
            pos += 1
        self.pos = pos
        if pos >= n:
            return ("T_END", None, pos)
        c = data[pos]
        kind = _PUNCTUATION.get(c)
        if kind is not None:
            self.pos = pos + 1
            return (kind, None, pos)
        if c == 34:  # '"'
            return self.string(pos)
        for word, kind, value in ((b"true", "T_BOOLEAN", True), (b"false", "T_BOOLEAN", False),
                                  (b"null", "T_NULL", None)):
            if data.startswith(word, pos):
                self.pos = pos + len(word)
                return (kind, value, pos)
        if c in _NUMBER_START or data[pos:pos + 3].lower() in (b"inf", b"nan"):
            match = _STRTOD.match(data, pos)
            if match is None or match.end() == pos:
                return ("T_ERROR", "invalid number", pos)
            text = match.group().strip()
            self.pos = match.end()
            try:
                number = float.fromhex(text.decode()) if b"x" in text.lower() else float(text)
            except ValueError:
                return ("T_ERROR", "invalid number", pos)
            return ("T_NUMBER", number, pos)
        return ("T_ERROR", "invalid token", pos)

    def string(self, start: int) -> tuple[str, Any, int]:
        data = self.data
        n = len(data)
        pos = start + 1
        out = bytearray()
        while True:
            if pos >= n:
                self.pos = pos
                return ("T_ERROR", "unexpected end of string", pos)
            c = data[pos]
            if c == 34:
                self.pos = pos + 1
                return ("T_STRING", bytes(out), start)
            if c != 92:
                out.append(c)
                pos += 1
                continue
            if pos + 1 >= n:
                self.pos = pos
                return ("T_ERROR", "invalid escape code", pos)
            esc = data[pos + 1]
            if esc == ord("u"):
                code, used = self.unicode(pos)
                if code is None:
                    return ("T_ERROR", "invalid unicode escape code", pos)
                out += chr(code).encode("utf-8", "surrogatepass")
                pos += used
                continue
            literal = _STRING_ESCAPES.get(esc)
            if literal is None:
                return ("T_ERROR", "invalid escape code", pos)
            out += literal
            pos += 2

    def unicode(self, pos: int) -> tuple[int | None, int]:
        def hex4(at: int) -> int | None:
            chunk = self.data[at:at + 4]
            if len(chunk) != 4 or not all(ch in b"0123456789abcdefABCDEF" for ch in chunk):
                return None
            return int(chunk, 16)

        first = hex4(pos + 2)
        if first is None:
            return None, 0
        if 0xDC00 <= first <= 0xDFFF:
            return None, 0
        if 0xD800 <= first <= 0xDBFF:
            if self.data[pos + 6:pos + 8] != b"\\u":
                return None, 0
            second = hex4(pos + 8)
            if second is None or not 0xDC00 <= second <= 0xDFFF:
                return None, 0
            return 0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00), 12
        return first, 6

    def value(self, token: tuple[str, Any, int]) -> Any:
        kind = token[0]
        if kind == "T_NUMBER":
            number = token[1]
            if math.isfinite(number) and number == int(number) and abs(number) < 1 << 53:
                return int(number)
            return number
        if kind in ("T_STRING", "T_BOOLEAN"):
            return token[1]
        if kind == "T_NULL":
            return self.owner.null
        if kind == "T_OBJ_BEGIN":
            return self.obj(token)
        if kind == "T_ARR_BEGIN":
            return self.array(token)
        self.fail("value", token)

    def nest(self, token: tuple[str, Any, int]) -> None:
        self.depth += 1
        if self.depth > 1000:
            raise _ArgError(f"Found too many nested data structures ({self.depth}) at character {token[2] + 1}")

    def obj(self, token: tuple[str, Any, int]) -> Any:
        self.nest(token)
        table = self.owner.runtime.table()
        token = self.next_token()
        if token[0] == "T_OBJ_END":
            self.depth -= 1
            return table
        while True:
            if token[0] != "T_STRING":
                self.fail("object key string", token)
            key = token[1]
            token = self.next_token()
            if token[0] != "T_COLON":
                self.fail("colon", token)
            table[key] = self.value(self.next_token())
            token = self.next_token()
            if token[0] == "T_OBJ_END":
                self.depth -= 1
                return table
            if token[0] != "T_COMMA":
                self.fail("comma or object end", token)
            token = self.next_token()

    def array(self, token: tuple[str, Any, int]) -> Any:
        self.nest(token)
        table = self.owner.runtime.table()
        token = self.next_token()
        if token[0] == "T_ARR_END":
            self.depth -= 1
            return table
        i = 1
        while True:
            table[i] = self.value(token)
            i += 1
            token = self.next_token()
            if token[0] == "T_ARR_END":
                self.depth -= 1
                return table
            if token[0] != "T_COMMA":
                self.fail("comma or array end", token)
            token = self.next_token()


# --------------------------------------------------------------------------- cmsgpack


class _MsgPack:
    def __init__(self, runtime: Any):
        self.runtime = runtime

    def pack(self, *args: Any) -> tuple:
        if not args:
            return False, b"bad argument #0 to 'pack' (MessagePack pack needs input.)"
        out: list[bytes] = []
        try:
            for arg in args:
                self._pack(arg, out, 0)
        except _ArgError as exc:
            return False, str(exc).encode()
        return True, b"".join(out)

    def _pack(self, v: Any, out: list[bytes], depth: int) -> None:
        cls = v.__class__
        if v is None:
            out.append(b"\xc0")
        elif cls is bool:
            out.append(b"\xc3" if v else b"\xc2")
        elif cls is bytes:
            n = len(v)
            if n < 32:
                out.append(bytes([0xA0 | n]))
            elif n <= 0xFF:
                out.append(b"\xd9" + bytes([n]))
            elif n <= 0xFFFF:
                out.append(b"\xda" + n.to_bytes(2, "big"))
            else:
                out.append(b"\xdb" + n.to_bytes(4, "big"))
            out.append(v)
        elif cls is int or cls is float:
            self._number(v, out)
        elif lupa.lua_type(v) == "table":
            if depth >= 16:  # LUACMSGPACK_MAX_NESTING: deeper tables become nil
                out.append(b"\xc0")
                return
            self._table(v, out, depth + 1)
        else:
            out.append(b"\xc0")

    def _number(self, v: float, out: list[bytes]) -> None:
        if v.__class__ is float and v == math.floor(v) and not math.isinf(v) and abs(v) < 2 ** 63:
            v = int(v)
        if v.__class__ is int:
            n = int(v)
            if n >= 0:
                if n <= 127:
                    out.append(bytes([n]))
                elif n <= 0xFF:
                    out.append(b"\xcc" + bytes([n]))
                elif n <= 0xFFFF:
                    out.append(b"\xcd" + n.to_bytes(2, "big"))
                elif n <= 0xFFFFFFFF:
                    out.append(b"\xce" + n.to_bytes(4, "big"))
                else:
                    out.append(b"\xcf" + n.to_bytes(8, "big"))
            else:
                if n >= -32:
                    out.append(pystruct.pack(">b", n))
                elif n >= -128:
                    out.append(b"\xd0" + pystruct.pack(">b", n))
                elif n >= -32768:
                    out.append(b"\xd1" + pystruct.pack(">h", n))
                elif n >= -(1 << 31):
                    out.append(b"\xd2" + pystruct.pack(">i", n))
                else:
                    out.append(b"\xd3" + pystruct.pack(">q", n))
            return
        try:
            f32 = pystruct.unpack(">f", pystruct.pack(">f", v))[0]
        except OverflowError:
            f32 = None
        if f32 is not None and (f32 == v or (math.isnan(v) and math.isnan(f32))):
            out.append(b"\xca" + pystruct.pack(">f", v))
        else:
            out.append(b"\xcb" + pystruct.pack(">d", v))

    def _table(self, t: Any, out: list[bytes], depth: int) -> None:
        items = list(t.items())
        n = len(items)
        is_array = all(k.__class__ in (int, float) and k == int(k) and k >= 1 for k, _ in items) and (
            not items or max(int(k) for k, _ in items) == n)
        if is_array:
            if n <= 15:
                out.append(bytes([0x90 | n]))
            elif n <= 0xFFFF:
                out.append(b"\xdc" + n.to_bytes(2, "big"))
            else:
                out.append(b"\xdd" + n.to_bytes(4, "big"))
            for i in range(1, n + 1):
                self._pack(t[i], out, depth)
            return
        if n <= 15:
            out.append(bytes([0x80 | n]))
        elif n <= 0xFFFF:
            out.append(b"\xde" + n.to_bytes(2, "big"))
        else:
            out.append(b"\xdf" + n.to_bytes(4, "big"))
        for k, v in items:
            self._pack(k, out, depth)
            self._pack(v, out, depth)

    def unpack(self, *args: Any) -> tuple:
        if not args:
            return False, b"bad argument #1 to 'unpack' (string expected, got no value)"
        if not isinstance(args[0], bytes):
            return False, b"bad argument #1 to 'unpack' (string expected, got %s)" % _lua_type(args[0]).encode()
        data = args[0]
        values = []
        pos = 0
        try:
            while pos < len(data):
                value, pos = self._unpack(data, pos)
                values.append(value)
        except (IndexError, pystruct.error):
            return False, b"Missing bytes in input."
        return (True, *values)

    def _unpack(self, d: bytes, p: int) -> tuple[Any, int]:
        c = d[p]
        p += 1
        if c <= 0x7F:
            return c, p
        if c >= 0xE0:
            return c - 256, p
        if 0xA0 <= c <= 0xBF:
            n = c & 31
            return self._bytes(d, p, n)
        if 0x90 <= c <= 0x9F:
            return self._array(d, p, c & 15)
        if 0x80 <= c <= 0x8F:
            return self._map(d, p, c & 15)
        fixed = {0xCC: ">B", 0xCD: ">H", 0xCE: ">I", 0xCF: ">Q", 0xD0: ">b", 0xD1: ">h", 0xD2: ">i",
                 0xD3: ">q", 0xCA: ">f", 0xCB: ">d"}
        if c in fixed:
            fmt = fixed[c]
            size = pystruct.calcsize(fmt)
            if p + size > len(d):
                raise IndexError
            (value,) = pystruct.unpack_from(fmt, d, p)
            return value, p + size
        if c == 0xC0:
            return None, p
        if c in (0xC2, 0xC3):
            return c == 0xC3, p
        if c in (0xD9, 0xC4):
            return self._bytes(d, p + 1, d[p])
        if c in (0xDA, 0xC5):
            return self._bytes(d, p + 2, int.from_bytes(d[p:p + 2], "big"))
        if c in (0xDB, 0xC6):
            return self._bytes(d, p + 4, int.from_bytes(d[p:p + 4], "big"))
        if c == 0xDC:
            return self._array(d, p + 2, int.from_bytes(d[p:p + 2], "big"))
        if c == 0xDD:
            return self._array(d, p + 4, int.from_bytes(d[p:p + 4], "big"))
        if c == 0xDE:
            return self._map(d, p + 2, int.from_bytes(d[p:p + 2], "big"))
        if c == 0xDF:
            return self._map(d, p + 4, int.from_bytes(d[p:p + 4], "big"))
        return None, p

    def _bytes(self, d: bytes, p: int, n: int) -> tuple[bytes, int]:
        if p + n > len(d):
            raise IndexError
        return d[p:p + n], p + n

    def _array(self, d: bytes, p: int, n: int) -> tuple[Any, int]:
        items = []
        for _ in range(n):
            v, p = self._unpack(d, p)
            items.append(v)
        return self.runtime.table_from(items), p

    def _map(self, d: bytes, p: int, n: int) -> tuple[Any, int]:
        pairs = {}
        for _ in range(n):
            k, p = self._unpack(d, p)
            v, p = self._unpack(d, p)
            if k is not None:
                pairs[k] = v
        return self.runtime.table_from(pairs), p


# --------------------------------------------------------------------------- struct

_STRUCT_CODES = {ord("b"): "b", ord("B"): "B", ord("h"): "h", ord("H"): "H", ord("l"): "q", ord("L"): "Q",
                 ord("T"): "Q", ord("i"): "i", ord("I"): "I", ord("f"): "f", ord("d"): "d"}


def _struct_items(fmt: bytes) -> list[tuple[str, int]]:
    """Roberto's struct format: endianness marks, codes with optional sizes, strings."""
    items: list[tuple[str, int]] = []
    i = 0
    while i < len(fmt):
        c = fmt[i]
        i += 1
        size = 0
        start = i
        while i < len(fmt) and 48 <= fmt[i] <= 57:
            i += 1
        if i > start:
            size = int(fmt[start:i])
        items.append((chr(c), size))
    return items


class _Struct:
    def pack(self, *args: Any) -> tuple:
        if not args or not isinstance(args[0], bytes):
            return False, b"bad argument #1 to 'pack' (string expected, got no value)"
        endian = "<"
        out = b""
        i = 1
        for code, size in _struct_items(args[0]):
            if code in "<>!= ":
                endian = {"<": "<", ">": ">", "!": "<", "=": "<", " ": endian}[code]
                continue
            if code in "iI" and size:
                whole = int(_num("pack", args, i))
                out += whole.to_bytes(size, "little" if endian == "<" else "big", signed=code == "i")
                i += 1
            elif code in _STRUCT_CODES.values() or ord(code) in _STRUCT_CODES:
                fmt = _STRUCT_CODES[ord(code)]
                number = _num("pack", args, i)
                if fmt in "fd":
                    out += pystruct.pack(endian + fmt, number)
                else:
                    bits = pystruct.calcsize(fmt) * 8
                    whole = int(number) & ((1 << bits) - 1)
                    if fmt.islower() and whole >= 1 << (bits - 1):
                        whole -= 1 << bits
                    out += pystruct.pack(endian + fmt, whole)
                i += 1
            elif code == "c":
                s = args[i] if i < len(args) else b""
                s = s if isinstance(s, bytes) else str(s).encode()
                out += s if size == 0 else s[:size].ljust(size, b"\0")
                i += 1
            elif code == "s":
                s = args[i] if i < len(args) else b""
                out += (s if isinstance(s, bytes) else b"") + b"\0"
                i += 1
            elif code == "x":
                out += b"\0"
            else:
                return False, b"bad argument #1 to 'pack' (invalid format option '%b')" % code.encode()
        return True, out

    def unpack(self, *args: Any) -> tuple:
        if len(args) < 2 or not isinstance(args[0], bytes) or not isinstance(args[1], bytes):
            return False, b"bad argument #2 to 'unpack' (string expected, got no value)"
        data = args[1]
        pos = int(args[2]) - 1 if len(args) > 2 and args[2] is not None else 0
        endian = "<"
        values: list[Any] = []
        try:
            for code, size in _struct_items(args[0]):
                if code in "<>!= ":
                    endian = {"<": "<", ">": ">", "!": "<", "=": "<", " ": endian}[code]
                    continue
                if code in "iI" and size:
                    chunk = data[pos:pos + size]
                    if len(chunk) < size:
                        return False, b"bad argument #2 to 'unpack' (data string too short)"
                    values.append(int.from_bytes(chunk, "little" if endian == "<" else "big", signed=code == "i"))
                    pos += size
                elif ord(code) in _STRUCT_CODES:
                    fmt = endian + _STRUCT_CODES[ord(code)]
                    (value,) = pystruct.unpack_from(fmt, data, pos)
                    values.append(value)
                    pos += pystruct.calcsize(fmt)
                elif code == "c":
                    values.append(data[pos:pos + size])
                    pos += size
                elif code == "s":
                    end = data.index(b"\0", pos)
                    values.append(data[pos:end])
                    pos = end + 1
                elif code == "x":
                    pos += 1
        except (pystruct.error, ValueError):
            return False, b"bad argument #2 to 'unpack' (data string too short)"
        return (True, *values, pos + 1)

    def size(self, *args: Any) -> tuple:
        total = 0
        for code, size in _struct_items(args[0] if args and isinstance(args[0], bytes) else b""):
            if code in "iI" and size:
                total += size
            elif ord(code) in _STRUCT_CODES:
                total += pystruct.calcsize(_STRUCT_CODES[ord(code)])
            elif code == "c":
                total += size
            elif code == "x":
                total += 1
        return True, total


def build(runtime: Any) -> dict[bytes, Any]:
    """The four libraries as Lua tables of wrapped Python functions."""

    def lib(functions: dict[bytes, Any]) -> Any:
        return runtime.table_from({k: _raising(f) for k, f in functions.items()})

    null = runtime.eval("newproxy(false)")
    json_lib = _Json(runtime, null)
    cjson = lib({b"encode": json_lib.encode, b"decode": json_lib.decode})
    cjson[b"null"] = null
    msgpack = _MsgPack(runtime)
    structs = _Struct()
    return {
        b"bit": lib(_bit_functions()),
        b"cjson": cjson,
        b"cmsgpack": lib({b"pack": msgpack.pack, b"unpack": msgpack.unpack}),
        b"struct": lib({b"pack": structs.pack, b"unpack": structs.unpack, b"size": structs.size}),
    }
