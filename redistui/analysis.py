"""Memory analysis of a whole keyspace: by key prefix (a tree by delimiter), type, encoding,
database and TTL, plus the biggest keys by bytes and by element count.

Two sources feed the same `Report`, and it always says which one its bytes come from:

- an RDB file (`analyse_file`): every key is counted, and its bytes are the serialized
  bytes of its record in the file (`redistui.rdbscan` walks it without building values);
- a live server, any Redis (`analyse_server`): SCAN over every database plus pipelined
  TYPE, MEMORY USAGE, OBJECT ENCODING, PTTL and a length command per key. Every key is
  counted; the bytes are the server's MEMORY USAGE estimate, which samples nested
  elements of large collections (``SAMPLES 5`` unless asked otherwise; 0 reads them all).
  Batches are throttled so the server spends at most about half its time on us.

Reports print as a table, CSV or JSON (`format_report`), for ``redistui analyse``.
"""

from __future__ import annotations

import asyncio
import csv
import heapq
import io
import itertools
import json
import time
from collections.abc import Callable, Generator, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from redistui.formatting import printable
from redistui.rdbscan import ENCODING_NAMES, TYPE_NAMES, FileSummary, RDBDamage, open_rdb

DAY_MS = 86_400_000
# TTL buckets: (label, upper bound in ms, exclusive); keys past a year land in the last one.
TTL_BUCKETS: tuple[tuple[str, float], ...] = (
    ("< 1 minute", 60_000),
    ("< 1 hour", 3_600_000),
    ("< 1 day", DAY_MS),
    ("< 1 week", 7 * DAY_MS),
    ("< 30 days", 30 * DAY_MS),
    ("< 1 year", 365 * DAY_MS),
    (">= 1 year", float("inf")),
)
TTL_ORDER = ("no expiry", "expired", *(label for label, _ in TTL_BUCKETS))
SOURCE_FILE = "serialized bytes of each key's record in the file (complete: every key read)"
CANCEL_CHECK_EVERY = 4096  # keys between progress reports and cancellation checks


def ttl_bucket(expire_ms: int | None, now_ms: int) -> str:
    if expire_ms is None:
        return "no expiry"
    left = expire_ms - now_ms
    if left <= 0:
        return "expired"
    for label, bound in TTL_BUCKETS:
        if left < bound:
            return label
    return TTL_BUCKETS[-1][0]  # pragma: no cover - the last bound is infinite


class Cancelled(Exception):
    """The analysis was stopped by its caller; the report holds what was counted so far."""


@dataclass
class PrefixNode:
    """One namespace of the key tree: every key under it (its own and its children's)."""

    name: bytes
    keys: int = 0
    size: int = 0
    children: dict[bytes, PrefixNode] = field(default_factory=dict)

    def sorted_children(self, by: str = "bytes") -> list[PrefixNode]:
        """Children by ``by``: "bytes" (or "share", the same order), "keys" or "name"."""
        if by == "name":
            return sorted(self.children.values(), key=lambda node: node.name)
        if by == "keys":
            return sorted(self.children.values(), key=lambda node: (-node.keys, node.name))
        return sorted(self.children.values(), key=lambda node: (-node.size, node.name))


@dataclass(frozen=True)
class BigKey:
    db: int
    key: bytes
    type: str
    encoding: str
    size: int
    elements: int
    expire_ms: int | None


@dataclass
class Report:
    """The analysis: totals by category, the prefix tree, the biggest keys, and provenance."""

    source: str  # what was analysed: a path or a server address
    bytes_source: str  # where every byte figure comes from
    delimiter: bytes = b":"
    top: int = 100
    now_ms: int = 0
    keys: int = 0
    size: int = 0
    by_db: dict[int, list[int]] = field(default_factory=dict)  # db -> [keys, bytes]
    by_type: dict[str, list[int]] = field(default_factory=dict)
    by_encoding: dict[str, list[int]] = field(default_factory=dict)
    by_ttl: dict[str, list[int]] = field(default_factory=dict)
    tree: PrefixNode = field(default_factory=lambda: PrefixNode(b""))
    biggest: list[BigKey] = field(default_factory=list)  # by bytes, biggest first
    longest: list[BigKey] = field(default_factory=list)  # by element count (collections)
    file_size: int | None = None
    structure_bytes: int = 0  # file bytes that belong to no key (header, AUX, functions ...)
    functions: list[tuple[bytes, int]] = field(default_factory=list)
    aux: dict[str, str] = field(default_factory=dict)
    damage: str | None = None  # what stopped the reading of a damaged file
    damage_offset: int | None = None
    complete: bool = False
    cancelled: bool = False
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0


