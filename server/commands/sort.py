"""SORT and SORT_RO (sort.c in Redis): sort a list, set or sorted set, optionally by external keys.

The elements are compared as numbers (parsed like C's ``strtod``; equal numbers
fall back to comparing the elements as bytes) or, with ALPHA, as strings (as
``strcoll`` in the C locale does, which stops at a NUL byte; with STORE as
plain bytes). ``BY pattern`` replaces each element by the value of the key
the pattern names once its first ``*`` is replaced by the element
(``weight_*``, or ``h_*->field`` for a hash field); a pattern without ``*``
("nosort") keeps the collection's own order, which for a sorted set is its
score order. ``GET pattern`` reads such keys for the reply (``#`` is the
element itself). ``LIMIT`` selects the range, and with BY only that range is
sorted, by Redis's partial quicksort. BY and GET patterns may read any key, so
they need ACL access to every key.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

from server.acl import User
from server.client import Client
from server.command import K_ACCESS, K_OW, K_RO, K_UPDATE, TABLE, command
from server.commands.args import SYNTAX_ERROR, ArgCursor, c_string
from server.commands.zsets import strtod
from server.datatypes.hash import HashValue
from server.datatypes.list import ListValue
from server.datatypes.set import SetValue
from server.datatypes.zset import ZSetValue
from server.keyspace import NOTIFY_GENERIC, NOTIFY_LIST, WRONGTYPE, Database
from server.pqsort import partial_sort
from server.protocol import Error

NOT_DOUBLE = Error(b"ERR One or more scores can't be converted into double")
_C_SPACE = b" \t\n\v\f\r"


def lookup_by_pattern(db: Database, pattern: bytes, element: bytes) -> bytes | None:
    """lookupKeyByPattern: ``#`` is the element; ``a*b`` the string at key a<element>b;
    ``a*b->f`` field f of the hash at that key; None when absent, of another type, or when
    the pattern has no ``*``."""
    c_pattern = c_string(pattern)
    if c_pattern == b"#":
        return element
    star = c_pattern.find(b"*")
    if star < 0:
        return None
    arrow = c_pattern.find(b"->", star + 1)
    field: bytes | None = None
    end = len(pattern)
    if arrow >= 0 and arrow + 2 < len(c_pattern):
        field = pattern[arrow + 2 :]
        end = arrow
    key = pattern[:star] + element + pattern[star + 1 : end]
    value = db.lookup_read(key)
    if value is None:
        return None
    if field is not None:
        if not isinstance(value, HashValue):
            return None
        return value.get(field)
    if isinstance(value, (bytes, bytearray)):
        return bytes(value)
    return None


def _score(value: bytes) -> float | None:
    """A weight read as Redis reads it (strtod, whole C string); None when it is not a number."""
    if value.isdigit() and len(value) < 300:
        return float(value)
    text = c_string(value)
    if not text:
        return 0.0
    parsed = strtod(text.lstrip(_C_SPACE)) if text.lstrip(_C_SPACE) else None
    if parsed is None or parsed[1] or parsed[0] != parsed[0]:
        return None
    return parsed[0]


def _integer_order(elements: list[bytes], desc: bool) -> list[bytes] | None:
    """The numeric SORT of elements that are all short unsigned integers, at C speed; None when
    some element is anything else (the general path decides).

    Up to 15 digits an integer's double is exact, so ``int`` orders them as strtod's doubles do.
    Equal numbers tie-break on their bytes; only leading zeros make equal numbers of unequal
    bytes, and then a sort by bytes first gives that order (a stable reversed sort keeps the
    bytes' descending order for DESC).
    """
    try:
        if not all(map(bytes.isdigit, elements)) or max(map(len, elements), default=0) > 15:
            return None
    except TypeError:  # a bytearray among them
        return None
    if b"\n0" in b"\n" + b"\n".join(elements):
        elements = sorted(elements, reverse=desc)
    return sorted(elements, key=int, reverse=desc)


def _full_key_access(ctx: Client, argv: list[bytes], readonly: bool) -> bool:
    """Whether the user may read every key (Redis's check before accepting BY/GET patterns).

    The root permissions or a selector must both allow this SORT and read every key
    (ACLUserCheckCmdWithUnrestrictedKeyAccess).
    """
    users = cast(dict[str, User], cast(Any, ctx.server).acl.users)
    user = users.get(ctx.user)
    if user is None or (user.all_keys and not user.selectors):
        return True
    cmd = TABLE[b"sort_ro" if readonly else b"sort"]
    return any(
        rules.has_unrestricted_read() and rules.refusal(cmd, argv, None) is None
        for rules in (user, *user.selectors)
    )


class _Item:
    __slots__ = ("element", "score", "by")

    def __init__(self, element: bytes) -> None:
        self.element = element
        self.score = 0.0
        self.by: bytes | None = None


def _sort_store_keys(argv: list[bytes]) -> list[tuple[int, int]]:
    """sortGetKeys: the key sorted, and the last STORE destination (its key specs cannot say)."""
    keys = [(1, K_RO | K_ACCESS)]
    store = 0
    skip = {b"LIMIT": 2, b"GET": 1, b"BY": 1}
    args = ArgCursor(argv, 2)
    while args:
        word = args.next_keyword()
        if word in skip:
            args.skip(skip[word])
        elif word == b"STORE" and args.has(1):
            store = args.pos  # not skipped: the destination is read as a word too, as in Redis
    if store:
        keys.append((store, K_OW | K_UPDATE))
    return keys


def _sort(ctx: Client, key: bytes, options: tuple[bytes, ...], readonly: bool) -> object:
    desc = alpha = dontsort = False
    limit_start, limit_count = 0, -1
    sort_by: bytes | None = None
    store_key: bytes | None = None
    gets: list[bytes] = []
    full_access = _full_key_access(ctx, [b"sort", key, *options], readonly)
    args = ArgCursor(options)
    while args:
        opt = args.next_keyword()
        if opt == b"ASC":
            desc = False
        elif opt == b"DESC":
            desc = True
        elif opt == b"ALPHA":
            alpha = True
        elif opt == b"LIMIT" and args.has(2):
            limit_start = args.next_int()
            limit_count = args.next_int()
        elif opt == b"STORE" and not readonly and args.has(1):
            store_key = args.next_bytes()
        elif opt == b"BY" and args.has(1):
            sort_by = args.next_bytes()
            if b"*" not in c_string(sort_by):
                dontsort = True
            elif not full_access:
                raise Error(b"ERR BY option of SORT denied due to insufficient ACL permissions.")
        elif opt == b"GET" and args.has(1):
            if not full_access:
                raise Error(b"ERR GET option of SORT denied due to insufficient ACL permissions.")
            gets.append(args.next_bytes())
        else:
            raise SYNTAX_ERROR

    db = ctx.db
    value = db.lookup_read(key)
    if value is not None and not isinstance(value, (ListValue, SetValue, ZSetValue)):
        raise WRONGTYPE
    if value is None:
        value = ListValue()
    if dontsort and isinstance(value, SetValue) and store_key is not None:
        dontsort, alpha, sort_by = False, True, None  # a set has no order of its own to keep

    size = len(value)
    start = min(max(limit_start, 0), size)
    limit_count = min(max(limit_count, -1), size)
    end = size - 1 if limit_count < 0 else start + limit_count - 1
    if start >= size:
        start, end = size - 1, size - 2
    if end >= size:
        end = size - 1

    elements: list[bytes]
    if dontsort and isinstance(value, (ListValue, ZSetValue)):
        # The collection's own order, read straight from the range asked for.
        wanted = end - start + 1 if (start != 0 or end != size - 1) else size
        if isinstance(value, ListValue):
            ordered = reversed(value) if desc else iter(value)
        else:
            ordered = (member for _, member in value.slice(0, size, reverse=desc))
        elements = []
        if end >= start or isinstance(value, ZSetValue):
            for i, element in enumerate(ordered):
                if i >= start + wanted:
                    break
                if i >= start:
                    elements.append(element)
            end -= start
            start = 0
    elif isinstance(value, ZSetValue):
        elements = list(value.scores)
    else:
        elements = list(value)

    plain = _integer_order(elements, desc) if not dontsort and sort_by is None and not alpha else None
    if plain is not None:  # the commonest SORT: a list of integers
        result_order = plain
    elif not dontsort and sort_by is None and not alpha:
        # Numbers, no weights. Ties compare the elements as bytes, which is what ordering
        # (score, element) pairs does.
        pairs: list[tuple[float, bytes]] = []
        for element in elements:
            score = _score(element)
            if score is None:
                raise NOT_DOUBLE
            pairs.append((score, element))
        pairs.sort(reverse=desc)
        result_order = [e for _, e in pairs]
    else:
        result_order = _sorted_items(db, elements, dontsort, alpha, sort_by, store_key is not None, desc, start, end)
    chosen = result_order[start : end + 1] if end >= start else []
    if store_key is None:
        if not gets:
            return chosen
        out: list = []
        for element in chosen:
            if not gets:
                out.append(element)
            for pattern in gets:
                out.append(lookup_by_pattern(db, pattern, element))
        return out
    result = ListValue()
    for element in chosen:
        if not gets:
            result.append(element)
        for pattern in gets:
            found = lookup_by_pattern(db, pattern, element)
            result.append(b"" if found is None else found)
    if result:
        db.set(store_key, result)
        db.notify(NOTIFY_LIST, b"sortstore", store_key)
        db.signal_ready(store_key)
    elif db.delete(store_key):
        db.notify(NOTIFY_GENERIC, b"del", store_key)
    return len(result)


def _sorted_items(db: Database, elements: list[bytes], dontsort: bool, alpha: bool, sort_by: bytes | None,
                  store: bool, desc: bool, start: int, end: int) -> list[bytes]:
    """The elements in SORT's order: weights from BY, ALPHA comparisons, pqsort for a BY+LIMIT range."""
    items = [_Item(e) for e in elements]
    bad_number = False
    if not dontsort:
        for item in items:
            if sort_by is not None:
                weight = lookup_by_pattern(db, sort_by, item.element)
                if weight is None:
                    continue
            else:
                weight = item.element
            if alpha:
                if sort_by is not None:
                    item.by = weight
            else:
                score = _score(weight)
                if score is None:
                    bad_number = True
                else:
                    item.score = score
        compare = _comparator(alpha, sort_by is not None, store, desc)
        if sort_by is not None and (start != 0 or end != len(items) - 1):
            partial_sort(items, compare, start, end)
        else:
            items.sort(key=_sort_key(alpha, sort_by is not None, store), reverse=desc)
    if bad_number:
        raise NOT_DOUBLE
    return [item.element for item in items]


def _sort_key(alpha: bool, by: bool, store: bool) -> Callable[[_Item], tuple]:
    """The sort key equivalent to Redis's sortCompare (for a stable, whole-vector sort)."""
    if not alpha:
        return lambda item: (item.score, item.element)
    if by:
        if store:
            return lambda item: (item.by is not None, item.by or b"")
        return lambda item: (item.by is not None, c_string(item.by) if item.by is not None else b"")
    if store:
        return lambda item: (item.element,)
    return lambda item: (c_string(item.element),)


def _comparator(alpha: bool, by: bool, store: bool, desc: bool) -> Callable[[_Item, _Item], int]:
    """sortCompare as a three-way comparison, for the partial quicksort."""
    key = _sort_key(alpha, by, store)
    sign = -1 if desc else 1

    def compare(a: _Item, b: _Item) -> int:
        ka, kb = key(a), key(b)
        return sign * ((ka > kb) - (ka < kb))

    return compare


@command("sort", arity=-2, flags="write denyoom", acl="set sortedset list dangerous",
         group="generic", since="1.0.0", getkeys=_sort_store_keys,
         complexity="O(N+M*log(M)) where N is the number of elements to sort and M the number returned.",
         summary="Sorts the elements of a list, set or sorted set, optionally storing the result.",
         args="key [BY pattern{ks=1}] [offset count]{name=offset_count,token=LIMIT} [GET pattern{ks=1,mt} "
              "...] [ASC|DESC]{name=order} [ALPHA{name=sorting}] [STORE destination{ks=2}]",
         keys=(
               "RO access @1",
               "RO access @unknown unknown # For the optional BY/GET keyword. It is marked 'unknown' because the key names derive from the content of the key we sort",
               "OW update @unknown unknown # For the optional STORE keyword. It is marked 'unknown' because the keyword can appear anywhere in the argument array",
         ))
def sort(ctx: Client, key: bytes, *options: bytes) -> object:
    return _sort(ctx, key, options, readonly=False)


@command("sort_ro", arity=-2, flags="readonly", acl="set sortedset list dangerous",
         group="generic", since="7.0.0", getkeys=lambda argv: [(1, K_RO | K_ACCESS)],
         complexity="O(N+M*log(M)) where N is the number of elements to sort and M the number returned.",
         summary="Returns the sorted elements of a list, set or sorted set.",
         args="key [BY pattern{ks=1}] [offset count]{name=offset_count,token=LIMIT} [GET pattern{ks=1,mt} "
              "...] [ASC|DESC]{name=order} [ALPHA{name=sorting}]",
         keys=(
               "RO access @1",
               "RO access @unknown unknown # For the optional BY/GET keyword. It is marked 'unknown' because the key names derive from the content of the key we sort",
         ))
def sort_ro(ctx: Client, key: bytes, *options: bytes) -> object:
    return _sort(ctx, key, options, readonly=True)
