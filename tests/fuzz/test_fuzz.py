"""Fuzzing (bounded for CI): random commands and mutated frames never crash the server."""

from __future__ import annotations

from tests.fuzz.fuzzer import Fuzzer
from tests.servers import OurServer


def test_fuzz_100k_frames(tmp_path):
    server = OurServer(tmp_path)
    server.start()
    try:
        fuzzer = Fuzzer(server.port, seed=20261124)
        sent = 0
        for _ in range(4):
            sent += fuzzer.run_commands(22_500)
            fuzzer.run_mutations(2_500)
            sent += 2_500
            assert fuzzer.ping()
            assert server.proc.poll() is None
        assert sent >= 100_000
        log = server.log_path.read_text(errors="replace")
        internal = [line for line in log.splitlines() if "Internal error" in line]
        assert not internal, "\n".join(internal[:10])
    finally:
        server.stop()