class Accumulator:
    """Counts keys into a `Report` as they come; `finish` builds the tree and the rankings.

    ``add`` runs once per key of files of millions of keys, so it is a closure over its
    tables (no attribute lookups), keys without expiry are counted by subtraction at the
    end, and a key enters a top-N heap only when it beats the smallest one there.
    """

    def __init__(self, report: Report) -> None:
        self.report = report
        # (db, type, encoding, the key's namespace) -> [keys, bytes]: one table, split at the end
        self.cells: dict[tuple[int, str, str, bytes], list[int]] = {}
        self.ttl: dict[str, list[int]] = {}  # expiring keys only
        self.big: list[tuple[int, int, BigKey]] = []  # min-heaps of the top N
        self.long: list[tuple[int, int, BigKey]] = []
        self.add = self._adder()

    def _adder(self) -> Callable[[int, bytes, str, str, int, int, int | None], None]:
        report, cells, ttl = self.report, self.cells, self.ttl
        big, long_ = self.big, self.long
        delimiter, now, top = report.delimiter, report.now_ms, report.top
        push, replace = heapq.heappush, heapq.heapreplace
        seq = itertools.count()
        floors: list[float] = [-1, -1] if top > 0 else [float("inf")] * 2  # the smallest in a full heap

        def rank(heap: list[tuple[int, int, BigKey]], floor: int, measure: int, key: BigKey) -> None:
            """Enter a key that beats ``floors[floor]`` into its top-N min-heap."""
            entry = (measure, -next(seq), key)
            if len(heap) < top:
                push(heap, entry)
            else:
                replace(heap, entry)
            if len(heap) == top:
                floors[floor] = heap[0][0]

        def add(db: int, key: bytes, type_: str, encoding: str, size: int, elements: int,
                expire_ms: int | None) -> None:
            cut = key.rfind(delimiter) if delimiter else -1
            cell = (db, type_, encoding, key[:cut] if cut > 0 else b"")
            counts = cells.get(cell)
            if counts is None:
                cells[cell] = [1, size]
            else:
                counts[0] += 1
                counts[1] += size
            if expire_ms is not None:
                bucket = ttl_bucket(expire_ms, now)
                row = ttl.get(bucket)
                if row is None:
                    ttl[bucket] = [1, size]
                else:
                    row[0] += 1
                    row[1] += size
            if size > floors[0]:
                rank(big, 0, size, BigKey(db, key, type_, encoding, size, elements, expire_ms))
            if elements > floors[1] and type_ != "string":
                rank(long_, 1, elements, BigKey(db, key, type_, encoding, size, elements, expire_ms))

        return add

    def finish(self) -> Report:
        report = self.report
        by_db: dict[int, list[int]] = {}
        by_type: dict[str, list[int]] = {}
        by_encoding: dict[str, list[int]] = {}
        parents: dict[bytes, list[int]] = {}
        report.keys = report.size = 0
        for (db, type_, encoding, parent), (keys, size) in sorted(self.cells.items()):
            report.keys += keys
            report.size += size
            for row in (by_db.setdefault(db, [0, 0]), by_type.setdefault(type_, [0, 0]),
                        by_encoding.setdefault(encoding, [0, 0]), parents.setdefault(parent, [0, 0])):
                row[0] += keys
                row[1] += size
        report.by_db, report.by_type, report.by_encoding = by_db, by_type, by_encoding
        expiring = [sum(row[0] for row in self.ttl.values()), sum(row[1] for row in self.ttl.values())]
        ttl = dict(self.ttl)
        if report.keys > expiring[0]:
            ttl["no expiry"] = [report.keys - expiring[0], report.size - expiring[1]]
        report.by_ttl = {label: ttl[label] for label in TTL_ORDER if label in ttl}
        report.tree = build_tree(parents, report.delimiter)
        report.biggest = [entry[2] for entry in sorted(self.big, reverse=True)]
        report.longest = [entry[2] for entry in sorted(self.long, reverse=True)]
        return report


