"""LOLWUT (lolwut.c, lolwut5.c, lolwut6.c): the version banner, or generative art for VERSION 5 and 6.

Redis 7.0 has no art of its own: plain ``LOLWUT`` prints ``Redis ver. 7.0.15``.
``LOLWUT VERSION 5`` draws Georg Nees's "Schotter" in Braille characters and
``VERSION 6`` a skyline in ANSI colours, as the older releases did. The art is
random below the second row, like Redis's (which uses ``rand()``); the drawing
follows Redis's integer and single-precision float arithmetic, so the
deterministic parts (a grid of one or two rows) come out byte for byte.
"""

from __future__ import annotations

import math
import random
import struct

from server import REDIS_VERSION
from server.client import Client
from server.command import command
from server.commands.args import parse_int
from server.protocol import Verbatim

RAND_MAX = 2**31 - 1


def _f32(value: float) -> float:
    """``value`` rounded to a C float."""
    return float(struct.unpack("f", struct.pack("f", value))[0])


def _c_int(value: float) -> int:
    """C's conversion of a float to int (truncation toward zero)."""
    return int(value)


def _c_round(value: float) -> int:
    """C's round(): halves away from zero."""
    return int(math.floor(value + 0.5)) if value >= 0 else -int(math.floor(-value + 0.5))


class Canvas:
    def __init__(self, width: int, height: int, color: int) -> None:
        self.width = width
        self.height = height
        self.pixels = bytearray([color]) * (width * height)

    def draw(self, x: int, y: int, color: int) -> None:
        if 0 <= x < self.width and 0 <= y < self.height:
            self.pixels[x + y * self.width] = color

    def get(self, x: int, y: int) -> int:
        if 0 <= x < self.width and 0 <= y < self.height:
            return self.pixels[x + y * self.width]
        return 0

    def line(self, x1: int, y1: int, x2: int, y2: int, color: int) -> None:
        """Bresenham, as lwDrawLine."""
        dx = abs(x2 - x1)
        dy = abs(y2 - y1)
        sx = 1 if x1 < x2 else -1
        sy = 1 if y1 < y2 else -1
        err = dx - dy
        while True:
            self.draw(x1, y1, color)
            if x1 == x2 and y1 == y2:
                break
            e2 = err * 2
            if e2 > -dy:
                err -= dy
                x1 += sx
            if e2 < dx:
                err += dx
                y1 += sy

    def square(self, x: int, y: int, size: float, angle: float, color: int) -> None:
        """lwDrawSquare: a square of side ``size`` centred on (x, y), rotated by ``angle``."""
        size = _f32(size / 1.4142135623)
        size = _f32(float(_c_round(size)))
        k = _f32(math.pi / 4 + angle)
        px, py = [], []
        for _ in range(4):
            px.append(_c_round(math.sin(k) * size + x))
            py.append(_c_round(math.cos(k) * size + y))
            k = _f32(k + math.pi / 2)
        for j in range(4):
            self.line(px[j], py[j], px[(j + 1) % 4], py[(j + 1) % 4], color)


def _schotter(cols: int, per_row: int, per_col: int) -> Canvas:
    width = cols * 2
    padding = 2 if width > 4 else 0
    side = _f32(float(width - padding * 2) / per_row)
    height = _c_int(_f32(_f32(side * per_col) + padding * 2))
    canvas = Canvas(width, height, 0)
    rand = random.randrange
    for y in range(per_col):
        for x in range(per_row):
            sx = _c_int(_f32(_f32(_f32(x * side) + _f32(side / 2)) + padding))
            sy = _c_int(_f32(_f32(_f32(y * side) + _f32(side / 2)) + padding))
            angle = 0.0
            if y > 1:
                r1 = _f32(_f32(_f32(rand(RAND_MAX + 1) / RAND_MAX) / per_col) * y)
                r2 = _f32(_f32(_f32(rand(RAND_MAX + 1) / RAND_MAX) / per_col) * y)
                r3 = _f32(_f32(_f32(rand(RAND_MAX + 1) / RAND_MAX) / per_col) * y)
                if rand(2):
                    r1 = -r1
                if rand(2):
                    r2 = -r2
                if rand(2):
                    r3 = -r3
                angle = r1
                sx = _c_int(_f32(sx + _f32(_f32(r2 * side) / 3)))
                sy = _c_int(_f32(sy + _f32(_f32(r3 * side) / 3)))
            canvas.square(sx, sy, side, angle, 1)
    return canvas


