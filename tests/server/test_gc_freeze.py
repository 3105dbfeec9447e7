"""A dataset loaded at startup is frozen out of the cyclic garbage collector.

Python's full collections walk every tracked object; with a million hashes that
is a stall of a quarter of a second for every client. Values hold no reference
cycles, so after loading they are moved to the permanent generation.
"""

from __future__ import annotations

import gc

from server.datatypes.hash import HashValue
from server.main import build_server


def test_values_loaded_at_startup_are_frozen(tmp_path):
    writer = build_server(["--dir", str(tmp_path), "--save", ""])
    db = writer.keyspace.dbs[0]
    for i in range(3000):
        db.add(b"h:%d" % i, HashValue({b"f": b"v"}))
    assert writer.persistence.save()

    reader = build_server(["--dir", str(tmp_path), "--save", ""])
    gc.unfreeze()
    try:
        reader.persistence.load_at_startup()
        loaded = reader.keyspace.dbs[0].data
        assert len(loaded) == 3000
        assert gc.get_freeze_count() >= 3000
        tracked = {id(obj) for obj in gc.get_objects()}  # the three generations, not the frozen
        assert not any(id(value) in tracked for value in loaded.values())
    finally:
        gc.unfreeze()