def build_tree(parents: dict[bytes, list[int]], delimiter: bytes) -> PrefixNode:
    """The prefix tree from keys counted by namespace: each namespace adds to all its ancestors."""
    root = PrefixNode(b"")
    for parent, (keys, size) in parents.items():
        root.keys += keys
        root.size += size
        if not parent:
            continue
        node = root
        for part in parent.split(delimiter):
            child = node.children.get(part)
            if child is None:
                child = node.children[part] = PrefixNode(part)
            child.keys += keys
            child.size += size
            node = child
    return root


Progress = Callable[[int, int, int], None]  # (bytes or keys done, total, keys counted)


class FileAnalysis:
    """An RDB file analysed in steps (`step`), so a UI can draw and cancel between them."""

    def __init__(self, path: str | Path, delimiter: bytes = b":", top: int = 100, now_ms: int | None = None,
                 on_key: Callable[[int, bytes, str, int], None] | None = None) -> None:
        self.started = time.perf_counter()
        self.report = Report(source=str(path), bytes_source=SOURCE_FILE, delimiter=delimiter, top=top)
        self.report.now_ms = int(time.time() * 1000) if now_ms is None else now_ms
        self.scanner = open_rdb(path)
        self.summary: FileSummary = self.scanner.summary
        self.report.file_size = self.summary.size
        self.records: Generator[tuple[int, bytes, int, int, int, int | None], None, None] = self.scanner.records()
        self.acc = Accumulator(self.report)
        self.on_key = on_key
        self.done = False

    @property
    def progress(self) -> tuple[int, int, int]:
        """(bytes read, file size, keys counted)."""
        return self.summary.pos, self.summary.size, self.summary.keys

    def step(self, budget: int = CANCEL_CHECK_EVERY) -> bool:
        """Count up to ``budget`` more keys; True once the file is read to its end or its damage."""
        if self.done:
            return True
        add, on_key, report = self.acc.add, self.on_key, self.report
        types, encodings = TYPE_NAMES, ENCODING_NAMES
        try:
            for db, key, t, size, elements, expire in self.records:
                type_ = types[t]
                add(db, key, type_, encodings[t], size, elements, expire)
                if on_key is not None:
                    on_key(db, key, type_, size)
                budget -= 1
                if budget == 0:
                    return False
            report.complete = True
        except RDBDamage as damage:
            report.damage = damage.reason
            report.damage_offset = damage.offset
        self.done = True
        return True

    def finish(self, cancelled: bool = False) -> Report:
        """The report of what was counted (all of it unless ``cancelled``); releases the file."""
        report, summary = self.report, self.summary
        report.cancelled = cancelled and not self.done
        report.structure_bytes = summary.structure_bytes
        report.functions = list(summary.functions)
        report.aux = {k.decode("utf-8", "replace"): v.decode("utf-8", "replace") for k, v in summary.aux.items()}
        if summary.checksum is not None:
            report.notes.append(
                "checksum not verified here (the server verifies it when it loads the file)"
                if summary.checksum else "the file was written without a checksum"
            )
        self.records.close()
        buf = self.scanner.buf
        if not isinstance(buf, bytes):
            buf.close()
        self.acc.finish()
        report.seconds = time.perf_counter() - self.started
        return report


def analyse_file(
    path: str | Path,
    delimiter: bytes = b":",
    top: int = 100,
    progress: Progress | None = None,
    cancelled: Callable[[], bool] | None = None,
    now_ms: int | None = None,
) -> Report:
    """Analyse an RDB file completely. A damaged file gives the report of what was read before
    the damage, with ``damage`` and ``damage_offset`` set; the file is only ever read."""
    analysis = FileAnalysis(path, delimiter, top, now_ms)
    stop = False
    while not analysis.step():
        if progress is not None:
            progress(*analysis.progress)
        if cancelled is not None and cancelled():
            stop = True
            break
    if progress is not None:
        progress(*analysis.progress)
    return analysis.finish(cancelled=stop)


# -- a live server --------------------------------------------------------------------------------

LENGTH_COMMANDS = {"string": "STRLEN", "list": "LLEN", "set": "SCARD", "zset": "ZCARD", "hash": "HLEN",
                   "stream": "XLEN"}


