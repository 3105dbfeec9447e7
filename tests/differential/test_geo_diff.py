"""Geo commands compared with redis-server byte for byte, RESP2 and RESP3.

Members, their order and every printed number (distances to four decimals,
coordinates, 52-bit hashes, geohash strings) must be identical. Points are
drawn near the latitude limits, across the antimeridian and along the equator,
and searches use radii from 1 m to 5000 km, circles and boxes, every unit.
"""

from __future__ import annotations

import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.differential.harness import Differ

CITIES = [
    ("13.361389", "38.115556", "Palermo"), ("15.087269", "37.502669", "Catania"),
    ("12.758489", "38.788135", "edge1"), ("12.496366", "41.902782", "Rome"),
    ("-122.4194", "37.7749", "SF"), ("179.99", "0.5", "east"), ("-179.99", "0.5", "west"),
    ("0", "0", "origin"), ("0", "85.05112878", "north"), ("0", "-85.05112878", "south"),
    ("180", "10", "am180"), ("-180", "-10", "am-180"),
]


def _add_cities(diff: Differ, key: str = "g") -> None:
    args = [x for city in CITIES for x in city]
    diff.check("GEOADD", key, *args)


def _points(rng: random.Random, n: int) -> list[str]:
    """Coordinates in the hard places: poles, antimeridian, equator, and anywhere."""
    out: list[str] = []
    for i in range(n):
        region = rng.randrange(4)
        if region == 0:
            lon, lat = rng.uniform(-180, 180), rng.choice([1, -1]) * rng.uniform(80, 85.05)
        elif region == 1:
            lon, lat = rng.choice([rng.uniform(175, 180), rng.uniform(-180, -175)]), rng.uniform(-60, 60)
        elif region == 2:
            lon, lat = rng.uniform(-180, 180), rng.uniform(-2, 2)
        else:
            lon, lat = rng.uniform(-180, 180), rng.uniform(-85, 85)
        out += [f"{lon:.6f}", f"{lat:.6f}", f"m{i}"]
    return out


@pytest.fixture(params=[2, 3], ids=["resp2", "resp3"])
def gdiff(request, ours, real):
    differ = Differ(ours.port, real.port, resp=request.param)
    differ.flush()
    yield differ
    differ.close()


def test_geoadd_options_and_errors(gdiff):
    d = gdiff
    _add_cities(d)
    for cmd in (
        ("GEOADD", "g", "13.361389", "38.115556", "Palermo"),
        ("GEOADD", "g", "CH", "13.4", "38.1", "Palermo", "1", "1", "new"),
        ("GEOADD", "g", "NX", "1", "2", "Palermo", "1", "2", "nx"),
        ("GEOADD", "g", "XX", "CH", "1", "2", "Palermo", "1", "2", "notthere"),
        ("GEOADD", "g", "NX", "XX", "1", "2", "x"), ("GEOADD", "g", "1", "2"),
        ("GEOADD", "g", "1", "2", "x", "3"), ("GEOADD", "g", "nx", "ch", "ch"),
        ("GEOADD", "g", "181", "2", "x"), ("GEOADD", "g", "1", "86", "x"), ("GEOADD", "g", "-180.0001", "0", "x"),
        ("GEOADD", "g", "abc", "2", "x"), ("GEOADD", "g", "1", "", "x"), ("GEOADD", "g", "1", "nan", "x"),
        ("GEOADD", "g", "1", " 2", "x"), ("GEOADD", "g", "inf", "2", "x"),
        ("GEOADD", "g", "1", "2", "x", "500", "2", "y"),
        ("ZRANGE", "g", "0", "-1", "WITHSCORES"),
        ("SET", "s", "x"), ("GEOADD", "s", "1", "2", "x"), ("GEOADD", "s", "1", "200", "x"),
        ("GEOADD", "nokey", "XX", "1", "2", "x"), ("EXISTS", "nokey"),
    ):
        d.check(*cmd)


