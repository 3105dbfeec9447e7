"""The loaded key names, kept sorted, seen as a flat list or as a tree by delimiter.

Keys live once, in one `SortedList` of bytes. Because keys sharing a prefix are
contiguous in sorted order, a namespace ("user:") is just a range of that list:
its loaded count is two bisections, and its children are found by jumping over
whole sub-namespaces.

The tree's layout is kept per namespace (the root and each expanded namespace):
its children as blocks (a namespace row, or a run of leaf keys named by its first
key) and their cumulative row counts. A key added or removed invalidates only the
namespaces on its own path; expanding or collapsing one invalidates only its
ancestors. Finding row *i* descends the namespaces by bisection, so drawing a
screen, scrolling and live inserts cost in proportion to what changed and to what
is on screen, not to the size of the open namespaces.

A namespace is laid out lazily, from its first key on, only as far as rows have been
asked for (plus a margin): keys are examined in chunks at C speed (a run of leaves,
however long, is one block; a sub-namespace is jumped over by bisection), and the
part not laid out yet counts as one row per key until it is. So expanding
``user:`` with a million keys, mixing leaves and sub-namespaces, lays out one
screen's worth; the row count (the scroll bar) settles as the user scrolls on.
"""

from __future__ import annotations

import re
import threading
import time
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterable, Iterator
from itertools import compress, repeat
from operator import ge, methodcaller
from typing import NamedTuple

from sortedcontainers import SortedList

LAYOUT_CHUNK = 4096  # keys examined per step while laying out a namespace (at C speed), at most
LAYOUT_FIRST_CHUNK = 64  # and at least, in the first step
LAYOUT_AHEAD = 512  # rows laid out past the one asked for
PATCH_LIMIT = 256  # keys added at once that are patched into the layout (more: it is dropped and redone)


_DIGITS = re.compile(rb"[0-9]+")


def _encode_run(match: re.Match[bytes]) -> bytes:
    run = match.group()
    digits = run.lstrip(b"0")
    return b"0" + len(digits).to_bytes(4, "big") + digits + (len(run) - len(digits)).to_bytes(4, "big")


def natural_key(key: bytes) -> bytes:
    """``key`` re-spelt so that plain byte order is natural order (``user:2`` < ``user:10``).

    Each run of ASCII digits becomes ``0``, its significant length (4 bytes), its significant digits and its
    count of leading zeros (4 bytes): numbers compare by size, then by leading zeros; the run still starts
    with a digit byte, so it sorts against the other bytes where the digits would; every other byte (UTF-8
    or not) is kept, so a prefix that ends in a non-digit keeps its keys contiguous and namespaces still
    work as byte ranges. ``natural_name`` undoes it.
    """
    return _DIGITS.sub(_encode_run, key)


def natural_name(encoded: bytes) -> bytes:
    """The key ``natural_key`` re-spelt (also for any cut of it at a non-digit byte, such as a segment)."""
    i = encoded.find(b"0")
    if i < 0:
        return encoded
    out, start = bytearray(), 0
    while i >= 0:
        out += encoded[start:i]
        length = int.from_bytes(encoded[i + 1 : i + 5], "big")
        digits_end = i + 5 + length
        zeros = int.from_bytes(encoded[digits_end : digits_end + 4], "big")
        out += b"0" * zeros + encoded[i + 5 : digits_end]
        start = digits_end + 4
        i = encoded.find(b"0", start)
    out += encoded[start:]
    return bytes(out)


def _same(key: bytes) -> bytes:
    return key


def prefix_end(prefix: bytes) -> bytes | None:
    """The smallest byte string greater than every string starting with ``prefix`` (None: no bound)."""
    trimmed = prefix.rstrip(b"\xff")
    if not trimmed:
        return None
    return trimmed[:-1] + bytes([trimmed[-1] + 1])


