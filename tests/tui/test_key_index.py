"""The key index (sorted keys seen as a tree or a flat list) and the glob helpers, without a UI."""

from __future__ import annotations

import re

import pytest

from redistui.client import glob_escape, glob_to_regex
from redistui.key_index import KeyIndex, prefix_end


def labels(index: KeyIndex) -> list[tuple[int, bytes, bool, int]]:
    return [(row.depth, row.label, row.is_namespace, row.size) for row in index.rows()]


def test_prefix_end_bounds_every_key_with_the_prefix() -> None:
    assert prefix_end(b"user:") == b"user;"
    assert prefix_end(b"a\xff") == b"b"
    assert prefix_end(b"") is None
    assert prefix_end(b"\xff\xff") is None


def test_tree_groups_by_delimiter_and_counts_loaded_keys() -> None:
    index = KeyIndex()
    index.add([b"user:1", b"user:2", b"user:3:name", b"order:9", b"plain"])
    assert labels(index) == [(0, b"order", True, 1), (0, b"plain", False, 0), (0, b"user", True, 3)]
    index.toggle(b"user:")
    assert labels(index) == [
        (0, b"order", True, 1),
        (0, b"plain", False, 0),
        (0, b"user", True, 3),
        (1, b"1", False, 0),
        (1, b"2", False, 0),
        (1, b"3", True, 1),
    ]
    index.toggle(b"user:3:")
    assert labels(index)[-1] == (2, b"name", False, 0)
    assert index.row_of(b"user:3:name") == 6


def test_key_and_namespace_with_the_same_name_both_show() -> None:
    index = KeyIndex()
    index.add([b"user", b"user:1"])
    assert labels(index) == [(0, b"user", False, 0), (0, b"user", True, 1)]


def test_flat_mode_lists_full_names_sorted() -> None:
    index = KeyIndex(tree=False)
    index.add([b"b", b"a:1", b"c"])
    assert [index.row(i).label for i in range(index.row_count)] == [b"a:1", b"b", b"c"]
    assert index.row_of(b"c") == 2 and index.row_of(b"zz") is None


def test_add_and_discard_report_changes_and_keep_no_duplicates() -> None:
    index = KeyIndex()
    assert index.add([b"a", b"a", b"b"]) == 2
    assert index.discard([b"a", b"missing"]) == 1
    assert list(index.keys) == [b"b"]


def test_custom_delimiter_and_expand_to() -> None:
    index = KeyIndex(delimiter=b"/")
    index.add([b"a/b/c", b"a/d"])
    index.expand_to(b"a/b/c")
    assert [row.key for row in index.rows()] == [b"a/", b"a/b/", b"a/b/c", b"a/d"]


def test_namespace_children_cost_follows_children_not_keys() -> None:
    index = KeyIndex()
    index.add([f"big:{i:06d}".encode() for i in range(50_000)] + [b"small:1"])
    rows = index.rows()
    assert [(row.label, row.size) for row in rows] == [(b"big", 50_000), (b"small", 1)]


def test_glob_to_regex_follows_redis_glob() -> None:
    assert glob_to_regex(b"user:*").match(b"user:42")
    assert not glob_to_regex(b"user:*").match(b"order:1")
    assert glob_to_regex(b"h?llo").match(b"hallo")
    assert glob_to_regex(b"h[ae]llo").match(b"hello") and not glob_to_regex(b"h[ae]llo").match(b"hillo")
    assert glob_to_regex(b"h[^e]llo").match(b"hallo") and not glob_to_regex(b"h[^e]llo").match(b"hello")
    assert glob_to_regex(b"a\\*b").match(b"a*b") and not glob_to_regex(b"a\\*b").match(b"axb")
    assert isinstance(glob_to_regex(b"x"), re.Pattern)


def test_glob_escape_makes_a_literal_prefix() -> None:
    assert glob_escape(b"a*b?[c]") == b"a\\*b\\?\\[c\\]"
    assert glob_to_regex(glob_escape(b"we*ird:") + b"*").match(b"we*ird:1")


def reference_rows(index: KeyIndex) -> list[tuple[int, bytes, bytes, bool, int, bool]]:
    """The tree's rows computed from scratch, the slow and obvious way."""
    keys, delim = list(index.keys), index.delimiter

    def walk(prefix: bytes, depth: int) -> list[tuple[int, bytes, bytes, bool, int, bool]]:
        rows: list[tuple[int, bytes, bytes, bool, int, bool]] = []
        seen: set[bytes] = set()
        for key in (k for k in keys if k.startswith(prefix)):
            cut = key.find(delim, len(prefix))
            if cut < 0:
                rows.append((depth, key[len(prefix) :], key, False, 0, False))
                continue
            namespace = key[: cut + len(delim)]
            if namespace in seen:
                continue
            seen.add(namespace)
            count = sum(1 for k in keys if k.startswith(namespace))
            expanded = namespace in index.expanded
            rows.append((depth, key[len(prefix) : cut], namespace, True, count, expanded))
            if expanded:
                rows.extend(walk(namespace, depth + 1))
        return rows

    return walk(b"", 0)