def test_geopos_geohash_geodist(gdiff):
    d = gdiff
    _add_cities(d)
    members = [c[2] for c in CITIES] + ["nobody"]
    d.check("GEOPOS", "g", *members)
    d.check("GEOHASH", "g", *members)
    d.check("GEOPOS", "nokey", "a", "b")
    d.check("GEOHASH", "nokey", "a")
    d.check("GEOPOS", "g")
    d.check("GEOHASH", "g")
    for unit in ([], ["m"], ["KM"], ["ft"], ["Mi"], ["parsec"], ["km", "x"]):
        d.check("GEODIST", "g", "Palermo", "Catania", *unit)
        d.check("GEODIST", "g", "east", "west", *unit)
    d.check("GEODIST", "g", "Palermo", "nobody")
    d.check("GEODIST", "g", "nobody", "Palermo")
    d.check("GEODIST", "nokey", "a", "b")
    d.check("GEODIST", "g", "Palermo", "Palermo")
    d.check("GEODIST", "g", "north", "south", "km")
    d.check("SET", "s", "x")
    for cmd in (("GEOPOS", "s", "a"), ("GEOHASH", "s", "a"), ("GEODIST", "s", "a", "b"),
                ("GEOSEARCH", "s", "FROMLONLAT", "0", "0", "BYRADIUS", "1", "km")):
        d.check(*cmd)


def test_search_options_and_errors(gdiff):
    d = gdiff
    _add_cities(d)
    cmds = [
        ("GEORADIUS", "g", "15", "37", "200", "km"),
        ("GEORADIUS", "g", "15", "37", "200", "km", "WITHDIST", "WITHCOORD", "WITHHASH", "ASC"),
        ("GEORADIUS", "g", "15", "37", "200", "km", "withdist", "desc", "count", "1"),
        ("GEORADIUS", "g", "15", "37", "200", "km", "COUNT", "1", "ANY"),
        ("GEORADIUS", "g", "15", "37", "200", "km", "ANY"), ("GEORADIUS", "g", "15", "37", "200", "km", "COUNT", "0"),
        ("GEORADIUS", "g", "15", "37", "200", "km", "COUNT", "x"), ("GEORADIUS", "g", "15", "37", "200", "km", "COUNT"),
        ("GEORADIUS", "g", "15", "37", "-1", "km"), ("GEORADIUS", "g", "15", "37", "x", "km"),
        ("GEORADIUS", "g", "15", "37", "1", "yards"), ("GEORADIUS", "g", "195", "37", "1", "km"),
        ("GEORADIUS", "g", "15", "37", "200", "km", "FOO"),
        ("GEORADIUS", "g", "15", "37", "200", "km", "STORE", "dst"), ("ZRANGE", "dst", "0", "-1", "WITHSCORES"),
        ("GEORADIUS", "g", "15", "37", "200", "km", "STOREDIST", "dst"), ("ZRANGE", "dst", "0", "-1", "WITHSCORES"),
        ("GEORADIUS", "g", "15", "37", "200", "km", "STORE", "dst", "WITHDIST"),
        ("GEORADIUS", "g", "15", "37", "1", "m", "STORE", "dst"), ("EXISTS", "dst"),
        ("GEORADIUS", "nokey", "15", "37", "200", "km"), ("GEORADIUS", "nokey", "15", "37", "200", "km", "STORE", "x"),
        ("GEORADIUS_RO", "g", "15", "37", "200", "km", "STORE", "dst"),
        ("GEORADIUS_RO", "g", "15", "37", "200", "km", "WITHDIST"),
        ("GEORADIUSBYMEMBER", "g", "Palermo", "200", "km", "WITHDIST"),
        ("GEORADIUSBYMEMBER", "g", "nobody", "200", "km"), ("GEORADIUSBYMEMBER", "g", "nobody", "x", "km"),
        ("GEORADIUSBYMEMBER", "nokey", "nobody", "x", "km"),
        ("GEORADIUSBYMEMBER", "nokey", "nobody", "x", "km", "STORE", "dst"),
        ("GEORADIUSBYMEMBER_RO", "g", "Palermo", "200", "km", "WITHCOORD"),
        ("GEOSEARCH", "g", "FROMMEMBER", "Palermo", "BYRADIUS", "200", "km", "ASC", "WITHDIST"),
        ("GEOSEARCH", "g", "FROMLONLAT", "15", "37", "BYBOX", "400", "400", "km", "ASC", "WITHDIST"),
        ("GEOSEARCH", "g", "FROMLONLAT", "15", "37", "BYBOX", "400", "-1", "km"),
        ("GEOSEARCH", "g", "FROMLONLAT", "15", "37", "BYBOX", "x", "1", "km"),
        ("GEOSEARCH", "g", "FROMLONLAT", "15", "37", "BYBOX", "1", "x", "km"),
        ("GEOSEARCH", "g", "FROMLONLAT", "15", "37", "BYRADIUS", "1", "km", "BYBOX", "1", "1", "km"),
        ("GEOSEARCH", "g", "FROMMEMBER", "Palermo", "FROMLONLAT", "15", "37", "BYRADIUS", "1", "km"),
        ("GEOSEARCH", "g", "FROMMEMBER", "nobody", "BYRADIUS", "1", "km"),
        ("GEOSEARCH", "g", "BYRADIUS", "1", "km", "ASC"), ("geosearch", "g", "BYRADIUS", "1", "km", "ASC"),
        ("GEOSEARCH", "g", "FROMLONLAT", "15", "37", "ASC", "DESC"),
        ("GeoSearch", "g", "FROMLONLAT", "15", "37", "ASC", "DESC"),
        ("GEOSEARCH", "g", "FROMLONLAT", "15", "37", "BYRADIUS", "1", "km", "STORE", "x"),
        ("GEOSEARCH", "g", "FROMLONLAT", "15", "37", "BYRADIUS", "1", "km", "STOREDIST"),
        ("GEOSEARCH", "nokey", "FROMMEMBER", "x", "BYRADIUS", "1", "km"),
        ("GEOSEARCH", "nokey", "FROMMEMBER", "x", "BYRADIUS", "1", "km", "WITHDIST"),
        ("GEOSEARCHSTORE", "dst", "g", "FROMLONLAT", "15", "37", "BYRADIUS", "200", "km", "STOREDIST"),
        ("ZRANGE", "dst", "0", "-1", "WITHSCORES"),
        ("GEOSEARCHSTORE", "dst", "g", "FROMLONLAT", "15", "37", "BYRADIUS", "200", "km", "COUNT", "1", "DESC"),
        ("ZRANGE", "dst", "0", "-1", "WITHSCORES"),
        ("GEOSEARCHSTORE", "dst", "g", "FROMLONLAT", "15", "37", "BYRADIUS", "200", "km", "WITHDIST"),
        ("GEOSEARCHSTORE", "dst", "nokey", "FROMLONLAT", "15", "37", "BYRADIUS", "200", "km"), ("EXISTS", "dst"),
        ("GEOSEARCHSTORE", "dst", "g", "FROMLONLAT", "15", "37", "BYRADIUS", "200", "km", "STORE", "x"),
        ("GEOSEARCH", "g", "FROMLONLAT", "0", "0", "BYRADIUS", "0", "m", "WITHDIST"),
    ]
    for cmd in cmds:
        d.check(*cmd)