class LeafRun(NamedTuple):
    """Consecutive leaf keys of one namespace: ``size`` keys from ``first`` on, in sorted order.

    Named tuples: laying out a big namespace makes one per block, and a tuple is made several times
    faster than a frozen dataclass; holding only numbers and bytes, it is also dropped from the cyclic
    GC's lists, whose full collections would otherwise walk every block of a million-key namespace
    (slices of laying out took 90-140 ms instead of 10 whenever one ran).
    """

    depth: int
    prefix_len: int
    first: bytes
    size: int


class Row(NamedTuple):
    """One visible line of the browser: a key (leaf) or a namespace node (a named tuple: see LeafRun)."""

    depth: int
    label: bytes  # the part shown: full key in flat mode, last segment in tree mode
    key: bytes  # the key for a leaf; the namespace prefix (ending in the delimiter) for a node
    is_namespace: bool = False
    size: int = 0  # loaded keys under a namespace
    expanded: bool = False


class _Node:
    """The laid-out children of one visible namespace, from its first key up to ``rest``."""

    __slots__ = ("blocks", "firsts", "rest", "starts")

    def __init__(self, rest: bytes | None) -> None:
        self.blocks: list[Row | LeafRun] = []
        self.firsts: list[bytes] = []  # each block's first key (a namespace's prefix): sorted, for bisection
        self.starts = [0]  # row offset of each block within the namespace, plus the laid-out rows at the end
        self.rest = rest  # the first key not laid out yet (None: the namespace is laid out to its end)


def _shift(starts: list[int], first: int, delta: int) -> None:
    """Add ``delta`` to the row offsets from block ``first`` on (a C-speed slice for big namespaces)."""
    if delta:
        starts[first:] = [start + delta for start in starts[first:]]


def _insert(node: _Node, at: int, block: Row | LeafRun, first: bytes) -> None:
    """Slot a one-row block in at ``at``."""
    node.blocks.insert(at, block)
    node.firsts.insert(at, first)
    node.starts.insert(at, node.starts[at])
    _shift(node.starts, at + 1, 1)


def _free_gradually(keys: SortedList) -> None:
    """Free a big key list a sublist (about a thousand keys) at a time. ``SortedList.clear`` frees all
    of them in one call, which holds the GIL, and so the UI's thread, until the last key is gone."""
    lists = keys._lists
    while lists:
        lists.pop()
    keys.clear()


