"""A damaged AOF directory stops the server, as it stops redis-server, and is left as it was.

Starting anyway would be worse than refusing: an empty-looking manifest makes
the server start empty and its next rewrite reuse (overwrite) the real base
file's name; a missing incremental file silently drops every write since the
last rewrite. Each case runs both servers on the same damaged files and
compares the exit status and Redis 7.0's log lines.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.servers import OurServer, RealServer, real_server_available

AOF = ["--appendonly", "yes", "--appendfsync", "always"]
MANIFEST = "appendonlydir/appendonly.aof.manifest"


def _written_dir(tmp_path: Path) -> Path:
    """A directory with a base file and an incremental file holding writes."""
    work = tmp_path / "ours"
    server = OurServer(work, extra=AOF)
    server.start()
    try:
        client = server.client()
        for i in range(50):
            client.set(f"k{i}", i)
        client.bgrewriteaof()
        for _ in range(200):
            if client.info("persistence")["aof_rewrite_in_progress"] == 0 and \
                    len(list((work / "appendonlydir").glob("*.base.*"))) == 1:
                break
            subprocess.run(["sleep", "0.05"])
        client.set("after-rewrite", "1")  # only in the incremental file
    finally:
        server.stop()
    return work


def _snapshot(work: Path) -> dict[str, bytes]:
    root = work / "appendonlydir"
    return {name: (root / name).read_bytes() for name in sorted(os.listdir(root))}


def _messages(output: str) -> list[str]:
    """Log text without redis-server's ``pid:role date time level`` prefix, blank lines dropped."""
    out = []
    for line in output.splitlines():
        line = re.sub(r"^\d+:[MCSX] \d+ \w+ \d+ [\d:.]+ [.\-*#] ", "", line).strip()
        if line:
            out.append(line)
    return out


def _run(server, work: Path) -> tuple[int, list[str]]:
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[2]))
    try:
        done = subprocess.run(server.command(), cwd=work, env=env, capture_output=True, text=True, timeout=20)
    except subprocess.TimeoutExpired as exc:  # it started and serves: the damage went unnoticed
        return -1, _messages(str(exc.stdout or ""))
    return done.returncode, _messages(done.stdout + done.stderr)


def _both_refuse(tmp_path: Path, work: Path, expected: list[str]) -> None:
    """Ours and redis-server exit 1 on these files, logging ``expected`` in order, files untouched."""
    real_server_available(require=True)
    before = _snapshot(work)
    theirs_dir = tmp_path / "theirs"
    shutil.copytree(work, theirs_dir)
    from tests.servers import free_port

    ours = OurServer(work, extra=AOF)
    ours.port = free_port()
    code, lines = _run(ours, work)
    real = RealServer(theirs_dir, extra=["--appendonly", "yes"])
    real.port = free_port()
    real_code, real_lines = _run(real, theirs_dir)
    assert real_code == 1, real_lines
    for text in expected:  # the reference says these
        assert text in real_lines, (text, real_lines)
    assert code == 1, lines
    found = [line for line in lines if line in expected]
    assert found == expected, lines
    assert _snapshot(work) == before  # nothing rewritten, created or deleted


def test_empty_manifest_refuses_to_start(tmp_path):
    work = _written_dir(tmp_path)
    (work / MANIFEST).write_bytes(b"")
    _both_refuse(tmp_path, work, ["*** FATAL AOF MANIFEST FILE ERROR ***", "Found an empty AOF manifest"])


def test_manifest_with_joined_lines_refuses_to_start(tmp_path):
    work = _written_dir(tmp_path)
    text = (work / MANIFEST).read_bytes()
    assert text.count(b"\n") == 2
    (work / MANIFEST).write_bytes(text.replace(b"\n", b"", 1))  # the first line break lost
    joined = text.replace(b"\n", b"", 1).decode().strip()
    _both_refuse(tmp_path, work, ["*** FATAL AOF MANIFEST FILE ERROR ***", "Reading the manifest file, at line 1",
                                  f">>> '{joined}'", "Invalid AOF manifest file format"])


def test_manifest_without_any_line_break_refuses_to_start(tmp_path):
    work = _written_dir(tmp_path)
    text = (work / MANIFEST).read_bytes()
    (work / MANIFEST).write_bytes(text.replace(b"\n", b""))
    _both_refuse(tmp_path, work, ["*** FATAL AOF MANIFEST FILE ERROR ***",
                                  "The AOF manifest file contains too long line"])


@pytest.mark.parametrize(("content", "reason"), [
    (b"garbage\n", "Invalid AOF manifest file format"),
    (b"file x seq 1 type b\nfile y seq 2 type b\n", "Found duplicate base file information"),
    (b"file x seq 2 type i\nfile y seq 1 type i\n", "Found a non-monotonic sequence number"),
    (b"file ../x seq 1 type b\n", "File can't be a path, just a filename"),
    (b"file x seq 1 type z\n", "Unknown AOF file type"),
])
def test_garbled_manifest_refuses_to_start(tmp_path, content, reason):
    work = _written_dir(tmp_path)
    (work / MANIFEST).write_bytes(content)
    line = content.rstrip(b"\n").split(b"\n")[-1].decode()
    number = content.count(b"\n")
    _both_refuse(tmp_path, work, ["*** FATAL AOF MANIFEST FILE ERROR ***",
                                  f"Reading the manifest file, at line {number}", f">>> '{line}'", reason])


def test_missing_last_incr_file_refuses_to_start(tmp_path):
    work = _written_dir(tmp_path)
    incrs = sorted((work / "appendonlydir").glob("*.incr.aof"))
    assert incrs and b"after-rewrite" in incrs[-1].read_bytes()
    incrs[-1].unlink()
    _both_refuse(tmp_path, work, [f"Unable to obtain the AOF file {incrs[-1].name} length. "
                                  "stat: No such file or directory"])


def test_damaged_manifest_stops_a_server_without_appendonly(tmp_path):
    """Redis reads the manifest at start-up whatever appendonly says; so do we."""
    work = _written_dir(tmp_path)
    (work / MANIFEST).write_bytes(b"")
    before = _snapshot(work)
    from tests.servers import free_port

    ours = OurServer(work)
    ours.port = free_port()
    code, lines = _run(ours, work)
    assert code == 1 and "Found an empty AOF manifest" in lines, lines
    assert _snapshot(work) == before