def test_random_points_and_radii(gdiff):
    d = gdiff
    rng = random.Random(7)
    for key in range(3):
        d.check("GEOADD", f"p{key}", *_points(rng, 400))
    d.check("GEOPOS", "p0", *(f"m{i}" for i in range(0, 400, 7)))
    d.check("GEOHASH", "p1", *(f"m{i}" for i in range(0, 400, 7)))
    radii = [("1", "m"), ("50", "m"), ("1", "km"), ("30", "km"), ("250", "km"), ("1000", "km"), ("5000", "km"),
             ("3000", "mi"), ("100000", "ft")]
    for _ in range(40):
        key = f"p{rng.randrange(3)}"
        lon, lat = f"{rng.uniform(-180, 180):.5f}", f"{rng.uniform(-85, 85):.5f}"
        if rng.random() < 0.3:
            lat = f"{rng.choice([1, -1]) * rng.uniform(78, 85):.5f}"
        if rng.random() < 0.3:
            lon = f"{rng.choice([1, -1]) * rng.uniform(178, 180):.5f}"
        radius, unit = rng.choice(radii)
        d.check("GEOSEARCH", key, "FROMLONLAT", lon, lat, "BYRADIUS", radius, unit, "ASC", "WITHDIST", "WITHCOORD",
                "WITHHASH")
        d.check("GEOSEARCH", key, "FROMLONLAT", lon, lat, "BYBOX", radius, str(float(radius) * 2), unit, "DESC",
                "WITHDIST")
        d.check("GEORADIUS", key, lon, lat, radius, unit, "COUNT", "5", "WITHDIST")
        d.check("GEOSEARCH", key, "FROMLONLAT", lon, lat, "BYRADIUS", radius, unit, sort=True)
        member = f"m{rng.randrange(400)}"
        d.check("GEORADIUSBYMEMBER", key, member, radius, unit, "WITHDIST", "ASC")
        d.check("GEODIST", key, member, f"m{rng.randrange(400)}", unit)


