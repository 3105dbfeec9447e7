"""List commands, blocking ones included (t_list.c and the list half of blocked.c in Redis).

A list value is a ``ListValue`` (a deque, head at the left). Every command
follows Redis 7.0's order of checks: arguments that Redis parses before
looking at the key are parsed first here too, so the same bad request gives
the same error whether or not the key exists.

Blocking commands (BLPOP BRPOP BLMPOP BLMOVE BRPOPLPUSH) first try to serve
at once, exactly like their non-blocking forms. When every key is empty they
return a ``Blocked`` whose ``retry`` serves the client once a push makes one of
its keys ready (``server.blocking`` calls it, in arrival order). Inside EXEC a
blocking command never waits: it answers as if it had timed out at once.
A served blocked client emits the same keyspace events as the plain command.
"""

from __future__ import annotations

from collections.abc import Callable

from server.client import Blocked, Client
from server.command import command, numkeys_keys
from server.commands.args import (
    LLONG_MIN,
    NO_SUCH_KEY,
    NOT_INTEGER,
    NOT_POSITIVE,
    SYNTAX_ERROR,
    ArgCursor,
    parse_int,
    parse_mpop,
    parse_timeout,
    rank_range,
    to_int,
)
from server.datatypes.list import ListValue
from server.keyspace import NOTIFY_LIST, WRONGTYPE
from server.protocol import NULL_ARRAY, OK, Error

INDEX_OUT_OF_RANGE = Error(b"ERR index out of range")
RANK_ZERO = Error(
    b"ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... "
    b"or use negative to start from the end of the list"
)
COUNT_NEGATIVE = Error(b"ERR COUNT can't be negative")
MAXLEN_NEGATIVE = Error(b"ERR MAXLEN can't be negative")
EMPTY: list = []


# --------------------------------------------------------------------------- helpers


def parse_where(arg: bytes) -> bool:
    """LEFT / RIGHT → True for the head (left)."""
    word = arg.upper()
    if word == b"LEFT":
        return True
    if word == b"RIGHT":
        return False
    raise SYNTAX_ERROR


def elements_removed(ctx: Client, key: bytes, lst: ListValue, left: bool) -> None:
    """After a pop: the ``lpop``/``rpop`` event, then delete an emptied list with ``del``."""
    db = ctx.db
    ks = db.keyspace
    if ks.notify_flags & NOTIFY_LIST:
        ks.notify(NOTIFY_LIST, b"lpop" if left else b"rpop", key, db.id)
    if lst:
        db.touch(key)
    else:
        db.delete_with_event(key)


def pop_many(lst: ListValue, left: bool, count: int) -> list[bytes]:
    """Pop up to ``count`` elements from one end, in the order they come off."""
    if count >= len(lst):
        out = list(lst) if left else list(reversed(lst))
        lst.clear()
        return out
    pop = lst.popleft if left else lst.pop
    return [pop() for _ in range(count)]


def pusher(left: bool, create: bool) -> Callable[..., int]:
    """The body of LPUSH/RPUSH (``create``) and LPUSHX/RPUSHX: push in argument order; the new
    length. Each command is this body itself, bound to its direction: no second call per request."""
    event = b"lpush" if left else b"rpush"

    def push(ctx: Client, key: bytes, *elements: bytes) -> int:
        db = ctx.db
        lst = db.lookup_type(key, ListValue, read=False)
        if lst is None:
            if not create:
                return 0
            lst = ListValue()
            db.add(key, lst)
        else:
            db.touch(key)
        if left:
            lst.extendleft(elements)
        else:
            lst.extend(elements)
        ks = db.keyspace
        if ks.notify_flags & NOTIFY_LIST:
            ks.notify(NOTIFY_LIST, event, key, db.id)
        if ks.blocked_keys:
            db.signal_ready(key)
        return len(lst)

    return push


def move_element(ctx: Client, src: bytes, lst: ListValue, dst: bytes, dst_list: ListValue | None,
                 from_left: bool, to_left: bool) -> bytes:
    """The body of LMOVE once both keys are checked: pop, push, then the source's events."""
    db = ctx.db
    value = lst.popleft() if from_left else lst.pop()
    if dst_list is None:
        dst_list = ListValue()
        db.add(dst, dst_list)
    else:
        db.touch(dst)
    if to_left:
        dst_list.appendleft(value)
    else:
        dst_list.append(value)
    ctx.db.notify(NOTIFY_LIST, b"lpush" if to_left else b"rpush", dst)
    db.signal_ready(dst)
    elements_removed(ctx, src, lst, from_left)
    return value


