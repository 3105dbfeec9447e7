"""Geohash arithmetic as Redis computes it (geohash.c, geohash_helper.c), for the GEO commands.

A position is stored as the score of a sorted-set member: latitude and
longitude each scaled to 26 bits over Redis's ranges (longitude -180..180,
latitude -85.05112878..85.05112878, the Web Mercator limits) and interleaved,
longitude bits in the odd positions, into a 52-bit integer (exact in a double).

A radius or box search covers the centre's geohash cell at a step chosen from
the radius, plus its eight neighbours, then filters each candidate by its
distance. Every step here follows Redis's arithmetic in the same order (the
same doubles, the same libm functions, the same rounding), because members,
their order and the printed distances must come out identical.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

STEP_MAX = 26
LAT_MIN = -85.05112878
LAT_MAX = 85.05112878
LONG_MIN = -180.0
LONG_MAX = 180.0
EARTH_RADIUS_IN_METERS = 6372797.560856
MERCATOR_MAX = 20037726.37
D_R = math.pi / 180.0
_M64 = (1 << 64) - 1

CIRCULAR = 1
RECTANGLE = 2


def deg_rad(angle: float) -> float:
    return angle * D_R


def rad_deg(angle: float) -> float:
    return angle / D_R


def _interleave(xlo: int, ylo: int) -> int:
    """Bits of ``xlo`` in the even positions, bits of ``ylo`` in the odd ones (32 bits each)."""
    x = xlo & 0xFFFFFFFF
    y = ylo & 0xFFFFFFFF
    for shift, mask in ((16, 0x0000FFFF0000FFFF), (8, 0x00FF00FF00FF00FF), (4, 0x0F0F0F0F0F0F0F0F),
                        (2, 0x3333333333333333), (1, 0x5555555555555555)):
        x = (x | (x << shift)) & mask
        y = (y | (y << shift)) & mask
    return x | (y << 1)


def _squash(x: int) -> int:
    """The even bits of a 64-bit word packed into 32 bits (half of deinterleave64)."""
    x &= 0x5555555555555555
    for shift, mask in ((1, 0x3333333333333333), (2, 0x0F0F0F0F0F0F0F0F), (4, 0x00FF00FF00FF00FF),
                        (8, 0x0000FFFF0000FFFF), (16, 0x00000000FFFFFFFF)):
        x = (x | (x >> shift)) & mask
    return x


@dataclass
class Bits:
    """A geohash cell: its interleaved bits and its step (bits per coordinate)."""

    bits: int = 0
    step: int = 0

    def is_zero(self) -> bool:
        return self.bits == 0 and self.step == 0


@dataclass
class Area:
    """The cell's longitude and latitude intervals."""

    hash: Bits
    long_min: float = 0.0
    long_max: float = 0.0
    lat_min: float = 0.0
    lat_max: float = 0.0


def encode(longitude: float, latitude: float, step: int = STEP_MAX,
           long_range: tuple[float, float] = (LONG_MIN, LONG_MAX),
           lat_range: tuple[float, float] = (LAT_MIN, LAT_MAX)) -> Bits | None:
    """geohashEncode: None outside the valid coordinates."""
    if step > 32 or step == 0:
        return None
    if longitude > LONG_MAX or longitude < LONG_MIN or latitude > LAT_MAX or latitude < LAT_MIN:
        return None
    if not (lat_range[0] <= latitude <= lat_range[1] and long_range[0] <= longitude <= long_range[1]):
        return None
    lat_offset = (latitude - lat_range[0]) / (lat_range[1] - lat_range[0])
    long_offset = (longitude - long_range[0]) / (long_range[1] - long_range[0])
    lat_offset *= float(1 << step)
    long_offset *= float(1 << step)
    return Bits(_interleave(int(lat_offset), int(long_offset)), step)


def decode(hash: Bits) -> Area:
    """geohashDecode over Redis's coordinate ranges."""
    step = hash.step
    ilato = _squash(hash.bits)
    ilono = _squash(hash.bits >> 1)
    lat_scale = LAT_MAX - LAT_MIN
    long_scale = LONG_MAX - LONG_MIN
    div = float(1 << step)
    return Area(
        hash,
        long_min=LONG_MIN + (ilono * 1.0 / div) * long_scale,
        long_max=LONG_MIN + ((ilono + 1) * 1.0 / div) * long_scale,
        lat_min=LAT_MIN + (ilato * 1.0 / div) * lat_scale,
        lat_max=LAT_MIN + ((ilato + 1) * 1.0 / div) * lat_scale,
    )


# Even bits of every 16-bit value, packed into 8 bits: four lookups deinterleave a 52-bit score.
_SQUASH16 = bytes(_squash(i) for i in range(1 << 16))
_DIV26 = float(1 << STEP_MAX)
_LAT_SCALE = LAT_MAX - LAT_MIN
_LONG_SCALE = LONG_MAX - LONG_MIN