class KeyIndex:
    """Sorted loaded keys plus the tree/flat view state (delimiter, expanded namespaces)."""

    def __init__(self, delimiter: bytes = b":", tree: bool = True) -> None:
        self.keys: SortedList = SortedList()
        self.delimiter = delimiter
        self.tree = tree
        self.expanded: set[bytes] = set()
        self._nodes: dict[bytes, _Node] = {}  # laid-out namespaces, dropped when something under them changes
        self.natural = False  # natural order asked for (digit runs compare as numbers)
        # Stored keys are spelt by _enc (natural_key when natural order is in force, else as they are):
        # the public methods take and give real key names.
        self._enc: Callable[[bytes], bytes] = _same
        self._dec: Callable[[bytes], bytes] = _same

    # -- contents -------------------------------------------------------------

    def __len__(self) -> int:
        return len(self.keys)

    def __contains__(self, key: bytes) -> bool:
        return self._enc(key) in self.keys

    def add(self, keys: Iterable[bytes]) -> int:
        """Add keys not yet present; returns how many were new.

        A few keys (live inserts) are patched into the laid-out namespaces; a big batch (a SCAN page)
        drops the layouts on its keys' paths instead, to be laid out again as far as drawn: patching
        costs a shift of the row offsets per key, so a page of keys patched into a namespace that grows
        to 100,000 children would cost in proportion to its size, page after page.
        """
        fresh = {key for key in map(self._enc, keys) if key not in self.keys}
        if len(fresh) <= PATCH_LIMIT:
            for key in sorted(fresh):
                self.keys.add(key)
                self._touched(key, 1)
            return len(fresh)
        self.keys.update(fresh)
        if self._nodes:
            paths = {prefix for key in fresh for prefix in self._path(key)}
            for prefix in paths:
                self._nodes.pop(prefix, None)
        return len(fresh)

    def discard(self, keys: Iterable[bytes]) -> int:
        removed = 0
        for key in map(self._enc, keys):
            if key in self.keys:
                self.keys.remove(key)
                self._touched(key, -1)
                removed += 1
        return removed

    def clear(self) -> None:
        old, self.keys = self.keys, SortedList()
        self._forget_layout()
        if len(old) > 50_000:  # freeing a million keys takes a while: let a thread do it between frames
            threading.Thread(target=_free_gradually, args=(old,), name="free-keys", daemon=True).start()

    def count_prefix(self, prefix: bytes) -> int:
        """Loaded keys starting with ``prefix``."""
        prefix = self._enc(prefix)
        return self._range_end(prefix) - self.keys.bisect_left(prefix)

    def _range_end(self, prefix: bytes) -> int:
        end = prefix_end(prefix)
        return len(self.keys) if end is None else self.keys.bisect_left(end)

    def _path(self, key: bytes, own: bool = True) -> Iterator[bytes]:
        """The root and every namespace ``key`` is under (with ``own``, a key ending in the delimiter is under itself)."""
        yield b""
        delimiter, start = self.delimiter, 0
        if not delimiter:
            return
        while (i := key.find(delimiter, start)) >= 0:
            start = i + len(delimiter)
            if start == len(key) and not own:
                return
            yield key[:start]

    def _touched(self, key: bytes, delta: int) -> None:
        """A key came or went: only the namespaces on its path change.

        An added key patches the laid-out namespaces on its path in place, deepest first
        (a run grows, a namespace row counts one more, a new row is slotted in), so a live
        insert into a namespace with 100,000 children does not lay all of them out again.
        A removal drops the path's layouts, to be rebuilt when drawn.
        """
        if not self._nodes:
            return
        delimiter = self.delimiter
        path = list(self._path(key))
        if delta < 0 or not delimiter or key.endswith(delimiter):
            for prefix in path:
                self._nodes.pop(prefix, None)
            return
        below: int | None = None  # how much the visible size of the namespace below changed (None: unknown)
        for depth in range(len(path) - 1, -1, -1):
            prefix = path[depth]
            node = self._nodes.get(prefix)
            if node is None:
                below = None
                continue
            child = path[depth + 1] if depth + 1 < len(path) else None
            below = self._patch_added(node, prefix, depth, key, child, below)
            if below is None:
                del self._nodes[prefix]

    def _patch_added(
        self, node: _Node, prefix: bytes, depth: int, key: bytes, child: bytes | None, below: int | None
    ) -> int | None:
        """Fit a new key into a laid-out namespace; returns the change of its row count (None: lay it out again)."""
        blocks, firsts, starts, keys = node.blocks, node.firsts, node.starts, self.keys
        if node.rest is not None and key > node.rest:
            return 1  # in the part not laid out yet, which counts a row per key
        if child is None:  # a leaf of this namespace
            j = bisect_right(firsts, key) - 1
            position = keys.bisect_left(key)
            before = blocks[j] if j >= 0 else None
            if isinstance(before, LeafRun) and position <= keys.bisect_left(before.first) + before.size:
                blocks[j] = LeafRun(before.depth, before.prefix_len, before.first, before.size + 1)
                _shift(starts, j + 1, 1)
                return 1
            after = blocks[j + 1] if j + 1 < len(blocks) else None
            if isinstance(after, LeafRun) and keys.bisect_left(after.first) == position + 1:
                blocks[j + 1] = LeafRun(after.depth, after.prefix_len, key, after.size + 1)
                firsts[j + 1] = key
                _shift(starts, j + 2, 1)
                return 1
            _insert(node, j + 1, LeafRun(depth, len(prefix), key, 1), key)
            return 1
        m = bisect_right(firsts, child) - 1
        block = blocks[m] if m >= 0 else None
        if isinstance(block, Row) and block.key == child:
            size = 0
            if block.expanded:
                if below is None:
                    return None
                size = below
            blocks[m] = Row(block.depth, block.label, block.key, True, block.size + 1, block.expanded)
            _shift(starts, m + 1, size)
            return size
        if child in self.expanded:
            return None
        row = Row(depth, child[len(prefix) : -len(self.delimiter)], child, True, 1, False)
        if isinstance(block, LeafRun):
            run_start = keys.bisect_left(block.first)
            position = keys.bisect_left(key)
            inside = position - run_start  # leaves of the run before the new namespace
            if inside < block.size:  # the namespace splits the run in two
                left = LeafRun(block.depth, block.prefix_len, block.first, inside)
                right_first = keys[position + 1]
                right = LeafRun(block.depth, block.prefix_len, right_first, block.size - inside)
                blocks[m : m + 1] = [left, row, right]
                firsts[m : m + 1] = [block.first, child, right_first]
                starts[m + 1 : m + 1] = [starts[m] + inside, starts[m] + inside + 1]
                _shift(starts, m + 3, 1)
                return 1
        _insert(node, m + 1, row, child)
        return 1

    def _forget_layout(self) -> None:
        self._nodes.clear()

    # -- view state -----------------------------------------------------------

    def set_mode(self, tree: bool, delimiter: bytes | None = None) -> None:
        self.tree = tree
        if delimiter is not None and delimiter != self.delimiter:
            self.delimiter = delimiter
            self.expanded.clear()
            self._forget_layout()
            self._respell()

    def set_natural(self, natural: bool) -> None:
        """Natural order (digit runs as numbers) or plain byte order: re-sorts the loaded keys once."""
        self.natural = natural
        self._respell()

    def _respell(self) -> None:
        """Store keys in the spelling the order needs. A delimiter with a digit in it would split digit runs,
        and namespaces would no longer be contiguous: plain byte order then, whatever was asked for."""
        natural = self.natural and not _DIGITS.search(self.delimiter)
        if (self._enc is natural_key) == natural:
            return
        dec = self._dec
        self._enc, self._dec = (natural_key, natural_name) if natural else (_same, _same)
        self.keys = SortedList(self._enc(dec(key)) for key in self.keys)
        self.expanded = {self._enc(dec(prefix)) for prefix in self.expanded}
        self._forget_layout()

    def toggle(self, namespace: bytes) -> bool:
        """Expand or collapse a namespace; returns True if now expanded."""
        namespace = self._enc(namespace)
        for prefix in self._path(namespace, own=False):  # its parent's rows (and the sizes above) change
            self._nodes.pop(prefix, None)
        if namespace in self.expanded:
            self.expanded.discard(namespace)
            return False
        self.expanded.add(namespace)
        return True

    def expand_to(self, key: bytes) -> None:
        """Expand every namespace above ``key`` so it becomes visible."""
        if not self.tree or not self.delimiter:
            return
        key = self._enc(key)
        path = list(self._path(key))[1:]
        missing = [prefix for prefix in path if prefix not in self.expanded]
        if not missing:
            return
        self.expanded.update(missing)
        for prefix in [b"", *path]:
            self._nodes.pop(prefix, None)

    # -- rows ---------------------------------------------------------------------

    @property
    def row_count(self) -> int:
        """Visible rows; a namespace not laid out to its end counts a row per key of the rest (an estimate
        that settles as it is laid out: collapsed sub-namespaces make it smaller, expanded ones larger)."""
        if not self.tree or not self.delimiter:
            return len(self.keys)
        return self._total(b"", self._node(b"", 0))

    def row(self, index: int) -> Row:
        row = self.locate(index)
        if row is None:
            raise IndexError(index)
        return row

    def locate(self, index: int) -> Row | None:
        """Row ``index``, laying out as far as it (None: there are fewer rows, once laid out)."""
        row = self._locate(index)
        if row is None or self._dec is _same:
            return row
        return row._replace(label=self._dec(row.label), key=self._dec(row.key))

    def _locate(self, index: int) -> Row | None:
        if index < 0:
            return None
        if not self.tree or not self.delimiter:
            if index >= len(self.keys):
                return None
            key = self.keys[index]
            return Row(0, key, key)
        prefix, depth = b"", 0
        trail: list[tuple[_Node, int]] = []  # the namespaces above, and the block each descent went through
        while True:
            node = self._node(prefix, depth)
            if index >= node.starts[-1] and node.rest is not None:
                self._extend(prefix, depth, node, index + LAYOUT_AHEAD, trail)
            j = bisect_right(node.starts, index) - 1
            if j >= len(node.blocks):
                return None
            block, offset = node.blocks[j], index - node.starts[j]
            if isinstance(block, LeafRun):
                key = self.keys[self.keys.bisect_left(block.first) + offset]
                return Row(block.depth, key[block.prefix_len :], key)
            if offset == 0:
                return block
            trail.append((node, j))
            prefix, depth, index = block.key, depth + 1, offset - 1

    def prepare(self, index: int, seconds: float) -> bool:
        """Lay out towards row ``index`` for about ``seconds``; True once ``locate(index)`` has nothing left
        to lay out (a jump to the end of a namespace of a million keys is then spread over frames)."""
        if index < 0 or not self.tree or not self.delimiter:
            return True
        deadline = time.perf_counter() + seconds
        prefix, depth = b"", 0
        trail: list[tuple[_Node, int]] = []
        while True:
            node = self._node(prefix, depth)
            if index >= node.starts[-1] and node.rest is not None:
                self._extend(prefix, depth, node, index + LAYOUT_AHEAD, trail, deadline)
                if index >= node.starts[-1] and node.rest is not None:
                    return False
            j = bisect_right(node.starts, index) - 1
            if j >= len(node.blocks):
                return True
            block, offset = node.blocks[j], index - node.starts[j]
            if isinstance(block, LeafRun) or offset == 0:
                return True
            trail.append((node, j))
            prefix, depth, index = block.key, depth + 1, offset - 1

    def row_of(self, key: bytes) -> int | None:
        """Where a key (or namespace) is shown, if visible."""
        key = self._enc(key)
        keys = self.keys
        if not self.tree or not self.delimiter:
            i = keys.bisect_left(key)
            return i if i < len(keys) and keys[i] == key else None
        prefix, depth, base = b"", 0, 0
        trail: list[tuple[_Node, int]] = []
        while True:
            node = self._node(prefix, depth)
            while node.rest is not None and key >= node.rest:
                self._extend(prefix, depth, node, node.starts[-1] + LAYOUT_AHEAD, trail)
            j = bisect_right(node.firsts, key) - 1
            if j < 0:
                return None
            block = node.blocks[j]
            if isinstance(block, LeafRun):
                position = keys.bisect_left(key)
                offset = position - keys.bisect_left(block.first)
                found = 0 <= offset < block.size and position < len(keys) and keys[position] == key
                return base + node.starts[j] + offset if found else None
            if key == block.key:
                return base + node.starts[j]
            if not (block.expanded and key.startswith(block.key)):
                return None
            trail.append((node, j))
            prefix, depth, base = block.key, depth + 1, base + node.starts[j] + 1

    def rows(self) -> list[Row]:
        """Every visible row (materialised, laying everything out: for tests and small trees)."""
        rows: list[Row] = []
        while (row := self.locate(len(rows))) is not None:
            rows.append(row)
        return rows

    def _node(self, prefix: bytes, depth: int) -> _Node:
        """The laid-out children of a visible namespace (cached until something under it changes)."""
        node = self._nodes.get(prefix)
        if node is None:
            i = self.keys.bisect_left(prefix)
            first = self.keys[i] if i < len(self.keys) and i < self._range_end(prefix) else None
            node = self._nodes[prefix] = _Node(first)
            self._lay_out(prefix, depth, node, LAYOUT_AHEAD)
        return node

    def _total(self, prefix: bytes, node: _Node) -> int:
        """A namespace's rows: those laid out, plus one per key not laid out yet."""
        if node.rest is None:
            return node.starts[-1]
        return node.starts[-1] + self._range_end(prefix) - self.keys.bisect_left(node.rest)

    def _extend(
        self,
        prefix: bytes,
        depth: int,
        node: _Node,
        rows: int,
        trail: list[tuple[_Node, int]],
        deadline: float | None = None,
    ) -> None:
        """Lay a namespace out further; the namespaces above (``trail``) learn how its row count changed."""
        before = self._total(prefix, node)
        self._lay_out(prefix, depth, node, rows, deadline)
        delta = self._total(prefix, node) - before
        for above, j in trail:
            _shift(above.starts, j + 1, delta)

    def _lay_out(self, prefix: bytes, depth: int, node: _Node, rows: int, deadline: float | None = None) -> None:
        """Append the namespace's next children until ``rows`` rows are laid out, it ends, or (checked
        between chunks) the ``deadline`` passes.

        Keys are taken a chunk at a time: where each has a further delimiter is found at C speed, a run
        of leaves becomes one block (merged with the run before it), a sub-namespace is one row (and its
        own rows when expanded) and is jumped over by bisection.
        """
        if node.rest is None:
            return
        keys, delim, skip = self.keys, self.delimiter, len(prefix)
        after_delim = prefix_end(delim)  # a sub-namespace "a:" ends before "a" + this
        blocks, firsts, starts = node.blocks, node.firsts, node.starts
        end = self._range_end(prefix)
        i = started = keys.bisect_left(node.rest)
        # The first chunk is about as many keys as rows are wanted, then chunks double: laying out one
        # screen (or a namespace that opens with big sub-namespaces, each jumped over) costs that screen.
        size = max(LAYOUT_FIRST_CHUNK, min(LAYOUT_CHUNK, rows - starts[-1]))
        while i < end and starts[-1] < rows:
            if deadline is not None and i > started and time.perf_counter() > deadline:
                break  # at least one chunk per call, so it always gets on
            base = i
            chunk = list(keys.islice(i, min(end, i + size)))
            size = min(LAYOUT_CHUNK, size * 2)
            cuts = list(map(methodcaller("find", delim, skip), chunk))
            deep = list(compress(range(len(chunk)), map(ge, cuts, repeat(0))))  # positions going deeper
            k, d = 0, 0
            while k < len(chunk) and starts[-1] < rows:
                d = bisect_left(deep, k, d)
                stop = deep[d] if d < len(deep) else len(chunk)
                if stop > k:  # leaves: one run, joined to the run laid out just before
                    last = blocks[-1] if blocks else None
                    if isinstance(last, LeafRun):
                        blocks[-1] = LeafRun(depth, skip, last.first, last.size + stop - k)
                        starts[-1] += stop - k
                    else:
                        blocks.append(LeafRun(depth, skip, chunk[k], stop - k))
                        firsts.append(chunk[k])
                        starts.append(starts[-1] + stop - k)
                    k = stop
                    continue
                key, cut = chunk[k], cuts[k]
                namespace = key[: cut + len(delim)]
                bound = key[:cut] + after_delim if after_delim else None
                if bound is not None and chunk[-1] >= bound:  # it ends inside this chunk: a C bisection
                    ns_end = base + bisect_left(chunk, bound, k)
                else:
                    ns_end = self._range_end(namespace)
                expanded = namespace in self.expanded
                blocks.append(Row(depth, key[skip:cut], namespace, True, ns_end - (base + k), expanded))
                firsts.append(namespace)
                size = 1 + (self._total(namespace, self._node(namespace, depth + 1)) if expanded else 0)
                starts.append(starts[-1] + size)
                k = ns_end - base
            i = base + k
        node.rest = keys[i] if i < end else None

    def children(self, prefix: bytes, depth: int = 0) -> Iterator[Row | LeafRun]:
        """Direct children of a namespace in key order: runs of leaves and sub-namespace rows (all laid out)."""
        node = _Node(self.keys[self.keys.bisect_left(prefix)] if self._range_end(prefix) > self.keys.bisect_left(prefix) else None)
        self._lay_out(prefix, depth, node, len(self.keys) + 1)
        yield from node.blocks
