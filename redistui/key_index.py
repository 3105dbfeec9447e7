"""The loaded key names, kept sorted, seen as a flat list or as a tree by delimiter.

Keys live once, in one `SortedList` of bytes. Because keys sharing a prefix are
contiguous in sorted order, a namespace ("user:") is just a range of that list:
its loaded count is two bisections, and its children are found by jumping over
whole sub-namespaces. So the tree costs no memory of its own, and expanding a
namespace costs time in proportion to its *children*, not to the keys under it.
"""

from __future__ import annotations

import threading
from bisect import bisect_right
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from operator import methodcaller

from sortedcontainers import SortedList


def prefix_end(prefix: bytes) -> bytes | None:
    """The smallest byte string greater than every string starting with ``prefix`` (None: no bound)."""
    trimmed = prefix.rstrip(b"\xff")
    if not trimmed:
        return None
    return trimmed[:-1] + bytes([trimmed[-1] + 1])


@dataclass(frozen=True)
class LeafRun:
    """Consecutive leaf keys of one namespace: ``count`` keys from sorted position ``start``."""

    depth: int
    prefix_len: int
    start: int
    count: int


@dataclass(frozen=True)
class Row:
    """One visible line of the browser: a key (leaf) or a namespace node."""

    depth: int
    label: bytes  # the part shown: full key in flat mode, last segment in tree mode
    key: bytes  # the key for a leaf; the namespace prefix (ending in the delimiter) for a node
    is_namespace: bool = False
    count: int = 0  # loaded keys under a namespace
    expanded: bool = False