# --------------------------------------------------------------------------- pushes


lpush = command(
    "lpush", arity=-3, flags="write denyoom fast", acl="list", group="list",
    summary="Adds elements at the head of a list (creating it); returns the new length.",
    args="key element ...", complexity="O(1) per element",
    keys="RW insert @1",
)(pusher(True, True))


rpush = command(
    "rpush", arity=-3, flags="write denyoom fast", acl="list", group="list",
    summary="Adds elements at the tail of a list (creating it); returns the new length.",
    args="key element ...", complexity="O(1) per element",
    keys="RW insert @1",
)(pusher(False, True))


lpushx = command(
    "lpushx", arity=-3, flags="write denyoom fast", acl="list", group="list",
    since="2.2.0", summary="Adds elements at the head of a list only if the list already exists.",
    args="key element ...", complexity="O(1) per element",
    keys="RW insert @1",
)(pusher(True, False))


rpushx = command(
    "rpushx", arity=-3, flags="write denyoom fast", acl="list", group="list",
    since="2.2.0", summary="Adds elements at the tail of a list only if the list already exists.",
    args="key element ...", complexity="O(1) per element",
    keys="RW insert @1",
)(pusher(False, False))


# --------------------------------------------------------------------------- pops


def pop_command(ctx: Client, key: bytes, count_args: tuple[bytes, ...], left: bool, name: bytes) -> object:
    """LPOP/RPOP: one element (bulk reply), or with a count an array (null array if no key)."""
    if not count_args:
        db = ctx.db
        lst = db.lookup_type(key, ListValue, read=False)
        if lst is None:
            return None
        value = lst.popleft() if left else lst.pop()
        elements_removed(ctx, key, lst, left)
        return value
    if len(count_args) > 1:
        raise Error(b"ERR wrong number of arguments for '%s' command" % name)
    count = to_int(count_args[0])
    if count is None or count < 0:
        raise NOT_POSITIVE
    lst = ctx.db.lookup_type(key, ListValue, read=False)
    if lst is None:
        return NULL_ARRAY
    if count == 0:
        return []
    out = pop_many(lst, left, count)
    elements_removed(ctx, key, lst, left)
    return out


@command("lpop", arity=-2, flags="write fast", acl="list", group="list",
         summary="Removes and returns the first element of a list, or the first count elements.",
         args="key [count{since=6.2.0}]", complexity="O(N) for N elements returned",
         keys="RW access delete @1")
def lpop(ctx: Client, key: bytes, *count: bytes) -> object:
    return pop_command(ctx, key, count, True, b"lpop")


@command("rpop", arity=-2, flags="write fast", acl="list", group="list",
         summary="Removes and returns the last element of a list, or the last count elements.",
         args="key [count{since=6.2.0}]", complexity="O(N) for N elements returned",
         keys="RW access delete @1")
def rpop(ctx: Client, key: bytes, *count: bytes) -> object:
    return pop_command(ctx, key, count, False, b"rpop")


def mpop_from(ctx: Client, keys: list[bytes], left: bool, count: int, serving: bool) -> list | None:
    """Pop from the first non-empty list among ``keys``: ``[key, [elements]]``, or None.

    A key of another type is WRONGTYPE when a command runs, but when a blocked
    client is being served Redis only looks at lists and keeps it waiting.
    """
    db = ctx.db
    for key in keys:
        value = db.lookup(key)
        if value is None:
            continue
        if value.__class__ is not ListValue:
            if serving:
                continue
            raise WRONGTYPE
        out = pop_many(value, left, count)
        elements_removed(ctx, key, value, left)
        return [key, out]
    return None


@command("lmpop", arity=-4, flags="write", acl="list", group="list", since="7.0.0",
         summary="Pops one or more elements from the first non-empty list among the given keys.",
         args="numkeys key ... (LEFT|RIGHT){name=where} [COUNT count]",
         complexity="O(N+M) for N keys tried and M elements returned",
         getkeys=numkeys_keys(0, 1, 2),
         keys="RW access delete @1 keynum(0,1,1)")
def lmpop(ctx: Client, *args: bytes) -> object:
    keys, left, count = parse_mpop(args, b"LEFT", b"RIGHT")
    reply = mpop_from(ctx, keys, left, count, False)
    return NULL_ARRAY if reply is None else reply


# --------------------------------------------------------------------------- reads


@command("llen", arity=2, flags="readonly fast", keys="RO @1", acl="list", group="list",
         summary="Returns the number of elements in a list (0 if it does not exist).", args="key")
def llen(ctx: Client, key: bytes) -> int:
    lst = ctx.db.lookup_type(key, ListValue)
    return 0 if lst is None else len(lst)


