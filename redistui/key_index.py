"""The loaded key names, kept sorted, seen as a flat list or as a tree by delimiter.

Keys live once, in one `SortedList` of bytes. Because keys sharing a prefix are
contiguous in sorted order, a namespace ("user:") is just a range of that list:
its loaded count is two bisections, and its children are found by jumping over
whole sub-namespaces. So the tree costs no memory of its own, and expanding a
namespace costs time in proportion to its *children*, not to the keys under it.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from sortedcontainers import SortedList


def prefix_end(prefix: bytes) -> bytes | None:
    """The smallest byte string greater than every string starting with ``prefix`` (None: no bound)."""
    trimmed = prefix.rstrip(b"\xff")
    if not trimmed:
        return None
    return trimmed[:-1] + bytes([trimmed[-1] + 1])


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
        self._rows: list[Row] | None = None

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
        self.keys.clear()
        self._rows = None

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
        return len(self.rows())

    def row(self, index: int) -> Row:
        if not self.tree or not self.delimiter:
            key = self.keys[index]
            return Row(0, key, key)
        return self.rows()[index]

    def row_of(self, key: bytes) -> int | None:
        """Where a key (or namespace) is shown, if visible."""
        if not self.tree or not self.delimiter:
            i = self.keys.bisect_left(key)
            return i if i < len(self.keys) and self.keys[i] == key else None
        for i, row in enumerate(self.rows()):
            if row.key == key:
                return i
        return None

    def rows(self) -> list[Row]:
        """Tree rows of every expanded namespace, depth first (cached until keys or state change)."""
        if self._rows is None:
            self._rows = list(self._walk(b"", 0))
        return self._rows

    def children(self, prefix: bytes, depth: int = 0) -> Iterator[Row]:
        """Direct children of a namespace: leaves and sub-namespaces, in key order."""
        keys, delim = self.keys, self.delimiter
        i, end = keys.bisect_left(prefix), self._range_end(prefix)
        while i < end:
            key = keys[i]
            rest = key[len(prefix) :]
            cut = rest.find(delim)
            if cut < 0:
                yield Row(depth, rest, key)
                i += 1
                continue
            namespace = prefix + rest[: cut + len(delim)]
            ns_end = self._range_end(namespace)
            yield Row(depth, rest[:cut], namespace, True, ns_end - i, namespace in self.expanded)
            i = ns_end

    def _walk(self, prefix: bytes, depth: int) -> Iterator[Row]:
        for row in self.children(prefix, depth):
            yield row
            if row.is_namespace and row.expanded:
                yield from self._walk(row.key, depth + 1)