class KeyIndex:
    """Sorted loaded keys plus the tree/flat view state (delimiter, expanded namespaces)."""

    def __init__(self, delimiter: bytes = b":", tree: bool = True) -> None:
        self.keys: SortedList = SortedList()
        self.delimiter = delimiter
        self.tree = tree
        self.expanded: set[bytes] = set()
        self._rows: tuple[list[int], list[Row | LeafRun]] | None = None

    # -- contents -------------------------------------------------------------

    def __len__(self) -> int:
        return len(self.keys)

    def __contains__(self, key: bytes) -> bool:
        return key in self.keys

    def add(self, keys: Iterable[bytes]) -> int:
        """Add keys not yet present; returns how many were new."""
        added = 0
        for key in keys:
            if key not in self.keys:
                self.keys.add(key)
                added += 1
        if added:
            self._rows = None
        return added

    def discard(self, keys: Iterable[bytes]) -> int:
        removed = 0
        for key in keys:
            if key in self.keys:
                self.keys.remove(key)
                removed += 1
        if removed:
            self._rows = None
        return removed

    def clear(self) -> None:
        old, self.keys = self.keys, SortedList()
        self._rows = None
        if len(old) > 50_000:  # freeing a million keys takes a while: let a thread do it between frames
            threading.Thread(target=old.clear, name="free-keys", daemon=True).start()

    def count_prefix(self, prefix: bytes) -> int:
        """Loaded keys starting with ``prefix``."""
        return self._range_end(prefix) - self.keys.bisect_left(prefix)

    def _range_end(self, prefix: bytes) -> int:
        end = prefix_end(prefix)
        return len(self.keys) if end is None else self.keys.bisect_left(end)

    # -- view state -----------------------------------------------------------

    def set_mode(self, tree: bool, delimiter: bytes | None = None) -> None:
        self.tree = tree
        if delimiter is not None and delimiter != self.delimiter:
            self.delimiter = delimiter
            self.expanded.clear()
        self._rows = None

    def toggle(self, namespace: bytes) -> bool:
        """Expand or collapse a namespace; returns True if now expanded."""
        self._rows = None
        if namespace in self.expanded:
            self.expanded.discard(namespace)
            return False
        self.expanded.add(namespace)
        return True

    def expand_to(self, key: bytes) -> None:
        """Expand every namespace above ``key`` so it becomes visible."""
        if not self.tree or not self.delimiter:
            return
        start = 0
        while (i := key.find(self.delimiter, start)) >= 0:
            self.expanded.add(key[: i + len(self.delimiter)])
            start = i + len(self.delimiter)
        self._rows = None

    # -- rows ---------------------------------------------------------------------

    @property
    def row_count(self) -> int:
        if not self.tree or not self.delimiter:
            return len(self.keys)
        return self._layout()[0][-1]

    def row(self, index: int) -> Row:
        if not self.tree or not self.delimiter:
            key = self.keys[index]
            return Row(0, key, key)
        starts, blocks = self._layout()
        block_index = bisect_right(starts, index) - 1
        block = blocks[block_index]
        if isinstance(block, Row):
            return block
        key = self.keys[block.start + index - starts[block_index]]
        return Row(block.depth, key[block.prefix_len :], key)

    def row_of(self, key: bytes) -> int | None:
        """Where a key (or namespace) is shown, if visible."""
        if not self.tree or not self.delimiter:
            i = self.keys.bisect_left(key)
            return i if i < len(self.keys) and self.keys[i] == key else None
        position = self.keys.bisect_left(key)
        starts, blocks = self._layout()
        for block_index, block in enumerate(blocks):
            if isinstance(block, Row):
                if block.key == key:
                    return starts[block_index]
            elif block.start <= position < block.start + block.count and self.keys[position] == key:
                return starts[block_index] + position - block.start
        return None

    def rows(self) -> list[Row]:
        """Every visible row (materialised: for tests and small trees)."""
        return [self.row(i) for i in range(self.row_count)]

    def _layout(self) -> tuple[list[int], list[Row | LeafRun]]:
        """Blocks of visible rows, cached until keys or view state change.

        A run of consecutive leaves under one namespace is kept as one `LeafRun`
        (a slice of the sorted keys), so opening a namespace of 200,000 keys
        allocates nothing per key; its rows are made when drawn.
        """
        if self._rows is None:
            blocks = list(self._walk(b"", 0))
            starts = [0]
            for block in blocks:
                starts.append(starts[-1] + (1 if isinstance(block, Row) else block.count))
            self._rows = (starts, blocks)
        return self._rows

    def children(self, prefix: bytes, depth: int = 0) -> Iterator[Row | LeafRun]:
        """Direct children of a namespace in key order: runs of leaves and sub-namespace rows."""
        keys, delim = self.keys, self.delimiter
        i, end = keys.bisect_left(prefix), self._range_end(prefix)
        skip = len(prefix)
        if end - i > 64 and keys[i].find(delim, skip) < 0 and keys[end - 1].find(delim, skip) < 0:
            # Leaves at both ends of a big range: probably all leaves (user:1 … user:200000).
            # Check every key at C speed; one run then stands for all of them.
            if max(map(methodcaller("find", delim, skip), keys.islice(i, end))) < 0:
                yield LeafRun(depth, skip, i, end - i)
                return
        run_start = i
        while i < end:
            jumped = False
            for key in keys.islice(i, end):
                cut = key.find(delim, skip)
                if cut < 0:
                    i += 1
                    continue
                if i > run_start:
                    yield LeafRun(depth, skip, run_start, i - run_start)
                namespace = key[: cut + len(delim)]
                ns_end = self._range_end(namespace)
                yield Row(depth, key[skip:cut], namespace, True, ns_end - i, namespace in self.expanded)
                i = run_start = ns_end
                jumped = True
                break
            if not jumped:
                break
        if end > run_start:
            yield LeafRun(depth, skip, run_start, end - run_start)

    def _walk(self, prefix: bytes, depth: int) -> Iterator[Row | LeafRun]:
        for block in self.children(prefix, depth):
            yield block
            if isinstance(block, Row) and block.expanded:
                yield from self._walk(block.key, depth + 1)
