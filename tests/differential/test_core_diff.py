"""Core behaviour compared byte for byte with redis-server: errors, connection commands."""

from __future__ import annotations


def test_unknown_command_and_arity_errors(diff):
    diff.check("NOSUCHCMD", "a", "b")
    diff.check("nosuch")
    diff.check("GET")
    diff.check("GET", "a", "b")
    diff.check("CONFIG")
    diff.check("CONFIG", "NOSUCH")
    diff.check("CLIENT", "ID", "x")


def test_connection_commands(diff):
    diff.check_all(["PING", "PING hi", "ECHO x", "SELECT 1", "SELECT 99", "SELECT x", "SELECT 0"])
    diff.check("PING", "a", "b")
    diff.check("HELLO", "4")
    diff.check("HELLO", "x")
    diff.check("AUTH", "pw")
    diff.check("AUTH", "user", "pw")
    diff.check("CLIENT", "SETNAME", "a b")
    diff.check("CLIENT", "SETNAME", "abc")
    diff.check("CLIENT", "GETNAME")
    diff.check("CLIENT", "NO-EVICT", "maybe")


def test_config_errors(diff):
    diff.check("CONFIG", "SET", "maxmemory", "abc")
    diff.check("CONFIG", "SET", "maxmemory-policy", "foo")
    diff.check("CONFIG", "SET", "databases", "3")
    diff.check("CONFIG", "SET", "appendonly", "maybe")
    diff.check("CONFIG", "SET", "foo", "bar")
    diff.check("CONFIG", "SET", "timeout", "-1")
    diff.check("CONFIG", "SET", "save", "1 2 3")
    diff.check("CONFIG", "SET", "hz", "10", "hz", "5")
    diff.check("CONFIG", "SET", "maxmemory", "1gb")
    diff.check("CONFIG", "GET", "maxmemory")
    diff.check("CONFIG", "SET", "maxmemory", "0")
    diff.check("CONFIG", "GET", "hash-max-ziplist-entries")
    diff.check("CONFIG", "GET", "slowlog-*", sort=True)
