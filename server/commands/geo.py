"""Geospatial commands: GEOADD GEODIST GEOHASH GEOPOS GEOSEARCH(STORE) GEORADIUS(BYMEMBER)(_RO) (geo.c).

A geo set is a sorted set whose scores are 52-bit geohashes
(``server.datatypes.geohash``): GEOADD is ZADD with computed scores, and any
sorted-set command works on it. Searches visit the nine cells Redis visits,
each as a score range of the sorted set, keep the members inside the shape,
and sort them by distance as Redis does. Option parsing follows
georadiusGeneric's single loop, so errors come in Redis's order.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from operator import itemgetter

from server.client import Client
from server.command import command
from server.commands.args import COUNT_NOT_POSITIVE, SYNTAX_ERROR, ArgCursor
from server.commands.zsets import limits, parse_score, zadd_generic
from server.datatypes import geohash as gh
from server.datatypes.zset import ScoreRange, ZSetValue
from server.keyspace import NOTIFY_GENERIC, NOTIFY_ZSET, WRONGTYPE
from server.pqsort import partial_sort
from server.protocol import NULL_ARRAY, Error, HumanDouble

BAD_UNIT = Error(b"ERR unsupported unit provided. please use M, KM, FT, MI")
BAD_MEMBER = Error(b"ERR could not decode requested zset member")
UNITS = {b"m": 1.0, b"km": 1000.0, b"ft": 0.3048, b"mi": 1609.34}

# georadiusGeneric's flags.
RADIUS_COORDS = 1
RADIUS_MEMBER = 2
RADIUS_NOSTORE = 4
GEOSEARCH = 8
GEOSEARCHSTORE = 16


def _unit(arg: bytes) -> float:
    factor = UNITS.get(arg.lower())
    if factor is None:
        raise BAD_UNIT
    return factor


def _lon_lat(lon_arg: bytes, lat_arg: bytes) -> tuple[float, float]:
    """extractLongLatOrReply: two doubles within Redis's coordinate limits."""
    lon = parse_score(lon_arg)
    lat = parse_score(lat_arg)
    if lon < gh.LONG_MIN or lon > gh.LONG_MAX or lat < gh.LAT_MIN or lat > gh.LAT_MAX:
        raise Error(b"ERR invalid longitude,latitude pair %f,%f" % (lon, lat))
    return lon, lat


def _distance_arg(value: bytes, unit: bytes) -> tuple[float, float]:
    """extractDistanceOrReply: (radius, meters per unit)."""
    radius = parse_score(value, Error(b"ERR need numeric radius"))
    if radius < 0:
        raise Error(b"ERR radius cannot be negative")
    return radius, _unit(unit)


def _box_arg(width_arg: bytes, height_arg: bytes, unit: bytes) -> tuple[float, float, float]:
    width = parse_score(width_arg, Error(b"ERR need numeric width"))
    height = parse_score(height_arg, Error(b"ERR need numeric height"))
    if height < 0 or width < 0:
        raise Error(b"ERR height or width cannot be negative")
    return width, height, _unit(unit)


