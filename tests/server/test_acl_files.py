"""ACL users from the config file and from an ACL file; ACL SAVE / LOAD; ACL LOG."""

from __future__ import annotations

import hashlib

import pytest
import redis

from tests.servers import OurServer


def test_users_from_config_file(tmp_path):
    conf = tmp_path / "redis.conf"
    conf.write_text("user alice on >wonderland ~cache:* +@read\nuser default on nopass ~* &* +@all\n")
    server = OurServer(tmp_path, extra=[])
    server.command = lambda: [*OurServer.command(server)[:3], str(conf), *OurServer.command(server)[3:]]  # type: ignore[method-assign]
    server.start()
    try:
        alice = redis.Redis(port=server.port, username="alice", password="wonderland")
        redis.Redis(port=server.port).set("cache:1", "v")
        assert alice.get("cache:1") == b"v"
        with pytest.raises(redis.exceptions.NoPermissionError):
            alice.set("cache:1", "w")
        with pytest.raises(redis.AuthenticationError):
            redis.Redis(port=server.port, username="alice", password="wrong").ping()
    finally:
        server.stop()


def test_aclfile_save_and_load(tmp_path):
    aclfile = tmp_path / "users.acl"
    aclfile.write_text("user default on nopass ~* &* +@all\n")
    server = OurServer(tmp_path, extra=["--aclfile", str(aclfile)])
    server.start()
    try:
        admin = redis.Redis(port=server.port)
        admin.acl_setuser("bob", enabled=True, passwords=["+builder"], keys=["w:*"], commands=["+@write"])
        assert admin.acl_save()
        text = aclfile.read_text()
        digest = hashlib.sha256(b"builder").hexdigest()
        assert f"user bob on #{digest} ~w:*" in text
        assert "builder" not in text.replace(digest, "")  # only the hash is stored
        aclfile.write_text(text + "user carol on nopass ~* +get\n")
        assert admin.acl_load()
        assert set(admin.acl_users()) == {"default", "bob", "carol"}
        carol = redis.Redis(port=server.port, username="carol", password="x")
        assert carol.get("anything") is None
        with pytest.raises(redis.exceptions.NoPermissionError):
            carol.set("k", "v")
        # A broken file is refused whole: the users stay as they were.
        aclfile.write_text("user dave on +@nosuchcategory\n")
        with pytest.raises(redis.ResponseError):
            admin.acl_load()
        assert set(admin.acl_users()) == {"default", "bob", "carol"}
    finally:
        server.stop()


def test_acl_log_records_denials(ours, r):
    r.acl_setuser("logger", enabled=True, nopass=True, keys=["ok:*"], commands=["+get"])
    try:
        r.acl_log_reset()
        user = redis.Redis(port=ours.port, username="logger", password="x")
        with pytest.raises(redis.exceptions.NoPermissionError):
            user.get("secret")
        with pytest.raises(redis.exceptions.NoPermissionError):
            user.set("ok:1", "v")
        entries = r.acl_log()
        reasons = {(e["reason"], e["object"]) for e in entries}
        assert ("key", "secret") in reasons
        assert ("command", "set") in reasons
        assert all(e["username"] == "logger" for e in entries)
        assert r.acl_log_reset()
        assert r.acl_log() == []
    finally:
        r.acl_deluser("logger")


def test_selectors_in_config_file_user_lines(tmp_path):
    """``user`` lines split into words: a ``(`` group spread over several words is joined again."""
    conf = tmp_path / "redis.conf"
    conf.write_text("user sel on nopass ~root:* +get (+set ~w:*) (+@read %R~r:*)\n")
    server = OurServer(tmp_path, extra=[])
    server.command = lambda: [*OurServer.command(server)[:3], str(conf), *OurServer.command(server)[3:]]  # type: ignore[method-assign]
    server.start()
    try:
        admin = redis.Redis(port=server.port)
        assert admin.acl_list()[-1] == (
            "user sel on nopass ~root:* resetchannels -@all +get (~w:* resetchannels -@all +set) "
            "(%R~r:* resetchannels -@all +@read)"
        )
        sel = redis.Redis(port=server.port, username="sel", password="x")
        assert sel.set("w:1", "v")
        assert sel.get("r:1") is None
        with pytest.raises(redis.exceptions.NoPermissionError):
            sel.set("r:1", "v")
        with pytest.raises(redis.exceptions.NoPermissionError):
            sel.get("w:1")  # +set alone in the w:* group
    finally:
        server.stop()
