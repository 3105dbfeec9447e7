"""Lua scripting as Redis 7.0 runs it: EVAL scripts and FUNCTION libraries.

- ``sandbox``: the one Lua 5.1 state (lupa), its globals locked down as Redis locks them, and the
  ``redis`` table's Lua side;
- ``convert``: Lua values ⇄ replies, RESP2 and RESP3, with Redis's rules;
- ``libs``: the libraries Redis bundles (cjson, cmsgpack, bit, struct), backed by Python;
- ``engine``: the script cache, one run at a time, ``redis.call``'s checks, busy scripts;
- ``functions``: FUNCTION libraries, their registry and their dump format.
"""