@pytest.mark.parametrize("seed", [12, 3, 77])
def test_incremental_layout_matches_a_full_recomputation(seed: int) -> None:
    """Random inserts, removals and toggles: every row and every row_of agree with a from-scratch tree."""
    import random

    rng = random.Random(seed)
    index = KeyIndex()
    universe = [
        f"{a}:{b}".encode() if rng.random() < 0.6 else f"{a}:{b}:{c}".encode()
        for a in ("user", "u", "order", "x")
        for b in range(12)
        for c in ("name", "avatar")
    ] + [b"plain", b"ends:with:", b"user:", b"user:1:a:b", b"user:1:a:c", b"user:1:b", b"user:1;x", b"user:10:a:b"]
    for step in range(400):
        action = rng.random()
        if action < 0.5:
            index.add(rng.sample(universe, rng.randint(1, 6)))
        elif action < 0.75:
            index.discard(rng.sample(universe, rng.randint(1, 4)))
        else:
            namespaces = [row.key for row in index.rows() if row.is_namespace]
            if namespaces:
                index.toggle(rng.choice(namespaces))
        rows = [(r.depth, r.label, r.key, r.is_namespace, r.size, r.expanded) for r in index.rows()]
        assert rows == reference_rows(index), f"step {step}"
        for i, row in enumerate(index.rows()):
            if row.is_namespace or not row.key.endswith(b":"):  # a key named like its namespace: the row wins
                assert index.row_of(row.key) == i
        shown = {r.key for r in index.rows()}
        hidden = [k for k in index.keys if k not in shown]
        assert all(index.row_of(k) is None for k in hidden)


def test_a_change_lays_out_only_the_namespaces_on_its_path() -> None:
    index = KeyIndex()
    index.add(f"user:{i}".encode() for i in range(50_000))
    index.add(f"order:{i}".encode() for i in range(1000))
    index.add(f"order:{i}:line".encode() for i in range(1000))
    index.toggle(b"user:")
    index.toggle(b"order:")
    assert len(index.rows()) == 2 + 50_000 + 2000  # laid out to the end
    assert index.row_count == 2 + 50_000 + 2000
    order_node = index._nodes[b"order:"]
    user_node = index._nodes[b"user:"]
    assert len(user_node.blocks) == 1  # 50,000 leaves are one block
    index.add([b"user:new"])
    assert index._nodes[b"order:"] is order_node  # untouched
    assert index._nodes[b"user:"] is user_node and len(user_node.blocks) == 1  # patched in place: the run grew
    assert index.row_count == 2 + 50_001 + 2000
    index.add([b"order:5000:line"])  # a new sub-namespace slotted into 2,000 children, not a re-layout
    assert index._nodes[b"order:"] is order_node and index.row_count == 2 + 50_001 + 2001
    assert index.row(index.row_of(b"user:new")).key == b"user:new"


def mixed_index(total: int) -> KeyIndex:
    """``user:`` mixing leaves (``user:N``) and one-key sub-namespaces (``user:N:avatar``)."""
    index = KeyIndex()
    index.add(f"user:{i}:avatar".encode() if i % 2 else f"user:{i}".encode() for i in range(total))
    index.add([b"a", b"zzz"])
    return index


def test_expanding_a_mixed_namespace_lays_out_only_what_is_asked_for() -> None:
    """Issue 17 item 1: opening a namespace of 200,000 leaves and sub-namespaces lays out a screenful
    (plus a margin), not its 200,000 children; further rows are laid out as they are asked for."""
    from redistui.key_index import LAYOUT_AHEAD, LAYOUT_CHUNK

    index = mixed_index(200_000)
    assert [row.label for row in index.rows()] == [b"a", b"user", b"zzz"]
    index.toggle(b"user:")
    assert index.row(1).key == b"user:" and index.row(2).key == b"user:0"
    node = index._nodes[b"user:"]
    assert node.rest is not None and node.starts[-1] <= LAYOUT_AHEAD + LAYOUT_CHUNK  # a screenful, not 200,000
    assert index.row_count == 3 + 200_000  # the rest counts a row per key until laid out
    row = index.row(2 + 5000)  # scrolling on lays out as far as that
    assert node.starts[-1] <= 5000 + LAYOUT_AHEAD + LAYOUT_CHUNK
    full = mixed_index(200_000)
    full.toggle(b"user:")
    assert row == full.rows()[2 + 5000]  # the same row as a tree laid out whole
    assert index.row_of(b"zzz") == 2 + 200_000  # below the open namespace, from its count so far
    assert index.rows()[-1].key == b"zzz" and len(index.rows()) == index.row_count
    assert node.rest is None


def test_live_inserts_into_a_partly_laid_out_namespace() -> None:
    index = mixed_index(50_000)
    index.toggle(b"user:")
    index.row(100)
    node = index._nodes[b"user:"]
    before = index.row_count
    index.add([b"user:00", b"user:99999", b"user:5:extra", b"user:zz:deep"])  # laid-out part and the rest
    assert index._nodes[b"user:"] is node  # patched, not laid out again
    assert index.row_count == before + 4  # the part not laid out counts a row per key
    rows = index.rows()
    assert len([r for r in rows if r.key in (b"user:00", b"user:99999", b"user:zz:")]) == 3
    assert len(rows) == index.row_count == before + 3  # laid out: user:5: already had its row
