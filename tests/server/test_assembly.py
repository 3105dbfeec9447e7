"""The server object is built in one place and holds only declared, typed fields."""

from __future__ import annotations

import ast
import pathlib

import pytest

from server.config import Config
from server.instance import Server
from server.main import build_server

ROOT = pathlib.Path(__file__).resolve().parents[2] / "server"


def _declared(cls: type) -> set[str]:
    names: set[str] = set()
    for klass in cls.__mro__:
        names.update(getattr(klass, "__slots__", ()))
    return names


def test_server_has_only_declared_fields():
    """Every attribute a built server has is one of ``Server.__slots__``, and all of them are set."""
    server = build_server(["--save", "", "--appendonly", "no"])
    assert not hasattr(server, "__dict__"), "Server must not accept undeclared attributes"
    declared = _declared(Server)
    missing = [name for name in declared if not hasattr(server, name)]
    assert missing == []
    with pytest.raises(AttributeError):
        server.some_new_part = object()  # type: ignore[attr-defined]  # proving the refusal


def test_bare_server_is_complete():
    """``Server(Config())`` alone builds every subsystem (no start-up hooks to run)."""
    server = Server(Config())
    for name in ("acl", "eviction", "watches", "tracking", "pubsub", "blocking", "scripting", "persistence",
                 "effects"):
        assert getattr(server, name) is not None, name
    assert server.keyspace.on_touch == server._key_changed
    assert server.keyspace.notify_hook == server.pubsub.notify_keyspace


def _assigned_server_attributes(tree: ast.AST) -> list[tuple[int, str]]:
    """``<something>.server.X = ...`` or ``server.X = ...`` assignments of undeclared names."""
    found = []
    for node in ast.walk(tree):
        targets = node.targets if isinstance(node, ast.Assign) else [node.target] if isinstance(
            node, (ast.AugAssign, ast.AnnAssign)) else []
        for target in targets:
            if not isinstance(target, ast.Attribute):
                continue
            owner = target.value
            is_server = (isinstance(owner, ast.Name) and owner.id == "server") or (
                isinstance(owner, ast.Attribute) and owner.attr == "server")
            if is_server and target.attr not in _declared(Server):
                found.append((node.lineno, target.attr))
    return found


def test_no_module_adds_attributes_or_imports_main():
    """No module assigns an undeclared attribute on the server (or replaces a method), and no
    command module imports the entry point ``server.main``."""
    problems = []
    for path in sorted(ROOT.rglob("*.py")):
        source = path.read_text()
        tree = ast.parse(source)
        for lineno, attr in _assigned_server_attributes(tree):
            problems.append(f"{path.relative_to(ROOT)}:{lineno} assigns server.{attr}")
        if path.parent.name == "commands":
            for node in ast.walk(tree):
                if isinstance(node, ast.ImportFrom) and node.module == "server.main":
                    problems.append(f"{path.relative_to(ROOT)}:{node.lineno} imports server.main")
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "getattr":
                first = node.args[0] if node.args else None
                if (isinstance(first, ast.Name) and first.id == "server") or (
                        isinstance(first, ast.Attribute) and first.attr == "server"):
                    problems.append(f"{path.relative_to(ROOT)}:{node.lineno} guesses with getattr(server, ...)")
    assert problems == []


def test_methods_are_not_replaced():
    """A built server's methods are the class's own."""
    server = build_server(["--save", ""])
    for name in dir(Server):
        if callable(getattr(Server, name)) and not name.startswith("__"):
            assert getattr(server, name).__func__ is getattr(Server, name), name


def test_output_queues_have_one_owner():
    """Only server/output.py touches a client's output queue (``outbuf``) and the output order
    state; everything else queues through ``server.output`` (the Client declares the field)."""
    problems = []
    for path in sorted(ROOT.rglob("*.py")):
        if path.name == "output.py" and path.parent == ROOT:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Attribute) and node.attr in ("outbuf", "output_epoch", "pending_flush"):
                declared = path.name == "client.py" and isinstance(node.ctx, ast.Store)
                if not declared:
                    problems.append(f"{path.relative_to(ROOT)}:{node.lineno} touches .{node.attr}")
    assert problems == []
