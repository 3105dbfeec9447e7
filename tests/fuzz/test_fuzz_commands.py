"""The differential command fuzzer, bounded: generated invocations against redis-server 7.0.15.

Under CI the seed is fixed, so a landing is judged on the same sequences; a
developer run picks a new seed (printed on failure, to replay it with
``python -m tests.fuzz.differential --seed N``). ``make fuzz`` runs it longer.
The same generator feeds COMMAND GETKEYS / GETKEYSANDFLAGS, which derive from
the key specs, for every command with keys (blocking and scripting ones too:
nothing runs).
"""

from __future__ import annotations

import os
import random

import pytest

from tests.differential.harness import RawConnection
from tests.fuzz.differential import DifferentialFuzzer, Generator, load_specs
from tests.servers import OurServer, RealServer

SEED = 20261202 if os.environ.get("CI") else random.randrange(1 << 32)


@pytest.fixture(scope="module")
def pair(tmp_path_factory):
    """A server pair of its own: the fuzzer flushes, selects and moves keys at will."""
    ours, real = OurServer(tmp_path_factory.mktemp("fuzz-ours")), RealServer(tmp_path_factory.mktemp("fuzz-real"))
    real.start()
    ours.start()
    yield ours, real
    ours.stop()
    real.stop()


def test_fuzz_sequences_match_redis(pair):
    ours, real = pair
    fuzzer = DifferentialFuzzer(ours.port, real.port, SEED)
    try:
        found = fuzzer.run(sequences=120, length=20)
    finally:
        fuzzer.close()
    assert fuzzer.sent >= 2400
    assert len(fuzzer.specs) > 150  # the generator reached most commands
    assert not found, f"seed {SEED}:\n" + "\n\n".join(str(m) for m in found)


def test_getkeys_of_generated_invocations_match_redis(pair):
    ours, real = pair
    specs = load_specs(real.port, ours.port, everything=True)
    with_keys = [spec for spec in specs.values() if spec.has_keys]
    assert len(with_keys) > 150
    gen = Generator(random.Random(SEED), keys=["k1", "k2", "STREAMS", "STORE", "KEYS"])
    conns = [RawConnection(ours.port), RawConnection(real.port)]
    differ = []
    try:
        for spec in with_keys:
            for _ in range(12):
                argv = gen.invocation(spec)
                for sub in (b"GETKEYS", b"GETKEYSANDFLAGS"):
                    mine, theirs = (conn.call(b"COMMAND", sub, *argv) for conn in conns)
                    if mine != theirs:
                        differ.append(f"COMMAND {sub.decode()} {argv!r}:\n  ours  {mine!r}\n  redis {theirs!r}")
    finally:
        for conn in conns:
            conn.close()
    assert not differ, f"seed {SEED}, {len(differ)} differ:\n" + "\n".join(differ[:30])