@command("lrange", arity=4, flags="readonly", keys="RO access @1", acl="list", group="list",
         summary="Returns the elements between two indexes, inclusive (negative counts from the tail).",
         args="key start stop", complexity="O(S+N): S the distance from the nearer end, N elements returned")
def lrange(ctx: Client, key: bytes, start_arg: bytes, stop_arg: bytes) -> object:
    start = to_int(start_arg)
    stop = to_int(stop_arg)
    if start is None or stop is None:
        raise NOT_INTEGER
    lst = ctx.db.lookup_type(key, ListValue)
    if lst is None:
        return EMPTY
    bounds = rank_range(start, stop, len(lst))
    if bounds is None:
        return EMPTY
    return lst.window(bounds[0], bounds[1])


@command("lindex", arity=3, flags="readonly", keys="RO access @1", acl="list", group="list",
         summary="Returns the element at an index (negative counts from the tail), or nil.",
         args="key index", complexity="O(N) for the distance to the nearer end")
def lindex(ctx: Client, key: bytes, index_arg: bytes) -> bytes | None:
    lst = ctx.db.lookup_type(key, ListValue)
    if lst is None:
        return None
    index = parse_int(index_arg)
    n = len(lst)
    if index < 0:
        index += n
    if not 0 <= index < n:
        return None
    return lst[index]


@command("lpos", arity=-3, flags="readonly", acl="list", group="list", since="6.0.6",
         summary="Finds the index of matching elements, with RANK, COUNT and MAXLEN controls.",
         args="key element [RANK rank] [COUNT num-matches{type=integer}] [MAXLEN len]", complexity="O(N)",
         keys="RO access @1")
def lpos(ctx: Client, key: bytes, element: bytes, *options: bytes) -> object:
    rank = 1
    count = -1
    maxlen = 0
    args = ArgCursor(options)
    while args:
        opt = args.next_keyword()
        if opt == b"RANK" and args.has(1):
            rank = args.next_int()
            if rank == 0:
                raise RANK_ZERO
        elif opt == b"COUNT" and args.has(1):
            count = args.next_int(COUNT_NEGATIVE)
            if count < 0:
                raise COUNT_NEGATIVE
        elif opt == b"MAXLEN" and args.has(1):
            maxlen = args.next_int(MAXLEN_NEGATIVE)
            if maxlen < 0:
                raise MAXLEN_NEGATIVE
        else:
            raise SYNTAX_ERROR
    from_tail = rank < 0
    # Redis negates a negative rank in a C long: LLONG_MIN stays negative, so every match qualifies.
    skip = 0 if rank == LLONG_MIN else abs(rank) - 1
    lst = ctx.db.lookup_type(key, ListValue)
    if lst is None:
        return EMPTY if count != -1 else None
    length = len(lst)
    found: list[int] = []
    matches = 0
    limit = maxlen or length
    source = reversed(lst) if from_tail else iter(lst)
    for position, item in enumerate(source):
        if position >= limit:
            break
        if item == element:
            matches += 1
            if matches > skip:
                found.append(length - 1 - position if from_tail else position)
                if count == -1:
                    return found[0]
                if count and len(found) >= count and rank != LLONG_MIN:
                    break
    if count == -1:
        return None
    return found


# --------------------------------------------------------------------------- in-place writes


@command("lset", arity=4, flags="write denyoom", acl="list", group="list",
         summary="Replaces the element at an index.", args="key index element",
         complexity="O(N) for the distance to the nearer end",
         keys="RW update @1")
def lset(ctx: Client, key: bytes, index_arg: bytes, element: bytes) -> object:
    db = ctx.db
    lst = db.lookup_type(key, ListValue, read=False)
    if lst is None:
        raise NO_SUCH_KEY
    index = parse_int(index_arg)
    n = len(lst)
    if index < 0:
        index += n
    if not 0 <= index < n:
        raise INDEX_OUT_OF_RANGE
    lst[index] = element
    db.touch(key)
    ctx.db.notify(NOTIFY_LIST, b"lset", key)
    return OK


@command("linsert", arity=5, flags="write denyoom", acl="list", group="list",
         since="2.2.0", summary="Inserts an element before or after the first occurrence of a pivot.",
         args="key (BEFORE|AFTER){name=where} pivot element", complexity="O(N)",
         keys="RW insert @1")
