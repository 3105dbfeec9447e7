"""Persistence: Redis's RDB snapshot format and the append-only file.

- ``crc64``: the checksum that ends an RDB file and a DUMP payload.
- ``lzf``: the LZF compression Redis applies to long strings in RDB files.
- ``rdb``: reading and writing RDB files and DUMP payloads, byte-compatible with Redis 7.0.
- ``aof``: the multi-part append-only file (manifest, base and incremental files).

The commands that use them (SAVE, BGSAVE, DUMP, RESTORE ...) live in
``server.commands.persistence``; nothing here touches a socket.
"""