def _braille(canvas: Canvas) -> bytes:
    """Two by four pixels per Braille character (U+2800 block), as lolwut5's renderCanvas."""
    out = []
    get = canvas.get
    for y in range(0, canvas.height, 4):
        line = []
        for x in range(0, canvas.width, 2):
            bits = (get(x, y) and 1) | (get(x, y + 1) and 2) | (get(x, y + 2) and 4) | (get(x + 1, y) and 8)
            bits |= (get(x + 1, y + 1) and 16) | (get(x + 1, y + 2) and 32) | (get(x, y + 3) and 64)
            bits |= get(x + 1, y + 3) and 128
            line.append(chr(0x2800 + bits))
        out.append("".join(line))
        if y != canvas.height - 1:
            out.append("\n")
    return "".join(out).encode()


def _lolwut5(args: tuple[bytes, ...]) -> bytes:
    cols, per_row, per_col = 66, 8, 12
    if len(args) > 0:
        cols = parse_int(args[0])
    if len(args) > 1:
        per_row = parse_int(args[1])
    if len(args) > 2:
        per_col = parse_int(args[2])
    cols = min(max(cols, 1), 1000)
    per_row = min(max(per_row, 1), 200)
    per_col = min(max(per_col, 1), 200)
    art = _braille(_schotter(cols, per_row, per_col))
    return art + b"\nGeorg Nees - schotter, plotter on paper, 1968. Redis ver. " + REDIS_VERSION.encode() + b"\n"


_COLORS = {0: b"0;30;40m", 1: b"0;90;100m", 2: b"0;37;47m", 3: b"0;97;107m"}


def _skyscraper(canvas: Canvas, xoff: int, width: int, height: int, windows: bool, color: int) -> None:
    start_y = canvas.height - 1
    end_y = start_y - height + 1
    for y in range(start_y, end_y - 1, -1):
        for x in range(xoff, xoff + width):
            if y == end_y and (x <= xoff + 1 or x >= xoff + width - 2):
                continue
            c = color
            if windows and xoff + 1 < x < xoff + width - 2 and end_y + 1 < y < start_y - 1:
                relx = x - (xoff + 1)
                rely = y - (end_y + 1)
                if (relx // 2) % 2 and rely % 2:
                    while True:
                        c = 1 + random.randrange(RAND_MAX + 1) % 2
                        if c != color:
                            break
                    if relx % 2:
                        c = canvas.get(x - 1, y)
            canvas.draw(x, y, c)


def _skyline(canvas: Canvas) -> None:
    rand = random.randrange
    h = canvas.height
    for color in (2, 1):
        offset = -10
        while offset < canvas.width:
            offset += rand(RAND_MAX + 1) % 8
            width = 10 + rand(RAND_MAX + 1) % 9
            height = h // 2 + (rand(RAND_MAX + 1) % h) // (2 if color == 2 else 3)
            _skyscraper(canvas, offset, width, height, False, color)
            offset += width // 2 if color == 2 else width + 1
    offset = -10
    while offset < canvas.width:
        offset += rand(RAND_MAX + 1) % 8
        width = 5 + rand(RAND_MAX + 1) % 14
        if width % 4:
            width += width % 3
        height = h // 3 + (rand(RAND_MAX + 1) % h) // 2
        _skyscraper(canvas, offset, width, height, True, 0)
        offset += width + 5


def _lolwut6(args: tuple[bytes, ...]) -> bytes:
    cols, rows = 80, 20
    if len(args) > 0:
        cols = parse_int(args[0])
    if len(args) > 1:
        rows = parse_int(args[1])
    cols = min(max(cols, 1), 1000)
    rows = min(max(rows, 1), 1000)
    canvas = Canvas(cols, rows, 3)
    _skyline(canvas)
    lines = []
    for y in range(canvas.height):
        lines.append(b"".join(b"\x1b[%s \x1b[0m" % _COLORS.get(canvas.get(x, y), b"0;30;40m")
                              for x in range(canvas.width)))
    return (b"\n".join(lines) + b"\nDedicated to the 8 bit game developers of past and present.\n"
            b"Original 8 bit image from Plaguemon by hikikomori. Redis ver. " + REDIS_VERSION.encode() + b"\n")


@command("lolwut", arity=-1, flags="readonly fast", group="server", since="5.0.0", complexity="N/A",
         summary="Displays computer art and the Redis version.", args="[VERSION version{type=integer}]")
def lolwut(ctx: Client, *args: bytes) -> object:
    version = REDIS_VERSION
    if len(args) >= 2 and args[0].lower() == b"version":
        version = "%d.0.0" % (parse_int(args[1]) & 0xFFFFFFFF)  # C's (unsigned int) cast
        args = args[2:]
    if (version[:2] == "5." and version[2:3] != "9") or version[:3] == "4.9":
        return Verbatim(_lolwut5(args))
    if (version[:2] == "6." and version[2:3] != "9") or version[:3] == "5.9":
        return Verbatim(_lolwut6(args))
    return Verbatim(b"Redis ver. " + REDIS_VERSION.encode() + b"\n")
