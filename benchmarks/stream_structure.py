"""Why streams are nodes of entries (``server/datatypes/stream.py``) and not a SortedList of entries.

Both structures are driven in-process with the same operations on N entries:
appending (XADD), reading 100 entries from a random ID (XRANGE), deleting random
IDs (XDEL), trimming the oldest 10% (XTRIM MAXLEN), and the memory they hold
(tracemalloc). The node structure is the server's own ``StreamValue``; the
alternative is a ``sortedcontainers.SortedList`` of IDs with a dict ID -> fields.

Usage: ``python benchmarks/stream_structure.py [--entries N]``. Prints µs per operation and
bytes per entry for both.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
import tracemalloc
from pathlib import Path

from sortedcontainers import SortedList

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from server.datatypes.stream import MAX_ID, SEQ_MASK, StreamValue  # noqa: E402


class SortedEntries:
    """The alternative: one SortedList of IDs plus a dict of rows."""

    def __init__(self) -> None:
        self.index: SortedList = SortedList()
        self.rows: dict[int, tuple[bytes, ...]] = {}

    def append(self, sid: int, row: tuple[bytes, ...]) -> None:
        self.index.add(sid)
        self.rows[sid] = row

    def range(self, start: int, count: int) -> list:
        return [(sid, self.rows[sid]) for sid in self.index.islice(self.index.bisect_left(start), None)][:count]

    def range_fast(self, start: int, count: int) -> list:
        pos = self.index.bisect_left(start)
        return [(sid, self.rows[sid]) for sid in self.index[pos:pos + count]]

    def delete(self, sid: int) -> bool:
        if self.rows.pop(sid, None) is None:
            return False
        self.index.remove(sid)
        return True

    def trim(self, maxlen: int) -> None:
        excess = len(self.index) - maxlen
        if excess > 0:
            for sid in self.index[:excess]:
                del self.rows[sid]
            del self.index[:excess]


def timed(fn, repeat: int) -> float:
    start = time.perf_counter()
    for i in range(repeat):
        fn(i)
    return (time.perf_counter() - start) / repeat * 1e6


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--entries", type=int, default=300_000)
    n = parser.parse_args().entries
    rows = [(b"field", b"value-%06d" % (i % 1000)) for i in range(n)]
    ids = [(1_700_000_000_000 + i // 3) << 64 | (i % 3) for i in range(n)]
    rng = random.Random(7)
    probes = [ids[rng.randrange(n)] for _ in range(2000)]
    results = {}
    for name in ("nodes (StreamValue)", "SortedList of entries"):
        nodes = name.startswith("nodes")
        # Memory: rows built per entry, as they arrive from the network (no sharing with a pre-built list).
        tracemalloc.start()
        holder: StreamValue | SortedEntries = StreamValue() if nodes else SortedEntries()
        for i in range(n):
            row = (b"field", b"value-%06d" % (i % 1000))
            if isinstance(holder, StreamValue):
                holder.append(1_700_000_000_000 + i // 3, i % 3, row, len(row[0]) + len(row[1]), 4096, 100)
            else:
                holder.append(((1_700_000_000_000 + i // 3) << 64) | (i % 3), row)
        memory = tracemalloc.get_traced_memory()[0] / n
        tracemalloc.stop()
        del holder
        if nodes:
            stream = StreamValue()

            def add(i: int, s=stream) -> None:
                sid, row = ids[i], rows[i]
                s.append(sid >> 64, sid & SEQ_MASK, row, sum(map(len, row)), 4096, 100)

            def read(i: int, s=stream) -> None:
                s.range(probes[i % len(probes)], MAX_ID, 100)

            def delete(i: int, s=stream) -> None:
                s.delete(probes[i % len(probes)])

            def trim(i: int, s=stream) -> None:
                s.trim(len(s) - n // 10, None, False, 0)
        else:
            alt = SortedEntries()

            def add(i: int, s=alt) -> None:
                s.append(ids[i], rows[i])

            def read(i: int, s=alt) -> None:
                s.range_fast(probes[i % len(probes)], 100)

            def delete(i: int, s=alt) -> None:
                s.delete(probes[i % len(probes)])

            def trim(i: int, s=alt) -> None:
                s.trim(len(s.index) - n // 10)
        t_add = timed(add, n)
        t_read = timed(read, 2000)
        t_del = timed(delete, 2000)
        t_trim = timed(trim, 1) / (n // 10)
        results[name] = (t_add, t_read, t_del, t_trim, memory)
    print(f"{n} entries        {'XADD us':>8} {'XRANGE100 us':>12} {'XDEL us':>8} {'trim us/entry':>13} "
          f"{'bytes/entry':>11}")
    for name, (a, r, d, t, m) in results.items():
        print(f"{name:<22} {a:>8.2f} {r:>12.1f} {d:>8.2f} {t:>13.3f} {m:>11.0f}")


if __name__ == "__main__":
    main()