def linsert(ctx: Client, key: bytes, where: bytes, pivot: bytes, element: bytes) -> int:
    word = where.upper()
    if word == b"AFTER":
        after = True
    elif word == b"BEFORE":
        after = False
    else:
        raise SYNTAX_ERROR
    db = ctx.db
    lst = db.lookup_type(key, ListValue, read=False)
    if lst is None:
        return 0
    try:
        index = lst.index(pivot)
    except ValueError:
        return -1
    lst.insert(index + 1 if after else index, element)
    db.touch(key)
    ctx.db.notify(NOTIFY_LIST, b"linsert", key)
    return len(lst)


@command("lrem", arity=4, flags="write", keys="RW delete @1", acl="list", group="list",
         summary="Removes elements equal to a value: count > 0 from the head, < 0 from the tail, 0 all.",
         args="key count element", complexity="O(N+M)")
def lrem(ctx: Client, key: bytes, count_arg: bytes, element: bytes) -> int:
    count = parse_int(count_arg)
    db = ctx.db
    lst = db.lookup_type(key, ListValue, read=False)
    if lst is None:
        return 0
    removed = lst.remove_matching(element, abs(count), count < 0)
    if removed:
        ctx.db.notify(NOTIFY_LIST, b"lrem", key)
    if not lst:
        db.delete_with_event(key)
    elif removed:
        db.touch(key)
    return removed


@command("ltrim", arity=4, flags="write", keys="RW delete @1", acl="list", group="list",
         summary="Keeps only the elements between two indexes, inclusive.", args="key start stop",
         complexity="O(N) for N elements removed")
def ltrim(ctx: Client, key: bytes, start_arg: bytes, stop_arg: bytes) -> object:
    start = to_int(start_arg)
    stop = to_int(stop_arg)
    if start is None or stop is None:
        raise NOT_INTEGER
    db = ctx.db
    lst = db.lookup_type(key, ListValue, read=False)
    if lst is None:
        return OK
    n = len(lst)
    bounds = rank_range(start, stop, n)
    if bounds is None:
        lst.clear()
    else:
        lst.trim(bounds[0], n - 1 - bounds[1])
    ctx.db.notify(NOTIFY_LIST, b"ltrim", key)
    if lst:
        db.touch(key)
    else:
        db.delete_with_event(key)
    return OK


# --------------------------------------------------------------------------- moves


def lmove_command(ctx: Client, src: bytes, dst: bytes, from_left: bool, to_left: bool) -> bytes | None:
    """LMOVE/RPOPLPUSH: move one element between lists (possibly the same one)."""
    db = ctx.db
    lst = db.lookup_type(src, ListValue, read=False)
    if lst is None:
        return None
    dst_list = db.lookup_type(dst, ListValue, read=False)
    return move_element(ctx, src, lst, dst, dst_list, from_left, to_left)


@command("lmove", arity=5, flags="write denyoom", acl="list", group="list", since="6.2.0",
         summary="Pops an element from one end of a list and pushes it onto an end of another.",
         args="source destination{ks=1} (LEFT|RIGHT){name=wherefrom} (LEFT|RIGHT){name=whereto}",
         keys=("RW access delete @1", "RW insert @2"))
def lmove(ctx: Client, src: bytes, dst: bytes, wherefrom: bytes, whereto: bytes) -> bytes | None:
    from_left = parse_where(wherefrom)
    to_left = parse_where(whereto)
    return lmove_command(ctx, src, dst, from_left, to_left)


@command("rpoplpush", arity=3, flags="write denyoom", acl="list", group="list",
         since="1.2.0", summary="Pops the last element of a list and pushes it onto the head of another.",
         args="source destination{ks=1}",
         keys=("RW access delete @1", "RW insert @2"),
         doc_flags="deprecated", deprecated_since="6.2.0", replaced_by="`LMOVE` with the `RIGHT` and `LEFT` arguments")
def rpoplpush(ctx: Client, src: bytes, dst: bytes) -> bytes | None:
    return lmove_command(ctx, src, dst, False, True)


# --------------------------------------------------------------------------- blocking


def on_timeout(ctx: Client) -> object:
    """Every list blocking command times out with a null array (``*-1`` / ``_``)."""
    return NULL_ARRAY


def block_pop(ctx: Client, keys: list[bytes], timeout: float, left: bool, count: int, mpop: bool) -> object:
    """BLPOP/BRPOP (``[key, element]``) and BLMPOP (``[key, [elements]]``): serve now or wait."""
    reply = mpop_from(ctx, keys, left, count, False)
    if reply is not None:
        return reply if mpop else [reply[0], reply[1][0]]
    if ctx.executing_multi:
        return NULL_ARRAY

    def retry(client: Client) -> object:
        # Serve from the key that became ready, as Redis does (not the first non-empty one).
        ready = client.server.blocking.serving_key
        served = mpop_from(client, keys if ready is None else [ready], left, count, True)
        if served is None:
            return blocked
        return served if mpop else [served[0], served[1][0]]

    # A key named twice is waited on once, as Redis does.
    blocked = Blocked(list(dict.fromkeys(keys)), timeout, retry, on_timeout)
    return blocked