def test_equal_positions_keep_redis_order(gdiff):
    """Members at one position tie on distance; their order comes from the scan and the sort."""
    d = gdiff
    args = []
    for i in range(30):
        args += ["10", "10", f"same{i:02d}"]
        args += ["10.001", "10.001", f"near{i:02d}"]
    d.check("GEOADD", "t", *args)
    d.check("GEOSEARCH", "t", "FROMLONLAT", "10", "10", "BYRADIUS", "1", "km", "ASC")
    d.check("GEOSEARCH", "t", "FROMLONLAT", "10", "10", "BYRADIUS", "1", "km", "DESC")
    d.check("GEOSEARCH", "t", "FROMLONLAT", "10", "10", "BYRADIUS", "1", "km")
    d.check("GEOSEARCH", "t", "FROMLONLAT", "10", "10", "BYRADIUS", "1", "km", "COUNT", "40", "ANY")
    for count in ("1", "5", "31", "59"):
        d.check("GEOSEARCH", "t", "FROMLONLAT", "10", "10", "BYRADIUS", "1", "km", "COUNT", count)
        d.check("GEOSEARCH", "t", "FROMLONLAT", "10", "10", "BYRADIUS", "1", "km", "COUNT", count, "DESC")


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(lon=st.floats(-180, 180), lat=st.floats(-85.05112878, 85.05112878),
       radius=st.sampled_from([1, 10, 1000, 100_000, 1_000_000, 5_000_000]), count=st.integers(0, 6))
def test_hypothesis_searches(diff, lon, lat, radius, count):
    if not getattr(diff, "_geo_seeded", False):
        diff.check("GEOADD", "h", *_points(random.Random(3), 300))
        diff._geo_seeded = True
    extra = ["COUNT", str(count)] if count else []
    diff.check("GEOSEARCH", "h", "FROMLONLAT", repr(lon), repr(lat), "BYRADIUS", str(radius), "m", *extra,
               "WITHDIST", "WITHCOORD")
    diff.check("GEOSEARCH", "h", "FROMLONLAT", repr(lon), repr(lat), "BYBOX", str(radius), str(radius / 3), "m",
               *extra, "DESC", "WITHHASH")
    diff.check("GEOADD", "h2", repr(lon), repr(lat), "x")
    diff.check("GEOPOS", "h2", "x")
    diff.check("GEOHASH", "h2", "x")


def test_dense_area_searches(diff):
    """Thousands of members in a few kilometres: small circles and boxes, COUNT with and without
    ANY (whose answer depends on the order members are visited), near and across cell edges."""
    rng = random.Random(11)
    args = []
    for i in range(3000):
        args += [f"{2.3 + rng.random() * 0.2:.6f}", f"{48.8 + rng.random() * 0.15:.6f}", f"p{i}"]
    diff.check("GEOADD", "paris", *args)
    for _ in range(60):
        lon, lat = f"{2.3 + rng.random() * 0.2:.5f}", f"{48.8 + rng.random() * 0.15:.5f}"
        radius = rng.choice(["100", "500", "1", "3", "8", "25"])
        unit = "m" if radius in ("100", "500") else "km"
        diff.check("GEOSEARCH", "paris", "FROMLONLAT", lon, lat, "BYRADIUS", radius, unit, "ASC", "WITHDIST")
        diff.check("GEOSEARCH", "paris", "FROMLONLAT", lon, lat, "BYRADIUS", radius, unit, "COUNT", "7", "ANY")
        diff.check("GEOSEARCH", "paris", "FROMLONLAT", lon, lat, "BYBOX", radius, str(float(radius) / 2), unit,
                   "WITHCOORD")
        diff.check("GEORADIUS", "paris", lon, lat, radius, unit, "COUNT", "5", "DESC")