_TWO63 = float(1 << 63)
_TWO64 = float(1 << 64)
_INDEFINITE = 1 << 63  # what x86-64's cvttsd2si gives for NaN and out-of-range values


def c_int64(value: float) -> int:
    """C's ``(long long)value`` as x86-64 computes it: truncation, or INT64_MIN when out of range."""
    if -_TWO63 <= value < _TWO63:
        return int(value)
    return -_INDEFINITE


def c_uint64(value: float) -> int:
    """C's ``(uint64_t)value`` as gcc compiles it for x86-64 (a geo score that is not a geohash:
    inf, NaN, negative): below 2**63 a signed conversion, above it one of ``value - 2**63`` with
    the top bit flipped; an out-of-range conversion gives INT64_MIN's bits."""
    if value < _TWO63:
        return c_int64(value) & _M64
    return (c_int64(value - _TWO63) & _M64) ^ _INDEFINITE if value == value else 0


def decode_score(score: float) -> tuple[float, float]:
    """(longitude, latitude) of a 52-bit score: the centre of its cell, clamped to the valid ranges.

    The same arithmetic as ``decode`` + geohashDecodeAreaToLongLat, unrolled: searches call it
    for every candidate member.
    """
    bits = int(score) & _M64 if -_TWO63 <= score < _TWO64 else c_uint64(score)
    t = _SQUASH16
    ilato = t[bits & 0xFFFF] | t[(bits >> 16) & 0xFFFF] << 8 | t[(bits >> 32) & 0xFFFF] << 16 | t[bits >> 48] << 24
    bits >>= 1
    ilono = t[bits & 0xFFFF] | t[(bits >> 16) & 0xFFFF] << 8 | t[(bits >> 32) & 0xFFFF] << 16 | t[bits >> 48] << 24
    lon = ((LONG_MIN + (ilono * 1.0 / _DIV26) * _LONG_SCALE) + (LONG_MIN + ((ilono + 1) * 1.0 / _DIV26) * _LONG_SCALE)) / 2
    lat = ((LAT_MIN + (ilato * 1.0 / _DIV26) * _LAT_SCALE) + (LAT_MIN + ((ilato + 1) * 1.0 / _DIV26) * _LAT_SCALE)) / 2
    if lon > LONG_MAX:
        lon = LONG_MAX
    elif lon < LONG_MIN:
        lon = LONG_MIN
    if lat > LAT_MAX:
        lat = LAT_MAX
    elif lat < LAT_MIN:
        lat = LAT_MIN
    return lon, lat


def align52(hash: Bits) -> int:
    return (hash.bits << (52 - hash.step * 2)) & _M64


def score_of(longitude: float, latitude: float) -> int:
    """The sorted-set score GEOADD stores for a position (valid coordinates only)."""
    hash = encode(longitude, latitude)
    assert hash is not None
    return align52(hash)


def geohash_string(score: float) -> bytes:
    """GEOHASH's 11 characters: the position re-encoded over the standard -90..90 latitude range."""
    lon, lat = decode_score(score)
    hash = encode(lon, lat, STEP_MAX, (-180.0, 180.0), (-90.0, 90.0))
    bits = hash.bits if hash is not None else 0
    alphabet = b"0123456789bcdefghjkmnpqrstuvwxyz"
    out = bytearray()
    for i in range(11):
        index = 0 if i == 10 else (bits >> (52 - (i + 1) * 5)) & 0x1F
        out.append(alphabet[index])
    return bytes(out)


# --------------------------------------------------------------------------- distances


def lat_distance(lat1: float, lat2: float) -> float:
    return EARTH_RADIUS_IN_METERS * math.fabs(deg_rad(lat2) - deg_rad(lat1))


