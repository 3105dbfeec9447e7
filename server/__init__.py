"""A Redis-compatible data-structure server on one asyncio event loop.

Layers, from the wire inward: ``protocol`` (bytes ⇄ frames and replies),
``network`` (sockets), ``dispatch`` (the checks before a command runs),
``commands`` (one module per command family, declared in the ``command``
table), ``keyspace`` (databases, expiry) and ``datatypes`` (lists, hashes,
sets, sorted sets). ``instance`` holds the running server; ``main`` starts it.
"""

__version__ = "0.1.0"
REDIS_VERSION = "7.0.15"  # the Redis release whose behaviour we reproduce