async def analyse_server(
    connect: Callable[[int], Any],
    source: str,
    databases: Iterable[int],
    delimiter: bytes = b":",
    top: int = 100,
    samples: int = 5,
    batch: int = 500,
    duty: float = 0.5,
    progress: Progress | None = None,
    cancelled: Callable[[], bool] | None = None,
) -> Report:
    """Analyse every key of a live server through redis.asyncio clients made by ``connect(db)``.

    ``duty``: after each batch the analysis sleeps so that its batches take at most this
    share of the time, leaving the server to its other clients.
    """
    started = time.perf_counter()
    sampled = "every element" if samples == 0 else f"nested elements sampled, SAMPLES {samples}"
    report = Report(source=source, bytes_source=f"the server's MEMORY USAGE estimate ({sampled}); every key scanned",
                    delimiter=delimiter, top=top)
    report.now_ms = int(time.time() * 1000)
    acc = Accumulator(report)
    dbs = list(databases)
    total = counted = 0
    clients = {db: connect(db) for db in dbs}
    try:
        for db in dbs:
            total += int(await clients[db].dbsize())
        for db in dbs:
            client = clients[db]
            cursor = 0
            while True:
                cursor, keys = await client.scan(cursor, count=batch)
                if keys:
                    began = time.perf_counter()
                    counted += await _measure_batch(client, db, keys, samples, acc)
                    spent = time.perf_counter() - began
                    if duty < 1:
                        await asyncio.sleep(spent * (1 - duty) / duty)
                if progress is not None:
                    progress(counted, max(total, counted), counted)
                if cancelled is not None and cancelled():
                    report.cancelled = True
                    return _finish_live(acc, started)
                if cursor == 0:
                    break
        report.complete = True
    finally:
        for client in clients.values():
            await client.aclose()
    return _finish_live(acc, started)


def _finish_live(acc: Accumulator, started: float) -> Report:
    report = acc.finish()
    report.seconds = time.perf_counter() - started
    return report


async def _measure_batch(client: Any, db: int, keys: list[bytes], samples: int, acc: Accumulator) -> int:
    """Measure one SCAN batch in two pipelines; returns how many of its keys still existed."""
    pipe = client.pipeline(transaction=False)
    for key in keys:
        pipe.type(key)
        pipe.execute_command("MEMORY", "USAGE", key, "SAMPLES", samples)
        pipe.object("ENCODING", key)
        pipe.pttl(key)
    replies = await pipe.execute(raise_on_error=False)
    types: list[str] = []
    pipe = client.pipeline(transaction=False)
    for i, key in enumerate(keys):
        type_ = replies[4 * i]
        type_ = type_.decode() if isinstance(type_, bytes) else str(type_)
        types.append(type_)
        pipe.execute_command(LENGTH_COMMANDS.get(type_, "EXISTS"), key)
    lengths = await pipe.execute(raise_on_error=False)
    now = acc.report.now_ms
    counted = 0
    for i, key in enumerate(keys):
        type_ = types[i]
        if type_ == "none":
            continue  # deleted between SCAN and now
        counted += 1
        size = replies[4 * i + 1]
        encoding = replies[4 * i + 2]
        pttl = replies[4 * i + 3]
        length = lengths[i]
        acc.add(
            db, key, type_,
            encoding.decode() if isinstance(encoding, bytes) else "?",
            size if isinstance(size, int) else 0,
            length if isinstance(length, int) else 0,
            now + pttl if isinstance(pttl, int) and pttl >= 0 else None,
        )  # fmt: skip
    return counted


# -- output ---------------------------------------------------------------------------------------


def text(data: bytes) -> str:
    """A key or prefix as text: UTF-8, other bytes and controls escaped (\\xNN), as redis-cli shows them."""
    return printable(data)


def share(part: int, whole: int) -> str:
    return f"{100 * part / whole:.1f}%" if whole else "0.0%"


