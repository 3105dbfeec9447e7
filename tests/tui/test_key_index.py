"""The key index (sorted keys seen as a tree or a flat list) and the glob helpers, without a UI."""

from __future__ import annotations

import re

from redistui.client import glob_escape, glob_to_regex
from redistui.key_index import KeyIndex, prefix_end


def labels(index: KeyIndex) -> list[tuple[int, bytes, bool, int]]:
    return [(row.depth, row.label, row.is_namespace, row.count) for row in index.rows()]


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
    assert [(row.label, row.count) for row in rows] == [(b"big", 50_000), (b"small", 1)]


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