def distance(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    """Haversine distance in meters, as geohashGetDistance."""
    lon1r = deg_rad(lon1)
    lon2r = deg_rad(lon2)
    v = math.sin((lon2r - lon1r) / 2)
    if v == 0.0:
        return lat_distance(lat1, lat2)
    lat1r = deg_rad(lat1)
    lat2r = deg_rad(lat2)
    u = math.sin((lat2r - lat1r) / 2)
    a = u * u + math.cos(lat1r) * math.cos(lat2r) * v * v
    return 2.0 * EARTH_RADIUS_IN_METERS * math.asin(math.sqrt(a))


# --------------------------------------------------------------------------- search areas


@dataclass
class Shape:
    """A search area: a circle (radius) or a box (width, height), in the unit ``conversion`` says."""

    kind: int = CIRCULAR
    lon: float = 0.0
    lat: float = 0.0
    conversion: float = 1.0
    radius: float = 0.0
    width: float = 0.0
    height: float = 0.0
    bounds: list[float] = field(default_factory=lambda: [0.0, 0.0, 0.0, 0.0])

    def contains(self, lon: float, lat: float) -> float | None:
        """The distance in meters from the centre if (lon, lat) is inside, else None."""
        if self.kind == CIRCULAR:
            d = distance(self.lon, self.lat, lon, lat)
            return None if d > self.radius * self.conversion else d
        width_m = self.width * self.conversion
        height_m = self.height * self.conversion
        if lat_distance(lat, self.lat) > height_m / 2:
            return None
        if distance(lon, lat, self.lon, lat) > width_m / 2:
            return None
        return distance(self.lon, self.lat, lon, lat)


def estimate_steps(range_meters: float, lat: float) -> int:
    """geohashEstimateStepsByRadius."""
    if range_meters == 0:
        return 26
    step = 1
    while range_meters < MERCATOR_MAX:
        range_meters *= 2
        step += 1
    step -= 2
    if lat > 66 or lat < -66:
        step -= 1
        if lat > 80 or lat < -80:
            step -= 1
    return min(max(step, 1), 26)


def _c_cos(x: float) -> float:
    """C's cos: NaN for an infinite angle (an infinite radius or box), where math.cos raises."""
    return math.cos(x) if math.isfinite(x) else math.nan


def _bounding_box(shape: Shape) -> list[float]:
    lon, lat = shape.lon, shape.lat
    circle = shape.kind == CIRCULAR
    height = shape.conversion * (shape.radius if circle else shape.height / 2)
    width = shape.conversion * (shape.radius if circle else shape.width / 2)
    lat_delta = rad_deg(height / EARTH_RADIUS_IN_METERS)
    long_delta_top = rad_deg(width / EARTH_RADIUS_IN_METERS / _c_cos(deg_rad(lat + lat_delta)))
    long_delta_bottom = rad_deg(width / EARTH_RADIUS_IN_METERS / _c_cos(deg_rad(lat - lat_delta)))
    south = lat < 0
    return [
        lon - long_delta_bottom if south else lon - long_delta_top,
        lat - lat_delta,
        lon + long_delta_bottom if south else lon + long_delta_top,
        lat + lat_delta,
    ]


_LONG_BITS = 0xAAAAAAAAAAAAAAAA  # the odd bit positions of an interleaved hash hold longitude
_LAT_BITS = 0x5555555555555555


def _step(hash: Bits, d: int, axis: int, other: int) -> Bits:
    """One cell east/west (``axis`` = longitude bits) or north/south (latitude bits), by the sign of ``d``.

    Adds or subtracts one in the axis's bits alone: the other axis's bits, set to ones in the
    addend (or in the value, for a subtraction), carry across them (geohash_move_x/_y).
    """
    a = hash.bits & axis
    b = hash.bits & other
    zz = other >> (64 - hash.step * 2)
    if d > 0:
        a = (a + (zz + 1)) & _M64
    else:
        a = ((a | zz) - (zz + 1)) & _M64
    a &= axis >> (64 - hash.step * 2)
    return Bits(a | b, hash.step)


def _move(hash: Bits, dx: int, dy: int) -> Bits:
    if dx:
        hash = _step(hash, dx, _LONG_BITS, _LAT_BITS)
    if dy:
        hash = _step(hash, dy, _LAT_BITS, _LONG_BITS)
    return hash


# The order Redis visits the cells: centre, N, S, E, W, NE, NW, SE, SW.
_DIRECTIONS = ((0, 1), (0, -1), (1, 0), (-1, 0), (1, 1), (-1, 1), (1, -1), (-1, -1))


def search_cells(shape: Shape) -> list[Bits]:
    """The nine cells to scan for ``shape`` (zeroed where Redis excludes them), in Redis's order."""
    shape.bounds = _bounding_box(shape)
    min_lon, min_lat, max_lon, max_lat = shape.bounds
    if shape.kind == CIRCULAR:
        radius_meters = shape.radius
    else:
        radius_meters = math.sqrt((shape.width / 2) * (shape.width / 2) + (shape.height / 2) * (shape.height / 2))
    radius_meters *= shape.conversion
    steps = estimate_steps(radius_meters, shape.lat)
    hash = encode(shape.lon, shape.lat, steps) or Bits(0, steps)
    neighbours = [_move(hash, dx, dy) for dx, dy in _DIRECTIONS]
    north, south, east, west = (decode(n) for n in neighbours[:4])
    decrease = (north.lat_max < max_lat or south.lat_min > min_lat
                or east.long_max < max_lon or west.long_min > min_lon)
    if steps > 1 and decrease:
        steps -= 1
        hash = encode(shape.lon, shape.lat, steps) or Bits(0, steps)
        neighbours = [_move(hash, dx, dy) for dx, dy in _DIRECTIONS]
    area = decode(hash)
    zero = Bits(0, 0)
    n, s, e, w, ne, nw, se, sw = range(8)
    if steps >= 2:
        if area.lat_min < min_lat:
            for i in (s, sw, se):
                neighbours[i] = zero
        if area.lat_max > max_lat:
            for i in (n, ne, nw):
                neighbours[i] = zero
        if area.long_min < min_lon:
            for i in (w, sw, nw):
                neighbours[i] = zero
        if area.long_max > max_lon:
            for i in (e, se, ne):
                neighbours[i] = zero
    return [hash, *neighbours]


def cell_scores(hash: Bits) -> tuple[int, int]:
    """The score interval [min, max) of the members inside a cell."""
    return align52(hash), align52(Bits(hash.bits + 1, hash.step))


# --------------------------------------------------------------------------- fewer candidates

# Sub-cells per side a search cell is split into (2**k): those wholly outside the window hold no
# member the shape can contain, so their score ranges are not read at all.
_SPLIT_BITS = 2


def candidate_window(shape: Shape) -> tuple[float, float, float, float] | None:
    """A latitude/longitude box that surely holds every point the shape contains, or None.

    Our own bound (Redis's bounding box is not one for large circles): a point within angular
    distance r of (lat0, lon0) differs in latitude by at most r, and in longitude by at most
    2 asin(sin(r/2) / cos(lat_max)). A box's points are within half its height in latitude and,
    at their own latitude, within half its width. Widened by a margin far above rounding error.
    None (scan whole cells, as Redis does) near the poles and across the antimeridian.
    """
    if shape.kind == CIRCULAR:
        half_lat = half_lon = shape.radius * shape.conversion / EARTH_RADIUS_IN_METERS
    else:
        half_lat = shape.height / 2 * shape.conversion / EARTH_RADIUS_IN_METERS
        half_lon = shape.width / 2 * shape.conversion / EARTH_RADIUS_IN_METERS
    lat0 = deg_rad(shape.lat)
    if not (half_lat < 0.2 and half_lon < 0.2):
        return None
    lat_edge = max(abs(lat0 - half_lat), abs(lat0 + half_lat))
    if lat_edge > deg_rad(80):
        return None
    ratio = math.sin(half_lon / 2) / math.cos(lat_edge)
    if ratio >= 0.5:
        return None
    dlat = rad_deg(half_lat) * 1.001 + 1e-6
    dlon = rad_deg(2 * math.asin(ratio)) * 1.001 + 1e-6
    if shape.lon - dlon <= LONG_MIN or shape.lon + dlon >= LONG_MAX:
        return None
    return shape.lat - dlat, shape.lat + dlat, shape.lon - dlon, shape.lon + dlon


def cell_ranges(cell: Bits, window: tuple[float, float, float, float] | None) -> list[tuple[int, int]]:
    """The score ranges to read for a cell: all of it, or its sub-cells that meet ``window``.

    Sub-cells come in ascending score order and adjacent ones are merged, so members are
    visited in the same order as a scan of the whole cell (which ANY and ties depend on).
    """
    if window is None or cell.step + _SPLIT_BITS > STEP_MAX:
        return [cell_scores(cell)]
    lat_lo, lat_hi, lon_lo, lon_hi = window
    k = _SPLIT_BITS
    step = cell.step + k
    t = _SQUASH16
    bits = cell.bits  # at most 2 * (26 - k) bits: four table lookups deinterleave it
    ilat = (t[bits & 0xFFFF] | t[(bits >> 16) & 0xFFFF] << 8 | t[(bits >> 32) & 0xFFFF] << 16) << k
    bits >>= 1
    ilon = (t[bits & 0xFFFF] | t[(bits >> 16) & 0xFFFF] << 8 | t[(bits >> 32) & 0xFFFF] << 16) << k
    div = float(1 << step)
    rows = [LAT_MIN + ((ilat + a + 1) * 1.0 / div) * _LAT_SCALE >= lat_lo
            and LAT_MIN + ((ilat + a) * 1.0 / div) * _LAT_SCALE <= lat_hi for a in range(1 << k)]
    cols = [LONG_MIN + ((ilon + b + 1) * 1.0 / div) * _LONG_SCALE >= lon_lo
            and LONG_MIN + ((ilon + b) * 1.0 / div) * _LONG_SCALE <= lon_hi for b in range(1 << k)]
    ranges: list[tuple[int, int]] = []
    base = cell.bits << (2 * k)
    shift = 52 - step * 2  # align52 of a sub-cell (no bits above 52 to mask)
    for j in range(1 << (2 * k)):
        if rows[t[j]] and cols[t[j >> 1]]:
            low, high = (base + j) << shift, (base + j + 1) << shift
            if ranges and ranges[-1][1] == low:
                ranges[-1] = (ranges[-1][0], high)
            else:
                ranges.append((low, high))
    return ranges