def human(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if abs(n) < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TB"  # pragma: no cover


def ttl_text(expire_ms: int | None, now_ms: int) -> str:
    if expire_ms is None:
        return "-"
    left = (expire_ms - now_ms) / 1000
    return "expired" if left <= 0 else f"{left:.0f}s"


def flatten_tree(root: PrefixNode, delimiter: bytes, by: str = "bytes", limit: int = 1000) -> list[tuple[int, bytes, PrefixNode]]:
    """(depth, full prefix, node) depth first, each level sorted by ``by``, at most ``limit`` rows."""
    rows: list[tuple[int, bytes, PrefixNode]] = []
    stack: list[tuple[int, bytes, PrefixNode]] = [(0, b"", child) for child in reversed(root.sorted_children(by))]
    while stack and len(rows) < limit:
        depth, base, node = stack.pop()
        full = base + node.name
        rows.append((depth, full, node))
        for child in reversed(node.sorted_children(by)):
            stack.append((depth + 1, full + delimiter, child))
    return rows


def _tables(report: Report) -> list[tuple[str, list[tuple[str, int, int]]]]:
    return [
        ("database", [(f"db{db}", keys, size) for db, (keys, size) in sorted(report.by_db.items())]),
        ("type", sorted(((t, k, b) for t, (k, b) in report.by_type.items()), key=lambda r: -r[2])),
        ("encoding", sorted(((e, k, b) for e, (k, b) in report.by_encoding.items()), key=lambda r: -r[2])),
        ("ttl", [(label, keys, size) for label, (keys, size) in report.by_ttl.items()]),
    ]


def report_json(report: Report, tree_rows: int = 1000) -> dict[str, Any]:
    def big(entry: BigKey) -> dict[str, Any]:
        return {"db": entry.db, "key": text(entry.key), "type": entry.type, "encoding": entry.encoding,
                "bytes": entry.size, "elements": entry.elements, "expire_ms": entry.expire_ms}

    return {
        "source": report.source,
        "bytes_source": report.bytes_source,
        "complete": report.complete,
        "cancelled": report.cancelled,
        "damage": None if report.damage is None else {"reason": report.damage, "offset": report.damage_offset},
        "keys": report.keys,
        "bytes": report.size,
        "file_size": report.file_size,
        "structure_bytes": report.structure_bytes,
        "functions": [{"library": text(name), "bytes": size} for name, size in report.functions],
        **{name: {label: {"keys": keys, "bytes": size} for label, keys, size in rows}
           for name, rows in _tables(report)},
        "prefixes": [{"prefix": text(full), "depth": depth, "keys": node.keys, "bytes": node.size}
                     for depth, full, node in flatten_tree(report.tree, report.delimiter, limit=tree_rows)],
        "biggest_by_bytes": [big(entry) for entry in report.biggest],
        "biggest_by_elements": [big(entry) for entry in report.longest],
        "notes": report.notes,
        "seconds": round(report.seconds, 3),
    }


CSV_COLUMNS = ("section", "name", "db", "type", "encoding", "keys", "bytes", "share", "elements", "ttl", "depth")


def report_csv(report: Report, tree_rows: int = 1000) -> str:
    """One CSV table: a ``total`` row, then sections (database, type, encoding, ttl, prefix,
    biggest_by_bytes, biggest_by_elements, structure, function). Prefix rows are the tree depth
    first, biggest first at each level, at most ``tree_rows`` of them, with their ``depth``."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    whole = report.size
    writer.writerow(("total", report.source, "", "", "", report.keys, report.size, "100.0%", "", "", ""))
    for section, rows in _tables(report):
        for label, keys, size in rows:
            writer.writerow((section, label, "", "", "", keys, size, share(size, whole), "", "", ""))
    for depth, full, node in flatten_tree(report.tree, report.delimiter, limit=tree_rows):
        writer.writerow(("prefix", text(full), "", "", "", node.keys, node.size, share(node.size, whole), "", "",
                         depth))
    for section, entries in (("biggest_by_bytes", report.biggest), ("biggest_by_elements", report.longest)):
        for entry in entries:
            writer.writerow((section, text(entry.key), entry.db, entry.type, entry.encoding, 1, entry.size,
                             share(entry.size, whole), entry.elements, ttl_text(entry.expire_ms, report.now_ms), ""))
    if report.file_size is not None:
        writer.writerow(("structure", "header, aux fields, db selectors, EOF, checksum", "", "", "", "",
                         report.structure_bytes, "", "", "", ""))
        for name, size in report.functions:
            writer.writerow(("function", text(name), "", "", "", "", size, "", "", "", ""))
    return out.getvalue()


def report_table(report: Report, tree_rows: int = 40) -> str:
    """The report for a terminal: aligned columns, sizes in human units, provenance first."""
    lines = [f"source: {report.source}", f"bytes:  {report.bytes_source}"]
    if report.damage is not None:
        lines.append(f"DAMAGED: {report.damage} at offset {report.damage_offset}; "
                     f"the figures cover the {report.keys} keys read before it")
    elif report.cancelled:
        lines.append(f"CANCELLED after {report.keys} keys: partial figures")
    lines.append(f"keys:   {report.keys}   bytes: {report.size} ({human(report.size)})"
                 + (f"   file: {report.file_size} bytes" if report.file_size is not None else ""))
    whole = report.size

    def table(title: str, rows: list[tuple[str, int, int]]) -> None:
        lines.append("")
        lines.append(f"{title:<40} {'keys':>10} {'bytes':>14} {'share':>7}")
        for label, keys, size in rows:
            lines.append(f"{label:<40} {keys:>10} {size:>14} {share(size, whole):>7}")

    for title, rows in _tables(report):
        table(f"by {title}", rows)
    table(f"by prefix (delimiter {text(report.delimiter)!r})",
          [("  " * depth + text(full), node.keys, node.size)
           for depth, full, node in flatten_tree(report.tree, report.delimiter, limit=tree_rows)])
    for title, entries in ((f"top {len(report.biggest)} keys by bytes", report.biggest),
                           (f"top {len(report.longest)} keys by elements", report.longest)):
        lines.append("")
        lines.append(f"{title:<40} {'db':>3} {'type':<7} {'encoding':<10} {'bytes':>12} {'elements':>10} {'ttl':>9}")
        for entry in entries:
            lines.append(f"{text(entry.key)[:40]:<40} {entry.db:>3} {entry.type:<7} {entry.encoding:<10} "
                         f"{entry.size:>12} {entry.elements:>10} {ttl_text(entry.expire_ms, report.now_ms):>9}")
    if report.file_size is not None:
        lines.append("")
        lines.append(f"file structure (no key): {report.structure_bytes} bytes; "
                     f"function libraries: {len(report.functions)} ({sum(s for _, s in report.functions)} bytes)")
    lines += [f"note: {note}" for note in report.notes]
    return "\n".join(lines) + "\n"


def format_report(report: Report, fmt: str) -> str:
    if fmt == "json":
        return json.dumps(report_json(report), indent=2) + "\n"
    if fmt == "csv":
        return report_csv(report)
    return report_table(report)


# -- one entry point for the command line ---------------------------------------------------------

URL_SCHEMES = ("redis://", "rediss://", "unix://")
SOURCE_AOF = ("serialized bytes of each key in an RDB snapshot of the data the AOF holds (an AOF stores "
              "commands, not keys: the private server loads it and saves that snapshot; complete)")


class StderrProgress:
    """A one-line progress bar on a terminal: done of total, keys counted."""

    def __init__(self, stream: Any, what: str) -> None:
        self.stream, self.what = stream, what
        self.last = 0.0

    def __call__(self, done: int, total: int, keys: int) -> None:
        now = time.monotonic()
        if now - self.last < 0.1 and done < total:
            return
        self.last = now
        fraction = done / total if total else 1.0
        bar = "#" * int(30 * fraction)
        amount = f"{human(done)} of {human(total)}" if self.what == "bytes" else f"{done} of {total} keys"
        self.stream.write(f"\r[{bar:<30}] {100 * fraction:5.1f}%  {amount}  {keys} keys counted ")
        self.stream.flush()

    def close(self) -> None:
        self.stream.write("\n")
        self.stream.flush()


def analyse_target(target: str, delimiter: bytes = b":", top: int = 100, samples: int = 5,
                   progress_to: Any = None) -> Report:
    """``redistui analyse``: a URL is analysed live, an RDB file read, an AOF loaded privately first."""
    progress = StderrProgress(progress_to, "keys" if target.startswith(URL_SCHEMES) else "bytes") \
        if progress_to is not None else None
    try:
        if target.startswith(URL_SCHEMES):
            return asyncio.run(_analyse_url(target, delimiter, top, samples, progress))
        from redistui.dumpfile import PrivateServer, detect

        kind = detect(target)
        if kind.kind == "rdb":
            return analyse_file(kind.path, delimiter, top, progress)
        with PrivateServer(target) as private:
            private.wait_ready()
            snapshot = private.snapshot()
            report = analyse_file(snapshot, delimiter, top, progress)
        report.source, report.bytes_source = str(kind.path), SOURCE_AOF
        return report
    finally:
        if progress is not None:
            progress.close()


async def _analyse_url(url: str, delimiter: bytes, top: int, samples: int, progress: Progress | None) -> Report:
    from redistui.client import ConnectionSpec

    spec = ConnectionSpec.from_url(url)
    probe = spec.connect()
    try:
        info = await probe.info("keyspace")
    finally:
        await probe.aclose()
    dbs = sorted(int(name[2:]) for name in info if name.startswith("db"))
    return await analyse_server(lambda db: spec.with_db(db).connect(), spec.display_url(), dbs, delimiter, top,
                                samples, progress=progress)