def distance_text(d: float) -> bytes:
    """Redis's fixedpoint_d2string(d, 4): four decimals after rounding d * 10^4 to nearest-even."""
    if d == 0:
        return b"0.0000"
    scaled = round(d * 10000.0)
    sign = b"-" if scaled < 0 else b""
    scaled = abs(scaled)
    return b"%s%d.%04d" % (sign, scaled // 10000, scaled % 10000)


def _zset(ctx: Client, key: bytes) -> ZSetValue | None:
    value = ctx.db.lookup_read(key)
    if value is not None and not isinstance(value, ZSetValue):
        raise WRONGTYPE
    return value


def _member_position(zs: ZSetValue, member: bytes) -> tuple[float, float] | None:
    score = zs.score(member)
    if score is None:
        return None
    return gh.decode_score(score)


# --------------------------------------------------------------------------- GEOADD and lookups


@command("geoadd", arity=-5, flags="write denyoom", acl="geo", group="geo", since="3.2.0",
         complexity="O(log(N)) for each item added, where N is the number of elements in the sorted set.",
         summary="Adds members with their longitude and latitude to a geo set, creating it if needed.",
         args="key [NX|XX]{name=condition,since=6.2.0} [CH{name=change,since=6.2.0}] "
              "(longitude{type=double} latitude{type=double} member){name=longitude_latitude_member} ...",
         keys="RW update @1")
def geoadd(ctx: Client, key: bytes, *args: bytes) -> object:
    nx = xx = ch = False
    options = ArgCursor(args)
    while options:
        opt = options.peek().upper()
        if opt == b"NX":
            nx = True
        elif opt == b"XX":
            xx = True
        elif opt == b"CH":
            ch = True
        else:
            break  # the first longitude
        options.skip()
    rest = options.rest()
    if len(rest) % 3 or (xx and nx):
        raise SYNTAX_ERROR
    if not rest:
        raise SYNTAX_ERROR  # ZADD's own check: no score-member pair at all
    scores: list[float] = []
    for j in range(0, len(rest), 3):
        lon, lat = _lon_lat(rest[j], rest[j + 1])
        scores.append(float(gh.score_of(lon, lat)))
    return zadd_generic(ctx, key, scores, rest[2::3], nx=nx, xx=xx, ch=ch)


@command("geohash", arity=-2, flags="readonly", acl="geo", group="geo", since="3.2.0",
         complexity="O(log(N)) for each member requested.",
         summary="Returns members of a geo set as standard 11-character geohash strings.",
         args="key member ...",
         keys="RO access @1")
def geohash(ctx: Client, key: bytes, *members: bytes) -> list:
    zs = _zset(ctx, key)
    out: list = []
    for member in members:
        score = zs.score(member) if zs is not None else None
        out.append(None if score is None else gh.geohash_string(score))
    return out


@command("geopos", arity=-2, flags="readonly", acl="geo", group="geo", since="3.2.0",
         complexity="O(1) for each member requested.",
         summary="Returns the longitude and latitude of members of a geo set.", args="key member ...",
         keys="RO access @1")
def geopos(ctx: Client, key: bytes, *members: bytes) -> list:
    zs = _zset(ctx, key)
    out: list = []
    for member in members:
        pos = _member_position(zs, member) if zs is not None else None
        out.append(NULL_ARRAY if pos is None else [HumanDouble(pos[0]), HumanDouble(pos[1])])
    return out


@command("geodist", arity=-4, flags="readonly", acl="geo", group="geo", since="3.2.0",
         complexity="O(log(N))", summary="Returns the distance between two members of a geo set.",
         args="key member1 member2 [M|KM|FT|MI]{name=unit}",
         keys="RO access @1")
def geodist(ctx: Client, key: bytes, member1: bytes, member2: bytes, *unit: bytes) -> object:
    to_meter = 1.0
    if len(unit) == 1:
        to_meter = _unit(unit[0])
    elif len(unit) > 1:
        raise SYNTAX_ERROR
    zs = _zset(ctx, key)
    if zs is None:
        return None
    first = _member_position(zs, member1)
    second = _member_position(zs, member2) if first is not None else None
    if first is None or second is None:
        return None
    return distance_text(gh.distance(first[0], first[1], second[0], second[1]) / to_meter)


# --------------------------------------------------------------------------- searches


# A member inside the search area: (distance in meters, member). Its score and position, which
# few replies show, are read again for the members returned.
Found = tuple[float, bytes]

# The candidate filter in C (server/datatypes/_hllgeo.c), built by `pip install -e .`; the loop in
# ``_scan_python`` is the reference it is tested against, and the fallback without it.
native_scan: Callable[..., None] | None
try:
    from server.datatypes._hllgeo import scan as native_scan
except ImportError:  # an install that did not build the extension
    native_scan = None

# Decoded positions of recently searched scores (a pure function of the score, so a plain memo;
# emptied when full). Repeated searches over one geo set then skip the deinterleaving.
POSITION_CACHE_SIZE = 100_000
_POSITIONS: dict[float, tuple[float, float]] = {}


def _scan_python(keys: Iterable[bytes], scores: dict[bytes, float], shape: gh.Shape, limit: int,
                 found: list[Found]) -> None:
    """Append the members of ``keys`` (index keys, in order) that lie inside ``shape``."""
    decode = gh.decode_score
    positions = _POSITIONS
    circle = shape.kind == gh.CIRCULAR
    # The circle test inlined (geohashGetDistance, same operations in the same order): it runs
    # for every candidate.
    sin, cos, asin, sqrt, fabs = math.sin, math.cos, math.asin, math.sqrt, math.fabs
    d_r, earth = gh.D_R, gh.EARTH_RADIUS_IN_METERS
    lon1r = shape.lon * d_r
    lat1r = shape.lat * d_r
    cos_lat1 = cos(lat1r)
    max_dist = shape.radius * shape.conversion
    for key in keys:
        member = key[8:]
        score = scores[member]
        position = positions.get(score)
        if position is None:
            position = decode(score)
            if len(positions) >= POSITION_CACHE_SIZE:
                positions.clear()
            positions[score] = position
        lon, lat = position
        dist: float | None
        if circle:
            v = sin((lon * d_r - lon1r) / 2)
            if v == 0.0:
                dist = earth * fabs(lat * d_r - lat1r)
            else:
                lat2r = lat * d_r
                u = sin((lat2r - lat1r) / 2)
                dist = 2.0 * earth * asin(sqrt(u * u + cos_lat1 * cos(lat2r) * v * v))
            if dist > max_dist:
                dist = None
        else:
            dist = shape.contains(lon, lat)
        if dist is not None:
            found.append((dist, member))
            if limit and len(found) >= limit:
                break


def _search(zs: ZSetValue, shape: gh.Shape, limit: int, native: bool = True) -> list[Found]:
    """membersOfAllNeighbors: scan each of the nine cells (skipping repeats as Redis does).

    Each cell is a score range of the sorted set (cut to the sub-cells that meet the
    candidate window); its members are filtered by ``native_scan`` or ``_scan_python``.
    """
    cells = gh.search_cells(shape)
    window = gh.candidate_window(shape)
    found: list[Found] = []
    last = 0
    index = zs.index
    scores = zs.scores
    conversion = shape.conversion
    for i, cell in enumerate(cells):
        if cell.is_zero():
            continue
        if last and cell.bits == cells[last].bits and cell.step == cells[last].step:
            continue
        if found and limit and len(found) >= limit:
            break
        for low, high in gh.cell_ranges(cell, window):
            if found and limit and len(found) >= limit:
                break
            start, stop = zs.score_positions(ScoreRange(float(low), float(high), False, True))
            if start == stop:
                continue
            keys = index.islice(start, stop)
            if native and native_scan is not None:
                native_scan(keys, shape.kind, shape.lon, shape.lat, shape.radius * conversion,
                            shape.width * conversion, shape.height * conversion, limit, found)
            else:
                _scan_python(keys, scores, shape, limit, found)
        last = i
    return found


def _search_generic(ctx: Client, args: tuple[bytes, ...], src_index: int, flags: int) -> object:
    """georadiusGeneric. ``args`` are the arguments after the command name."""
    argv = (ctx.argv[0] if ctx.argv else ctx.last_command, *args)
    db = ctx.db
    zs = _zset(ctx, argv[src_index])
    shape = gh.Shape()
    store_key: bytes | None = None
    storedist = False
    if flags & RADIUS_COORDS:
        base = 6
        shape.kind = gh.CIRCULAR
        shape.lon, shape.lat = _lon_lat(argv[2], argv[3])
        shape.radius, shape.conversion = _distance_arg(argv[4], argv[5])
    elif flags & RADIUS_MEMBER:
        base = 5
        if zs is not None:
            shape.kind = gh.CIRCULAR
            pos = _member_position(zs, argv[2])
            if pos is None:
                raise BAD_MEMBER
            shape.lon, shape.lat = pos
            shape.radius, shape.conversion = _distance_arg(argv[3], argv[4])
    else:
        base = 2
        if flags & GEOSEARCHSTORE:
            base = 3
            store_key = argv[1]
    withdist = withhash = withcoord = False
    frommember = fromloc = byradius = bybox = False
    sort = 0  # 0 none, 1 asc, 2 desc
    any_ = False
    count = 0
    options = ArgCursor(argv, base)
    while options:
        arg = options.next_keyword()
        if arg == b"WITHDIST":
            withdist = True
        elif arg == b"WITHHASH":
            withhash = True
        elif arg == b"WITHCOORD":
            withcoord = True
        elif arg == b"ANY":
            any_ = True
        elif arg == b"ASC":
            sort = 1
        elif arg == b"DESC":
            sort = 2
        elif arg == b"COUNT" and options.has(1):
            count = options.next_int()
            if count <= 0:
                raise COUNT_NOT_POSITIVE
        elif arg in (b"STORE", b"STOREDIST") and options.has(1) and not flags & (RADIUS_NOSTORE | GEOSEARCH):
            store_key = options.next_bytes()
            storedist = arg == b"STOREDIST"
        elif arg == b"STOREDIST" and flags & GEOSEARCH and flags & GEOSEARCHSTORE:
            storedist = True
        elif arg == b"FROMMEMBER" and options.has(1) and flags & GEOSEARCH and not fromloc:
            member = options.next_bytes()
            if zs is not None:
                pos = _member_position(zs, member)
                if pos is None:
                    raise BAD_MEMBER
                shape.lon, shape.lat = pos
            frommember = True
        elif arg == b"FROMLONLAT" and options.has(2) and flags & GEOSEARCH and not frommember:
            shape.lon, shape.lat = _lon_lat(options.next_bytes(), options.next_bytes())
            fromloc = True
        elif arg == b"BYRADIUS" and options.has(2) and flags & GEOSEARCH and not bybox:
            shape.radius, shape.conversion = _distance_arg(options.next_bytes(), options.next_bytes())
            shape.kind = gh.CIRCULAR
            byradius = True
        elif arg == b"BYBOX" and options.has(3) and flags & GEOSEARCH and not byradius:
            shape.width, shape.height, shape.conversion = _box_arg(*options.next_many(3))
            shape.kind = gh.RECTANGLE
            bybox = True
        else:
            raise SYNTAX_ERROR

    if store_key is not None and (withdist or withhash or withcoord):
        what = b"GEOSEARCHSTORE" if flags & GEOSEARCHSTORE else b"STORE option in GEORADIUS"
        raise Error(b"ERR %s is not compatible with WITHDIST, WITHHASH and WITHCOORD options" % what)
    if flags & GEOSEARCH and not (frommember or fromloc):
        raise Error(b"ERR exactly one of FROMMEMBER or FROMLONLAT can be specified for %s" % argv[0])
    if flags & GEOSEARCH and not (byradius or bybox):
        raise Error(b"ERR exactly one of BYRADIUS and BYBOX can be specified for %s" % argv[0])
    if any_ and not count:
        raise Error(b"ERR the ANY argument requires COUNT argument")

    if zs is None:
        if store_key is not None:
            if db.delete(store_key):
                ctx.db.notify(NOTIFY_GENERIC, b"del", store_key)
            return 0
        return []
    if count and not sort and not any_:
        sort = 1
    found = _search(zs, shape, count if any_ else 0)
    if not found and store_key is None:
        return []
    returned_items = count if count and count < len(found) else len(found)
    if sort and returned_items == len(found):
        # Stable (equal distances keep their scan order), as glibc's merge-sort qsort is.
        found.sort(key=itemgetter(0), reverse=sort == 2)
    elif sort:
        # Redis sorts only the first COUNT places with its partial quicksort; ties land where it puts them.
        sign = 1 if sort == 1 else -1
        partial_sort(found, lambda x, y: sign * ((x[0] > y[0]) - (x[0] < y[0])), 0, returned_items - 1)
    returned = found[:returned_items]
    conversion = shape.conversion
    if store_key is None:
        if not (withdist or withhash or withcoord):
            return [f[1] for f in returned]
        out: list = []
        scores = zs.scores
        for dist, member in returned:
            item: list = [member]
            if withdist:
                item.append(distance_text(dist / conversion))
            if withhash:
                item.append(gh.c_int64(scores[member]))
            if withcoord:
                lon, lat = gh.decode_score(scores[member])
                item.append([HumanDouble(lon), HumanDouble(lat)])
            out.append(item)
        return out
    if returned:
        max_entries, max_value = limits(ctx)
        scores = zs.scores
        entries = ((f[1], f[0] / conversion if storedist else scores[f[1]]) for f in returned)
        db.set(store_key, ZSetValue(entries, max_entries, max_value))
        ctx.db.notify(NOTIFY_ZSET, b"geosearchstore" if flags & GEOSEARCH else b"georadiusstore", store_key)
        db.signal_ready(store_key)
    elif db.delete(store_key):
        ctx.db.notify(NOTIFY_GENERIC, b"del", store_key)
    return len(returned)


def _radius_keys(argv: list[bytes]) -> list[tuple[int, int]]:
    """georadiusGetKeys (when the key specs cannot answer): the source, and the key after the
    last STORE/STOREDIST from argument 5 on; without flags, as Redis's."""
    stored = 0
    i = 5
    while i < len(argv):
        if argv[i].lower() in (b"store", b"storedist") and i + 1 < len(argv):
            stored = i + 1
            i += 1
        i += 1
    return [(1, 0), (stored, 0)] if stored else [(1, 0)]


@command("georadius", arity=-6, flags="write denyoom", acl="geo", group="geo", since="3.2.0",
         complexity="O(N+log(M)) where N is the number of elements inside the search area and M the set's size.",
         summary="Queries a geo set for members within a distance of a point, optionally storing them.",
         args="key longitude{type=double} latitude{type=double} radius{type=double} "
              "(M|KM|FT|MI){name=unit} [WITHCOORD] [WITHDIST] [WITHHASH] [COUNT count "
              "[ANY{since=6.2.0}]]{name=count} [ASC|DESC]{name=order} [STORE key{ks=1}] [STOREDIST "
              "key{ks=2}]",
         getkeys=_radius_keys,
         keys=("RO access @1", "OW update @STORE>6", "OW update @STOREDIST>6"),
         doc_flags="deprecated", deprecated_since="6.2.0", replaced_by="`GEOSEARCH` and `GEOSEARCHSTORE` with the `BYRADIUS` argument")
def georadius(ctx: Client, *args: bytes) -> object:
    return _search_generic(ctx, args, 1, RADIUS_COORDS)


@command("georadius_ro", arity=-6, flags="readonly", acl="geo", group="geo", since="3.2.10",
         complexity="O(N+log(M)) where N is the number of elements inside the search area and M the set's size.",
         summary="Queries a geo set for members within a distance of a point.",
         args="key longitude{type=double} latitude{type=double} radius{type=double} "
              "(M|KM|FT|MI){name=unit} [WITHCOORD] [WITHDIST] [WITHHASH] [COUNT count "
              "[ANY{since=6.2.0}]]{name=count} [ASC|DESC]{name=order}",
         keys="RO access @1",
         doc_flags="deprecated", deprecated_since="6.2.0", replaced_by="`GEOSEARCH` with the `BYRADIUS` argument")
def georadius_ro(ctx: Client, *args: bytes) -> object:
    return _search_generic(ctx, args, 1, RADIUS_COORDS | RADIUS_NOSTORE)


@command("georadiusbymember", arity=-5, flags="write denyoom", acl="geo", group="geo",
         since="3.2.0",
         complexity="O(N+log(M)) where N is the number of elements inside the search area and M the set's size.",
         summary="Queries a geo set for members within a distance of a member, optionally storing them.",
         args="key member radius{type=double} (M|KM|FT|MI){name=unit} [WITHCOORD] [WITHDIST] [WITHHASH] "
              "[COUNT count [ANY]]{name=count} [ASC|DESC]{name=order} [STORE key{ks=1}] [STOREDIST "
              "key{ks=2}]",
         getkeys=_radius_keys,
         keys=("RO access @1", "OW update @STORE>5", "OW update @STOREDIST>5"),
         doc_flags="deprecated", deprecated_since="6.2.0", replaced_by="`GEOSEARCH` and `GEOSEARCHSTORE` with the `BYRADIUS` and `FROMMEMBER` arguments")
def georadiusbymember(ctx: Client, *args: bytes) -> object:
    return _search_generic(ctx, args, 1, RADIUS_MEMBER)


@command("georadiusbymember_ro", arity=-5, flags="readonly", acl="geo", group="geo",
         since="3.2.10",
         complexity="O(N+log(M)) where N is the number of elements inside the search area and M the set's size.",
         summary="Queries a geo set for members within a distance of a member.",
         args="key member radius{type=double} (M|KM|FT|MI){name=unit} [WITHCOORD] [WITHDIST] [WITHHASH] "
              "[COUNT count [ANY]]{name=count} [ASC|DESC]{name=order}",
         keys="RO access @1",
         doc_flags="deprecated", deprecated_since="6.2.0", replaced_by="`GEOSEARCH` with the `BYRADIUS` and `FROMMEMBER` arguments")
def georadiusbymember_ro(ctx: Client, *args: bytes) -> object:
    return _search_generic(ctx, args, 1, RADIUS_MEMBER | RADIUS_NOSTORE)


@command("geosearch", arity=-7, flags="readonly", acl="geo", group="geo", since="6.2.0",
         complexity="O(N+log(M)) where N is the number of elements in the grid-aligned bounding box area "
                    "around the shape provided as the filter and M is the number of items inside the shape",
         summary="Queries a geo set for members inside a circle or a box around a member or a point.",
         args="key (FROMMEMBER member|(longitude{type=double} "
              "latitude{type=double}){name=longitude_latitude,token=FROMLONLAT}){name=from} ((BYRADIUS "
              "radius{type=double} (M|KM|FT|MI){name=unit}){name=circle}|(BYBOX width{type=double} "
              "height{type=double} (M|KM|FT|MI){name=unit}){name=box}){name=by} [ASC|DESC]{name=order} "
              "[COUNT count [ANY]]{name=count} [WITHCOORD] [WITHDIST] [WITHHASH]",
         keys="RO access @1")
def geosearch(ctx: Client, *args: bytes) -> object:
    return _search_generic(ctx, args, 1, GEOSEARCH)


@command("geosearchstore", arity=-8, flags="write denyoom", acl="geo", group="geo",
         since="6.2.0",
         complexity="O(N+log(M)) where N is the number of elements in the grid-aligned bounding box area "
                    "around the shape provided as the filter and M is the number of items inside the shape",
         summary="Stores the members of a geo set inside a circle or a box as a sorted set.",
         args="destination source{ks=1} (FROMMEMBER member|(longitude{type=double} "
              "latitude{type=double}){name=longitude_latitude,token=FROMLONLAT}){name=from} ((BYRADIUS "
              "radius{type=double} (M|KM|FT|MI){name=unit}){name=circle}|(BYBOX width{type=double} "
              "height{type=double} (M|KM|FT|MI){name=unit}){name=box}){name=by} [ASC|DESC]{name=order} "
              "[COUNT count [ANY]]{name=count} [STOREDIST]",
         keys=("OW update @1", "RO access @2"))
def geosearchstore(ctx: Client, *args: bytes) -> object:
    return _search_generic(ctx, args, 2, GEOSEARCH | GEOSEARCHSTORE)
