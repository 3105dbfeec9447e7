"""The cluster bus's messages, byte for byte as Redis 7.0 lays them out (cluster.h).

Every message starts with the same 2256-byte header, all integers in network
order: ``RCmb``, the total length, protocol version 1, the sender's client port,
the type, a count (gossip entries), the sender's current and config epochs, its
replication offset, its 40-character name, the 16384-bit bitmap of the slots it
(or its master) serves, its master's name (zeros for a master), an announced IP
(zeros: use the socket's peer address), the number of ping extensions, 30 unused
bytes, the plaintext and bus ports, the node flags, the cluster state seen by the
sender and three bytes of message flags. The type's data follows:

- PING / PONG / MEET: ``count`` gossip entries of 104 bytes (name, ping sent and
  pong received in seconds, IP, port, bus port, flags, plaintext port, 2 unused),
  then, when flag ``EXT_DATA`` is set, extensions (length, type, 2 unused, data
  padded to 8 bytes). 7.0 knows one extension: the announced hostname (type 0).
- FAIL: the failing node's name. UPDATE: a config epoch, a node name, its slots.
- PUBLISH / PUBLISHSHARD: channel length, message length, then both.
- FAILOVER_AUTH_REQUEST / ACK, MFSTART: the header alone.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

SIGNATURE = b"RCmb"
PROTO_VERSION = 1
NAME_LEN = 40
IP_LEN = 46
NULL_NAME = b"\x00" * NAME_LEN

PING, PONG, MEET, FAIL, PUBLISH, AUTH_REQUEST, AUTH_ACK, UPDATE, MFSTART, MODULE, PUBLISHSHARD = range(11)
TYPE_COUNT = 11
TYPE_NAMES = ("ping", "pong", "meet", "fail", "publish", "auth-req", "auth-ack", "update", "mfstart", "module",
              "publishshard")

# Node flags (as sent in headers and gossip, and shown by CLUSTER NODES).
MASTER, REPLICA, PFAIL, FAILED, MYSELF, HANDSHAKE, NOADDR, MEET_FLAG, MIGRATE_TO, NOFAILOVER = (
    1, 2, 4, 8, 16, 32, 64, 128, 256, 512)
FLAG_NAMES = ((MYSELF, "myself"), (MASTER, "master"), (REPLICA, "slave"), (PFAIL, "fail?"), (FAILED, "fail"),
              (HANDSHAKE, "handshake"), (NOADDR, "noaddr"), (NOFAILOVER, "nofailover"))

# Message flags (mflags[0]).
MF_PAUSED, MF_FORCEACK, MF_EXT_DATA = 1, 2, 4
EXT_HOSTNAME = 0

HEADER = struct.Struct(">4sIHHHHQQQ40s2048s40s46sH30sHHHB3s")
GOSSIP = struct.Struct(">40sII46sHHHHH")
EXT_HEADER = struct.Struct(">IHH")
UPDATE_DATA = struct.Struct(">Q40s2048s")
PUBLISH_DATA = struct.Struct(">II")
HEADER_LEN = HEADER.size  # 2256: also CLUSTERMSG_MIN_LEN
assert HEADER_LEN == 2256 and GOSSIP.size == 104


def pad8(size: int) -> int:
    return (size + 7) // 8 * 8


def cstr(raw: bytes) -> str:
    """A NUL-terminated field as text."""
    return raw.split(b"\x00", 1)[0].decode("latin-1")


@dataclass
class Gossip:
    name: bytes
    ping_sent: int  # seconds
    pong_received: int  # seconds
    ip: str
    port: int
    cport: int
    flags: int
    pport: int

    def pack(self) -> bytes:
        return GOSSIP.pack(self.name, self.ping_sent & 0xFFFFFFFF, self.pong_received & 0xFFFFFFFF,
                           self.ip.encode()[: IP_LEN - 1], self.port, self.cport, self.flags, self.pport, 0)


@dataclass
class Message:
    """One decoded (or to be encoded) bus message."""

    type: int
    sender: bytes = NULL_NAME
    port: int = 0
    pport: int = 0
    cport: int = 0
    flags: int = 0
    current_epoch: int = 0
    config_epoch: int = 0
    offset: int = 0
    myslots: bytes = bytes(2048)
    master: bytes = NULL_NAME
    myip: str = ""
    state: int = 0
    mflags: int = 0
    gossip: list[Gossip] = field(default_factory=list)
    hostname: str | None = None  # the hostname extension, if sent
    about: bytes = NULL_NAME  # FAIL, UPDATE: the node concerned
    update_epoch: int = 0  # UPDATE
    update_slots: bytes = bytes(2048)  # UPDATE
    channel: bytes = b""  # PUBLISH
    payload: bytes = b""  # PUBLISH

    def encode(self) -> bytes:
        body = b""
        count = 0
        extensions = 0
        mflags = self.mflags
        if self.type in (PING, PONG, MEET):
            body = b"".join(g.pack() for g in self.gossip)
            count = len(self.gossip)
            if self.hostname:
                name = self.hostname.encode()
                size = EXT_HEADER.size + pad8(len(name) + 1)
                body += EXT_HEADER.pack(size, EXT_HOSTNAME, 0) + name.ljust(size - EXT_HEADER.size, b"\x00")
                extensions = 1
                mflags |= MF_EXT_DATA
        elif self.type == FAIL:
            body = self.about
        elif self.type == UPDATE:
            body = UPDATE_DATA.pack(self.update_epoch, self.about, self.update_slots)
        elif self.type in (PUBLISH, PUBLISHSHARD):
            body = PUBLISH_DATA.pack(len(self.channel), len(self.payload)) + self.channel + self.payload
        total = HEADER_LEN + len(body)
        header = HEADER.pack(SIGNATURE, total, PROTO_VERSION, self.port, self.type, count, self.current_epoch,
                             self.config_epoch, self.offset, self.sender, self.myslots, self.master,
                             self.myip.encode()[: IP_LEN - 1], extensions, bytes(30), self.pport, self.cport,
                             self.flags, self.state, bytes((mflags, 0, 0)))
        return header + body


class BadMessage(Exception):
    """A message whose length does not add up (Redis logs and ignores it)."""


def decode(raw: bytes) -> Message:
    """Parse one whole message (``raw`` is exactly ``totlen`` bytes)."""
    (_sig, total, version, port, mtype, count, current, config, offset, sender, myslots, master, myip,
     extensions, _unused, pport, cport, flags, state, mflags) = HEADER.unpack_from(raw)
    if version != PROTO_VERSION:
        raise BadMessage("version")
    msg = Message(type=mtype, sender=sender, port=port, pport=pport, cport=cport, flags=flags,
                  current_epoch=current, config_epoch=config, offset=offset, myslots=myslots, master=master,
                  myip=cstr(myip), state=state, mflags=mflags[0])
    if mtype in (PING, PONG, MEET):
        expected = HEADER_LEN + GOSSIP.size * count
        pos = expected
        if mflags[0] & MF_EXT_DATA:
            for _ in range(extensions):
                if pos + EXT_HEADER.size > total:
                    raise BadMessage("extension past the end")
                length, ext_type, _ = EXT_HEADER.unpack_from(raw, pos)
                if length % 8 or length < EXT_HEADER.size or total - expected < length:
                    raise BadMessage("extension length")
                if ext_type == EXT_HOSTNAME:
                    msg.hostname = cstr(raw[pos + EXT_HEADER.size : pos + length])
                pos += length
                expected += length
        if total != expected:
            raise BadMessage(f"length {total}, expected {expected}")
        for i in range(count):
            name, ping_sent, pong_received, ip, gport, gcport, gflags, gpport, _ = GOSSIP.unpack_from(
                raw, HEADER_LEN + i * GOSSIP.size)
            msg.gossip.append(Gossip(name, ping_sent, pong_received, cstr(ip), gport, gcport, gflags, gpport))
    elif mtype == FAIL:
        if total != HEADER_LEN + NAME_LEN:
            raise BadMessage("fail length")
        msg.about = raw[HEADER_LEN : HEADER_LEN + NAME_LEN]
    elif mtype == UPDATE:
        if total != HEADER_LEN + UPDATE_DATA.size:
            raise BadMessage("update length")
        msg.update_epoch, msg.about, msg.update_slots = UPDATE_DATA.unpack_from(raw, HEADER_LEN)
    elif mtype in (PUBLISH, PUBLISHSHARD):
        if total < HEADER_LEN + 8:
            raise BadMessage("publish length")
        clen, mlen = PUBLISH_DATA.unpack_from(raw, HEADER_LEN)
        if total != HEADER_LEN + 8 + clen + mlen:
            raise BadMessage("publish length")
        start = HEADER_LEN + 8
        msg.channel = raw[start : start + clen]
        msg.payload = raw[start + clen : start + clen + mlen]
    elif mtype in (AUTH_REQUEST, AUTH_ACK, MFSTART):
        if total != HEADER_LEN:
            raise BadMessage("header-only length")
    return msg


def slot_bit(bitmap: bytes | bytearray, slot: int) -> bool:
    return bool(bitmap[slot >> 3] & (1 << (slot & 7)))