def block_move(ctx: Client, src: bytes, dst: bytes, timeout: float, from_left: bool, to_left: bool) -> object:
    """BLMOVE/BRPOPLPUSH: move now if the source has elements, else wait for it."""
    db = ctx.db
    lst = db.lookup_type(src, ListValue, read=False)
    if lst is not None:
        return move_element(ctx, src, lst, dst, db.lookup_type(dst, ListValue, read=False), from_left, to_left)
    if ctx.executing_multi:
        return None

    def retry(client: Client) -> object:
        cdb = client.db
        value = cdb.lookup(src)
        if value is None or value.__class__ is not ListValue:
            return blocked
        try:
            dst_list = cdb.lookup_type(dst, ListValue, read=False)
        except Error as exc:
            return exc.with_traceback(None)  # (shared: keep no frames) Redis answers the waiting client WRONGTYPE and unblocks it
        return move_element(client, src, value, dst, dst_list, from_left, to_left)

    blocked = Blocked([src], timeout, retry, on_timeout)
    return blocked


@command("blpop", arity=-3, flags="write noscript blocking", acl="list", group="list",
         since="2.0.0", summary="Pops the first element of the first non-empty list, waiting for one if none.",
         args="key ... timeout{type=double}", complexity="O(N) for N keys",
         keys="RW access delete @1 range(-2,1,0)")
def blpop(ctx: Client, *args: bytes) -> object:
    timeout = parse_timeout(args[-1])
    return block_pop(ctx, list(args[:-1]), timeout, True, 1, False)


@command("brpop", arity=-3, flags="write noscript blocking", acl="list", group="list",
         since="2.0.0", summary="Pops the last element of the first non-empty list, waiting for one if none.",
         args="key ... timeout{type=double}", complexity="O(N) for N keys",
         keys="RW access delete @1 range(-2,1,0)")
def brpop(ctx: Client, *args: bytes) -> object:
    timeout = parse_timeout(args[-1])
    return block_pop(ctx, list(args[:-1]), timeout, False, 1, False)


@command("blmpop", arity=-5, flags="write blocking", acl="list", group="list", since="7.0.0",
         summary="LMPOP that waits for a list to have elements when all are empty.",
         args="timeout{type=double} numkeys key ... (LEFT|RIGHT){name=where} [COUNT count]",
         complexity="O(N+M) for N keys tried and M elements returned",
         getkeys=numkeys_keys(0, 2, 3),
         keys="RW access delete @2 keynum(0,1,1)")
def blmpop(ctx: Client, timeout_arg: bytes, *args: bytes) -> object:
    keys, left, count = parse_mpop(args, b"LEFT", b"RIGHT")
    timeout = parse_timeout(timeout_arg)
    return block_pop(ctx, keys, timeout, left, count, True)


@command("blmove", arity=6, flags="write denyoom noscript blocking", acl="list", group="list",
         since="6.2.0", summary="LMOVE that waits for the source list to have elements.",
         args="source destination{ks=1} (LEFT|RIGHT){name=wherefrom} (LEFT|RIGHT){name=whereto} "
              "timeout{type=double}",
         keys=("RW access delete @1", "RW insert @2"))
def blmove(ctx: Client, src: bytes, dst: bytes, wherefrom: bytes, whereto: bytes, timeout_arg: bytes) -> object:
    from_left = parse_where(wherefrom)
    to_left = parse_where(whereto)
    timeout = parse_timeout(timeout_arg)
    return block_move(ctx, src, dst, timeout, from_left, to_left)


@command("brpoplpush", arity=4, flags="write denyoom noscript blocking", acl="list",
         group="list", since="2.2.0", summary="RPOPLPUSH that waits for the source list to have elements.",
         args="source destination{ks=1} timeout{type=double}",
         keys=("RW access delete @1", "RW insert @2"),
         doc_flags="deprecated", deprecated_since="6.2.0", replaced_by="`BLMOVE` with the `RIGHT` and `LEFT` arguments")
def brpoplpush(ctx: Client, src: bytes, dst: bytes, timeout_arg: bytes) -> object:
    timeout = parse_timeout(timeout_arg)
    return block_move(ctx, src, dst, timeout, False, True)
