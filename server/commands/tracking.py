"""Client-side caching commands: CLIENT TRACKING, CACHING, GETREDIR, TRACKINGINFO (networking.c).

The state and the invalidation messages live in ``server.tracking``; this
module parses the options with Redis's checks in Redis's order. RESET and
disconnection end tracking (``Server.reset_client``, ``Server.client_gone``);
FLUSHDB/FLUSHALL call ``Tracking.flushed``.
"""

from __future__ import annotations

from server.client import Client
from server.command import command
from server.commands.args import SYNTAX_ERROR, ArgCursor, c_string
from server.protocol import OK, Error, RespSet


def _overlap(a: bytes, b: bytes) -> bool:
    """Does one prefix start the other (stringCheckPrefix)?"""
    n = min(len(a), len(b))
    return a[:n] == b[:n]


@command("client|tracking", arity=-3, flags="noscript loading stale", acl="connection", group="connection",
         since="6.0.0", summary="Turns tracking of read keys for client-side caching on or off.",
         args="(ON|OFF){name=status} [REDIRECT client-id] [PREFIX prefix{mt} ...] [BCAST] [OPTIN] [OPTOUT] "
              "[NOLOOP]")
def client_tracking(ctx: Client, _sub: bytes, mode: bytes, *options: bytes) -> object:
    server = ctx.server
    redirect = 0
    bcast = optin = optout = noloop = False
    prefixes: list[bytes] = []
    args = ArgCursor(options)
    while args:
        opt = args.next_keyword()
        if opt == b"REDIRECT" and args.has(1):
            if redirect:
                raise Error(b"ERR A client can only redirect to a single other client")
            redirect = args.next_int()
            if redirect not in server.clients:
                raise Error(b"ERR The client ID you want redirect to does not exist")
        elif opt == b"BCAST":
            bcast = True
        elif opt == b"OPTIN":
            optin = True
        elif opt == b"OPTOUT":
            optout = True
        elif opt == b"NOLOOP":
            noloop = True
        elif opt == b"PREFIX" and args.has(1):
            prefixes.append(args.next_bytes())
        else:
            raise SYNTAX_ERROR
    state = ctx.tracking
    switch = mode.lower()
    if switch == b"on":
        if not bcast and prefixes:
            raise Error(b"ERR PREFIX option requires BCAST mode to be enabled")
        if state is not None and state.bcast != bcast:
            raise Error(b"ERR You can't switch BCAST mode on/off before disabling tracking for this client, "
                        b"and then re-enabling it with a different mode.")
        if bcast and (optin or optout):
            raise Error(b"ERR OPTIN and OPTOUT are not compatible with BCAST")
        if optin and optout:
            raise Error(b"ERR You can't specify both OPTIN mode and OPTOUT mode")
        if state is not None and ((optin and state.optout) or (optout and state.optin)):
            raise Error(b"ERR You can't switch OPTIN/OPTOUT mode before disabling tracking for this client, "
                        b"and then re-enabling it with a different mode.")
        if bcast:
            existing = state.prefixes if state is not None else []
            for i, prefix in enumerate(prefixes):
                for old in existing:
                    if _overlap(old, prefix):
                        raise Error(b"ERR Prefix '%s' overlaps with an existing prefix '%s'. Prefixes for a "
                                    b"single client must not overlap." % (c_string(prefix), c_string(old)))
                for other in prefixes[i + 1 :]:
                    if _overlap(prefix, other):
                        raise Error(b"ERR Prefix '%s' overlaps with another provided prefix '%s'. Prefixes "
                                    b"for a single client must not overlap." % (c_string(prefix), c_string(other)))
        server.tracking.enable(ctx, redirect, bcast, optin, optout, noloop, prefixes)
    elif switch == b"off":
        server.tracking.disable(ctx)
    else:
        raise SYNTAX_ERROR
    return OK


@command("client|caching", arity=3, flags="noscript loading stale", acl="connection", group="connection",
         since="6.0.0", summary="Says whether the keys of the next command should be tracked (OPTIN/OPTOUT).",
         args="(YES|NO){name=mode}")
def client_caching(ctx: Client, _sub: bytes, mode: bytes) -> object:
    state = ctx.tracking
    if state is None:
        raise Error(b"ERR CLIENT CACHING can be called only when the client is in tracking mode with OPTIN or "
                    b"OPTOUT mode enabled")
    choice = mode.lower()
    if choice == b"yes":
        if not state.optin:
            raise Error(b"ERR CLIENT CACHING YES is only valid when tracking is enabled in OPTIN mode.")
    elif choice == b"no":
        if not state.optout:
            raise Error(b"ERR CLIENT CACHING NO is only valid when tracking is enabled in OPTOUT mode.")
    else:
        raise SYNTAX_ERROR
    state.caching = True
    return OK


@command("client|getredir", arity=2, flags="noscript loading stale", acl="connection", group="connection",
         since="6.0.0", summary="Returns the ID of the connection tracking messages are redirected to (0 none, "
         "-1 when tracking is off).")
def client_getredir(ctx: Client, _sub: bytes) -> int:
    return ctx.tracking.redirect if ctx.tracking is not None else -1


@command("client|trackinginfo", arity=2, flags="noscript loading stale", acl="connection", group="connection",
         since="6.2.0", summary="Describes this connection's client-side caching settings.")
def client_trackinginfo(ctx: Client, _sub: bytes) -> dict:
    state = ctx.tracking
    flags = [b"on" if state is not None else b"off"]
    if state is not None:
        if state.bcast:
            flags.append(b"bcast")
        if state.optin:
            flags.append(b"optin")
            if state.caching:
                flags.append(b"caching-yes")
        if state.optout:
            flags.append(b"optout")
            if state.caching:
                flags.append(b"caching-no")
        if state.noloop:
            flags.append(b"noloop")
        if state.broken_redirect:
            flags.append(b"broken_redirect")
    return {
        b"flags": RespSet(flags),
        b"redirect": state.redirect if state is not None else -1,
        b"prefixes": sorted(state.prefixes) if state is not None else [],
    }
